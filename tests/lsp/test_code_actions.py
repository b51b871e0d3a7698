"""Code actions end to end: the edits they carry, applied to the text, give the expected source."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
from lsp_helpers import PROFILES, apply_text_edits, edits_for, start_editor, stop_editor
from lsprotocol import types

from errlint.linter.config import Settings
from errlint.linter.engine import lint_source
from errlint.linter.findings import Applicability
from errlint.linter.fixes import apply_edits, fix_source
from errlint.lsp.code_actions import ignore_edit
from errlint.lsp.documents import Document
from errlint.rules import all_rules

RETRY = "from urllib3.util.retry import Retry\n"
ERR101_LINE = "retry = Retry(total=3, backoff_factor=1, status_forcelist=[401, 404, 429])"
SOURCE = RETRY + ERR101_LINE + "\n"

# Known SAFE fixes, preferred in this order; any other rule's SAFE fix also does.
PREFERRED_SAFE_FIXES = [
    ("ERR109", RETRY + 'retry = Retry(total=3, method_whitelist=["GET", "POST"])\n'),
    ("ERR203", "import requests\ntry:\n    requests.get('https://example.com', timeout=5)\nexcept ConnectionError:\n    pass\n"),
]


def _fix_example(applicability: Applicability = Applicability.SAFE) -> tuple[str, str]:
    """(code, source) of a file with a fix of that applicability under the default settings."""
    candidates = list(PREFERRED_SAFE_FIXES) if applicability is Applicability.SAFE else []
    for rule in all_rules():
        for example in rule.INVALID:
            candidates.append((rule.code, textwrap.dedent(example.code).lstrip("\n")))
    for code, source in candidates:
        if _finding(source, code, applicability) is not None:
            return code, source
    pytest.fail(f"no rule offers a {applicability.value} fix under the default settings; the fix tests need one")


def _safe_fix_example() -> tuple[str, str]:
    return _fix_example(Applicability.SAFE)


def _finding(source: str, code: str, applicability: Applicability = Applicability.SAFE, path: str = "example.py"):
    for finding in lint_source(source, path, Settings()).findings:
        if finding.code == code and finding.fix and finding.fix.applicability is applicability and finding.fix.edits:
            return finding
    return None


async def _actions_for(editor, uri, code, only=None):
    diagnostics = [d for d in await editor.diagnostics(uri) if d.code == code]
    assert diagnostics, f"no {code} diagnostic"
    return diagnostics, await editor.code_actions(uri, diagnostics[:1], only=only)


async def test_a_display_only_suggestion_is_never_applied(editor):
    uri = editor.open("client.py", SOURCE)
    _, actions = await _actions_for(editor, uri, "ERR101")
    [suggestion] = [a for a in actions if a.title.startswith("errlint (ERR101): Retry only 429")]
    assert suggestion.title == "errlint (ERR101): Retry only 429 (show suggestion)"
    assert suggestion.edit is None
    assert suggestion.kind == types.CodeActionKind.QuickFix
    assert not suggestion.is_preferred
    assert suggestion.command.command == "errlint.showSuggestion"
    await editor.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=suggestion.command.command, arguments=suggestion.command.arguments)
    )
    for _ in range(100):
        if editor.client.messages:
            break
        await asyncio.sleep(0.02)
    [message] = editor.client.messages
    assert message.type == types.MessageType.Info
    assert "replace `[401, 404, 429]` with `[429]` on line 2" in message.message
    assert "not applied automatically" in message.message
    # Showing it changed nothing.
    assert "ERR101" in [d.code for d in await editor.diagnostics(uri)]
    assert [a.title for a in actions if a.edit is not None] == ["Ignore ERR101 for this line"]


async def test_ignore_for_this_line_adds_a_suppression_comment(editor):
    uri = editor.open("client.py", SOURCE)
    _, actions = await _actions_for(editor, uri, "ERR101")
    [ignore] = [a for a in actions if a.title == "Ignore ERR101 for this line"]
    fixed = editor.apply(uri, ignore)
    assert fixed == RETRY + ERR101_LINE + "  # errlint: ignore[ERR101]\n"

    mark = editor.mark()
    editor.send_edits(uri, _edits(ignore, uri))
    assert editor.texts[uri] == fixed
    assert await editor.diagnostics(uri, since=mark) == []


async def test_ignore_merges_with_an_existing_suppression_comment(editor):
    uri = editor.open("client.py", RETRY + ERR101_LINE + "   # errlint: ignore[ERR102]\n")
    _, actions = await _actions_for(editor, uri, "ERR101")
    [ignore] = [a for a in actions if a.title == "Ignore ERR101 for this line"]
    assert editor.apply(uri, ignore) == RETRY + ERR101_LINE + "   # errlint: ignore[ERR102, ERR101]\n"


async def test_ignore_in_a_statement_over_several_lines(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["neovim"])
    try:
        source = RETRY + 'retry = Retry(\n    total=3,\n    backoff_factor=1,\n    status_forcelist=[401, 404, 429],  # why: see docs\n)\nnote = """\n"""\n'
        uri = editor.open("multi.py", source)
        _, actions = await _actions_for(editor, uri, "ERR101")
        [ignore] = [a for a in actions if a.title == "Ignore ERR101 for this line"]
        fixed = editor.apply(uri, ignore)
        assert fixed.splitlines()[4] == "    status_forcelist=[401, 404, 429],  # why: see docs  # errlint: ignore[ERR101]"
        mark = editor.mark()
        editor.send_edits(uri, _edits(ignore, uri))
        assert await editor.diagnostics(uri, since=mark) == []
    finally:
        await stop_editor(editor)


async def test_a_safe_fix_is_a_quick_fix_that_changes_only_its_lines(editor):
    code, source = _safe_fix_example()
    uri = editor.open("fixable.py", source)
    diagnostics, actions = await _actions_for(editor, uri, code)
    finding = next(
        f for f in lint_source(source, str(Path(editor.root, "fixable.py")), Settings()).findings
        if f.code == code and f.fix and f.fix.applicability is Applicability.SAFE
    )
    title = f"errlint ({code}): {finding.fix.title}"
    [quick_fix] = [a for a in actions if a.title == title]
    assert quick_fix.kind == types.CodeActionKind.QuickFix
    assert quick_fix.is_preferred is True
    fixed = editor.apply(uri, quick_fix)
    assert fixed == apply_edits(source, finding.fix.edits)

    # Only the finding's lines change.
    before, after = source.splitlines(), fixed.splitlines()
    first, last = finding.start.line - 1, finding.end.line - 1
    after_last = len(before) - last - 1
    assert before[:first] == after[:first]
    assert before[last + 1 :] == (after[len(after) - after_last :] if after_last else [])

    mark = editor.mark()
    editor.send_edits(uri, _edits(quick_fix, uri))
    assert code not in [d.code for d in await editor.diagnostics(uri, since=mark)]


async def test_an_unsafe_fix_is_offered_but_not_preferred(workspace, server_command):
    code, source = _fix_example(Applicability.UNSAFE)
    editor = await start_editor(server_command, workspace, PROFILES["neovim"])
    try:
        uri = editor.open("unsafe.py", source)
        _, actions = await _actions_for(editor, uri, code)
        finding = _finding(source, code, Applicability.UNSAFE, str(workspace / "unsafe.py"))
        [quick_fix] = [a for a in actions if a.title == f"errlint ({code}): {finding.fix.title}"]
        assert quick_fix.is_preferred is False
        assert editor.apply(uri, quick_fix) == apply_edits(source, finding.fix.edits)
        # Fix all applies SAFE fixes only: this one stays.
        for action in await editor.code_actions(uri, [], only=["source.fixAll.errlint"]):
            assert editor.apply(uri, action) == fix_source(source, str(workspace / "unsafe.py"), Settings()).source
    finally:
        await stop_editor(editor)


async def test_fix_all_applies_every_safe_fix(editor):
    code, source = _safe_fix_example()
    uri = editor.open("fixable.py", source)
    await editor.diagnostics(uri)
    actions = await editor.code_actions(uri, [], only=["source.fixAll.errlint"])
    [fix_all] = actions
    assert fix_all.kind == "source.fixAll.errlint"
    expected = fix_source(source, str(Path(editor.root, "fixable.py")), Settings()).source
    assert expected != source
    assert editor.apply(uri, fix_all) == expected

    # Asked for as "source.fixAll" (what editor.codeActionsOnSave sends) it is there too.
    assert [a.kind for a in await editor.code_actions(uri, [], only=["source.fixAll"])] == ["source.fixAll.errlint"]
    # ...but not among quick fixes only.
    assert all(a.kind == "quickfix" for a in await editor.code_actions(uri, [], only=["quickfix"]))


async def test_fix_all_with_nothing_to_fix_changes_nothing(editor):
    uri = editor.open("client.py", SOURCE)
    await editor.diagnostics(uri)
    for action in await editor.code_actions(uri, [], only=["source.fixAll.errlint"]):
        assert editor.apply(uri, action) == SOURCE


async def test_actions_come_from_the_cursor_when_the_client_sends_no_diagnostics(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["neovim-0.7"])
    try:
        uri = editor.open("client.py", SOURCE)
        [diagnostic] = await editor.diagnostics(uri)
        actions = await editor.code_actions(uri, [], range_=diagnostic.range)
        assert "Ignore ERR101 for this line" in [a.title for a in actions]
    finally:
        await stop_editor(editor)


async def test_an_outdated_diagnostic_gets_actions_for_the_current_text(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["vscode"])
    try:
        code, source = _safe_fix_example()
        uri = editor.open("fixable.py", source)
        diagnostics = [d for d in await editor.diagnostics(uri) if d.code == code]
        # The user adds a line at the top; the client asks with the diagnostic it still has.
        editor.change(uri, (0, 0), (0, 0), "# moved\n")
        current = editor.texts[uri]
        finding = next(
            f for f in lint_source(current, str(Path(editor.root, "fixable.py")), Settings()).findings
            if f.code == code and f.fix and f.fix.applicability is Applicability.SAFE
        )
        actions = await editor.code_actions(uri, diagnostics[:1])
        [quick_fix] = [a for a in actions if a.title == f"errlint ({code}): {finding.fix.title}"]
        assert editor.apply(uri, quick_fix) == apply_edits(current, finding.fix.edits)
        [ignore] = [a for a in actions if a.title == f"Ignore {code} for this line"]
        changed = [n for n, (a, b) in enumerate(zip(current.splitlines(), editor.apply(uri, ignore).splitlines())) if a != b]
        assert changed and changed[0] >= finding.start.line - 1
    finally:
        await stop_editor(editor)


def _edits(action: types.CodeAction, uri: str) -> list[types.TextEdit]:
    return edits_for(action.edit, uri)


@pytest.mark.parametrize(
    ("source", "line", "expected"),
    [
        ("x = f(1)\n", 0, "x = f(1)  # errlint: ignore[ERR101]\n"),
        ("x = f(1)   \n", 0, "x = f(1)  # errlint: ignore[ERR101]\n"),
        ("x = f(1)  # errlint: ignore\n", 0, "x = f(1)  # errlint: ignore[ERR101]\n"),
        ("x = f(1)  # noqa: E501\n", 0, "x = f(1)  # noqa: E501  # errlint: ignore[ERR101]\n"),
        ("x = f(1)  # errlint: ignore[ERR1]\n", 0, None),
        # A line continued with a backslash, or ending inside a string, cannot take a comment.
        ("x = 1 + \\\n    f(1)\n", 0, "x = 1 + \\\n    f(1)  # errlint: ignore[ERR101]\n"),
        ('x = f("""\n""", 1)\ny = 2\n', 0, 'x = f("""\n""", 1)  # errlint: ignore[ERR101]\ny = 2\n'),
        ("x = f(1)\r\ny = 2\r\n", 0, "x = f(1)  # errlint: ignore[ERR101]\r\ny = 2\r\n"),
        ("def f(:\n    pass\n", 0, "def f(:  # errlint: ignore[ERR101]\n    pass\n"),
    ],
)
def test_ignore_comment_placement(source, line, expected):
    edit = ignore_edit(Document("file:///x.py", source, 1), line, "ERR101", "utf-16")
    if expected is None:
        assert edit is None
    else:
        assert apply_text_edits(source, [edit], "utf-16") == expected
