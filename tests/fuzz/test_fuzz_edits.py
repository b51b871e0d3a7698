"""Edit storms: the editor's incremental path against a fresh lint of the same text.

A storm types, deletes and pastes at random places in a rule example, one
version after another through one `ReusingParser` (what the server keeps per
document), and compares every version's result with the CLI's. Half of the
edits land where a top-level statement starts, where the editor's parse cuts
the text. (tests/lsp/test_fuzz_server.py sends such storms to a real server.)
"""

from __future__ import annotations

import random

from errlint.linter.config import Settings
from errlint.linter.engine import lint_source
from errlint.linter.incremental import ReusingParser

from .conftest import LONG_RUN
from .helpers import TRIED, example_sources

# Each example followed by more module-level code, as real modules are.
SOURCES = [source + "\n\ndef helper():\n    return None\n" for source in example_sources()]
SETTINGS = Settings(select=("ERR",))
VERSIONS = LONG_RUN or 1500
EDITS_PER_STORM = 5  # short storms: most versions still parse
PIECES = [
    "", "x", " ", "\n", "    ", "(", ")", ":", "\\\n", "#", '"', "\tpass\n", "try:\n", "return r.json()\n",
    "def helper():\n    pass\n", "x = 1\n",
]


def random_edit(rng: random.Random, text: str) -> str:
    top_level = [i for i in range(len(text)) if (i == 0 or text[i - 1] == "\n") and text[i].isalpha()]
    if top_level and rng.random() < 0.5:
        at = rng.choice([*top_level, len(text)])
    else:
        at = rng.randrange(len(text) + 1)
    piece = rng.choice(PIECES)
    deleted = rng.randrange(1, 4) if piece == "" else 0  # typing inserts, the empty piece deletes
    return text[:at] + piece + text[at + deleted :]


def test_edit_storms_through_the_incremental_parser():
    rng = random.Random(None if LONG_RUN else 20261203)
    while TRIED["editor versions"] < VERSIONS:
        editor = ReusingParser()
        text = rng.choice(SOURCES)
        lint_source(text, "storm.py", SETTINGS, reuse=editor)
        for _ in range(EDITS_PER_STORM):
            text = random_edit(rng, text)
            TRIED["editor versions"] += 1
            assert lint_source(text, "storm.py", SETTINGS, reuse=editor) == lint_source(text, "storm.py", SETTINGS), text
