"""Which settings lint a document: the project's config file, overlaid by the editor's.

The config file is found as the CLI finds it (the nearest errlint.toml or
pyproject.toml with `[tool.errlint]` above the file) and is reloaded when it
changes on disk. The editor's settings (`select`, `ignore`, `extendSelect`,
camelCase as the VS Code extension sends them) come from, in increasing order
of precedence: `initializationOptions`, the `errlint` section of
`workspace/didChangeConfiguration`, and `workspace/configuration` answers
(per workspace folder). They combine with the file's settings as the CLI's
flags do: `select` replaces, `ignore` and `extendSelect` add.

Handlers for workspace/didChangeConfiguration, workspace/didChangeWatchedFiles
and workspace/didChangeWorkspaceFolders live here too.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from lsprotocol import types

from errlint.linter.config import (
    CONFIG_FILES,
    ConfigError,
    Settings,
    check_selector,
    find_config_file,
    is_excluded,
    load_settings,
)
from errlint.lsp.documents import Document, uri_to_path

if TYPE_CHECKING:
    from errlint.lsp.server import ErrlintServer

logger = logging.getLogger(__name__)

SECTION = "errlint"
_KEY_ALIASES = {
    "select": "select",
    "ignore": "ignore",
    "extendSelect": "extend_select",
    "extend_select": "extend_select",
    "extend-select": "extend_select",
}


@dataclass(frozen=True)
class EditorSettings:
    """The rule selection an editor asks for; empty means "as the project says"."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()

    def apply(self, settings: Settings) -> Settings:
        overrides: dict[str, Any] = {}
        if self.select:
            overrides["select"] = self.select
        if self.ignore:
            overrides["ignore"] = (*settings.ignore, *self.ignore)
        if self.extend_select:
            overrides["extend_select"] = (*settings.extend_select, *self.extend_select)
        return settings.with_overrides(**overrides)


def parse_editor_settings(raw: Any, known_codes: Iterable[str], where: str) -> tuple[EditorSettings | None, list[str]]:
    """Editor settings from a JSON value, and one-line problems with it.

    Returns None (and no problem) when `raw` holds no errlint settings at all.
    Bad values are dropped with a problem each, never raised.
    """
    if raw is None:
        return None, []
    if not isinstance(raw, Mapping):
        return None, [f"{where}: expected an object with `select`, `ignore` and `extendSelect`, got {type(raw).__name__}"]
    if SECTION in raw and isinstance(raw[SECTION], Mapping) and not any(key in raw for key in _KEY_ALIASES):
        raw = raw[SECTION]
    known = tuple(known_codes)
    values: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    for key, value in raw.items():
        attribute = _KEY_ALIASES.get(key)
        if attribute is None:
            continue  # `args` and anything else are not ours to read here
        codes, errors = _codes(value, known, f"{where}: `{key}`")
        problems.extend(errors)
        values[attribute] = (*values.get(attribute, ()), *codes)
    return EditorSettings(**values), problems


def _codes(value: Any, known: tuple[str, ...], where: str) -> tuple[tuple[str, ...], list[str]]:
    if value is None or isinstance(value, Mapping) and not value:
        return (), []  # Lua clients (Neovim) encode an empty list as {}
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        return (), [f"{where}: expected a list of rule codes"]
    codes: list[str] = []
    problems: list[str] = []
    for item in value:
        if not isinstance(item, str):
            problems.append(f"{where}: {item!r} is not a rule code")
            continue
        code = item.strip().upper()
        if not code:
            continue
        try:
            check_selector(code, known, where)
        except ConfigError as error:
            problems.append(f"{error} (ignored)")
            continue
        codes.append(code)
    return tuple(codes), problems


@dataclass(frozen=True)
class Resolved:
    settings: Settings
    config: Path | None
    excluded: bool = False
    error: str | None = None


class ConfigFiles:
    """Finds and loads config files; a loaded file is reused until it changes on disk.

    The search itself is not cached (a few stat calls), so a config file that
    appears or disappears is noticed at the next lint even without file
    watching. Used from the analysis thread; `invalidate` may be called from
    the event loop.
    """

    def __init__(self, known_codes: Iterable[str]) -> None:
        self._known = tuple(known_codes)
        self._lock = threading.Lock()
        self._loaded: dict[Path, tuple[tuple[int, int], Settings, str | None]] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._loaded.clear()

    def resolve(self, path: Path | None, fallback_dir: Path | None) -> Resolved:
        directory = path.parent if path is not None else fallback_dir
        if directory is None:
            return Resolved(Settings(), None)
        try:
            config = find_config_file(directory)
        except OSError:
            config = None
        if config is None:
            return Resolved(Settings(), None)
        settings, error = self._load(config)
        excluded = path is not None and error is None and is_excluded(path, settings)
        return Resolved(settings, config, excluded, error)

    def _load(self, config: Path) -> tuple[Settings, str | None]:
        try:
            stat = config.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = (-1, -1)
        with self._lock:
            cached = self._loaded.get(config)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
        try:
            settings, error = load_settings(config, self._known), None
        except ConfigError as problem:
            settings, error = Settings(root=config.parent.resolve()), str(problem)
        except Exception as problem:  # noqa: BLE001 - a config bug must not stop the server
            settings, error = Settings(root=config.parent.resolve()), f"{config}: cannot load: {problem}"
        with self._lock:
            self._loaded[config] = (stamp, settings, error)
        return settings, error


