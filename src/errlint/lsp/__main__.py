"""`python -m errlint.lsp`: the language server over stdio (same as `errlint lsp`)."""

import sys

from errlint.lsp.server import serve

sys.exit(serve(sys.argv[1:]))
