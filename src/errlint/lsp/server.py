"""The errlint language server: wiring, lifecycle, and `serve()`.

Each protocol method has one handler, in the module of its concern:
documents (didOpen/didChange/didSave/didClose), diagnostics (pull),
code_actions, hover, settings (didChangeConfiguration/didChangeWatchedFiles);
this module holds initialize/initialized/shutdown and the state they share.

Diagnostics are pulled (textDocument/diagnostic) by clients that declare
support for it and pushed (textDocument/publishDiagnostics) to the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterable, Sequence

from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcException, JsonRpcInvalidParams
from pygls.io_ import StdinAsyncReader, StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from errlint import __version__
from errlint.linter.config import CONFIG_FILES
from errlint.lsp import code_actions, diagnostics, documents, hover, settings
from errlint.lsp.analysis import Analysis, Analyzer
from errlint.lsp.documents import DocumentStore
from errlint.lsp.positions import ENCODINGS, UTF16
from errlint.lsp.settings import SettingsManager, parse_editor_settings
from errlint.lsp.transport import INVALID_REQUEST, error_response, read_messages
from errlint.rules import known_codes

logger = logging.getLogger(__name__)

NAME = "errlint"
DEBOUNCE_SECONDS = 0.05
CONFIG_PULL_TIMEOUT = 5.0
WATCH_REGISTRATION_ID = "errlint-config-files"


@dataclass(frozen=True)
class ClientFeatures:
    """What the client said it can do, reduced to the questions the handlers ask."""

    pull_diagnostics: bool = False
    diagnostic_refresh: bool = False
    configuration: bool = False
    watch_files: bool = False
    code_action_resolve: bool = False
    document_changes: bool = False
    hover_markdown: bool = False

    @classmethod
    def from_capabilities(cls, capabilities: types.ClientCapabilities) -> ClientFeatures:
        resolve_properties = _get(capabilities, "text_document.code_action.resolve_support.properties") or ()
        hover_formats = _get(capabilities, "text_document.hover.content_format") or ()
        return cls(
            pull_diagnostics=_get(capabilities, "text_document.diagnostic") is not None,
            diagnostic_refresh=bool(_get(capabilities, "workspace.diagnostics.refresh_support")),
            configuration=bool(_get(capabilities, "workspace.configuration")),
            watch_files=bool(_get(capabilities, "workspace.did_change_watched_files.dynamic_registration")),
            code_action_resolve="edit" in resolve_properties,
            document_changes=bool(_get(capabilities, "workspace.workspace_edit.document_changes")),
            hover_markdown=types.MarkupKind.Markdown in hover_formats,
        )


def _get(value: Any, dotted: str) -> Any:
    for name in dotted.split("."):
        value = getattr(value, name, None)
        if value is None:
            return None
    return value


class _Unreadable:
    """A request whose params could not be read: answered with InvalidParams."""

    def __init__(self, msg_id: Any, method: str, reason: str) -> None:
        self.id = msg_id
        self.method = method
        self.reason = reason


class ErrlintProtocol(LanguageServerProtocol):
    """pygls' protocol, made to answer malformed requests and to leave text sync to us.

    pygls drops a request whose params do not deserialise without answering
    it, which leaves the client waiting; here it gets an InvalidParams error.
    Open documents are tracked by `errlint.lsp.documents` only.
    """

    def structure_message(self, data: dict[str, Any]):
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if isinstance(data, dict) and "id" in data and "method" in data:
                return _Unreadable(data["id"], str(data["method"]), str(error.__cause__ or error))
            raise

    def handle_message(self, message):
        if self._shutdown and getattr(message, "method", types.EXIT) != types.EXIT:
            if getattr(message, "id", None) is not None:  # a request: the protocol says InvalidRequest
                self._send_data(
                    error_response(INVALID_REQUEST, f"{message.method} after shutdown", message.id)
                )
            return
        if isinstance(message, _Unreadable):
            logger.warning("invalid params for %s: %s", message.method, message.reason)
            error = JsonRpcInvalidParams(f"invalid params for {message.method}: {message.reason}")
            self._send_response(message.id, None, error.to_response_error())
            return
        if not hasattr(message, "jsonrpc"):  # an object that is no JSON-RPC message
            msg_id = message.get("id") if isinstance(message, dict) else None
            self._send_data(error_response(INVALID_REQUEST, "not a JSON-RPC 2.0 message", _plain_id(msg_id)))
            return
        super().handle_message(message)

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


def _plain_id(value: Any) -> Any:
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


class ErrlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            NAME,
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=ErrlintProtocol,
        )
        self.documents = DocumentStore()
        self.settings = SettingsManager(_known_codes())
        self.analyzer = Analyzer(self)
        self.client = ClientFeatures()
        self.encoding = UTF16
        self.debounce = DEBOUNCE_SECONDS
        self.pull_diagnostics = False
        self.shutdown_requested = False
        self._ready: asyncio.Event | None = None
        self._logged: set[str] = set()

    # --- messages to the user ----------------------------------------------------

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """pygls' stdio loop, with errlint's reader: bad framing is answered, never fatal."""
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        reader = StdinAsyncReader(stdin or sys.stdin.buffer, self.thread_pool)

        def handle(body: bytes) -> None:
            try:
                self.protocol.handle_message(json.loads(body, object_hook=self.protocol.structure_message))
            except Exception as error:  # noqa: BLE001 - one bad message must not end the session
                logger.exception("Unable to handle message")
                self.report_server_error(error, JsonRpcException)

        try:
            asyncio.run(read_messages(self._stop_event, reader, handle, self.protocol._send_data))
        except BrokenPipeError:
            logger.error("Connection to the client is lost; shutting down.")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        logger.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, "%s", message)
        try:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))
        except Exception:  # noqa: BLE001 - no transport (tests, shutdown)
            pass

    def log_once(self, messages: Iterable[str], kind: types.MessageType) -> None:
        """Log each message once (until the configuration is reloaded)."""
        for message in messages:
            if message not in self._logged:
                self._logged.add(message)
                self.log(message, kind)

    def report_notes(self, analysis: Analysis) -> None:
        self.log_once(analysis.notes, types.MessageType.Error)

    def report_server_error(self, error: Exception, source) -> None:
        if source is FeatureRequestError:
            return  # the request was already answered with the error
        self.log(f"errlint server error: {error}", types.MessageType.Error)

    # --- diagnostics ---------------------------------------------------------------

    def publish(self, uri: str, version: int | None, items: list[types.Diagnostic]) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=version)
        )

    def refresh_all(self, reason: str) -> None:
        """Settings changed: lint every open document again (or ask a pulling client to)."""
        self.analyzer.invalidate()
        self._logged.clear()
        logger.info("re-linting open documents: %s", reason)
        if self.pull_diagnostics:
            # Sent even to clients that do not declare refreshSupport: it is the only way
            # to tell them; one that does not know the request answers with an error.
            future = self.workspace_diagnostic_refresh(None)
            future.add_done_callback(lambda done: done.cancelled() or done.exception())
            return
        for document in self.documents:
            if document.is_python:
                self.analyzer.schedule(document.uri, delay=0)

    def reload_configuration(self, reason: str) -> None:
        self.settings.invalidate()
        self.log(f"errlint: reloading configuration ({reason})")
        self.refresh_all(reason)

    def expect_settings(self) -> None:
        """Until `settings_arrived`, linting waits (a bounded time) for the client's settings."""
        self._ready = asyncio.Event()

    def settings_arrived(self) -> bool:
        """Let linting go ahead; True if it already had (the wait timed out)."""
        already = self._ready is None or self._ready.is_set()
        if self._ready is not None:
            self._ready.set()
        return already

    async def wait_until_ready(self, timeout: float) -> None:
        """Wait (a bounded time) for the client's settings, so the first lint already uses them."""
        if self._ready is None or self._ready.is_set():
            return
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except asyncio.TimeoutError:
            logger.warning("no settings from the client after %.0f s; linting with what we have", timeout)
            self._ready.set()


