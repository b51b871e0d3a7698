"""Keep the working folder off `sys.path` before anything else is imported.

`python -m errlint` puts the working folder first on `sys.path`, and an
editor starts the server with the workspace as its working folder: a
workspace file named `lsprotocol.py` or `pygls/` would then be imported, and
run, in place of the real library. errlint never imports the code it lints.
(A workspace `errlint/` package can only be kept out by the launcher: the
editors start the server from another folder, with PYTHONSAFEPATH set.)
"""

import os
import sys


def drop_working_folder() -> None:
    working = os.getcwd()
    sys.path[:] = [entry for entry in sys.path if entry not in ("", ".", working)]
