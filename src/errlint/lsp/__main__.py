"""`python -m errlint.lsp`: the language server over stdio (same as `errlint lsp`)."""

import sys

from errlint._safe_path import drop_working_folder

drop_working_folder()

from errlint.lsp.server import serve  # noqa: E402 - after the working folder is off sys.path

sys.exit(serve(sys.argv[1:]))
