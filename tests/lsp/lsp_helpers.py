"""Helpers for the end-to-end tests: client profiles, an editor-like client, positions.

Positions are converted here with Python's codecs, independently of errlint.lsp.positions.
"""

from __future__ import annotations

import asyncio
import copy
import os
import re
import shlex
import sys
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

TIMEOUT = 20.0
SERVER_CANCELLED = -32802


def server_command_line() -> list[str]:
    override = os.environ.get("ERRLINT_LSP_COMMAND")
    if override:
        return shlex.split(override)
    return [sys.executable, "-m", "errlint", "lsp"]  # what the VS Code extension runs


# --- client profiles -------------------------------------------------------------------


def _vscode_capabilities() -> types.ClientCapabilities:
    """VS Code as driven by vscode-languageclient 9 (what editors/vscode uses): pull diagnostics, UTF-16."""
    capabilities = copy.deepcopy(client_capabilities("visual-studio-code"))
    capabilities.text_document.diagnostic = types.DiagnosticClientCapabilities(
        dynamic_registration=True, related_document_support=False
    )
    capabilities.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    capabilities.general = types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16])
    return capabilities


def _neovim_capabilities() -> types.ClientCapabilities:
    """Neovim 0.11: pull diagnostics, offers UTF-8 first."""
    return copy.deepcopy(client_capabilities("neovim@v0.11"))


def _neovim_07_capabilities() -> types.ClientCapabilities:
    """Neovim 0.7 (Debian's): push diagnostics, UTF-16, no workspace/configuration."""
    return copy.deepcopy(client_capabilities("neovim@v0.7"))


@dataclass(frozen=True)
class Profile:
    name: str
    capabilities: Any
    encoding: str
    pull: bool


PROFILES = {
    "vscode": Profile("vscode", _vscode_capabilities, "utf-16", pull=True),
    "neovim": Profile("neovim", _neovim_capabilities, "utf-8", pull=True),
    "neovim-0.7": Profile("neovim-0.7", _neovim_07_capabilities, "utf-16", pull=False),
}


def utf32_capabilities() -> types.ClientCapabilities:
    capabilities = _neovim_capabilities()
    capabilities.general = types.GeneralClientCapabilities(position_encodings=["utf-32"])
    return capabilities


# --- positions, computed independently of the server's code -----------------------------

_LINES = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    return _LINES.split(text)


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def to_position(text: str, line: int, column: int, encoding: str) -> types.Position:
    """LSP position of a 0-based line and code-point column (lines past the end are empty)."""
    lines = split_lines(text)
    line_text = lines[line] if line < len(lines) else ""
    return types.Position(line=line, character=units(line_text[:column], encoding))


def to_offset(text: str, position: types.Position, encoding: str) -> int:
    starts = [0] + [m.end() for m in _LINES.finditer(text)]
    line_text = split_lines(text)[position.line]
    if encoding == "utf-8":
        column = len(line_text.encode("utf-8")[: position.character].decode("utf-8"))
    elif encoding == "utf-16":
        column = len(line_text.encode("utf-16-le")[: 2 * position.character].decode("utf-16-le"))
    else:
        column = position.character
    return starts[position.line] + column


