"""Linting many files: read, pre-filter, lint or fix, in parallel processes.

Results come back in the order of the input list whatever the parallelism, so
output is deterministic. Writing a fixed file is atomic (temporary file in
the same folder, then rename) and keeps encoding, BOM, line endings and
permissions.

Memory: parsing a file with libcst briefly needs about half a megabyte per
kilobyte of code (libcst's native structures, on top of the tree itself), so
the peak of a run is set by which files are parsed at the same time. Big
files therefore take turns (at most one per two workers, biggest first)
while the other workers go through the small ones, and a worker hands the
memory a parse freed back to the system after every task instead of keeping
it, at the size of the biggest file it has seen, until the run ends.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from errlint.linter.cache import ResultCache, content_digest
from errlint.linter.config import Settings
from errlint.linter.discovery import path_is_under
from errlint.linter.engine import lint_source, might_need_linting
from errlint.linter.findings import FileResult
from errlint.linter.fixes import fix_source, unified_diff
from errlint.linter.source import SourceError, decode_source, encode_source

# Below this many files, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 16
# Parsing a 100 KB file takes ~50 MB for a moment; above that, files take turns.
BIG_FILE_BYTES = 100 * 1024
MAX_BATCH_FILES = 32
CRASHED = "errlint's process crashed while linting this file"
WRITE_FAILED = "cannot write fixes"


@dataclass(frozen=True)
class FixMode:
    unsafe: bool = False
    write: bool = True  # False for --diff
    # Real folders fixes may be written in (a link is fixed at its target only
    # when that lies in one of them); empty: anywhere.
    roots: tuple[str, ...] = ()


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return max(1, os.cpu_count() or 1)


def lint_files(
    files: list[Path],
    settings: Settings,
    jobs: int | None = None,
    fix: FixMode | None = None,
    cache: ResultCache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[FileResult]:
    jobs = jobs or default_jobs()
    results: list[FileResult | None] = [None] * len(files)
    pending: list[int] = []
    for index, path in enumerate(files):
        cached = cache.get(path) if cache is not None and fix is None else None
        if cached is not None:
            results[index] = cached
        else:
            pending.append(index)
    done = len(files) - len(pending)
    for position, result in _run([str(files[i]) for i in pending], settings, jobs, fix):
        index = pending[position]
        results[index] = result
        if cache is not None and fix is None and result.error is None:
            cache.put(files[index], result)
        done += 1
        if progress is not None:
            progress(done, len(files))
    if cache is not None:
        cache.save()
    return [result for result in results if result is not None]


def _run(paths: list[str], settings: Settings, jobs: int, fix: FixMode | None) -> Iterator[tuple[int, FileResult]]:
    """(position in `paths`, result) for every path, in the order they are done."""
    if jobs <= 1 or len(paths) < PARALLEL_THRESHOLD:
        for position, path in enumerate(paths):
            yield position, lint_path(path, settings, fix)
        return
    big, small = _plan(paths, jobs)
    max_big = max(1, jobs // 2)
    unfinished: list[int] = []
    # Objects that exist before the workers fork stay shared with them as long
    # as no garbage collection (in a worker) writes to them.
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker, initargs=(settings, fix)) as pool:
            # Never more tasks than workers: a submitted task is a running one,
            # so the limit on big files holds for what is in memory.
            running: dict[Future[list[FileResult]], tuple[list[int], bool]] = {}
            big_running = 0
            try:
                while big or small or running:
                    while len(running) < jobs and (small or (big and big_running < max_big)):
                        is_big = bool(big) and big_running < max_big
                        batch = [big.popleft()] if is_big else small.popleft()
                        running[pool.submit(_lint_batch, [paths[i] for i in batch])] = (batch, is_big)
                        big_running += is_big
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in sorted(finished, key=lambda f: running[f][0][0]):
                        batch, is_big = running[future]
                        batch_results = future.result()
                        del running[future]
                        big_running -= is_big
                        yield from zip(batch, batch_results)
            except BrokenProcessPool:
                # A worker died (a crash in native code): whichever file did it,
                # every file not yet done is retried alone below.
                unfinished = sorted(
                    [i for batch, _ in running.values() for i in batch]
                    + [*big]
                    + [i for batch in small for i in batch]
                )
    finally:
        gc.unfreeze()
    for position in unfinished:
        yield position, _lint_isolated(paths[position], settings, fix)


def _lint_isolated(path: str, settings: Settings, fix: FixMode | None) -> FileResult:
    """One file in a process of its own, so that a crash costs only that file."""
    try:
        with ProcessPoolExecutor(max_workers=1, initializer=_start_worker, initargs=(settings, fix)) as pool:
            return pool.submit(_lint_batch, [path]).result()[0]
    except BrokenProcessPool:
        return FileResult(path, error=f"internal error ({CRASHED}); please report it")


def _plan(paths: list[str], jobs: int) -> tuple[deque[int], deque[list[int]]]:
    """Positions of the big files, biggest first, and of the others in batches, in order."""
    sizes = []
    for path in paths:
        try:
            sizes.append(os.stat(path).st_size)
        except OSError:
            sizes.append(0)  # lint_path reports it
    big = sorted((i for i, size in enumerate(sizes) if size > BIG_FILE_BYTES), key=lambda i: -sizes[i])
    small = [i for i, size in enumerate(sizes) if size <= BIG_FILE_BYTES]
    per_batch = max(1, min(MAX_BATCH_FILES, len(small) // (jobs * 8)))
    return deque(big), deque(small[i : i + per_batch] for i in range(0, len(small), per_batch))


# In a worker process: what every task of this run is linted with, and the C
# library's allocator where it is glibc (None elsewhere: musl, macOS, Windows).
_worker_settings: tuple[Settings, FixMode | None] | None = None
_glibc: Any = None
M_ARENA_MAX = -8  # a mallopt() parameter, from glibc's malloc.h


def _start_worker(settings: Settings, fix: FixMode | None) -> None:
    global _worker_settings, _glibc
    _worker_settings = (settings, fix)
    _glibc = _find_glibc()
    if _glibc is not None:
        # One allocator arena for both threads: what the parser thread frees
        # is reused by the model and the rules on the main thread instead of
        # each thread keeping its own (~10 MB less per worker at the peak).
        _glibc.mallopt(M_ARENA_MAX, 1)


def _lint_batch(paths: list[str]) -> list[FileResult]:
    assert _worker_settings is not None, "runs in a pool started by _run"
    results = [lint_path(path, *_worker_settings) for path in paths]
    if _glibc is not None:
        # glibc keeps freed memory for later: without this, every worker would
        # hold until the end what the biggest file it parsed needed (~100 MB).
        _glibc.malloc_trim(0)
    return results


def _find_glibc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
    except (ImportError, OSError):
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def lint_path(path: str, settings: Settings, fix: FixMode | None = None) -> FileResult:
    """Lint (and maybe fix) one file on disk. Never raises: problems become `error`."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        return FileResult(path, error=f"cannot read: {error.strerror or error}")
    return lint_data(data, path, settings, fix)


