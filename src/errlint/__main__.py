import sys

from errlint._safe_path import drop_working_folder

drop_working_folder()

from errlint.cli import main  # noqa: E402 - after the working folder is off sys.path

sys.exit(main())
