"""The server answers or ignores what it cannot use, and never goes down."""

from __future__ import annotations

import json
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


# --- the base protocol: framing a client got wrong (issue 11, item 8) -----------


def _frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _message(**fields) -> bytes:
    return _frame(json.dumps({"jsonrpc": "2.0", **fields}).encode())


def _answers(server_command, stream: bytes) -> tuple[int, list[dict]]:
    """Exit code and every answer except log messages, in order."""
    process = subprocess.run(server_command, input=stream, capture_output=True, timeout=60)
    answers, rest = [], process.stdout
    while rest:
        header, _, rest = rest.partition(b"\r\n\r\n")
        length = int(header.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        body, rest = json.loads(rest[:length]), rest[length:]
        if body.get("method") != types.WINDOW_LOG_MESSAGE:
            answers.append(body)
    return process.returncode, answers


INITIALIZE = _message(id=1, method="initialize", params={"capabilities": {}})
SHUTDOWN_AND_EXIT = _message(id=99, method="shutdown") + _message(method="exit")


@pytest.mark.parametrize(
    ("bad", "code", "message"),
    [
        (b"Content-Length: 99999999999\r\n\r\n{}", -32600, "message of 99999999999 bytes is over the 67108864-byte limit"),
        (b'Content-Length: abc\r\n\r\n{"id": 5}', -32700, "Content-Length 'abc' is not a number"),
        (b"Content-Type: x\r\n\r\n{}", -32700, "header without Content-Length"),
        (_frame(b"{not json"), -32700, "Parse error: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (_frame(b"[1, 2]"), -32600, "a message must be a JSON object"),
        (_frame(b'{"id": 7}'), -32600, "not a JSON-RPC 2.0 message"),
    ],
    ids=["huge-length", "length-not-a-number", "no-length", "not-json", "not-an-object", "not-json-rpc"],
)
def test_badly_framed_messages_get_an_error_and_the_server_goes_on(server_command, bad, code, message):
    returncode, answers = _answers(server_command, bad + INITIALIZE + SHUTDOWN_AND_EXIT)

    error = {"jsonrpc": "2.0", "id": 7 if b'"id": 7' in bad else None, "error": {"code": code, "message": message}}
    assert answers[0] == error
    assert [answer.get("id") for answer in answers[1:]] == [1, 99]
    assert "capabilities" in answers[1]["result"]
    assert returncode == 0


def test_requests_after_shutdown_are_invalid(server_command):
    hover = {"textDocument": {"uri": "file:///x.py"}, "position": {"line": 0, "character": 0}}
    stream = INITIALIZE + _message(id=2, method="shutdown") + _message(id=3, method="textDocument/hover", params=hover)

    returncode, answers = _answers(server_command, stream + _message(method="exit"))

    assert answers[1:] == [
        {"jsonrpc": "2.0", "id": 2, "result": None},
        {"jsonrpc": "2.0", "id": 3, "error": {"code": -32600, "message": "textDocument/hover after shutdown"}},
    ]
    assert returncode == 0