def _known_codes() -> tuple[str, ...]:
    try:
        return known_codes()
    except Exception:  # noqa: BLE001 - a broken rule module: linting reports it per file
        logger.exception("cannot load the rule catalog")
        return ()


# --- lifecycle handlers ----------------------------------------------------------------


def initialize(ls: ErrlintServer, params: types.InitializeParams) -> None:
    ls.expect_settings()
    ls.client = ClientFeatures.from_capabilities(params.capabilities)
    # pygls negotiated the position encoding from `general.positionEncodings` (the
    # client's first choice among UTF-8/16/32, else UTF-16) and advertises it.
    negotiated = str(getattr(ls.workspace.position_encoding, "value", ls.workspace.position_encoding) or UTF16)
    ls.encoding = negotiated if negotiated in ENCODINGS else UTF16
    folders = [(folder.uri, folder.name) for folder in params.workspace_folders or ()]
    if not folders and params.root_uri:
        folders = [(params.root_uri, "")]
    ls.settings.set_folders(folders)
    parsed, problems = parse_editor_settings(params.initialization_options, ls.settings.known_codes, "initializationOptions")
    if parsed is not None:
        ls.settings.initialization = parsed
    ls.log_once(problems, types.MessageType.Warning)
    ls.pull_diagnostics = ls.client.pull_diagnostics
    if ls.pull_diagnostics and types.TEXT_DOCUMENT_DIAGNOSTIC not in ls.protocol.fm.features:
        ls.feature(
            types.TEXT_DOCUMENT_DIAGNOSTIC,
            types.DiagnosticOptions(identifier=NAME, inter_file_dependencies=False, workspace_diagnostics=False),
        )(diagnostics.document_diagnostic)