def apply_text_edits(text: str, edits: list[types.TextEdit], encoding: str) -> str:
    spans = sorted(
        ((to_offset(text, e.range.start, encoding), to_offset(text, e.range.end, encoding), e.new_text) for e in edits),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def edits_for(workspace_edit: types.WorkspaceEdit, uri: str) -> list[types.TextEdit]:
    if workspace_edit.document_changes:
        return [
            edit
            for change in workspace_edit.document_changes
            if isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri
            for edit in change.edits
        ]
    return list((workspace_edit.changes or {}).get(uri, []))


# --- the editor --------------------------------------------------------------------------


def _make_client() -> LanguageClient:
    client = LanguageClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)

    def publish(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        client.diagnostics[params.uri] = params.diagnostics
        client.published.append(params)

    def register_capability(client: LanguageClient, params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    features[types.CLIENT_REGISTER_CAPABILITY] = register_capability
    register_lsp_features(client, features)
    client.published = []
    client.registrations = []

    # lsprotocol reads any object with a `command` key as a Command, but a CodeAction
    # may carry a command object too; tell them apart as editors do.
    converter = client.protocol._converter

    def command_or_action(value: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(value.get("command"), str):
            return converter.structure(value, types.Command)
        return converter.structure(value, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], command_or_action)
    return client


@dataclass
class Editor:
    """A client that behaves like `profile`, with helpers that hide push vs pull."""

    client: LanguageClient
    profile: Profile
    root: Path
    initialize_result: types.InitializeResult | None = None
    texts: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    @property
    def encoding(self) -> str:
        return self.profile.encoding

    def uri(self, name: str) -> str:
        return (self.root / name).as_uri()

    def open(self, name: str, text: str, write: bool = True) -> str:
        path = self.root / name
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        uri = path.as_uri()
        self.texts[uri] = text
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        return uri

    def change(self, uri: str, start: tuple[int, int], end: tuple[int, int], new_text: str) -> int:
        """Replace code-point (line, column) start..end with `new_text`, sent as an incremental change."""
        text = self.texts[uri]
        range_ = types.Range(
            start=to_position(text, *start, self.encoding), end=to_position(text, *end, self.encoding)
        )
        return self.send_edits(uri, [types.TextEdit(range=range_, new_text=new_text)])

    def send_edits(self, uri: str, edits: list[types.TextEdit]) -> int:
        """Apply edits (in the client's encoding) locally and send them as incremental changes."""
        text = self.texts[uri]
        changes = []
        for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
            changes.append(types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text))
            text = apply_text_edits(text, [edit], self.encoding)
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=changes,
            )
        )
        return self.versions[uri]

    def replace_all(self, uri: str, text: str) -> int:
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return self.versions[uri]

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def mark(self) -> int:
        return len(self.client.published)

    async def diagnostics(self, uri: str, since: int | None = None) -> list[types.Diagnostic]:
        """The diagnostics for the document's current version, as this editor would get them."""
        if self.profile.pull:
            return await self.pull(uri)
        return await self.pushed(uri, self.versions.get(uri), since)

    async def pull(self, uri: str) -> list[types.Diagnostic]:
        for _ in range(20):
            try:
                report = await asyncio.wait_for(
                    self.client.text_document_diagnostic_async(
                        types.DocumentDiagnosticParams(
                            text_document=types.TextDocumentIdentifier(uri=uri), identifier="errlint"
                        )
                    ),
                    TIMEOUT,
                )
            except JsonRpcException as error:
                if error.code == SERVER_CANCELLED:
                    continue
                raise
            assert report.kind == "full"
            return list(report.items)
        raise AssertionError("the server kept cancelling the diagnostic request")

    async def pushed(self, uri: str, version: int | None, since: int | None = None) -> list[types.Diagnostic]:
        """Wait for a publishDiagnostics for `uri` (at `version`, after mark `since`)."""
        start = since or 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while loop.time() < deadline:
            for params in reversed(self.client.published[start:]):
                if params.uri == uri and (version is None or params.version in (None, version)):
                    return list(params.diagnostics)
            await asyncio.sleep(0.02)
        raise AssertionError(f"no diagnostics published for {uri} version {version} within {TIMEOUT} s")

    async def code_actions(
        self, uri: str, diagnostics: list[types.Diagnostic], only: list[str] | None = None, range_=None
    ) -> list[types.CodeAction]:
        if range_ is None:
            range_ = diagnostics[0].range if diagnostics else types.Range(
                start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
            )
        result = await asyncio.wait_for(
            self.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=range_,
                    context=types.CodeActionContext(diagnostics=diagnostics, only=only),
                )
            ),
            TIMEOUT,
        )
        actions = [action for action in result or [] if isinstance(action, types.CodeAction)]
        resolved = []
        for action in actions:
            if action.edit is None and action.data is not None and action.disabled is None and action.command is None:
                action = await asyncio.wait_for(self.client.code_action_resolve_async(action), TIMEOUT)
            resolved.append(action)
        return resolved

    def apply(self, uri: str, action: types.CodeAction) -> str:
        """The text after applying the action's edit (not sent to the server)."""
        assert action.edit is not None, f"{action.title!r} has no edit"
        return apply_text_edits(self.texts[uri], edits_for(action.edit, uri), self.encoding)

    async def hover(self, uri: str, line: int, column: int) -> types.Hover | None:
        position = to_position(self.texts[uri], line, column, self.encoding)
        return await asyncio.wait_for(
            self.client.text_document_hover_async(
                types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
            ),
            TIMEOUT,
        )

    async def reloaded(self, uri: str, mark: int, refreshes: int) -> list[types.Diagnostic]:
        """Diagnostics after the server re-linted for new settings (refresh for pull, publish for push)."""
        if self.profile.pull:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + TIMEOUT
            while self.client.diagnostic_refresh_count <= refreshes:
                assert loop.time() < deadline, "no workspace/diagnostic/refresh after the settings changed"
                await asyncio.sleep(0.02)
            return await self.pull(uri)
        return await self.pushed(uri, self.versions[uri], since=mark)

    def notify_configuration(self, errlint_settings: Any) -> None:
        """What an editor does when the user changes settings: update its answer, then notify."""
        self.client.set_configuration(errlint_settings, section="errlint")
        self.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"errlint": errlint_settings})
        )

    def notify_files_changed(self, *paths: Path) -> None:
        self.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Changed) for path in paths]
            )
        )

    async def raw_request(self, method: str, params: Any) -> Any:
        """Send a request exactly as given (no typing, so it may be malformed)."""
        msg_id = f"raw-{uuid.uuid4()}"
        future: Future = Future()
        self.client.protocol._request_futures[msg_id] = future
        self.client.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await asyncio.wait_for(asyncio.wrap_future(future), TIMEOUT)

    def raw_notify(self, method: str, params: Any) -> None:
        self.client.protocol._send_data({"jsonrpc": "2.0", "method": method, "params": params})

    async def wait_for_log(self, needle: str) -> types.LogMessageParams:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while loop.time() < deadline:
            for message in self.client.log_messages:
                if needle in message.message:
                    return message
            await asyncio.sleep(0.02)
        raise AssertionError(f"no window/logMessage containing {needle!r}: {[m.message for m in self.client.log_messages]}")


async def start_editor(
    command: list[str],
    root: Path,
    profile: Profile,
    capabilities: types.ClientCapabilities | None = None,
    initialization_options: Any = None,
) -> Editor:
    config = ClientServerConfig(server_command=command, client_factory=_make_client)
    client = await config.start()
    capabilities = capabilities or profile.capabilities()
    result = await asyncio.wait_for(
        client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities,
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
                initialization_options=initialization_options,
                client_info=types.ClientInfo(name=f"pytest ({profile.name})"),
            )
        ),
        TIMEOUT,
    )
    return Editor(client, profile, root, initialize_result=result)


async def stop_editor(editor: Editor) -> None:
    try:
        await asyncio.wait_for(editor.client.shutdown_session(), TIMEOUT)
    finally:
        await editor.client.stop()