def lint_data(data: bytes, path: str, settings: Settings, fix: FixMode | None = None) -> FileResult:
    result = _lint_data(data, path, settings, fix)
    return replace(result, content_digest=content_digest(data))


def _lint_data(data: bytes, path: str, settings: Settings, fix: FixMode | None) -> FileResult:
    # Decoding is cheap and catches binary and mis-encoded files everywhere;
    # parsing is the expensive part, so it waits for the relevance check.
    try:
        source = decode_source(data, check_depth=False)
    except SourceError as error:
        return FileResult(path, error=str(error))
    if not might_need_linting(source.text):
        return FileResult(path)
    try:
        if fix is None:
            return lint_source(source.text, path, settings)
        target = os.path.realpath(path)
        if fix.write and fix.roots and not path_is_under(target, fix.roots):
            reason = f"it links to {target}, outside the folders being linted"
            return replace(lint_source(source.text, path, settings), rejected_fixes=(reason,))
        outcome = fix_source(source.text, path, settings, unsafe=fix.unsafe)
        remaining = outcome.remaining or FileResult(path)
        rejected = tuple(f"{f.code} at line {f.start.line}: {reason}" for f, reason in outcome.rejected)
        diff = None
        if outcome.changed:
            if fix.write:
                # The target of a link, never the link itself: replacing the
                # link with a regular file would cut it.
                write_atomically(Path(target), encode_source(outcome.source, source))
            else:
                diff = unified_diff(source.text, outcome.source, path)
        return replace(remaining, fixed_count=len(outcome.fixed), diff=diff, rejected_fixes=rejected)
    except OSError as error:
        return FileResult(path, error=f"{WRITE_FAILED}: {error.strerror or error}")
    except Exception as error:  # noqa: BLE001 - one bad file must not end the run
        return FileResult(path, error=f"internal error ({type(error).__name__}: {error}); please report it")


def write_atomically(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".errlint-tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