class SettingsManager:
    def __init__(self, known_codes: Iterable[str]) -> None:
        self.known_codes = tuple(known_codes)
        self.files = ConfigFiles(self.known_codes)
        self.initialization = EditorSettings()
        self.pushed: EditorSettings | None = None
        self.pulled: dict[str, EditorSettings] = {}
        self.folders: list[tuple[str, Path]] = []  # (uri, path), longest path first
        self.first_folder: tuple[str, Path] | None = None  # for documents without a path

    def set_folders(self, folders: Iterable[tuple[str, str]]) -> None:
        """Workspace folders as (uri, name) pairs."""
        paths = [(uri, path) for uri, _ in folders if (path := uri_to_path(uri)) is not None]
        self.first_folder = paths[0] if paths else None
        self.folders = sorted(paths, key=lambda item: len(str(item[1])), reverse=True)

    def folder_of(self, document: Document) -> tuple[str, Path] | None:
        path = document.path
        if path is None:
            return self.first_folder
        for uri, folder in self.folders:
            if path == folder or folder in path.parents:
                return uri, folder
        return None

    def editor_settings(self, document: Document) -> EditorSettings:
        folder = self.folder_of(document)
        if folder is not None and folder[0] in self.pulled:
            return self.pulled[folder[0]]
        if "" in self.pulled:
            return self.pulled[""]
        if self.pushed is not None:
            return self.pushed
        return self.initialization

    def snapshot(self) -> tuple:
        """Everything editor-side that changes results, to tell whether a change matters."""
        return (self.initialization, self.pushed, tuple(sorted(self.pulled.items())))

    def resolve(self, document: Document, editor: EditorSettings) -> Resolved:
        """The settings for one document (reads config files: call off the event loop)."""
        folder = self.folder_of(document)
        resolved = self.files.resolve(document.path, folder[1] if folder else None)
        return Resolved(editor.apply(resolved.settings), resolved.config, resolved.excluded, resolved.error)

    def invalidate(self) -> None:
        self.files.invalidate()

    @staticmethod
    def is_config_file(path: Path) -> bool:
        return path.name in CONFIG_FILES


# --- pulling settings from the client ------------------------------------------


async def pull_configuration(ls: ErrlintServer) -> bool:
    """Ask the client for the `errlint` section (global and per folder). True if anything changed."""
    if not ls.client.configuration:
        return False
    items = [types.ConfigurationItem(section=SECTION)]
    items += [types.ConfigurationItem(scope_uri=uri, section=SECTION) for uri, _ in ls.settings.folders]
    try:
        answers = await ls.workspace_configuration_async(types.ConfigurationParams(items=items))
    except Exception as error:  # noqa: BLE001 - a client that cannot answer keeps the other settings
        logger.warning("workspace/configuration failed: %s", error)
        return False
    before = ls.settings.snapshot()
    pulled: dict[str, EditorSettings] = {}
    for item, answer in zip(items, answers or ()):
        parsed, problems = parse_editor_settings(answer, ls.settings.known_codes, "workspace/configuration `errlint`")
        ls.log_once(problems, types.MessageType.Warning)
        if parsed is not None:
            pulled[item.scope_uri or ""] = parsed
    ls.settings.pulled = pulled
    return ls.settings.snapshot() != before


# --- handlers ----------------------------------------------------------------------


async def did_change_configuration(ls: ErrlintServer, params: types.DidChangeConfigurationParams) -> None:
    before = ls.settings.snapshot()
    payload = params.settings
    if isinstance(payload, Mapping) and (SECTION in payload or any(key in payload for key in _KEY_ALIASES)):
        parsed, problems = parse_editor_settings(payload, ls.settings.known_codes, "didChangeConfiguration `errlint`")
        ls.log_once(problems, types.MessageType.Warning)
        if parsed is not None:
            ls.settings.pushed = parsed
    await pull_configuration(ls)
    if ls.settings.snapshot() != before:
        ls.refresh_all("the editor settings changed")


async def did_change_workspace_folders(ls: ErrlintServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    # pygls has already updated its workspace's folder list.
    ls.settings.set_folders((folder.uri, folder.name) for folder in ls.workspace.folders.values())
    await pull_configuration(ls)
    ls.refresh_all("the workspace folders changed")


def did_change_watched_files(ls: ErrlintServer, params: types.DidChangeWatchedFilesParams) -> None:
    changed = [path for change in params.changes if (path := uri_to_path(change.uri)) is not None]
    names = sorted({path.name for path in changed if SettingsManager.is_config_file(path)})
    if names:
        ls.reload_configuration(f"{', '.join(names)} changed")
