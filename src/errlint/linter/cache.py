"""A result cache keyed by file content, settings and errlint version.

One cache file per (version, settings) pair, loaded once and written once per
run through a temporary file and an atomic rename: concurrent runs can only
lose each other's new entries, never corrupt the file. A damaged or
unreadable cache is treated as empty.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from errlint import __version__
from errlint.linter.config import Settings
from errlint.linter.findings import FileResult

CACHE_DIR_NAME = ".errlint_cache"


def _rules_fingerprint() -> str:
    """Changes whenever a rule module changes, so editing errlint itself invalidates the cache."""
    import errlint.linter as linter_package
    import errlint.rules as rules_package

    digest = hashlib.sha256()
    for package in (rules_package, linter_package):
        for path in sorted(Path(package.__file__).parent.glob("*.py")):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_mtime_ns}:{stat.st_size}".encode())
    return digest.hexdigest()[:16]


class ResultCache:
    def __init__(self, directory: Path, settings: Settings) -> None:
        key = hashlib.sha256(f"{__version__}|{_rules_fingerprint()}|{settings.cache_key()}".encode()).hexdigest()[:24]
        self.path = directory / __version__ / f"{key}.pickle"
        self.directory = directory
        self._entries: dict[str, tuple[str, FileResult]] = {}
        self._dirty = False
        self._digests: dict[str, str] = {}
        try:
            with open(self.path, "rb") as stream:
                loaded = pickle.load(stream)
            if isinstance(loaded, dict):
                self._entries = loaded
        except (OSError, pickle.PickleError, EOFError, AttributeError, ValueError, TypeError, ImportError):
            self._entries = {}

    def _digest(self, path: Path) -> str | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        self._digests[str(path)] = digest
        return digest

    def get(self, path: Path) -> FileResult | None:
        entry = self._entries.get(str(path))
        digest = self._digest(path)
        if entry is None or digest is None or entry[0] != digest:
            return None
        return entry[1]

    def put(self, path: Path, result: FileResult) -> None:
        digest = self._digests.get(str(path)) or self._digest(path)
        if digest is not None:
            self._entries[str(path)] = (digest, result)
            self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            gitignore = self.directory / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Created by errlint.\n*\n", encoding="utf-8")
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                pickle.dump(self._entries, stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self.path)
            self._dirty = False
        except OSError:
            pass  # A cache that cannot be written only costs speed next time.
