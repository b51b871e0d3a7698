"""A result cache keyed by the exact bytes linted, the settings and errlint itself.

What a cache entry can do is bounded by what it is: JSON, read strictly, so a
planted or damaged file can at worst be a cache miss. The file carries a
checksum of its body; anything that does not verify, parse or match the
expected shape is treated as empty. The key of an entry is the digest of the
bytes that were linted (computed by the linter from the data it read, not read
again afterwards, so a file edited during the run cannot pair its new content
with an old result).

The cache lives in one folder, `.errlint_cache` at the project root. Neither
that folder nor anything in it is followed when it is a symbolic link: a
repository holding `.errlint_cache -> /elsewhere` gets no cache, and nothing is
written outside the folder. Writes go through a temporary file and an atomic
rename, so concurrent runs can only lose each other's new entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from errlint import __version__
from errlint.linter.config import Settings
from errlint.linter.findings import FileResult, result_from_json, result_to_json

CACHE_DIR_NAME = ".errlint_cache"
FORMAT = 1
# Environment switches that change findings; part of the key.
ENVIRONMENT_SWITCHES = ("ERRLINT_NO_PREFILTER",)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_SAFE_FDS = os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd and bool(_NOFOLLOW)


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _rules_fingerprint() -> str:
    """Changes whenever a rule module changes, so editing errlint itself invalidates the cache."""
    import errlint.linter as linter_package
    import errlint.rules as rules_package

    digest = hashlib.sha256()
    for package in (rules_package, linter_package):
        for path in sorted(Path(package.__file__).parent.glob("*.py")):
            status = path.stat()
            digest.update(f"{path.name}:{status.st_mtime_ns}:{status.st_size}".encode())
    return digest.hexdigest()[:16]


def cache_key(settings: Settings) -> str:
    switches = [(name, os.environ.get(name)) for name in ENVIRONMENT_SWITCHES]
    text = f"{FORMAT}|{__version__}|{_rules_fingerprint()}|{settings.cache_key()}|{switches}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class ResultCache:
    def __init__(self, directory: Path, settings: Settings) -> None:
        self.directory = directory
        self.name = f"{cache_key(settings)}.json"
        self._entries: dict[str, tuple[str, FileResult]] = {}
        self._dirty = False
        self._entries = self._load()

    @property
    def path(self) -> Path:
        return self.directory / __version__ / self.name

    def get(self, path: Path, data: bytes | None = None) -> FileResult | None:
        """The cached result for `path` when its bytes (read now, or `data`) are the ones linted."""
        entry = self._entries.get(_key(path))
        if entry is None:
            return None
        if data is None:
            try:
                data = path.read_bytes()
            except OSError:
                return None
        if entry[0] != content_digest(data):
            return None
        return _with_path(entry[1], str(path))

    def put(self, path: Path, result: FileResult) -> None:
        """Remember `result`, keyed by the digest of the bytes it was linted from."""
        if result.content_digest is None or result.error is not None:
            return
        self._entries[_key(path)] = (result.content_digest, result)
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        body = json.dumps(
            {key: [digest, result_to_json(result)] for key, (digest, result) in self._entries.items()},
            separators=(",", ":"),
        ).encode()
        checksum = hashlib.sha256(body).hexdigest().encode()
        try:
            folder = self._open_folder(create=True)
        except OSError:
            return  # A cache that cannot be written only costs speed next time.
        try:
            _write_in(folder, self.name, checksum + b"\n" + body)
            self._dirty = False
        except OSError:
            pass
        finally:
            os.close(folder)

    def _load(self) -> dict[str, tuple[str, FileResult]]:
        try:
            folder = self._open_folder(create=False)
        except OSError:
            return {}
        try:
            data = _read_in(folder, self.name)
        except OSError:
            return {}
        finally:
            os.close(folder)
        checksum, _, body = data.partition(b"\n")
        if hashlib.sha256(body).hexdigest().encode() != checksum:
            return {}
        try:
            loaded = json.loads(body)
            if not isinstance(loaded, dict):
                return {}
            entries = {}
            for key, (digest, result) in loaded.items():
                if not isinstance(digest, str):
                    return {}
                entries[key] = (digest, result_from_json(result))
            return entries
        except (ValueError, TypeError, KeyError, RecursionError):
            return {}

    def _open_folder(self, create: bool) -> int:
        """A descriptor of `<directory>/<version>`, never reached through a symbolic link.

        The parent of the cache folder is the user's (the project root, or a
        folder they named); the cache folder and its version folder are
        errlint's, and a link in their place means someone else put it there.
        """
        if not _SAFE_FDS:
            return self._open_folder_by_path(create)
        if create:
            os.makedirs(self.directory.parent, exist_ok=True)
        parent = os.open(self.directory.parent, os.O_RDONLY | _DIRECTORY)
        try:
            cache = _open_child_folder(parent, self.directory.name, create, gitignore=True)
        finally:
            os.close(parent)
        try:
            return _open_child_folder(cache, __version__, create, gitignore=False)
        finally:
            os.close(cache)

    def _open_folder_by_path(self, create: bool) -> int:  # pragma: no cover - no dir_fd support (Windows)
        version_folder = self.directory / __version__
        for folder in (self.directory, version_folder):
            if create and not os.path.lexists(folder):
                os.mkdir(folder)
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                raise OSError(f"{folder}: not a real folder")
        return os.open(version_folder, os.O_RDONLY)


def _open_child_folder(parent: int, name: str, create: bool, gitignore: bool) -> int:
    if create:
        try:
            os.mkdir(name, 0o755, dir_fd=parent)
        except FileExistsError:
            pass
        else:
            if gitignore:
                folder = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=parent)
                try:
                    _write_in(folder, ".gitignore", b"# Created by errlint.\n*\n")
                finally:
                    os.close(folder)
    # O_NOFOLLOW: a symbolic link here fails (ELOOP) instead of being followed.
    return os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=parent)


def _read_in(folder: int, name: str) -> bytes:
    handle = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=folder)
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise OSError(f"{name}: not a regular file")
        return stream.read()


def _write_in(folder: int, name: str, data: bytes) -> None:
    temporary = f".{name}.{os.getpid()}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        # rename() replaces a link at `name` itself; it never writes through it.
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=folder)
        except OSError:
            pass
        raise


def _key(path: Path) -> str:
    return os.path.abspath(path)


def _with_path(result: FileResult, path: str) -> FileResult:
    from errlint.linter.engine import with_path

    return with_path(result, path)
