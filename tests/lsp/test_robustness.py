"""The server answers or ignores what it cannot use, and never goes down."""

from __future__ import annotations

import subprocess
import sys

import pytest
from lsp_helpers import PROFILES, start_editor, stop_editor
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcMethodNotFound,
)

SOURCE = "from urllib3.util.retry import Retry\nretry = Retry(total=3, backoff_factor=1, status_forcelist=[401, 404, 429])\n"


async def _still_works(editor) -> None:
    uri = editor.open("alive.py", SOURCE)
    assert "ERR101" in [d.code for d in await editor.diagnostics(uri)]


async def test_malformed_requests_get_an_error_answer(editor):
    with pytest.raises(JsonRpcInvalidParams):
        await editor.raw_request(types.TEXT_DOCUMENT_HOVER, {"textDocument": {"uri": 42}})
    with pytest.raises(JsonRpcException):
        await editor.raw_request(types.TEXT_DOCUMENT_CODE_ACTION, {"textDocument": {}, "range": "x"})
    with pytest.raises(JsonRpcMethodNotFound):
        await editor.raw_request("errlint/noSuchMethod", {})
    await _still_works(editor)


async def test_malformed_notifications_are_ignored(editor):
    notify = editor.raw_notify
    notify(types.TEXT_DOCUMENT_DID_CHANGE, {"textDocument": {"uri": "file:///nowhere.py"}, "contentChanges": "?"})
    notify(types.TEXT_DOCUMENT_DID_OPEN, {"textDocument": None})
    notify("errlint/unknownNotification", {"x": 1})
    notify(types.WORKSPACE_DID_CHANGE_CONFIGURATION, {"settings": {"errlint": "not an object"}})
    await _still_works(editor)


async def test_requests_for_documents_that_are_not_open(editor):
    uri = (editor.root / "never-opened.py").as_uri()
    assert await editor.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0))
    ) is None
    editor.texts[uri] = ""
    editor.versions[uri] = 1
    editor.change(uri, (0, 0), (0, 0), "x = 1\n")  # didChange without didOpen
    assert await editor.code_actions(uri, []) == []
    if editor.profile.pull:
        assert await editor.pull(uri) == []
    await _still_works(editor)


async def test_out_of_range_positions_are_clamped(editor):
    uri = editor.open("client.py", SOURCE)
    await editor.diagnostics(uri)
    far = types.Range(start=types.Position(line=99, character=0), end=types.Position(line=99, character=5))
    editor.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangePartial(range=far, text="# end\n")],
        )
    )
    editor.versions[uri] = 2
    editor.texts[uri] = SOURCE + "# end\n"  # past the end means at the end
    assert "ERR101" in [d.code for d in await editor.diagnostics(uri)]
    assert await editor.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=5, character=500))
    ) is None
    await _still_works(editor)


async def test_non_python_documents_are_not_linted(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["neovim-0.7"])
    try:
        uri = (workspace / "notes.md").as_uri()
        editor.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="markdown", version=1, text=SOURCE)
            )
        )
        await _still_works(editor)
        assert uri not in editor.client.diagnostics
    finally:
        await stop_editor(editor)


async def test_untitled_documents_are_linted(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["vscode"])
    try:
        uri = "untitled:Untitled-1"
        editor.texts[uri] = SOURCE
        editor.versions[uri] = 1
        editor.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=SOURCE)
            )
        )
        assert "ERR101" in [d.code for d in await editor.diagnostics(uri)]
    finally:
        await stop_editor(editor)


async def test_shutdown_and_exit_end_the_process_cleanly(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["neovim"])
    process = editor.client._server
    await stop_editor(editor)
    assert process.returncode == 0


def test_the_server_exits_when_the_client_goes_away(server_command):
    process = subprocess.run(server_command, input=b"", capture_output=True, timeout=60)
    assert process.returncode == 1  # no shutdown request came
    assert process.stdout == b""


async def test_python_m_errlint_lsp_serves_too(workspace):
    editor = await start_editor([sys.executable, "-m", "errlint.lsp"], workspace, PROFILES["neovim-0.7"])
    try:
        await _still_works(editor)
    finally:
        await stop_editor(editor)


def test_python_m_errlint_lsp_shows_its_options():
    result = subprocess.run([sys.executable, "-m", "errlint.lsp", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "--log-file" in result.stdout
