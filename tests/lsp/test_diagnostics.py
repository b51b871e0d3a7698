"""Diagnostics end to end: open, incremental change, save, close, syntax errors, non-ASCII text."""

from __future__ import annotations

import asyncio

import pytest
from lsp_helpers import (
    PROFILES,
    Profile,
    start_editor,
    stop_editor,
    to_position,
    units,
    utf32_capabilities,
)
from lsprotocol import types

RETRY = "from urllib3.util.retry import Retry\n"
ERR101_LINE = "retry = Retry(total=3, backoff_factor=1, status_forcelist=[401, 404, 429])\n"
SOURCE = RETRY + ERR101_LINE


async def test_open_publishes_the_findings(editor):
    uri = editor.open("client.py", SOURCE)
    diagnostics = await editor.diagnostics(uri)
    assert len(diagnostics) == 1
    [diagnostic] = diagnostics
    assert diagnostic.code == "ERR101"
    assert diagnostic.source == "errlint"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.message == "`status_forcelist` retries 401 and 404, which fail the same way on every attempt"
    assert diagnostic.code_description.href.endswith("#err101-retry-permanent-status")
    start = ERR101_LINE.index("status_forcelist")
    assert diagnostic.range == types.Range(
        start=types.Position(line=1, character=start),
        end=types.Position(line=1, character=ERR101_LINE.index(")")),
    )
    assert diagnostic.data["version"] == 1
    assert diagnostic.data["fix"]["applicability"] == "display-only"


async def test_the_server_uses_pull_or_push_as_the_client_supports(editor):
    capabilities = editor.initialize_result.capabilities
    assert (capabilities.diagnostic_provider is not None) == editor.profile.pull
    assert capabilities.position_encoding == editor.profile.encoding
    uri = editor.open("client.py", SOURCE)
    await editor.diagnostics(uri)
    if editor.profile.pull:
        await asyncio.sleep(0.3)
        assert editor.client.published == [], "a pulling client must not also get pushed diagnostics"


async def test_incremental_changes_update_the_diagnostics(editor):
    uri = editor.open("client.py", SOURCE)
    assert [d.code for d in await editor.diagnostics(uri)] == ["ERR101"]

    # Remove "401, 404, " from the list: nothing left to report.
    column = ERR101_LINE.index("401")
    mark = editor.mark()
    editor.change(uri, (1, column), (1, column + len("401, 404, ")), "")
    assert editor.texts[uri].endswith("status_forcelist=[429])\n")
    assert await editor.diagnostics(uri, since=mark) == []

    # Type a new line above it with a permanent status again: the finding moves down a line.
    mark = editor.mark()
    editor.change(uri, (1, 0), (1, 0), "other = Retry(total=1, backoff_factor=1, status_forcelist=[403])\n")
    diagnostics = await editor.diagnostics(uri, since=mark)
    assert [(d.code, d.range.start.line) for d in diagnostics] == [("ERR101", 1)]


async def test_only_the_latest_version_is_published(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["neovim-0.7"])
    try:
        uri = editor.open("client.py", SOURCE)
        await editor.diagnostics(uri)
        mark = editor.mark()
        column = ERR101_LINE.index("401")
        for _ in range(5):  # typing fast: five versions in a burst
            editor.change(uri, (1, column), (1, column), "4")
            editor.change(uri, (1, column), (1, column + 1), "")
        final = editor.versions[uri]
        diagnostics = await editor.diagnostics(uri, since=mark)
        assert [d.code for d in diagnostics] == ["ERR101"]
        await asyncio.sleep(0.3)
        versions = [p.version for p in editor.client.published[mark:] if p.uri == uri]
        assert versions[-1] == final
        assert versions == sorted(versions), f"an older version was published after a newer one: {versions}"
        assert all(p.diagnostics[0].data["version"] == p.version for p in editor.client.published[mark:])
    finally:
        await stop_editor(editor)


async def test_close_clears_the_diagnostics(editor):
    uri = editor.open("client.py", SOURCE)
    assert await editor.diagnostics(uri)
    mark = editor.mark()
    editor.close(uri)
    assert await editor.pushed(uri, None, since=mark) == []
    if editor.profile.pull:
        assert await editor.pull(uri) == []


async def test_save_lints_again(editor, workspace):
    uri = editor.open("client.py", SOURCE)
    assert await editor.diagnostics(uri)
    mark = editor.mark()
    editor.client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert [d.code for d in await editor.diagnostics(uri, since=mark)] == ["ERR101"]


