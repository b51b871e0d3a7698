"""The open documents: their text and version, kept in sync with the editor.

Handlers for textDocument/didOpen, didChange, didSave and didClose. The text
is kept here (rather than in pygls' workspace) so that incremental changes are
applied with the same line and column rules as everything else in
`errlint.lsp.positions`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator
from urllib.parse import unquote, urlparse

from lsprotocol import types

from errlint.lsp.positions import LineIndex

if TYPE_CHECKING:
    from errlint.lsp.server import ErrlintServer

logger = logging.getLogger(__name__)

PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")


@dataclass
class Document:
    uri: str
    text: str
    version: int | None
    language_id: str = "python"
    _index: LineIndex | None = field(default=None, repr=False)

    @property
    def index(self) -> LineIndex:
        if self._index is None or self._index.text is not self.text:
            self._index = LineIndex(self.text)
        return self._index

    @property
    def path(self) -> Path | None:
        return uri_to_path(self.uri)

    @property
    def name(self) -> str:
        """A file name for the engine: the path, or the last part of a non-file URI."""
        path = self.path
        if path is not None:
            return str(path)
        last = unquote(urlparse(self.uri).path).rstrip("/").rsplit("/", 1)[-1] or "untitled"
        return last if last.endswith(PYTHON_SUFFIXES) else f"{last}.py"

    @property
    def is_python(self) -> bool:
        if self.language_id == "python":
            return True
        path = self.path
        return path is not None and path.suffix in PYTHON_SUFFIXES

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str) -> None:
        range_ = getattr(change, "range", None)
        if range_ is None:
            self.text = change.text
            return
        start, end = self.index.range_offsets(range_, encoding)
        self.text = self.text[:start] + change.text + self.text[end:]


def uri_to_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if parsed.netloc and parsed.netloc != "localhost":
        path = f"//{parsed.netloc}{path}"  # UNC share
    if len(path) >= 3 and path[0] == "/" and path[2] == ":":
        path = path[1:]  # /C:/x -> C:/x
    return Path(path)


class DocumentStore:
    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}

    def __iter__(self) -> Iterator[Document]:
        return iter(list(self._documents.values()))

    def __len__(self) -> int:
        return len(self._documents)

    def get(self, uri: str) -> Document | None:
        return self._documents.get(uri)

    def open(self, uri: str, text: str, version: int | None, language_id: str) -> Document:
        document = Document(uri, text, version, language_id or "python")
        self._documents[uri] = document
        return document

    def change(
        self,
        uri: str,
        version: int | None,
        changes: list[types.TextDocumentContentChangeEvent],
        encoding: str,
    ) -> Document | None:
        document = self._documents.get(uri)
        if document is None:
            return None
        for change in changes:
            document.apply(change, encoding)
        document.version = version
        return document

    def close(self, uri: str) -> Document | None:
        return self._documents.pop(uri, None)


# --- handlers ----------------------------------------------------------------


def did_open(ls: ErrlintServer, params: types.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    document = ls.documents.open(item.uri, item.text, item.version, item.language_id)
    if document.is_python:
        ls.analyzer.schedule(document.uri, delay=0)


def did_change(ls: ErrlintServer, params: types.DidChangeTextDocumentParams) -> None:
    document = ls.documents.change(
        params.text_document.uri, params.text_document.version, list(params.content_changes), ls.encoding
    )
    if document is None:
        logger.warning("didChange for a document that is not open: %s", params.text_document.uri)
        return
    if document.is_python:
        ls.analyzer.schedule(document.uri, delay=ls.debounce)


def did_save(ls: ErrlintServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    path = uri_to_path(uri)
    if path is not None and ls.settings.is_config_file(path):
        ls.reload_configuration(f"{path.name} was saved")
        return
    document = ls.documents.get(uri)
    if document is None:
        return
    if document.is_python:
        ls.analyzer.schedule(uri, delay=0)


def did_close(ls: ErrlintServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.documents.close(uri)
    ls.analyzer.forget(uri)
    ls.publish(uri, None, [])
