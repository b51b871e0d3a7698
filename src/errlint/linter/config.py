"""Reading `[tool.errlint]` (pyproject.toml) or `errlint.toml` into `Settings`.

Every problem is a `ConfigError` whose message names the file and the key, so
the CLI can print one line and exit 2, and the editor can show it.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_IDEMPOTENCY_HEADERS = ("Idempotency-Key",)
DEFAULT_MAX_RETRY_AFTER = 300.0
DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".bzr", ".tox", ".nox", ".venv", "venv", ".env", "env",
    "__pycache__", "build", "dist", "node_modules", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".errlint_cache", "site-packages", ".eggs", "*.egg-info", "_build", "buck-out",
)
CONFIG_FILES = ("errlint.toml", ".errlint.toml", "pyproject.toml")


class ConfigError(Exception):
    """A configuration problem, worded for the user (file and key included)."""


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] | None = None  # None: the default rule set
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    retryable_statuses: frozenset[int] = DEFAULT_RETRYABLE_STATUSES
    idempotency_headers: tuple[str, ...] = DEFAULT_IDEMPOTENCY_HEADERS
    idempotency_fields: tuple[str, ...] = ()
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    profiles: Mapping[str, Any] = field(default_factory=dict)
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None

    def with_overrides(self, **changes: Any) -> "Settings":
        return replace(self, **{key: value for key, value in changes.items() if value is not None})

    @property
    def idempotency_header_names(self) -> frozenset[str]:
        return frozenset(name.lower() for name in self.idempotency_headers)

    def cache_key(self) -> str:
        """Everything that changes findings, as text, for the result cache."""
        return repr(
            (
                self.select, self.ignore, self.extend_select, self.per_file_ignores,
                sorted(self.retryable_statuses), self.idempotency_headers, self.idempotency_fields,
                self.max_retry_after, sorted((k, repr(v)) for k, v in self.profiles.items()),
            )
        )


# key in TOML -> (Settings field, parser)
def _codes(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected a list of rule codes")
    return tuple(item.strip().upper() for item in value)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return tuple(value)


def _statuses(value: Any, where: str) -> frozenset[int]:
    if not isinstance(value, list) or not all(isinstance(item, int) and not isinstance(item, bool) for item in value):
        raise ConfigError(f"{where}: expected a list of HTTP status numbers")
    for item in value:
        if not 100 <= item <= 599:
            raise ConfigError(f"{where}: {item} is not an HTTP status (100-599)")
    return frozenset(value)


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: expected a positive number of seconds")
    return float(value)


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false")
    return value


def _per_file_ignores(value: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table of glob = [codes]")
    return tuple((pattern, _codes(codes, f"{where}.{pattern}")) for pattern, codes in value.items())


def _profiles(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table of profiles")
    return dict(value)


_KEYS = {
    "select": ("select", _codes),
    "ignore": ("ignore", _codes),
    "extend-select": ("extend_select", _codes),
    "per-file-ignores": ("per_file_ignores", _per_file_ignores),
    "exclude": ("exclude", _strings),
    "extend-exclude": ("extend_exclude", _strings),
    "respect-gitignore": ("respect_gitignore", _boolean),
    "retryable-statuses": ("retryable_statuses", _statuses),
    "idempotency-headers": ("idempotency_headers", _strings),
    "idempotency-fields": ("idempotency_fields", _strings),
    "max-retry-after": ("max_retry_after", _seconds),
    "profiles": ("profiles", _profiles),
}
CODE_KEYS = ("select", "ignore", "extend-select")


def find_config_file(start: Path) -> Path | None:
    """The nearest errlint.toml, or pyproject.toml with a [tool.errlint] table, at or above `start`."""
    # Absolute, so that the search goes above a relative start such as `.`.
    directory = Path(os.path.abspath(start if start.is_dir() else start.parent))
    for candidate in (directory, *directory.parents):
        for name in CONFIG_FILES:
            path = candidate / name
            if not path.is_file():
                continue
            if name != "pyproject.toml":
                return path
            try:
                if "[tool.errlint" in path.read_text(encoding="utf-8", errors="replace"):
                    return path
            except OSError:
                continue
    return None


def project_root(paths: Iterable[Path], settings: Settings) -> Path:
    """The one folder a run belongs to: where its cache lives.

    The folder of the config file in use; without one, the deepest folder
    holding every path given; without paths, the working folder.
    """
    if settings.source is not None:
        return settings.root
    folders = [
        os.path.abspath(path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path)))
        for path in paths
    ]
    if not folders:
        return Path.cwd()
    return Path(os.path.commonpath(folders))


def load_settings(path: Path | None, known_codes: Iterable[str] = ()) -> Settings:
    """Settings from a config file (defaults when `path` is None)."""
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("errlint", {})
        prefix = "tool.errlint."
    else:
        table = data.get("tool", {}).get("errlint", data) if "tool" in data else data
        prefix = ""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `{prefix.rstrip('.')}` must be a table")
    return settings_from_table(table, path, prefix, known_codes)


def settings_from_table(
    table: Mapping[str, Any], path: Path | None, prefix: str = "", known_codes: Iterable[str] = ()
) -> Settings:
    where_file = str(path) if path else "settings"
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in _KEYS:
            hint = _closest(key, _KEYS)
            raise ConfigError(
                f"{where_file}: unknown key `{prefix}{key}`" + (f" (did you mean `{hint}`?)" if hint else "")
            )
        attribute, parse = _KEYS[key]
        values[attribute] = parse(raw, f"{where_file}: `{prefix}{key}`")
    known = tuple(known_codes)
    if known:
        for key in CODE_KEYS:
            attribute = _KEYS[key][0]
            for code in values.get(attribute, ()):
                check_selector(code, known, f"{where_file}: `{prefix}{key}`")
        for pattern, codes in values.get("per_file_ignores", ()):
            for code in codes:
                check_selector(code, known, f"{where_file}: `{prefix}per-file-ignores.{pattern}`")
    if "profiles" in values:
        from errlint.linter.profiles import validate_profiles

        values["profiles"] = validate_profiles(values["profiles"], f"{where_file}: `{prefix}profiles")
    root = path.parent.resolve() if path else Path.cwd()
    return Settings(**values, root=root, source=path)


def check_selector(code: str, known: Iterable[str], where: str) -> None:
    if code == "ALL" or any(existing.startswith(code) for existing in known):
        return
    raise ConfigError(f"{where}: unknown rule code `{code}`")


def is_excluded(path: Path, settings: Settings, walk_root: Path | None = None) -> bool:
    """Does an exclude pattern match the path or one of its parent folders?

    Folder-name patterns (`build`, `*.egg-info`) only look below `walk_root`,
    so `errlint examples/` lints a folder that the config excludes from `errlint .`.
    """
    patterns = (*settings.exclude, *settings.extend_exclude)
    absolute = Path(os.path.abspath(path))
    try:
        text = absolute.relative_to(settings.root).as_posix()
    except ValueError:
        text = absolute.as_posix()
    if walk_root is not None:
        try:
            parts = absolute.relative_to(os.path.abspath(walk_root)).parts
        except ValueError:
            parts = absolute.parts
    else:
        parts = Path(text).parts
    for pattern in patterns:
        cleaned = pattern.rstrip("/")
        if "/" in cleaned:
            if fnmatch.fnmatch(text, cleaned) or fnmatch.fnmatch(text, cleaned + "/*"):
                return True
        elif any(fnmatch.fnmatch(part, cleaned) for part in parts):
            return True
    return False


def _closest(key: str, options: Iterable[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(key, list(options), n=1, cutoff=0.7)
    return matches[0] if matches else None
