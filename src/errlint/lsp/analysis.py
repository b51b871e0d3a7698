"""Linting open documents off the event loop.

One worker thread runs the engine, so the event loop stays free to read the
editor's messages while a file is linted. Each document has at most one
pending (debounced) run; a run whose document changed before it started is
skipped, and a result for a version that is no longer current is never
published. Results are cached per (version, settings generation), and
concurrent requests for the same version share one run.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from lsprotocol import types

from errlint.linter.config import Settings
from errlint.linter.engine import lint_source
from errlint.linter.findings import FileResult
from errlint.linter.incremental import ReusingParser
from errlint.linter.source import MAX_FILE_BYTES
from errlint.lsp.diagnostics import build_diagnostics
from errlint.lsp.documents import Document
from errlint.lsp.positions import LineIndex
from errlint.lsp.settings import EditorSettings

if TYPE_CHECKING:
    from errlint.lsp.server import ErrlintServer

logger = logging.getLogger(__name__)

T = TypeVar("T")

# libcst's parser recurses natively; give the worker the stack a main thread has.
WORKER_STACK_BYTES = 64 * 1024 * 1024
READY_TIMEOUT = 5.0


@dataclass(frozen=True)
class Analysis:
    uri: str
    version: int | None
    generation: int
    text: str
    index: LineIndex
    result: FileResult
    diagnostics: tuple[types.Diagnostic, ...]
    settings: Settings
    path: str
    notes: tuple[str, ...] = ()
    result_id: str = field(default="")


class _Skipped(Exception):
    """The document changed before its run started."""


class Analyzer:
    def __init__(self, ls: ErrlintServer) -> None:
        self._ls = ls
        self._executor: ThreadPoolExecutor | None = None
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._latest: dict[str, Analysis] = {}
        # Per open document, used on the worker thread only: the parse of its
        # previous version, so an edit re-parses only what it changed.
        self._parsers: dict[str, ReusingParser] = {}
        self._inflight: dict[tuple[str, int | None, int], tuple[str, asyncio.Future[Analysis]]] = {}
        self._runs = 0
        self.generation = 0

    # --- the worker ----------------------------------------------------------

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            previous = threading.stack_size()
            try:
                threading.stack_size(WORKER_STACK_BYTES)
            except (ValueError, RuntimeError):  # pragma: no cover - platform refuses
                previous = None
            try:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="errlint-lint")
                self._executor.submit(lambda: None).result()  # start the thread with that stack size
            finally:
                if previous is not None:
                    threading.stack_size(previous)
        return self._executor

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function` on the worker thread (where all linting and fixing happens)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    def shutdown(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    # --- cache ---------------------------------------------------------------

    def invalidate(self) -> None:
        """Settings changed: every cached result is out of date."""
        self.generation += 1
        self._latest.clear()

    def forget(self, uri: str) -> None:
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        self._latest.pop(uri, None)
        self._parsers.pop(uri, None)

    def is_current(self, analysis: Analysis) -> bool:
        document = self._ls.documents.get(analysis.uri)
        return (
            document is not None
            and analysis.generation == self.generation
            and analysis.version == document.version
            and (analysis.text is document.text or analysis.text == document.text)
        )

    def current(self, uri: str) -> Analysis | None:
        analysis = self._latest.get(uri)
        return analysis if analysis is not None and self.is_current(analysis) else None

    # --- scheduling ------------------------------------------------------------

    def schedule(self, uri: str, delay: float) -> None:
        """Lint `uri` after `delay` seconds (restarting the wait), then publish if pushing.

        The debounce only applies while the document is busy: the first edit
        after a quiet spell is linted at once (no waiting for a keystroke that
        may never come), and edits arriving during a wait or a run coalesce.
        """
        previous = self._timers.pop(uri, None)
        if previous is None and not self._running(uri):
            delay = 0
        if previous is not None:
            previous.cancel()
        task = asyncio.ensure_future(self._lint_later(uri, delay))
        self._timers[uri] = task
        task.add_done_callback(lambda done: self._timers.pop(uri, None) if self._timers.get(uri) is done else None)

    def _running(self, uri: str) -> bool:
        return any(key[0] == uri and not shared[1].done() for key, shared in self._inflight.items())

    async def _lint_later(self, uri: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            analysis = await self.analysis_for(uri)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - keep serving the other documents
            logger.exception("linting %s failed", uri)
            self._ls.log(f"errlint: linting {uri} failed:\n{traceback.format_exc()}", types.MessageType.Error)
            return
        if analysis is None or not self.is_current(analysis):
            return  # outdated: the run for the newer version publishes
        self._ls.report_notes(analysis)
        if not self._ls.pull_diagnostics:
            self._ls.publish(uri, analysis.version, list(analysis.diagnostics))

    async def analysis_for(self, uri: str) -> Analysis | None:
        """The analysis of the document's current text (None if it is not open or changed meanwhile)."""
        document = self._ls.documents.get(uri)
        if document is None:
            return None
        cached = self.current(uri)
        if cached is not None:
            return cached
        await self._ls.wait_until_ready(READY_TIMEOUT)
        document = self._ls.documents.get(uri)
        if document is None:
            return None
        key = (uri, document.version, self.generation)
        shared = self._inflight.get(key)
        if shared is not None and shared[0] == document.text:
            future = shared[1]
        else:
            snapshot = Document(document.uri, document.text, document.version, document.language_id)
            editor = self._ls.settings.editor_settings(document)
            generation = self.generation
            self._runs += 1
            run = asyncio.get_running_loop().run_in_executor(
                self.executor, self._analyse, snapshot, editor, generation, self._ls.encoding, self._runs
            )
            future = asyncio.ensure_future(run)
            self._inflight[key] = (document.text, future)
            future.add_done_callback(functools.partial(self._finished, key))
        try:
            analysis = await asyncio.shield(future)
        except _Skipped:
            return None
        if self.is_current(analysis):
            self._latest[uri] = analysis
        return analysis

    def _finished(self, key: tuple[str, int | None, int], future: asyncio.Future[Analysis]) -> None:
        shared = self._inflight.get(key)
        if shared is not None and shared[1] is future:
            del self._inflight[key]
        if not future.cancelled():
            future.exception()  # retrieved: a skipped run nobody waits for is not an error

    # --- on the worker thread --------------------------------------------------

    def _analyse(
        self, snapshot: Document, editor: EditorSettings, generation: int, encoding: str, run: int
    ) -> Analysis:
        live = self._ls.documents.get(snapshot.uri)
        if live is None or live.version != snapshot.version or generation != self.generation:
            raise _Skipped()
        notes: list[str] = []
        try:
            resolved = self._ls.settings.resolve(snapshot, editor)
        except Exception as error:  # noqa: BLE001 - fall back to defaults, say why
            resolved = None
            notes.append(f"errlint: could not resolve settings for {snapshot.name}: {error}; using defaults")
        settings = resolved.settings if resolved is not None else Settings()
        if resolved is not None and resolved.error:
            notes.append(f"errlint: {resolved.error}; using the default settings")
        index = LineIndex(snapshot.text)
        size = len(snapshot.text.encode("utf-8", "surrogatepass"))
        if resolved is not None and resolved.excluded:
            result = FileResult(snapshot.name)
        elif size > MAX_FILE_BYTES:
            result = FileResult(
                snapshot.name,
                error=f"skipped: {size / (1024 * 1024):.1f} MB is over the {MAX_FILE_BYTES // (1024 * 1024)} MB limit for a Python source file",
            )
        else:
            try:
                parser = self._parsers.setdefault(snapshot.uri, ReusingParser())
                result = lint_source(snapshot.text, snapshot.name, settings, reuse=parser)
            except Exception as error:  # noqa: BLE001 - the engine promises not to raise; be safe anyway
                logger.exception("lint_source raised for %s", snapshot.uri)
                result = FileResult(snapshot.name, error=f"internal error ({type(error).__name__}: {error}); please report it")
        diagnostics = tuple(build_diagnostics(result, index, encoding, snapshot.version))
        return Analysis(
            uri=snapshot.uri,
            version=snapshot.version,
            generation=generation,
            text=snapshot.text,
            index=index,
            result=result,
            diagnostics=diagnostics,
            settings=settings,
            path=snapshot.name,
            notes=tuple(notes),
            result_id=f"{generation}.{snapshot.version}.{run}",
        )