async def initialized(ls: ErrlintServer, params: types.InitializedParams) -> None:
    if ls.client.watch_files:
        registration = types.Registration(
            id=WATCH_REGISTRATION_ID,
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_FILES]
            ),
        )
        future = ls.client_register_capability(types.RegistrationParams(registrations=[registration]))
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
    before = ls.settings.snapshot()
    try:
        await asyncio.wait_for(settings.pull_configuration(ls), CONFIG_PULL_TIMEOUT)
    except asyncio.TimeoutError:
        ls.log("errlint: the client did not answer workspace/configuration; using the other settings", types.MessageType.Warning)
    finally:
        already_linted = ls.settings_arrived()
    if already_linted and ls.settings.snapshot() != before:
        ls.refresh_all("the editor settings arrived")


def shutdown(ls: ErrlintServer, params: None) -> None:
    ls.shutdown_requested = True
    ls.analyzer.shutdown()


# --- wiring ------------------------------------------------------------------------------


def create_server() -> ErrlintServer:
    server = ErrlintServer()
    server.feature(types.INITIALIZE)(initialize)
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.SHUTDOWN)(shutdown)
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(documents.did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(documents.did_change)
    server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))(documents.did_save)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(documents.did_close)
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=code_actions.KINDS, resolve_provider=True),
    )(code_actions.code_action)
    server.feature(types.CODE_ACTION_RESOLVE)(code_actions.resolve_code_action)
    server.command(code_actions.SHOW_SUGGESTION)(code_actions.show_suggestion)
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover.hover)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(settings.did_change_configuration)
    server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)(settings.did_change_watched_files)
    server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)(settings.did_change_workspace_folders)
    return server


def serve(argv: Sequence[str] | None = None) -> int:
    """Run the language server over stdin/stdout until the client exits. Returns the exit code."""
    parser = argparse.ArgumentParser(prog="errlint lsp", description="Run the errlint language server over stdio.")
    parser.add_argument("--log-file", help="write the server's log here (default: stderr)")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    options, unknown = parser.parse_known_args(list(argv or ()))
    handler: logging.Handler = logging.FileHandler(options.log_file) if options.log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(options.log_level)
    if unknown:
        logger.warning("ignoring unknown arguments: %s", " ".join(unknown))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print() must not corrupt the protocol stream
    server = create_server()
    # Everything imported so far lives as long as the server: keep the cycle
    # collector from walking it again on every full collection.
    gc.freeze()
    try:
        server.start_io(stdin, stdout)
    finally:
        server.analyzer.shutdown()
    return 0 if server.shutdown_requested else 1
