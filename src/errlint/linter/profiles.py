"""API profiles: what one API documents about its errors, in a form rules can ask about.

A profile says how to recognise calls to one API (base-URL `hosts`, SDK
`clients`) and what that API documents: where the machine code and the prose
message sit in its error body, which statuses and codes can succeed on retry,
which headers carry retry hints and the idempotency key, which endpoints
answer 200 with per-item failures, which stream raw bytes.

`validate_profiles` turns the `[tool.errlint.profiles]` table into a frozen
`ProfileSet` (hashable, picklable, with a stable repr for the result cache);
every config error names the profile and the field. Built-in profiles live in
`builtin_profiles.py` as the same TOML-shaped tables and go through the same
validation. Rules reach profiles through `Model.profile_for(call)`; the schema
reference is docs/profiles.md.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import urlsplit

import libcst as cst

from errlint.linter.config import ConfigError
from errlint.linter.model import walk_nodes

if TYPE_CHECKING:
    from errlint.linter.config import Settings
    from errlint.linter.model import Client, HttpCall, Model

HINT_UNITS = ("seconds", "milliseconds", "epoch")
# Keys of `[tool.errlint.profiles]` that are not profile names.
USE_KEY = "use"
DISABLE_KEY = "disable"
_RESERVED = (USE_KEY, DISABLE_KEY)

# --- the schema ------------------------------------------------------------------


@dataclass(frozen=True)
class RetryHint:
    """A header or body field that says when to retry, and how its value counts time."""

    name: str  # header name as documented (compare case-insensitively) or a body path
    unit: str = "seconds"  # seconds | milliseconds | epoch (Unix time of the reset)


@dataclass(frozen=True)
class StatusCodes:
    """The machine codes an API sends with one status, by whether retrying can help."""

    retryable: tuple[str, ...] = ()
    terminal: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.retryable + self.terminal


@dataclass(frozen=True)
class PartialSuccess:
    """An endpoint that can answer 200 while some items failed."""

    path: str  # endpoint path pattern, e.g. "/extract"
    items: str  # body path of the item list, e.g. "data.results"
    item_status: str | None = None  # path inside an item, e.g. "status"
    failed: tuple[str | int, ...] = ()  # item-status values that mean failure
    item_error: str | None = None  # path inside an item of its error, e.g. "error_message"
    flag: str | None = None  # top-level boolean that says some item failed (Elasticsearch `errors`)
    summary: str | None = None  # body path of success/failure counters, e.g. "meta.usage"


@dataclass(frozen=True)
class EndpointStatuses:
    """The statuses an endpoint documents as success (`path` "*" for every endpoint)."""

    path: str
    statuses: tuple[int, ...]


@dataclass(frozen=True)
class Profile:
    """What one API documents about its errors. Build with `validate_profiles`."""

    name: str
    description: str = ""
    builtin: bool = False
    # How a call site matches.
    hosts: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()
    # The error envelope.
    code_fields: tuple[str, ...] = ()
    message_fields: tuple[str, ...] = ()
    success_field: str | None = None
    status_field: str | None = None
    retryable_field: str | None = None
    should_retry_header: str | None = None
    # What can succeed on retry.
    retryable_statuses: tuple[int, ...] = ()
    terminal_statuses: tuple[int, ...] = ()
    codes: tuple[tuple[int, StatusCodes], ...] = ()
    retryable_codes: tuple[str, ...] = ()
    terminal_codes: tuple[str, ...] = ()
    # When to retry.
    retry_after_headers: tuple[RetryHint, ...] = ()
    retry_after_fields: tuple[RetryHint, ...] = ()
    # Writes.
    idempotency_header: str | None = None
    idempotency_field: str | None = None
    # Endpoints.
    partial_success: tuple[PartialSuccess, ...] = ()
    download_paths: tuple[str, ...] = ()
    success_statuses: tuple[EndpointStatuses, ...] = ()
    references: tuple[str, ...] = ()

    # --- matching ------------------------------------------------------------

    @property
    def matches_every_call(self) -> bool:
        """A profile without `hosts` or `clients` applies to calls no other profile matches."""
        return not self.hosts and not self.clients

    def matches_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        bare = host.rsplit(":", 1)[0] if _has_port(host) else host
        for pattern in self.hosts:
            candidate = host if _has_port(pattern) else bare
            if pattern.startswith("*."):
                if candidate.endswith(pattern[1:]):
                    return True
            elif candidate == pattern:
                return True
        return False

    def matches_client(self, qualified: str) -> bool:
        """`qualified` is a client class or an SDK module-level function (`stripe.Customer.create`)."""
        return qualified in self.clients or qualified.split(".")[0] in self.packages

    @property
    def packages(self) -> frozenset[str]:
        """Top-level packages of the SDK clients: exceptions from these belong to the profile."""
        return frozenset(client.split(".")[0] for client in self.clients)

    # --- statuses and codes -------------------------------------------------

    def codes_for(self, status: int) -> StatusCodes:
        for key, codes in self.codes:
            if key == status:
                return codes
        return StatusCodes()

    def terminal_codes_for(self, status: int) -> tuple[str, ...]:
        return self.codes_for(status).terminal

    def retryable_codes_for(self, status: int) -> tuple[str, ...]:
        return self.codes_for(status).retryable

    @property
    def all_terminal_codes(self) -> frozenset[str]:
        """Codes that cannot succeed on retry, with or without a documented status."""
        return frozenset(self.terminal_codes).union(*(codes.terminal for _, codes in self.codes))

    @property
    def all_retryable_codes(self) -> frozenset[str]:
        return frozenset(self.retryable_codes).union(*(codes.retryable for _, codes in self.codes))

    @property
    def all_codes(self) -> frozenset[str]:
        return self.all_terminal_codes | self.all_retryable_codes

    def overloaded_statuses(self) -> frozenset[int]:
        """Statuses sent with both codes worth retrying and codes that are final."""
        return frozenset(status for status, codes in self.codes if codes.retryable and codes.terminal)

    def permanent_statuses(self, default_retryable: Iterable[int]) -> frozenset[int]:
        """Statuses that fail the same way on every attempt for this API.

        Every 4xx except the configured retryable statuses, minus the statuses
        the profile lists as retryable or sends with a retryable code, plus the
        statuses the profile lists as terminal.
        """
        retryable = set(default_retryable) | set(self.retryable_statuses)
        retryable |= {status for status, codes in self.codes if codes.retryable}
        permanent = set(range(400, 500)) - retryable
        permanent |= set(self.terminal_statuses)
        return frozenset(permanent)

    def is_retryable_status(self, status: int, default_retryable: Iterable[int]) -> bool:
        if status in self.terminal_statuses:
            return False
        return status in self.retryable_statuses or status in set(default_retryable) or bool(
            self.retryable_codes_for(status)
        )

    # --- retry hints and idempotency -----------------------------------------

    @property
    def retry_after_header_names(self) -> frozenset[str]:
        """Lower-case names of the headers that say when to retry."""
        return frozenset(hint.name.lower() for hint in self.retry_after_headers)

    @property
    def retry_after_field_names(self) -> frozenset[str]:
        """Last segments of the body fields that say when to retry (`retry_after`)."""
        return frozenset(_segments(hint.name)[-1] for hint in self.retry_after_fields)

    def retry_hint(self, name: str) -> RetryHint | None:
        """The header or body-field hint called `name` (case-insensitive), if declared."""
        lowered = name.lower()
        for hint in (*self.retry_after_headers, *self.retry_after_fields):
            if hint.name.lower() == lowered or _segments(hint.name)[-1].lower() == lowered:
                return hint
        return None

    # --- body paths ----------------------------------------------------------

    def is_code_path(self, keys: Iterable[str]) -> bool:
        """Does a key chain read by code (`("error", "code")`) name one of the code fields?"""
        return _path_matches(tuple(keys), self.code_fields)

    def is_message_path(self, keys: Iterable[str]) -> bool:
        return _path_matches(tuple(keys), self.message_fields)

    def is_status_path(self, keys: Iterable[str]) -> bool:
        return self.status_field is not None and _path_matches(tuple(keys), (self.status_field,))

    def is_retry_decision_path(self, keys: Iterable[str]) -> bool:
        """The body field in which the server says whether to retry (Katalo `error.retryable`)."""
        return self.retryable_field is not None and _path_matches(tuple(keys), (self.retryable_field,))

    # --- endpoints -----------------------------------------------------------

    def partial_success_for(self, url: str | None) -> PartialSuccess | None:
        """The partial-success declaration for an endpoint path or URL, if any."""
        path = url_path(url)
        if path is None:
            return None
        return next((entry for entry in self.partial_success if path_matches(path, entry.path)), None)

    def is_download(self, url: str | None) -> bool:
        """Does the endpoint return raw bytes (with a JSON error body on failure)?"""
        path = url_path(url)
        return path is not None and any(path_matches(path, pattern) for pattern in self.download_paths)

    def success_statuses_for(self, url: str | None) -> frozenset[int] | None:
        """The statuses an endpoint documents as its only success, or None when not declared."""
        path = url_path(url)
        for entry in self.success_statuses:
            if entry.path == "*" or (path is not None and path_matches(path, entry.path)):
                return frozenset(entry.statuses)
        return None


@dataclass(frozen=True)
class ProfileSet(Mapping[str, Profile]):
    """The profiles in effect, in match order: configured profiles first, then built-ins."""

    profiles: tuple[Profile, ...] = ()

    def __getitem__(self, name: str) -> Profile:
        for profile in self.profiles:
            if profile.name == name:
                return profile
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (profile.name for profile in self.profiles)

    def __len__(self) -> int:
        return len(self.profiles)

    def for_host(self, host: str) -> Profile | None:
        return next((p for p in self.profiles if p.hosts and p.matches_host(host)), None)

    def for_client(self, qualified: str) -> Profile | None:
        return next((p for p in self.profiles if p.clients and p.matches_client(qualified)), None)

    def for_package(self, package: str) -> Profile | None:
        return next((p for p in self.profiles if package in p.packages), None)

    @property
    def fallback(self) -> Profile | None:
        """The profile without `hosts` or `clients`, which applies to every otherwise unmatched call."""
        return next((p for p in self.profiles if p.matches_every_call), None)


# --- validation ------------------------------------------------------------------


class _FieldError(Exception):
    """A problem in one field of one profile; becomes a ConfigError naming both."""


def validate_profiles(raw: Mapping[str, Any], where: str) -> ProfileSet:
    """Check `[tool.errlint.profiles]` and return the profiles in effect.

    `raw` maps profile names to tables, plus two optional lists: `use` (built-in
    profiles to turn on besides the defaults) and `disable` (default built-ins
    to turn off). A table named like a built-in extends it: its fields replace
    the built-in's. `where` is the config-error prefix, e.g.
    "pyproject.toml: `tool.errlint.profiles".
    """
    from errlint.linter.builtin_profiles import DEFAULT_PROFILES

    file_part, _, key_part = where.partition(": `")
    key_part = key_part or "profiles"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{file_part}: `{key_part}` must be a table of profiles")
    builtins = builtin_profiles()
    use = _builtin_names(raw.get(USE_KEY, []), f"{file_part}: `{key_part}.{USE_KEY}`", builtins)
    disable = _builtin_names(raw.get(DISABLE_KEY, []), f"{file_part}: `{key_part}.{DISABLE_KEY}`", builtins)
    configured: list[Profile] = []
    for name, table in raw.items():
        if name in _RESERVED:
            continue
        if not isinstance(table, Mapping):
            raise ConfigError(f"{file_part}: profile `{name}`: expected a table of fields")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", str(name)):
            raise ConfigError(f"{file_part}: profile `{name}`: names use letters, digits, `-`, `_` and `.`")
        if name in disable:
            raise ConfigError(
                f"{file_part}: profile `{name}` is configured and also listed in `{key_part}.{DISABLE_KEY}`"
            )
        base = builtins.get(name)
        try:
            configured.append(_build(name, table, base))
        except _FieldError as error:
            raise ConfigError(f"{file_part}: profile `{name}`: {error}") from None
    names = {profile.name for profile in configured}
    enabled = [builtins[n] for n in (*use, *DEFAULT_PROFILES) if n not in names and n not in disable]
    chosen = tuple(configured) + tuple(dict.fromkeys(enabled))
    everywhere = [profile.name for profile in chosen if profile.matches_every_call]
    if len(everywhere) > 1:
        listed = " and ".join(f"`{n}`" for n in everywhere)
        raise ConfigError(
            f"{file_part}: profiles {listed} have no `hosts` or `clients`, so each would apply to every call; "
            f"give all but one of them `hosts`"
        )
    return ProfileSet(chosen)


def _builtin_names(value: Any, where: str, builtins: Mapping[str, Profile]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected a list of built-in profile names")
    for item in value:
        if item not in builtins:
            hint = _closest(item, builtins)
            known = ", ".join(sorted(builtins))
            raise ConfigError(
                f"{where}: unknown built-in profile `{item}`"
                + (f" (did you mean `{hint}`?)" if hint else f" (known: {known})")
            )
    return tuple(value)


@functools.cache
def builtin_profiles() -> dict[str, Profile]:
    """Every built-in profile by name, validated like configured ones."""
    from errlint.linter.builtin_profiles import BUILTIN_PROFILES

    profiles = {}
    for name, table in BUILTIN_PROFILES.items():
        try:
            profiles[name] = replace(_build(name, table, None), builtin=True)
        except _FieldError as error:  # pragma: no cover - caught by tests/test_profiles.py
            raise AssertionError(f"built-in profile `{name}`: {error}") from None
    return profiles


def default_profile_set() -> ProfileSet:
    """The profiles in effect without configuration (for `Settings.profiles`' default)."""
    return _from_plain("[]", {})


def active_profiles(settings: "Settings") -> ProfileSet:
    """The profiles in effect for `settings` (the default built-ins when none are configured)."""
    profiles = getattr(settings, "profiles", None)
    if isinstance(profiles, ProfileSet):
        return profiles
    return _from_plain(repr(sorted((profiles or {}).items(), key=lambda item: str(item[0]))), profiles or {})


_PLAIN_CACHE: dict[str, ProfileSet] = {}


def _from_plain(key: str, raw: Mapping[str, Any]) -> ProfileSet:
    """`Settings(profiles={...})` built by hand, without `settings_from_table`."""
    if key not in _PLAIN_CACHE:
        if len(_PLAIN_CACHE) > 32:
            _PLAIN_CACHE.clear()
        _PLAIN_CACHE[key] = validate_profiles(raw, "settings: `profiles")
    return _PLAIN_CACHE[key]


def _build(name: str, table: Mapping[str, Any], base: Profile | None) -> Profile:
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _FIELDS:
            hint = _closest(str(key), [*_FIELDS, *_ALIASES])
            hint = _ALIASES.get(hint, hint) if hint else None
            raise _FieldError(f"unknown field `{key}`" + (f" (did you mean `{hint}`?)" if hint else ""))
        attribute, parse = _FIELDS[key]
        values[attribute] = parse(value, key)
    profile = base if base is not None else Profile(name=name)
    return replace(profile, name=name, builtin=False, **values)


# Field parsers: (value, TOML key) -> typed value, raising _FieldError.


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise _FieldError(f"`{key}` must be a string")
    return value


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise _FieldError(f"`{key}` must be a list of strings")
    return tuple(value)


def _hosts(value: Any, key: str) -> tuple[str, ...]:
    hosts = []
    for item in _strings(value, key):
        host = urlsplit(item).netloc if "://" in item else item.split("/", 1)[0]
        host = host.lower().rstrip(".")
        if not host or not re.fullmatch(r"(\*\.)?[a-z0-9_.-]+(:\d+)?", host):
            raise _FieldError(f"`{key}`: `{item}` is not a host name (e.g. `api.example.com` or `*.example.com`)")
        hosts.append(host)
    return tuple(hosts)


def _dotted_names(value: Any, key: str) -> tuple[str, ...]:
    names = _strings(value, key)
    for item in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+", item):
            raise _FieldError(f"`{key}`: `{item}` is not a dotted class name (e.g. `openai.OpenAI`)")
    return names


def _body_path(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value or any(not part for part in value.split(".")):
        raise _FieldError(f"`{key}` must be a dotted body path such as `error.code`")
    return value


def _body_paths(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _FieldError(f"`{key}` must be a list of dotted body paths such as `error.code`")
    return tuple(_body_path(item, key) for item in value)


def _header(value: Any, key: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", value):
        raise _FieldError(f"`{key}` must be a header name such as `Idempotency-Key`")
    return value


def _status(value: Any, key: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _FieldError(f"`{key}`: `{value}` is not an HTTP status number")
    if not 100 <= value <= 599:
        raise _FieldError(f"`{key}`: {value} is not an HTTP status (100-599)")
    return value


def _statuses(value: Any, key: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise _FieldError(f"`{key}` must be a list of HTTP status numbers")
    return tuple(sorted({_status(item, key) for item in value}))


def _code_list(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise _FieldError(f"`{key}` must be a list of machine codes (strings)")
    return tuple(value)


def _codes(value: Any, key: str) -> tuple[tuple[int, StatusCodes], ...]:
    if not isinstance(value, Mapping):
        raise _FieldError(f"`{key}` must be a table of status = {{ retryable = [...], terminal = [...] }}")
    result = []
    for status_key, table in value.items():
        where = f"{key}.{status_key}"
        status = _status(status_key, where)
        if not isinstance(table, Mapping):
            raise _FieldError(f"`{where}` must be a table with `retryable` and/or `terminal` code lists")
        unknown = [name for name in table if name not in ("retryable", "terminal")]
        if unknown:
            hint = _closest(str(unknown[0]), ["retryable", "terminal"])
            raise _FieldError(
                f"unknown field `{where}.{unknown[0]}`" + (f" (did you mean `{hint}`?)" if hint else "")
            )
        retryable = _code_list(table.get("retryable", []), f"{where}.retryable")
        terminal = _code_list(table.get("terminal", []), f"{where}.terminal")
        both = set(retryable) & set(terminal)
        if both:
            raise _FieldError(f"`{where}`: `{sorted(both)[0]}` is listed as both retryable and terminal")
        result.append((status, StatusCodes(retryable, terminal)))
    return tuple(sorted(result))


def _hints(value: Any, key: str) -> tuple[RetryHint, ...]:
    if not isinstance(value, list):
        raise _FieldError(f'`{key}` must be a list of names or {{ name = "...", unit = "..." }} tables')
    hints = []
    for item in value:
        if isinstance(item, str) and item:
            hints.append(RetryHint(item))
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item.get("name"):
            raise _FieldError(f'`{key}`: expected a name or a {{ name = "...", unit = "..." }} table')
        unknown = [name for name in item if name not in ("name", "unit")]
        if unknown:
            raise _FieldError(f"`{key}`: unknown field `{unknown[0]}` (a hint has `name` and `unit`)")
        unit = item.get("unit", "seconds")
        if unit not in HINT_UNITS:
            raise _FieldError(f"`{key}`: unit `{unit}` must be one of {', '.join(HINT_UNITS)}")
        hints.append(RetryHint(item["name"], unit))
    return tuple(hints)


def _endpoint(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise _FieldError(f"`{key}`: `{value}` must be an endpoint path starting with `/`")
    return value


def _endpoints(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _FieldError(f"`{key}` must be a list of endpoint paths such as `/files/:id/content`")
    return tuple(_endpoint(item, key) for item in value)


_PARTIAL_FIELDS = {
    "path": ("path", _endpoint),
    "items": ("items", _body_path),
    "item-status": ("item_status", _body_path),
    "failed": ("failed", None),
    "item-error": ("item_error", _body_path),
    "flag": ("flag", _body_path),
    "summary": ("summary", _body_path),
}


def _partial_success(value: Any, key: str) -> tuple[PartialSuccess, ...]:
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise _FieldError(f'`{key}` must be a list of tables such as {{ path = "/batch", items = "results" }}')
    result = []
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        values: dict[str, Any] = {}
        for name, raw in item.items():
            if name not in _PARTIAL_FIELDS:
                hint = _closest(str(name), _PARTIAL_FIELDS)
                raise _FieldError(f"unknown field `{where}.{name}`" + (f" (did you mean `{hint}`?)" if hint else ""))
            attribute, parse = _PARTIAL_FIELDS[name]
            if parse is None:
                if not isinstance(raw, list) or not all(
                    isinstance(v, (str, int)) and not isinstance(v, bool) for v in raw
                ):
                    raise _FieldError(f"`{where}.{name}` must be a list of item-status values")
                values[attribute] = tuple(raw)
            else:
                values[attribute] = parse(raw, f"{where}.{name}")
        for required in ("path", "items"):
            if _PARTIAL_FIELDS[required][0] not in values:
                raise _FieldError(f"`{where}` needs `{required}`")
        if "item_status" not in values and "item_error" not in values and "flag" not in values:
            raise _FieldError(f"`{where}` needs `item-status`, `item-error` or `flag` to tell a failed item")
        result.append(PartialSuccess(**values))
    return tuple(result)


def _success_statuses(value: Any, key: str) -> tuple[EndpointStatuses, ...]:
    if isinstance(value, list) and all(not isinstance(item, Mapping) for item in value):
        return (EndpointStatuses("*", _statuses(value, key)),)
    if not isinstance(value, list):
        raise _FieldError(f'`{key}` must be a list of statuses or of {{ path = "...", statuses = [...] }} tables')
    result = []
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            raise _FieldError(f'`{where}` must be a {{ path = "...", statuses = [...] }} table')
        unknown = [name for name in item if name not in ("path", "statuses")]
        if unknown:
            raise _FieldError(f"unknown field `{where}.{unknown[0]}` (an entry has `path` and `statuses`)")
        if "path" not in item or "statuses" not in item:
            raise _FieldError(f"`{where}` needs `path` and `statuses`")
        result.append(EndpointStatuses(_endpoint(item["path"], f"{where}.path"), _statuses(item["statuses"], where)))
    return tuple(result)


# TOML key -> (Profile attribute, parser). docs/profiles.md documents each one.
_FIELDS: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
    "description": ("description", _text),
    "hosts": ("hosts", _hosts),
    "clients": ("clients", _dotted_names),
    "code-fields": ("code_fields", _body_paths),
    "message-fields": ("message_fields", _body_paths),
    "success-field": ("success_field", _body_path),
    "status-field": ("status_field", _body_path),
    "retryable-field": ("retryable_field", _body_path),
    "should-retry-header": ("should_retry_header", _header),
    "retryable-statuses": ("retryable_statuses", _statuses),
    "terminal-statuses": ("terminal_statuses", _statuses),
    "codes": ("codes", _codes),
    "retryable-codes": ("retryable_codes", _code_list),
    "terminal-codes": ("terminal_codes", _code_list),
    "retry-after-headers": ("retry_after_headers", _hints),
    "retry-after-fields": ("retry_after_fields", _hints),
    "idempotency-header": ("idempotency_header", _header),
    "idempotency-field": ("idempotency_field", _body_path),
    "partial-success": ("partial_success", _partial_success),
    "download-paths": ("download_paths", _endpoints),
    "success-statuses": ("success_statuses", _success_statuses),
    "references": ("references", _strings),
}
# Names people reach for, mapped to the field they mean (for "did you mean").
_ALIASES = {
    "retry-header": "retry-after-headers",
    "retry-headers": "retry-after-headers",
    "retry-after": "retry-after-headers",
    "base-url": "hosts",
    "base-urls": "hosts",
    "host": "hosts",
    "client": "clients",
    "error-code": "code-fields",
    "error-codes": "code-fields",
    "code-field": "code-fields",
    "message-field": "message-fields",
    "idempotency-key": "idempotency-header",
    "downloads": "download-paths",
    "retryable": "retryable-statuses",
    "terminal": "terminal-statuses",
}

PROFILE_FIELDS = tuple(_FIELDS)
assert {attribute for attribute, _ in _FIELDS.values()} | {"name", "builtin"} == {f.name for f in fields(Profile)}


def _closest(key: str, options: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(key, list(options), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _has_port(host: str) -> bool:
    return bool(re.search(r":\d+$", host))


def _segments(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def _path_matches(keys: tuple[str, ...], paths: Iterable[str]) -> bool:
    """`keys` (what code reads) names one of `paths` when one ends with the other.

    `body["error"]["code"]` reads ("error", "code"): it names `error.code`; so
    does `err["code"]` when `err` came from a parameter, which reads ("code",).
    `*` in a declared path matches any key.
    """
    if not keys:
        return False
    for path in paths:
        segments = _segments(path)
        short, long = (keys, segments) if len(keys) <= len(segments) else (segments, keys)
        tail = long[len(long) - len(short) :]
        if all(a == b or "*" in (a, b) for a, b in zip(short, tail)):
            return True
    return False


# --- endpoint paths ------------------------------------------------------------------

UNKNOWN_PART = "\x00"  # stands for the parts of a URL not known statically


def url_path(url: str | None) -> str | None:
    """The path of a URL or URL template, without query or fragment."""
    if url is None:
        return None
    text = url
    if "://" in text:
        rest = text.split("://", 1)[1]
        text = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    elif not text.startswith("/"):
        # "\x00/v1/items": an unknown base URL followed by a path.
        index = text.find("/")
        if index < 0:
            return None
        text = text[index:]
    text = re.split(r"[?#]", text, maxsplit=1)[0]
    return text.rstrip("/") or "/"


def path_matches(path: str, pattern: str) -> bool:
    """Does an endpoint path end with `pattern`?

    In patterns `*`, `:name` and `{name}` stand for one segment and `**` for
    any number; in paths an unknown part (an f-string expression) matches one
    segment. `/extract` matches `/v1/extract`.
    """
    parts = []
    for segment in pattern.strip("/").split("/"):
        if segment == "**":
            parts.append(r"(?:[^/]+(?:/[^/]+)*)?")
        elif segment == "*" or re.fullmatch(r":\w+|\{\w+\}", segment):
            parts.append(r"[^/]+")
        else:
            parts.append(re.escape(segment))
    regex = r"(?:^|.*/)" + "/".join(parts) + r"$"
    candidate = path.strip("/").replace(UNKNOWN_PART, "x")
    return re.match(regex, candidate) is not None if parts != [""] else candidate == ""


# --- which profile a call belongs to ---------------------------------------------------


def profile_for_call(model: "Model", call: "HttpCall | cst.Call") -> Profile | None:
    """The profile for an HTTP call (by URL host, client class or `base_url`) or an SDK call.

    Answers are kept per model: rules ask about the same calls many times and
    working out a call's URL is not cheap.
    """
    cache = model.__dict__.setdefault("_profile_for_call", {})
    key = id(call)
    if key not in cache:
        cache[key] = _profile_for_call(model, call)
    return cache[key]


def _profile_for_call(model: "Model", call: "HttpCall | cst.Call") -> Profile | None:
    profiles = active_profiles(model.settings)
    if not profiles:
        return None
    from errlint.linter.model import HttpCall

    http = call if isinstance(call, HttpCall) else model.http_call(call)
    if http is None:
        return _sdk_profile(model, call, profiles) if isinstance(call, cst.Call) else None
    host = call_host(model, http)
    if host is not None:
        found = profiles.for_host(host)
        if found is not None:
            return found
    constructor = _receiver_constructor(model, http)
    if constructor is not None:
        found = profiles.for_client(model.callee(constructor) or "")
        if found is not None:
            return found
    return profiles.fallback


def profile_for_client(model: "Model", client: "Client") -> Profile | None:
    """The profile for an HTTP or SDK client object (by class, then by `base_url=`)."""
    profiles = active_profiles(model.settings)
    name = model.callee(client.constructor) if model.contains(client.constructor) else None
    name = name or client.library
    found = profiles.for_client(name) if name else None
    if found is None:
        base = _keyword(client.constructor, "base_url")
        host = split_host(url_template(model, base)) if base is not None else None
        found = profiles.for_host(host) if host else None
    return found


def profile_for_exception(model: "Model", name: str) -> Profile | None:
    """The profile of the SDK that raises exception `name` (canonical, e.g. `openai.RateLimitError`)."""
    return active_profiles(model.settings).for_package(name.split(".")[0])


def profiles_for_calls(model: "Model", calls: Iterable["HttpCall"]) -> tuple[Profile | None, ...]:
    """One entry per distinct outcome: a profile, or None for calls no profile covers.

    With no calls at all (a `Retry(...)` built for later use), the profile that
    applies to every call, if one is configured.
    """
    calls = list(calls)
    if not calls:
        fallback = active_profiles(model.settings).fallback
        return (fallback,) if fallback is not None else ()
    return tuple(dict.fromkeys(profile_for_call(model, call) for call in calls))


def _sdk_profile(model: "Model", call: cst.Call, profiles: ProfileSet) -> Profile | None:
    node: cst.BaseExpression = call.func
    for _ in range(8):
        if isinstance(node, cst.Await):
            node = node.expression
        if isinstance(node, cst.Attribute):
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        else:
            break
        if isinstance(node, (cst.Name, cst.Attribute)):
            value = model.resolve(node)
            if isinstance(value, cst.Await):
                value = value.expression
            if isinstance(value, cst.Call) and value is not call:
                name = model.callee(value)
                if name:
                    found = profiles.for_client(name)
                    if found is not None:
                        return found
    name = model.callee(call)
    return profiles.for_client(name) if name else None


def _receiver_constructor(model: "Model", http: "HttpCall") -> cst.Call | None:
    func = http.node.func
    if not isinstance(func, cst.Attribute):
        return None
    client = model.client_for(func.value)
    if client is None or not model.contains(client.constructor):
        return None
    return client.constructor


def call_url(model: "Model", http: "HttpCall") -> str | None:
    """The URL an HTTP call sends to, as a template (`UNKNOWN_PART` for unknown parts).

    Relative URLs are joined to the client's `base_url=` when it is known.
    """
    url = http.url
    if url is not None and http.library == "urllib.request":
        value = model.resolve(url)
        if isinstance(value, cst.Call) and model.callee(value) == "urllib.request.Request":
            args = [arg.value for arg in value.args if arg.keyword is None]
            url = _keyword(value, "url") or (args[0] if args else None)
    template = url_template(model, url) if url is not None else None
    if template is not None and "://" in template.split("/", 1)[0] + "/":
        return template
    constructor = _receiver_constructor(model, http)
    base = _keyword(constructor, "base_url") if constructor is not None else None
    base_template = url_template(model, base) if base is not None else None
    if base_template is not None and "://" in base_template:
        if template is None:
            return base_template
        return base_template.rstrip("/") + "/" + template.lstrip("/")
    return template


def call_host(model: "Model", http: "HttpCall") -> str | None:
    return split_host(call_url(model, http))


def split_host(template: str | None) -> str | None:
    """`api.example.com` from `https://api.example.com/v1`; None when the host is not static."""
    if not template or "://" not in template:
        return None
    rest = template.split("://", 1)[1]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1].lower()
    if not host or UNKNOWN_PART in host:
        return None
    return host


def url_template(model: "Model", expr: cst.BaseExpression | None, depth: int = 0) -> str | None:
    """The text an expression builds, with `UNKNOWN_PART` for what is not static; None if nothing is.

    Understands literals, f-strings, `+`, names bound once (module constants,
    `self.base_url` set in `__init__`), `urljoin(base, path)`,
    `os.environ.get(name, default)` and `"...".format(...)`.
    """
    if expr is None or depth > 6:
        return None
    while isinstance(expr, cst.Await):
        expr = expr.expression
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        value = model.const_value(expr)
        return value if isinstance(value, str) else None
    if isinstance(expr, cst.FormattedString):
        parts = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            else:
                inner = url_template(model, part.expression, depth + 1)
                parts.append(inner if inner is not None and part.format_spec is None else UNKNOWN_PART)
        text = "".join(parts)
        return None if text.strip(UNKNOWN_PART) == "" else text
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        left = url_template(model, expr.left, depth + 1)
        right = url_template(model, expr.right, depth + 1)
        if left is None and right is None:
            return None
        return (left if left is not None else UNKNOWN_PART) + (right if right is not None else UNKNOWN_PART)
    if isinstance(expr, (cst.Name, cst.Attribute)):
        value = model.resolve(expr)
        if value is not expr:
            return url_template(model, value, depth + 1)
        return None
    if isinstance(expr, cst.Call):
        name = model.callee(expr) or ""
        args = [arg.value for arg in expr.args if arg.keyword is None and not arg.star]
        if name in ("urllib.parse.urljoin", "posixpath.join") and len(args) == 2:
            base = url_template(model, args[0], depth + 1)
            tail = url_template(model, args[1], depth + 1) or UNKNOWN_PART
            if base is None:
                return None
            return base if tail.startswith(UNKNOWN_PART) else base.rstrip("/") + "/" + tail.lstrip("/")
        if name in ("os.environ.get", "os.getenv") and len(args) == 2:
            return url_template(model, args[1], depth + 1)
        func = expr.func
        if isinstance(func, cst.Attribute) and func.attr.value == "format":
            base = url_template(model, func.value, depth + 1)
            return re.sub(r"\{[^{}]*\}", UNKNOWN_PART, base) if base is not None else None
        if isinstance(func, cst.Attribute) and func.attr.value in ("rstrip", "strip", "lstrip"):
            return url_template(model, func.value, depth + 1)
    return None


def _keyword(call: cst.Call | None, name: str) -> cst.BaseExpression | None:
    if call is None:
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


# --- reading profile fields in code ----------------------------------------------------

_GET_METHODS = ("get", "pop", "setdefault")
# Attributes of SDK exceptions that carry the machine code or the parsed body.
_SDK_CODE_ATTRIBUTES = frozenset({"code", "type", "error", "body", "json_body", "error_code", "decline_code"})


def key_path(model: "Model", expr: cst.BaseExpression, depth: int = 0) -> tuple[str, ...] | None:
    """The body keys an expression reads: `body["error"]["code"]` and
    `body.get("error", {}).get("code")` read ("error", "code"); `err["code"]`
    with `err = body["error"]` too. None when `expr` reads no string key.
    """
    if depth > 8:
        return None
    while isinstance(expr, cst.Await):
        expr = expr.expression
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
        index = expr.slice[0].slice
        key = model.const_value(index.value) if isinstance(index, cst.Index) else None
        if isinstance(key, str):
            return (key_path(model, expr.value, depth + 1) or ()) + (key,)
        if isinstance(key, int) and not isinstance(key, bool):
            return (key_path(model, expr.value, depth + 1) or ()) + ("*",)
        return None
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _GET_METHODS:
        args = [arg.value for arg in expr.args if arg.keyword is None]
        key = model.const_value(args[0]) if args else None
        if isinstance(key, str):
            return (key_path(model, expr.func.value, depth + 1) or ()) + (key,)
        return None
    if isinstance(expr, cst.Name):
        value = model.resolve(expr)
        if value is not expr and isinstance(value, (cst.Subscript, cst.Call, cst.Await)):
            return key_path(model, value, depth + 1)
    return None


def sdk_error_attribute(model: "Model", expr: cst.BaseExpression) -> str | None:
    """`e.code` / `e.error.code` / `e.body` on an exception caught as an SDK error: the attribute read."""
    if not isinstance(expr, cst.Attribute) or expr.attr.value not in _SDK_CODE_ATTRIBUTES:
        return None
    root: cst.BaseExpression = expr
    while isinstance(root, cst.Attribute):
        root = root.value
    if not isinstance(root, cst.Name):
        return None
    for handler in model.handlers:
        if handler.name == root.value and model.is_within(expr, handler.node):
            if any(active_profiles(model.settings).for_package(t.split(".")[0]) for t in handler.types):
                return expr.attr.value
    return None


def reads_code(model: "Model", profile: Profile, nodes: Iterable[cst.CSTNode], depth: int = 2) -> bool:
    """Does code in `nodes` read the machine code (a code field, the server's retry
    decision, an SDK error's `.code`) — directly or in a same-module helper it calls?
    """
    decision_header = (profile.should_retry_header or "").lower()
    seen: set[cst.CSTNode] = set()
    stack = [(node, depth) for node in nodes]
    while stack:
        container, level = stack.pop()
        if container in seen:
            continue
        seen.add(container)
        for node in walk_nodes(container):
            if isinstance(node, (cst.Subscript, cst.Call)):
                keys = key_path(model, node)
                if keys and (profile.is_code_path(keys) or profile.is_retry_decision_path(keys)):
                    return True
            if isinstance(node, cst.Attribute) and sdk_error_attribute(model, node):
                return True
            if decision_header and isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
                value = model.const_value(node)
                if isinstance(value, str) and value.lower() == decision_header:
                    return True
            if isinstance(node, cst.Call) and level > 0:
                target = model.called_function(node)
                if target is not None:
                    stack.append((target.node, level - 1))
    return False


OTHER = object()  # any value not written in the code or the profile


@dataclass(frozen=True)
class ValueCondition:
    """The field values for which a condition holds on the value alone (`certain`) or maybe."""

    certain: frozenset[object]
    possible: frozenset[object]


def value_condition(
    model: "Model",
    expr: cst.BaseExpression,
    is_field: Callable[[cst.BaseExpression], bool],
    values: Iterable[object] = (),
) -> ValueCondition | None:
    """Which values of a body field make `expr` true, like `status.status_condition` for statuses.

    `is_field` picks the operand that reads the field (`err["code"]`); the
    values tried are `values` (the profile's codes), the literals written in
    `expr` and "anything else". None when `expr` does not compare the field.
    """
    literals: set[object] = set(values)
    mentioned = False
    for node in walk_nodes(expr):
        if isinstance(node, cst.Comparison):
            operands = [node.left, *(target.comparator for target in node.comparisons)]
            if any(is_field(operand) for operand in operands):
                mentioned = True
                for operand in operands:
                    value = model.const_value(operand)
                    if isinstance(value, (str, int)) and not isinstance(value, bool):
                        literals.add(value)
                    elif isinstance(value, (tuple, frozenset, set, list)):
                        literals.update(v for v in value if isinstance(v, (str, int)) and not isinstance(v, bool))
    if not mentioned:
        return None
    certain, possible = set(), set()
    for value in (*literals, OTHER):
        truth = _truth(model, expr, value, is_field)
        if truth is True:
            certain.add(value)
        elif truth is None:
            possible.add(value)
    return ValueCondition(frozenset(certain), frozenset(possible))


def _truth(model: "Model", expr: cst.BaseExpression, value: object, is_field) -> bool | None:
    if isinstance(expr, cst.BooleanOperation):
        left = _truth(model, expr.left, value, is_field)
        if isinstance(expr.operator, cst.And):
            if left is False:
                return False
            right = _truth(model, expr.right, value, is_field)
            if right is False:
                return False
            return True if left is True and right is True else None
        if left is True:
            return True
        right = _truth(model, expr.right, value, is_field)
        if right is True:
            return True
        return False if left is False and right is False else None
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        inner = _truth(model, expr.expression, value, is_field)
        return None if inner is None else not inner
    if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
        target = expr.comparisons[0]
        left, right = expr.left, target.comparator
        if is_field(left):
            other = model.const_value(right)
        elif is_field(right) and isinstance(target.operator, (cst.Equal, cst.NotEqual)):
            other = model.const_value(left)
        else:
            return None
        operator = target.operator
        if isinstance(operator, (cst.Equal, cst.NotEqual)):
            if not isinstance(other, (str, int)) or isinstance(other, bool):
                return None
            equal = value is not OTHER and value == other
            return equal if isinstance(operator, cst.Equal) else not equal
        if isinstance(operator, (cst.In, cst.NotIn)) and isinstance(other, (tuple, frozenset, set, list)):
            inside = value is not OTHER and value in other
            return inside if isinstance(operator, cst.In) else not inside
    return None
