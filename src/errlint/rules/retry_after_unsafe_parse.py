"""ERR105: `Retry-After` parsed as a bare number, or slept on with no cap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import Applicability, Fix, FixAvailability
from errlint.linter.model import (
    Model,
    dotted_name,
    keyword_value,
    node_types,
    positional_args,
    strip_await,
)
from errlint.linter.rule import Invalid, Report, Rule, Valid

_HEADER = "retry-after"
_PARSERS = frozenset({"int", "float"})
# Mapping `.get`, urllib3/http.client `getheader`, aiohttp multidict `getone`.
_GETTERS = frozenset({"get", "getheader", "getone"})
_RAISING_GETTERS = frozenset({"getone"})  # raise KeyError without a default
_TEXT_METHODS = frozenset({"strip", "lstrip", "rstrip", "decode"})
_DIGIT_CHECKS = frozenset({"isdigit", "isdecimal", "isnumeric"})
_REGEX_CALLS = frozenset({"match", "fullmatch", "search"})
_CATCHES_PARSE = frozenset({"ValueError", "Exception", "BaseException", "*"})
_HELPER = "retry_after_seconds"


@dataclass(frozen=True)
class _Read:
    """An expression that reads the `Retry-After` header."""

    node: cst.BaseExpression
    has_default: bool
    raises_when_absent: bool  # `h["Retry-After"]`, `getone(...)`: KeyError instead of None


class RetryAfterUnsafeParse(Rule):
    """
    ## What it does
    Flags `Retry-After` values parsed as a bare number or slept on with no
    upper cap. Parses are `int()`/`float()` of the header read directly
    (`int(h["Retry-After"])`, `int(h.get("Retry-After", 5))`), through a
    local name, from requests, httpx, aiohttp, urllib3 or urllib's
    `HTTPError.headers`; waits are `time.sleep()`/`asyncio.sleep()` of the
    parsed value with no `min(..., cap)` or upper comparison.

    ## Why is this bad?
    RFC 9110 allows `Retry-After` to be either delay-seconds or an HTTP-date
    (`Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`): `int()` raises
    `ValueError` on the date form, and a missing header makes
    `h["Retry-After"]` raise `KeyError` and `int(None)` raise `TypeError`.
    Both happen exactly when the client is being throttled, and some APIs send
    no `Retry-After` at all on a 429 ("there is typically **no** `Retry-After`
    on control-plane 429"). A server that asks for an hour (or a proxy that
    sends a bogus value) stalls a worker for that long when the value is slept
    on with no cap.

    Values checked with `.isdigit()` or a digits-only regex first are not
    flagged. Parsing inside `try`/`except ValueError` (or `Exception`) is not
    flagged as an unsafe parse, but sleeping on the result still needs a cap
    such as `min(delay, max-retry-after)`. When the parse itself is flagged,
    the sleep on the same value is not reported again: the suggested helper
    caps the delay.

    ## Example
    ```python
    if response.status_code == 429:
        retry_after = int(response.headers.get("Retry-After", 5))
        time.sleep(retry_after)
    ```

    ## Use instead
    ```python
    def retry_after_seconds(value, default=1.0, cap=300.0):
        if value is None:
            return default
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return default
            if when.tzinfo is None:
                when = when.replace(tzinfo=datetime.timezone.utc)
            seconds = (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        if not math.isfinite(seconds):
            return default
        return min(max(seconds, 0.0), cap)

    if response.status_code == 429:
        time.sleep(retry_after_seconds(response.headers.get("Retry-After"), default=5))
    ```

    ## Fix safety
    Display-only: the suggestion replaces the parse with a call to a tolerant
    helper (shown above the statement) that accepts both forms, falls back to
    a default and caps the delay at `max-retry-after`; a bare cap is suggested
    as `min(..., max-retry-after)`. Neither is applied automatically, because
    the right default and cap depend on the API. The cap shown in messages
    and suggestions is the `max-retry-after` setting (default 300 seconds).

    ## References
    - RFC 9110 §10.2.3: `Retry-After = HTTP-date / delay-seconds`.
    - Titan errors (https://webscraping.titannet.io/docs/api-reference/errors): "there is typically **no**
      `Retry-After` on control-plane 429".
    - MDN, Retry-After (https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Retry-After): the value is
      `<http-date>` (`Wed, 21 Oct 2015 07:28:00 GMT`) or `<delay-seconds>`; `int()` rejects the first.
    """

    code = "ERR105"
    name = "retry-after-unsafe-parse"
    fix_availability = FixAvailability.SUGGESTION

    VALID = [
        # Tolerant parse: try/except ValueError, date fallback, cap.
        """
import email.utils, time
from datetime import datetime, timezone
import requests
MAX_WAIT = 120
def fetch(url):
    for attempt in range(5):
        r = requests.get(url)
        if r.status_code != 429:
            return r
        value = r.headers.get("Retry-After")
        try:
            delay = float(value)
        except (TypeError, ValueError):
            when = email.utils.parsedate_to_datetime(value)
            delay = (when - datetime.now(timezone.utc)).total_seconds()
        time.sleep(min(max(delay, 0), MAX_WAIT))
""",
        # Digits-only validation with `.isdigit()` before the parse, then a cap.
        """
import time, httpx
def fetch(client: httpx.Client, url):
    for attempt in range(3):
        r = client.get(url)
        if r.status_code == 429:
            raw = r.headers.get("retry-after", "")
            delay = int(raw) if raw.isdigit() else 5
            time.sleep(min(delay, 60))
            continue
        return r
""",
        # Digits-only regex validation (aiohttp), capped with `min`.
        """
import asyncio, re, aiohttp
DIGITS = re.compile(r"\\d+")
async def fetch(session: aiohttp.ClientSession, url):
    for attempt in range(3):
        async with session.get(url) as resp:
            if resp.status == 429:
                value = resp.headers.get("Retry-After", "1")
                if DIGITS.fullmatch(value):
                    await asyncio.sleep(min(int(value), 30))
                continue
            return await resp.json()
""",
        # A tolerant helper owns the parsing (and caps it).
        """
import time, email.utils, requests
def retry_after_seconds(value, default=1.0, cap=300.0):
    try:
        return min(float(value), cap)
    except (TypeError, ValueError):
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return default if parsed is None else min(max(parsed.timestamp() - time.time(), 0), cap)
def fetch(session: requests.Session, url):
    for attempt in range(4):
        r = session.get(url)
        if r.status_code == 429:
            time.sleep(retry_after_seconds(r.headers.get("Retry-After")))
            continue
        return r
""",
        # Other headers are plain numbers by definition.
        """
import time, requests
def wait_for_reset(r: requests.Response):
    reset = int(r.headers.get("X-RateLimit-Reset", 0))
    remaining = int(r.headers["X-RateLimit-Remaining"])
    ms = float(r.headers.get("retry-after-ms", 0))
    return reset, remaining, ms
""",
        # A JSON body `retry_after` is a number, not the header.
        """
import asyncio, httpx
async def send(client: httpx.AsyncClient, url, payload):
    r = await client.post(url, json=payload)
    if r.status_code == 429:
        await asyncio.sleep(min(float(r.json()["retry_after"]), 10))
    return r
""",
        # urllib.request: HTTPError headers parsed inside try/except with a cap.
        """
import time, urllib.request, urllib.error, email.utils
def fetch(url):
    for attempt in range(3):
        try:
            return urllib.request.urlopen(url).read()
        except urllib.error.HTTPError as e:
            if e.code != 429:
                raise
            value = e.headers.get("Retry-After")
            try:
                delay = int(value)
            except (TypeError, ValueError):
                parsed = email.utils.parsedate_tz(value or "")
                delay = email.utils.mktime_tz(parsed) - time.time() if parsed else 1
            delay = min(delay, 300)
            time.sleep(delay)
""",
        # tenacity wait callback with a tolerant parse and a cap.
        """
import requests
from tenacity import retry, stop_after_attempt, retry_if_exception_type
def wait_retry_after(retry_state):
    error = retry_state.outcome.exception()
    try:
        return min(float(error.response.headers["Retry-After"]), 60)
    except (KeyError, TypeError, ValueError, AttributeError):
        return 2 ** retry_state.attempt_number
@retry(retry=retry_if_exception_type(requests.HTTPError), wait=wait_retry_after, stop=stop_after_attempt(5))
def fetch(url):
    r = requests.get(url)
    r.raise_for_status()
    return r.json()
""",
        # Checking for the header before a guarded parse; sleeping a capped value.
        """
import time, urllib3
http = urllib3.PoolManager()
def fetch(url):
    for attempt in range(3):
        r = http.request("GET", url)
        if r.status == 503 and "Retry-After" in r.headers:
            try:
                delay = float(r.headers["Retry-After"])
            except ValueError:
                delay = 5.0
            time.sleep(delay if delay < 60 else 60)
            continue
        return r
""",
        # Digits-only validation first (the accepted look-alike), hand loop.
        """
import time, requests
def fetch(url):
    for attempt in range(3):
        r = requests.get(url)
        if r.status_code == 429:
            retry_after = r.headers.get("Retry-After")
            wait = int(retry_after) if retry_after and retry_after.isdigit() else 5
            time.sleep(wait)
            continue
        return r
""",
        # `except Exception` with the date fallback and a cap (httpx async, method).
        """
import asyncio, email.utils
from datetime import datetime, timezone
import httpx
class Api:
    def __init__(self):
        self.client = httpx.AsyncClient()
    async def get(self, url):
        for attempt in range(4):
            r = await self.client.get(url)
            if r.status_code != 429:
                return r
            value = r.headers.get("Retry-After", "1")
            try:
                delay = float(value)
            except Exception:
                delay = (email.utils.parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
            await asyncio.sleep(min(max(delay, 0.0), 60.0))
""",
        # A cap set in settings: `min` against any bound counts.
        Valid(
            """
import time, requests
def fetch(url):
    for attempt in range(3):
        r = requests.get(url)
        if r.status_code == 429:
            value = r.headers.get("Retry-After", "")
            if value.isdecimal():
                time.sleep(min(int(value), 30))
            continue
        return r
""",
            settings={"max-retry-after": 30},
        ),
    ]

    INVALID = [
        # A loop whose default covers absence, not the HTTP-date form.
        Invalid(
            """
import time, requests
def api_request_with_retry(method, url, max_retries=3, **kwargs):
    for attempt in range(max_retries):
        response = requests.request(method, url, **kwargs)
        if response.status_code == 200:
            return response.json()
        if response.status_code == 429:
            retry_after = int(response.headers.get('Retry-After', 5))  # flagged
            time.sleep(retry_after)
            continue
        raise RuntimeError(response.status_code)
""",
            message="`int()` of the `Retry-After` header crashes on the HTTP-date form",
        ),
        Invalid(
            """
import time, requests as rq
def fetch(url):
    while True:
        r = rq.get(url)
        if r.status_code == 429:
            time.sleep(int(r.headers["Retry-After"]))  # flagged
            continue
        return r
""",
            message="`int()` of the `Retry-After` header crashes on the HTTP-date form and when the header is absent",
        ),
        # Through a variable, lower-case header name, httpx async client.
        Invalid(
            """
import asyncio, httpx
class Api:
    def __init__(self):
        self.client = httpx.AsyncClient()
    async def get(self, url):
        for attempt in range(5):
            r = await self.client.get(url)
            if r.status_code in (429, 503):
                retry_after = r.headers.get("retry-after")
                await asyncio.sleep(float(retry_after))  # flagged
                continue
            return r
""",
            message="`float()` of the `Retry-After` header crashes on the HTTP-date form and when the header is absent",
        ),
        # aiohttp response headers.
        Invalid(
            """
import asyncio, aiohttp
async def fetch(session: aiohttp.ClientSession, url):
    for attempt in range(3):
        async with session.get(url) as resp:
            if resp.status == 429:
                await asyncio.sleep(int(resp.headers.get("Retry-After", "1")))  # flagged
                continue
            return await resp.json()
"""
        ),
        # `e.response.headers` in a backoff-decorated function's handler.
        Invalid(
            """
import time, backoff, requests
@backoff.on_exception(backoff.expo, requests.ConnectionError, max_tries=3)
def fetch(url):
    try:
        r = requests.get(url)
        r.raise_for_status()
        return r.json()
    except requests.HTTPError as e:
        if e.response.status_code == 429:
            delay = int(e.response.headers.get("Retry-After"))  # flagged
            time.sleep(min(delay, 30))
            return fetch(url)
        raise
"""
        ),
        # backoff.runtime value callback (aliased import).
        Invalid(
            """
from backoff import on_predicate, runtime
import requests
@on_predicate(runtime, predicate=lambda r: r.status_code == 429,
              value=lambda r: float(r.headers["Retry-After"]), jitter=None, max_tries=5)  # flagged
def fetch(url):
    return requests.get(url)
"""
        ),
        # tenacity wait callback reading `e.headers` of urllib's HTTPError.
        Invalid(
            """
import urllib.request, urllib.error
import tenacity as t
def wait_hint(retry_state):
    e = retry_state.outcome.exception()
    return int(e.headers["Retry-After"])  # flagged
@t.retry(retry=t.retry_if_exception_type(urllib.error.HTTPError), wait=wait_hint, stop=t.stop_after_attempt(4))
def fetch(url):
    return urllib.request.urlopen(url).read()
"""
        ),
        # urllib3 `getheader`; guarded for absence, so only the date form crashes.
        Invalid(
            """
import time, urllib3
http = urllib3.PoolManager()
def fetch(url):
    for attempt in range(3):
        r = http.request("GET", url)
        value = r.getheader("Retry-After")
        if r.status == 503 and value:
            time.sleep(min(int(value), 60))  # flagged
            continue
        return r
""",
            message="`int()` of the `Retry-After` header crashes on the HTTP-date form",
        ),
        # try/except ValueError does not catch `int(None)`'s TypeError.
        Invalid(
            """
import time, requests
def fetch(session: requests.Session, url):
    for attempt in range(3):
        r = session.get(url)
        if r.status_code == 429:
            try:
                delay = int(r.headers.get("Retry-After"))  # flagged
            except ValueError:
                delay = 5
            time.sleep(min(delay, 60))
            continue
        return r
""",
            message="`int()` of the `Retry-After` header raises `TypeError` when the header is absent",
        ),
        # A tolerant parse slept on with no cap.
        Invalid(
            """
import asyncio, email.utils, time, aiohttp
async def fetch(session: aiohttp.ClientSession, url):
    for attempt in range(3):
        async with session.get(url) as resp:
            if resp.status != 429:
                return await resp.json()
            value = resp.headers.get("Retry-After", "1")
            try:
                delay = float(value)
            except ValueError:
                delay = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            await asyncio.sleep(delay)  # flagged
""",
            message="`asyncio.sleep()` waits as long as `Retry-After` says with no upper cap such as `min(..., 300)`",
        ),
        # Parsed inside try/except, but the wait is unbounded (cap from settings).
        Invalid(
            """
import time, random, requests
def fetch(url):
    for attempt in range(3):
        r = requests.get(url)
        if r.status_code == 429:
            try:
                wait = int(r.headers.get("Retry-After", "1"))
            except ValueError:
                wait = 2 ** attempt
            time.sleep(wait + random.random())  # flagged
            continue
        return r
""",
            message="`time.sleep()` waits as long as `Retry-After` says with no upper cap such as `min(..., 90)`",
            settings={"max-retry-after": 90},
        ),
    ]

    def check(self) -> Iterator[Report]:
        self._scope_cache: dict[cst.CSTNode, dict[type, list[cst.CSTNode]]] = {}
        self._binding_cache: dict[cst.CSTNode, list[tuple[str, cst.BaseExpression]]] = {}
        self._alias_cache: dict[cst.CSTNode, set[str]] = {}
        flagged: set[cst.Call] = set()
        for call in self.model.calls:
            report = self._check_parse(call)
            if report is not None:
                flagged.add(call)
                yield report
        for call in self.model.calls:
            report = self._check_sleep(call, flagged)
            if report is not None:
                yield report

    # --- parsing -------------------------------------------------------------

    def _check_parse(self, call: cst.Call) -> Report | None:
        parser = _parser_name(self.model, call)
        if parser is None:
            return None
        argument = positional_args(call)[0]
        read = self._read_of(argument, call)
        if read is None:
            return None
        scope = self._scope(call)
        aliases = self._aliases(scope)
        if self._validated(scope, aliases):
            return None
        absent_crash = (read.raises_when_absent or not read.has_default) and not self._presence_checked(scope, aliases)
        caught = self._caught(call)
        if caught & _CATCHES_PARSE:
            absent_error = "KeyError" if read.raises_when_absent else "TypeError"
            covering = {absent_error, "Exception", "BaseException", "*"}
            if absent_error == "KeyError":
                covering.add("LookupError")
            if not absent_crash or caught & covering:
                return None
            message = f"`{parser}()` of the `Retry-After` header raises `{absent_error}` when the header is absent"
        else:
            message = f"`{parser}()` of the `Retry-After` header crashes on the HTTP-date form" + (
                " and when the header is absent" if absent_crash else ""
            )
        return self.report(call, message, self._helper_fix(call, argument))

    def _read_of(self, expr: cst.BaseExpression, at: cst.CSTNode, depth: int = 0) -> _Read | None:
        """The `Retry-After` read `expr` evaluates to, directly or through a local name."""
        if depth > 3:
            return None
        read = self._header_read(expr)
        if read is not None:
            return read
        expr = _unwrap_text(strip_await(expr))
        if isinstance(expr, cst.Name):
            value = self._reaching_value(expr.value, at)
            if value is not None:
                return self._read_of(value, value, depth + 1)
        return None

    def _header_read(self, expr: cst.BaseExpression) -> _Read | None:
        expr = _unwrap_text(strip_await(expr))
        if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.Or):
            inner = self._header_read(expr.left)
            return _Read(inner.node, True, inner.raises_when_absent) if inner is not None else None
        if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
            index = expr.slice[0].slice
            if isinstance(index, cst.Index) and self._is_header_name(index.value):
                return _Read(expr, False, True)
            return None
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _GETTERS:
            args = positional_args(expr)
            key = args[0] if args else keyword_value(expr, "key") or keyword_value(expr, "name")
            if key is None or not self._is_header_name(key):
                return None
            default = args[1] if len(args) > 1 else keyword_value(expr, "default")
            has_default = default is not None and not (isinstance(default, cst.Name) and default.value == "None")
            raises = expr.func.attr.value in _RAISING_GETTERS and not has_default
            return _Read(expr, has_default, raises)
        return None

    def _is_header_name(self, expr: cst.BaseExpression) -> bool:
        value = self.model.const_value(expr)
        if isinstance(value, str):
            return value.strip().lower() == _HEADER
        name = self.model.qualname(expr) or ""
        return name.endswith("hdrs.RETRY_AFTER")

    # --- guards --------------------------------------------------------------

    def _aliases(self, scope: cst.CSTNode) -> set[str]:
        """Local names bound to a `Retry-After` read in `scope`."""
        names = self._alias_cache.get(scope)
        if names is None:
            names = self._alias_cache[scope] = set()
            for target, value in self._bindings(scope):
                if self._header_read(value) is not None:
                    names.add(target)
        return names

    def _validated(self, scope: cst.CSTNode, aliases: set[str]) -> bool:
        """Is the header value checked with `.isdigit()` or a regex somewhere in the scope?"""
        for node in self._scope_nodes(scope, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in _DIGIT_CHECKS:
                subjects = [func.value] + positional_args(node)  # `v.isdigit()`, `str.isdigit(v)`
            elif isinstance(func, cst.Attribute) and func.attr.value in _REGEX_CALLS:
                subjects = positional_args(node) + [arg.value for arg in node.args if arg.keyword is not None]
            else:
                continue
            for subject in subjects:
                subject = _unwrap_text(subject)
                if isinstance(subject, cst.Name) and subject.value in aliases:
                    return True
                if self._header_read(subject) is not None:
                    return True
        return False

    def _presence_checked(self, scope: cst.CSTNode, aliases: set[str]) -> bool:
        """Does any condition in the scope test the header or a name holding it?"""
        tests = [node.test for node in self._scope_nodes(scope, cst.If, cst.While, cst.IfExp)]
        tests.extend(node.left for node in self._scope_nodes(scope, cst.BooleanOperation))
        for test in tests:
            for inner in self.model.subtree(test):
                kind = type(inner)
                if kind is cst.Name and inner.value in aliases:
                    return True
                if (kind is cst.SimpleString or kind is cst.ConcatenatedString) and self._is_header_name(inner):
                    return True
        return False

    def _caught(self, node: cst.CSTNode) -> set[str]:
        caught: set[str] = set()
        for handler in self.model.handlers_around(node):
            caught.update(handler.types)
        for ancestor in self.model.ancestors(node):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                break
            if isinstance(ancestor, cst.With):
                for item in ancestor.items:
                    value = item.item
                    if isinstance(value, cst.Call) and self.model.callee(value) == "contextlib.suppress":
                        for arg in positional_args(value):
                            caught.add(self.model.qualname(arg) or dotted_name(arg) or "?")
        return caught

    # --- sleeping ------------------------------------------------------------

    def _check_sleep(self, call: cst.Call, flagged: set[cst.Call]) -> Report | None:
        if self.model.callee(call) not in lib.SLEEP_FUNCTIONS:
            return None
        args = positional_args(call)
        argument = args[0] if args else keyword_value(call, "secs") or keyword_value(call, "delay") or keyword_value(call, "seconds")
        if argument is None:
            return None
        parses: list[cst.Call] = []
        names: set[str] = set()
        self._retry_after_value(argument, call, parses, names, 0)
        if not parses or any(parse in flagged for parse in parses):
            return None
        # Digit-validated values are the accepted look-alike; only other parses need the cap.
        if all(self._validated(self._scope(parse), self._aliases(self._scope(parse))) for parse in parses):
            return None
        if self._capped(self._scope(call), names):
            return None
        func = self.model.code(call.func)
        cap = _number(self.settings.max_retry_after)
        return self.report(
            call,
            f"`{func}()` waits as long as `Retry-After` says with no upper cap such as `min(..., {cap})`",
            self.fix(
                f"Cap the wait at {cap} seconds",
                Applicability.DISPLAY,
                self.replace(argument, f"min({self.model.code(argument)}, {cap})"),
            ),
        )

    def _retry_after_value(
        self, expr: cst.BaseExpression, at: cst.CSTNode, parses: list[cst.Call], names: set[str], depth: int
    ) -> None:
        """Collect the `Retry-After` parses that feed `expr` (through names, arithmetic and `max`)."""
        if depth > 4:
            return
        expr = strip_await(expr)
        if isinstance(expr, cst.Call):
            if _parser_name(self.model, expr) is not None and self._read_of(positional_args(expr)[0], expr) is not None:
                parses.append(expr)
                return
            name = self.model.callee(expr) or (expr.func.value if isinstance(expr.func, cst.Name) else "")
            if name in ("max", "abs", "round", "int", "float", "math.ceil", "math.floor"):
                for arg in positional_args(expr):
                    self._retry_after_value(arg, at, parses, names, depth + 1)
            return
        if isinstance(expr, cst.BinaryOperation) and isinstance(
            expr.operator, (cst.Add, cst.Multiply, cst.Subtract, cst.Divide)
        ):
            self._retry_after_value(expr.left, at, parses, names, depth + 1)
            self._retry_after_value(expr.right, at, parses, names, depth + 1)
        elif isinstance(expr, cst.IfExp):
            self._retry_after_value(expr.body, at, parses, names, depth + 1)
            self._retry_after_value(expr.orelse, at, parses, names, depth + 1)
        elif isinstance(expr, cst.Name) and expr.value not in names:
            names.add(expr.value)
            for value in self._preceding_values(expr.value, at):
                self._retry_after_value(value, value, parses, names, depth + 1)

    def _capped(self, scope: cst.CSTNode, names: set[str]) -> bool:
        """Is any name on the value's way to the sleep bounded by `min()` or an upper comparison?"""
        for node in self._scope_nodes(scope, cst.Call):
            if isinstance(node.func, cst.Name) and node.func.value == "min" and any(
                isinstance(arg, cst.Name) and arg.value in names for arg in map(strip_await, positional_args(node))
            ):
                return True
        for node in self._scope_nodes(scope, cst.Comparison):
            operands = [node.left, *(target.comparator for target in node.comparisons)]
            ordered = any(
                isinstance(target.operator, (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual))
                for target in node.comparisons
            )
            mentions = any(isinstance(operand, cst.Name) and operand.value in names for operand in operands)
            against_zero = any(
                isinstance(self.model.const_value(operand), (int, float)) and self.model.const_value(operand) <= 0
                for operand in operands
            )
            if ordered and mentions and not against_zero:
                return True
        return False

    # --- scopes and bindings -------------------------------------------------

    def _scope(self, node: cst.CSTNode) -> cst.CSTNode:
        return self.model.enclosing_function(node) or self.model.module

    def _bindings(self, scope: cst.CSTNode) -> list[tuple[str, cst.BaseExpression]]:
        """(name, value) for plain assignments and walrus bindings in `scope`, in source order."""
        if scope in self._binding_cache:
            return self._binding_cache[scope]
        found: list[tuple[str, cst.BaseExpression]] = []
        self._binding_cache[scope] = found
        for node in self._scope_nodes(scope, cst.Assign, cst.AnnAssign, cst.NamedExpr):
            if isinstance(node, cst.Assign):
                for target in node.targets:
                    if isinstance(target.target, cst.Name):
                        found.append((target.target.value, node.value))
            elif isinstance(node, cst.AnnAssign) and node.value is not None and isinstance(node.target, cst.Name):
                found.append((node.target.value, node.value))
            elif isinstance(node, cst.NamedExpr) and isinstance(node.target, cst.Name):
                found.append((node.target.value, node.value))
        return found

    def _preceding_values(self, name: str, at: cst.CSTNode) -> list[cst.BaseExpression]:
        """Every value bound to `name` in the scope of `at` before `at` (any of them may reach it)."""
        scope = self._scope(at)
        before = self.model.before  # source order (`at` and the values all lie in `scope`)
        return [value for target, value in self._bindings(scope) if target == name and before(value, at)]

    def _reaching_value(self, name: str, at: cst.CSTNode) -> cst.BaseExpression | None:
        """The value of the last binding of `name` before `at` in source order."""
        values = self._preceding_values(name, at)
        return values[-1] if values else None

    def _scope_nodes(self, scope: cst.CSTNode, *kinds: type) -> list[cst.CSTNode]:
        """The nodes of these exact kinds in a function or module body, in source order,
        not entering nested functions or classes (lambdas are entered)."""
        by_kind = self._scope_cache.get(scope)
        if by_kind is None:
            # One walk per scope, shared by every question asked about it.
            by_kind = self._scope_cache[scope] = {}
            for node in _walk_scope(self.model, scope):
                by_kind.setdefault(type(node), []).append(node)
        if len(kinds) == 1:
            return by_kind.get(kinds[0], [])
        return sorted((node for kind in kinds for node in by_kind.get(kind, ())), key=self.model.source_index)

    # --- fixes ---------------------------------------------------------------

    def _helper_fix(self, call: cst.Call, argument: cst.BaseExpression) -> Fix:
        cap = _number(self.settings.max_retry_after)
        value = self._as_get(argument)
        edits = [self.replace(call, f"{_HELPER}({value})")]
        if self.model.function_named(_HELPER) is None:
            statement = self._top_level_statement(call)
            newline = self.model.module.default_newline
            text = newline.join(_helper_lines(cap)) + newline
            edits.append(self.insert_line_before(statement, text))
        return self.fix(
            f"Parse with `{_HELPER}()`, which accepts delay-seconds or an HTTP-date, "
            f"falls back to a default and caps the wait at {cap} seconds",
            Applicability.DISPLAY,
            *edits,
        )

    def _as_get(self, argument: cst.BaseExpression) -> str:
        """`h["Retry-After"]` -> `h.get("Retry-After")`, so a missing header falls back too."""
        if isinstance(argument, cst.Subscript) and self._header_read(argument) is not None:
            index = argument.slice[0].slice
            assert isinstance(index, cst.Index)
            return f"{self.model.code(argument.value)}.get({self.model.code(index.value)})"
        return self.model.code(argument)

    def _top_level_statement(self, node: cst.CSTNode) -> cst.CSTNode:
        current = node
        for ancestor in self.model.ancestors(node):
            if isinstance(ancestor, cst.Module):
                return current
            current = ancestor
        return current


def _helper_lines(cap: str) -> list[str]:
    return [
        f"def {_HELPER}(value, default=1.0, cap={cap}):",
        '    """Seconds to wait for a `Retry-After` value: delay-seconds or an HTTP-date, capped."""',
        "    import datetime, email.utils, math",
        "    if value is None:",
        "        return default",
        "    try:",
        "        seconds = float(value)",
        "    except ValueError:",
        "        try:",
        "            when = email.utils.parsedate_to_datetime(value)",
        "        except (TypeError, ValueError):",
        "            return default",
        "        if when.tzinfo is None:",
        "            when = when.replace(tzinfo=datetime.timezone.utc)",
        "        seconds = (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()",
        "    if not math.isfinite(seconds):",
        "        return default",
        "    return min(max(seconds, 0.0), cap)",
        "",
    ]


def _parser_name(model, call: cst.Call) -> str | None:
    """`int`/`float` when `call` is the builtin applied to one value."""
    if not isinstance(call.func, cst.Name) or call.func.value not in _PARSERS:
        return None
    if call.func.value in model.imports or not positional_args(call):
        return None
    return call.func.value


def _unwrap_text(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`v.strip()`, `v.decode()`, `str(v)` -> `v`."""
    while isinstance(expr, cst.Call):
        func = expr.func
        if isinstance(func, cst.Attribute) and func.attr.value in _TEXT_METHODS:
            expr = func.value
        elif isinstance(func, cst.Name) and func.value == "str" and len(expr.args) == 1:
            expr = expr.args[0].value
        else:
            break
    return expr


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_NESTED_DEFINITIONS = node_types((cst.FunctionDef, cst.ClassDef))


def _walk_scope(model: Model, scope: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Nodes of a function or module body in source order, not entering nested functions or classes."""
    stack = [scope]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(child for child in reversed(model.children(current)) if type(child) not in _NESTED_DEFINITIONS)