async def test_a_syntax_error_shows_err900_and_the_server_keeps_going(editor):
    broken = "import requests\ndef fetch(url:\n    return requests.get(url)\n"
    uri = editor.open("broken.py", broken)
    diagnostics = await editor.diagnostics(uri)
    assert [d.code for d in diagnostics] == ["ERR900"]
    assert diagnostics[0].severity == types.DiagnosticSeverity.Error
    assert diagnostics[0].message.startswith("SyntaxError")
    assert 0 <= diagnostics[0].range.start.line <= 2

    # Code actions and hover on the broken file still answer.
    await editor.code_actions(uri, diagnostics)
    await editor.hover(uri, 1, 4)

    # Fixing the typo brings the real findings back.
    mark = editor.mark()
    editor.change(uri, (1, len("def fetch(url")), (1, len("def fetch(url")), ")")
    assert await editor.diagnostics(uri, since=mark) == []
    other = editor.open("client.py", SOURCE)
    assert [d.code for d in await editor.diagnostics(other)] == ["ERR101"]


async def test_a_syntax_error_at_the_end_of_the_file_is_inside_the_document(editor):
    uri = editor.open("eof.py", "import requests\nresult = requests.get(\n")
    [diagnostic] = await editor.diagnostics(uri)
    assert diagnostic.code == "ERR900"
    assert diagnostic.range.end.line <= 2


NON_ASCII_LINE = 'note = "héllo 😀 wörld"; retry = Retry(total=3, backoff_factor=1, status_forcelist=[401, 404, 429])\n'


async def _check_non_ascii(editor):
    source = RETRY + "# 日本語のコメント 🎉\n" + NON_ASCII_LINE
    uri = editor.open("unicode.py", source)
    [diagnostic] = await editor.diagnostics(uri)
    start = NON_ASCII_LINE.index("status_forcelist")
    end = NON_ASCII_LINE.index("])") + 1
    assert diagnostic.range.start == types.Position(line=2, character=units(NON_ASCII_LINE[:start], editor.encoding))
    assert diagnostic.range.end == types.Position(line=2, character=units(NON_ASCII_LINE[:end], editor.encoding))

    # An incremental change after the emoji is applied at the right place.
    mark = editor.mark()
    at = NON_ASCII_LINE.index("wörld") + len("wörld")
    editor.change(uri, (2, at), (2, at), " 🎉🎉")
    [diagnostic] = await editor.diagnostics(uri, since=mark)
    line = editor.texts[uri].splitlines()[2]
    assert line.startswith('note = "héllo 😀 wörld 🎉🎉"; retry')
    assert diagnostic.range.start == to_position(editor.texts[uri], 2, line.index("status_forcelist"), editor.encoding)

    # Deleting the list's permanent statuses through a position after the emoji clears it.
    mark = editor.mark()
    column = line.index("401")
    editor.change(uri, (2, column), (2, column + len("401, 404, ")), "")
    assert await editor.diagnostics(uri, since=mark) == []
    return editor


async def test_non_ascii_positions(editor):
    """UTF-16 for VS Code and Neovim 0.7, UTF-8 for Neovim 0.11 (which offers it first)."""
    await _check_non_ascii(editor)


async def test_non_ascii_positions_in_utf32(workspace, server_command):
    profile = Profile("utf-32", utf32_capabilities, "utf-32", pull=True)
    editor = await start_editor(server_command, workspace, profile)
    try:
        assert editor.initialize_result.capabilities.position_encoding == "utf-32"
        await _check_non_ascii(editor)
    finally:
        await stop_editor(editor)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
async def test_other_line_endings(workspace, server_command, newline):
    editor = await start_editor(server_command, workspace, PROFILES["vscode"])
    try:
        source = SOURCE.replace("\n", newline)
        uri = editor.open("crlf.py", source)
        [diagnostic] = await editor.diagnostics(uri)
        assert diagnostic.range.start.line == 1
        assert diagnostic.range.start.character == ERR101_LINE.index("status_forcelist")
    finally:
        await stop_editor(editor)


async def test_a_file_that_cannot_be_checked_says_why(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["neovim-0.7"])
    try:
        uri = editor.open("deep.py", "import requests\nx = " + "(" * 300 + "1" + ")" * 300 + "\n")
        diagnostics = await editor.diagnostics(uri)
        assert len(diagnostics) == 1
        assert diagnostics[0].message.startswith("errlint could not check this file:")
        # The server is still there for the next file.
        other = editor.open("client.py", SOURCE)
        assert [d.code for d in await editor.diagnostics(other)] == ["ERR101"]
    finally:
        await stop_editor(editor)


async def test_unchanged_results_are_reported_as_unchanged(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["vscode"])
    try:
        uri = editor.open("client.py", SOURCE)
        request = types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        first = await editor.client.text_document_diagnostic_async(request)
        assert first.kind == "full" and first.result_id
        request.previous_result_id = first.result_id
        second = await editor.client.text_document_diagnostic_async(request)
        assert second.kind == "unchanged" and second.result_id == first.result_id
    finally:
        await stop_editor(editor)
