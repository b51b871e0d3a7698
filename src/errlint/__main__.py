import sys

from errlint.cli import main

sys.exit(main())
