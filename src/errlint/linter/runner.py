"""Linting many files: read, pre-filter, lint or fix, in parallel processes.

Results come back in the order of the input list whatever the parallelism, so
output is deterministic. Writing a fixed file is atomic (temporary file in
the same folder, then rename) and keeps encoding, BOM, line endings and
permissions.
"""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from errlint.linter.cache import ResultCache
from errlint.linter.config import Settings
from errlint.linter.engine import lint_source, might_need_linting
from errlint.linter.findings import FileResult
from errlint.linter.fixes import fix_source
from errlint.linter.source import SourceError, decode_source, encode_source

# Below this many files, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 16


@dataclass(frozen=True)
class FixMode:
    unsafe: bool = False
    write: bool = True  # False for --diff


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
    for index, result in zip(pending, _run([str(files[i]) for i in pending], settings, jobs, fix)):
        results[index] = result
        if cache is not None and fix is None and result.error is None:
            cache.put(files[index], result)
        done += 1
        if progress is not None:
            progress(done, len(files))
    if cache is not None:
        cache.save()
    return [result for result in results if result is not None]


def _run(paths: list[str], settings: Settings, jobs: int, fix: FixMode | None) -> Iterator[FileResult]:
    if jobs <= 1 or len(paths) < PARALLEL_THRESHOLD:
        for path in paths:
            yield lint_path(path, settings, fix)
        return
    chunk = max(1, min(32, len(paths) // (jobs * 8)))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(lint_path, paths, [settings] * len(paths), [fix] * len(paths), chunksize=chunk)


def lint_path(path: str, settings: Settings, fix: FixMode | None = None) -> FileResult:
    """Lint (and maybe fix) one file on disk. Never raises: problems become `error`."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        return FileResult(path, error=f"cannot read: {error.strerror or error}")
    return lint_data(data, path, settings, fix)


def lint_data(data: bytes, path: str, settings: Settings, fix: FixMode | None = None) -> FileResult:
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
        outcome = fix_source(source.text, path, settings, unsafe=fix.unsafe)
        remaining = outcome.remaining or FileResult(path)
        rejected = tuple(f"{f.code} at line {f.start.line}: {reason}" for f, reason in outcome.rejected)
        diff = None
        if outcome.changed:
            if fix.write:
                write_atomically(Path(path), encode_source(outcome.source, source))
            else:
                diff = "".join(
                    difflib.unified_diff(
                        source.text.splitlines(keepends=True),
                        outcome.source.splitlines(keepends=True),
                        fromfile=f"a/{path}",
                        tofile=f"b/{path}",
                    )
                )
        return replace(remaining, fixed_count=len(outcome.fixed), diff=diff, rejected_fixes=rejected)
    except OSError as error:
        return FileResult(path, error=f"cannot write fixes: {error.strerror or error}")
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
