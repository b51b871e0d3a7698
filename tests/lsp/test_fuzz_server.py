"""A random edit storm against the real server over stdio: after every burst of
incremental edits, its diagnostics for the final text are the CLI's findings.
Part of the fuzz suite (tests/fuzz): ERRLINT_FUZZ_EXAMPLES sets how many edits
a long run sends, with a random seed instead of the fixed one."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest
from lsp_helpers import PROFILES, split_lines, start_editor, stop_editor

from errlint.linter.config import Settings
from errlint.linter.engine import lint_source

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzz.test_fuzz_edits import SOURCES, random_edit  # noqa: E402

LONG_RUN = int(os.environ.get("ERRLINT_FUZZ_EXAMPLES", "0"))
EDITS = LONG_RUN or 750
BURST = 5


def _send_as_edit(editor, uri: str, edited: str) -> None:
    """`edited` sent as one incremental change: the span between the common prefix and suffix."""
    before = editor.texts[uri]
    prefix = 0
    while prefix < min(len(before), len(edited)) and before[prefix] == edited[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(before), len(edited)) - prefix and before[-1 - suffix] == edited[-1 - suffix]:
        suffix += 1
    editor.change(uri, _line_column(before, prefix), _line_column(before, len(before) - suffix), edited[prefix : len(edited) - suffix])


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = len(split_lines(text[:offset])) - 1
    return line, offset - (text.rfind("\n", 0, offset) + 1)


def _shown(diagnostics) -> list[tuple[str, int, str]]:
    return sorted((d.code or "", d.range.start.line + 1, "" if d.code else d.message) for d in diagnostics)


def _expected(text: str) -> list[tuple[str, int, str]]:
    """What the CLI's result for `text` looks like as diagnostics."""
    result = lint_source(text, "storm.py", Settings())
    shown = [(f.code, f.start.line, "") for f in result.findings]
    if result.notice:
        shown.append(("", 1, f"errlint: {result.notice}"))
    if result.error:
        shown.append(("", 1, f"errlint could not check this file: {result.error}"))
    return sorted(shown)


@pytest.mark.parametrize("profile", ["vscode", "neovim"])
async def test_edit_storm_against_the_server(profile, server_command, workspace):
    rng = random.Random(None if LONG_RUN else 20261203)
    editor = await start_editor(server_command, workspace, PROFILES[profile])
    sent = 0
    try:
        while sent < EDITS:
            uri = editor.open(f"storm{sent}.py", rng.choice(SOURCES), write=False)
            for _ in range(BURST):
                edited = random_edit(rng, editor.texts[uri])
                editor.replace_all(uri, edited) if rng.random() < 0.1 else _send_as_edit(editor, uri, edited)
                sent += 1
                assert _shown(await editor.diagnostics(uri)) == _expected(edited), edited
            editor.close(uri)
    finally:
        await stop_editor(editor)
    print(f"fuzz: server edits ({profile}) tried {sent} inputs")
