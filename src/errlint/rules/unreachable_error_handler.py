"""ERR203: an `except` clause that can never catch what its `try` raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import Applicability, FixAvailability
from errlint.linter.model import (
    Handler,
    HttpCall,
    dotted_name,
    keyword_value,
    strip_await,
)
from errlint.linter.rule import Invalid, Report, Rule
from errlint.linter.scopes import mounted_scopes_of
from errlint.linter.status import describe, status_condition

# Exception classes each HTTP library defines, canonical; only these are judged.
_LIBRARY_EXCEPTIONS = {
    "requests": frozenset(
        f"requests.{n}"
        for n in ("HTTPError", "ConnectionError", "Timeout", "ConnectTimeout", "ReadTimeout", "RequestException")
    ),
    "httpx": frozenset(
        f"httpx.{n}"
        for n in (
            "HTTPStatusError", "HTTPError", "RequestError", "TransportError", "NetworkError", "ConnectError",
            "ReadError", "TimeoutException", "ConnectTimeout", "ReadTimeout",
        )
    ),
    "aiohttp": frozenset(
        f"aiohttp.{n}"
        for n in ("ClientError", "ClientResponseError", "ClientConnectionError", "ClientConnectorError",
                  "ServerDisconnectedError")
    ),
}
_BUILTINS = ("ConnectionError", "TimeoutError")
# Libraries whose errors never subclass the builtin `ConnectionError`/`TimeoutError`.
_NOT_BUILTIN = frozenset({"requests", "httpx"})
# Handler types that already catch what each library raises.
_COVERING = {
    "requests": frozenset({"requests.RequestException", "OSError", "IOError", "EnvironmentError"}),
    "httpx": frozenset({"httpx.HTTPError"}),
    "aiohttp": frozenset({"aiohttp.ClientError"}),
    "urllib.request": frozenset({"OSError", "IOError", "urllib.error.URLError"}),
}
_EVERYTHING = frozenset({"*", "Exception", "BaseException"})
_TRANSPORT_BASES = {"httpx": frozenset({"httpx.TransportError", "httpx.RequestError"})}
_DEFAULT_ALLOWED_METHODS = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE"})

# Calls that cannot raise the exceptions in question.
_SAFE_FUNCTIONS = frozenset(
    {
        "len", "str", "int", "float", "bool", "dict", "list", "tuple", "set", "print", "isinstance", "min", "max",
        "sorted", "enumerate", "range", "zip", "repr", "any", "all", "sum", "getattr", "hasattr", "round", "abs",
        "json.loads", "json.load", "json.dumps", "time.sleep", "time.time", "time.monotonic", "asyncio.sleep",
        "os.getenv", "os.environ.get", "urllib.parse.urljoin", "urllib.parse.urlencode", "urllib.parse.quote",
        "urllib.request.Request", "requests.HTTPAdapter", "urllib3.Retry", "aiohttp.ClientTimeout",
        "httpx.Timeout", "httpx.Limits", "aiohttp.TCPConnector",
    }
)
_LOGGER_NAMES = ("log", "logger", "_log", "_logger", "logging", "LOG", "LOGGER")


@dataclass
class _Facts:
    """What a `try` body does, when every call in it is understood."""

    libraries: set[str] = field(default_factory=set)
    calls: list[HttpCall] = field(default_factory=list)
    raises_for_status: bool = False


class UnreachableErrorHandler(Rule):
    """
    ## What it does
    Flags `except` clauses that name an exception the calls in their `try` never raise. Shapes: the builtin `ConnectionError`/`TimeoutError` around requests
    or httpx, another library's classes (`requests.HTTPError` around httpx,
    aiohttp or `urllib.request`), `requests.HTTPError` where nothing calls
    `raise_for_status()`, and status branches for errors that a mounted
    urllib3 `Retry` turns into `RetryError`.

    ## Why is this bad?
    The handler is dead code and the failure it was written for escapes it:
    `requests.ConnectionError` and `requests.Timeout` are *not* subclasses of
    the builtin `ConnectionError` and `TimeoutError`, httpx raises
    `httpx.HTTPStatusError`, not `requests.HTTPError`, and `requests.HTTPError`
    is raised only by `raise_for_status()`. When a session's mounted `Retry`
    runs out of retries for a status in `status_forcelist`, requests raises
    `requests.exceptions.RetryError`, so a 503 branch under
    `except requests.HTTPError` never runs. The outage the retry or fallback
    was meant to absorb crashes the caller instead.

    Only `try` bodies whose every call errlint understands are judged, so a
    helper from another module that might raise the builtin keeps the handler.
    The builtin classes around raw sockets, `http.client`, asyncio streams,
    aiohttp and `urllib.request` (which do raise them) are not flagged.

    ## Example
    ```python
    try:
        r = requests.get(url, timeout=5)
        r.raise_for_status()
    except ConnectionError:
        return cached(url)
    ```

    ## Use instead
    ```python
    try:
        r = requests.get(url, timeout=5)
        r.raise_for_status()
    except requests.ConnectionError:
        return cached(url)
    ```

    ## Fix safety
    Renaming the class to the one the library raises is safe when the `try`
    uses exactly one library and that library's module is imported: the
    handler then catches what it was written for. Other cases have no fix.

    ## References
    - requests: `requests.ConnectionError`/`Timeout` are not subclasses of the builtin `ConnectionError`/`TimeoutError`;
      `HTTPError` is raised only by `raise_for_status()`.
    - httpx: `HTTPStatusError`, `TimeoutException` and `NetworkError` derive from `httpx.HTTPError`, not from builtins.
    - urllib3 `Retry`: exhausting `status_forcelist` retries raises `MaxRetryError`, which requests turns into
      `RetryError` (unless `raise_on_status=False`).
    """

    code = "ERR203"
    name = "unreachable-error-handler"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # The builtin is right around raw sockets.
        """
import socket

def ping(host):
    try:
        with socket.create_connection((host, 443), timeout=3):
            return True
    except (ConnectionError, TimeoutError):
        return False
""",
        # ... and around http.client.
        """
import http.client

def status(host):
    conn = http.client.HTTPSConnection(host, timeout=5)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status
    except ConnectionError:
        return None
""",
        # ... and around asyncio streams.
        """
import asyncio

async def probe(host, port):
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.close()
    except ConnectionError:
        return False
    return True
""",
        # urllib.request lets socket errors through: the builtin can catch them.
        """
import urllib.request

def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.read()
    except (ConnectionError, TimeoutError):
        return None
""",
        # The library's own classes.
        """
import requests

def fetch(url):
    try:
        r = requests.get(url, timeout=5)
        r.raise_for_status()
        return r.json()
    except (requests.ConnectionError, requests.Timeout):
        return None
    except requests.HTTPError as e:
        if e.response.status_code == 404:
            return None
        raise
""",
        # The builtin next to the library's class: redundant, not a bug.
        """
import httpx

async def fetch(client: httpx.AsyncClient, url):
    try:
        return (await client.get(url)).json()
    except (ConnectionError, httpx.TransportError):
        return None
""",
        # A helper from another module may raise the builtin (a cache, a socket).
        """
import requests
from .cache import store

def refresh(url):
    try:
        r = requests.get(url, timeout=5)
        store(url, r.content)
    except ConnectionError:
        pass
""",
        # aiohttp can raise builtin connection errors (`ClientConnectionResetError`).
        """
import aiohttp

async def fetch(session: aiohttp.ClientSession, url):
    try:
        async with session.get(url) as resp:
            return await resp.text()
    except ConnectionError:
        return None
""",
        # `raise_on_status=False` returns the last response, so `raise_for_status` raises HTTPError.
        """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry

session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[503], raise_on_status=False)))

def fetch(url):
    try:
        r = session.get(url)
        r.raise_for_status()
        return r.json()
    except requests.HTTPError as e:
        if e.response.status_code == 503:
            return None
        raise
""",
        # POST is not in the default `allowed_methods`: its 503 is not retried, so HTTPError carries it.
        """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry

session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[503])))

def submit(url, body):
    try:
        r = session.post(url, json=body)
        r.raise_for_status()
        return r.json()
    except requests.HTTPError as e:
        if e.response.status_code == 503:
            return None
        raise
""",
    ]

    INVALID = [
        Invalid(
            """
import requests

def fetch(url):
    try:
        r = requests.get(url, timeout=5)
        r.raise_for_status()
        return r.json()
    except ConnectionError:  # flagged
        return None
""",
            message=(
                "`ConnectionError` can never catch what this `try` raises: `requests` raises "
                "`requests.ConnectionError`, which is not the builtin"
            ),
            fixed="""
import requests

def fetch(url):
    try:
        r = requests.get(url, timeout=5)
        r.raise_for_status()
        return r.json()
    except requests.ConnectionError:  # flagged
        return None
""",
        ),
        Invalid(
            """
import time
import requests as rq

def fetch(url):
    for attempt in range(3):
        try:
            return rq.get(url, timeout=5).json()
        except (rq.Timeout, ConnectionError):  # flagged
            time.sleep(2 ** attempt)
""",
            fixed="""
import time
import requests as rq

def fetch(url):
    for attempt in range(3):
        try:
            return rq.get(url, timeout=5).json()
        except (rq.Timeout, rq.ConnectionError):  # flagged
            time.sleep(2 ** attempt)
""",
        ),
        Invalid(
            """
import httpx

def fetch(url):
    try:
        resp = httpx.get(url, timeout=2.0)
        data = resp.json()
        return data.get("items", [])
    except TimeoutError:  # flagged
        return []
""",
            message=(
                "`TimeoutError` can never catch what this `try` raises: `httpx` raises "
                "`httpx.TimeoutException`, which is not the builtin"
            ),
            fixed="""
import httpx

def fetch(url):
    try:
        resp = httpx.get(url, timeout=2.0)
        data = resp.json()
        return data.get("items", [])
    except httpx.TimeoutException:  # flagged
        return []
""",
        ),
        Invalid(
            """
import httpx

class Api:
    def __init__(self):
        self.client = httpx.AsyncClient(base_url="https://api.example.com")

    async def items(self):
        try:
            resp = await self.client.get("/items")
            resp.raise_for_status()
            return resp.json()
        except ConnectionError:  # flagged
            return []
""",
            fixed="""
import httpx

class Api:
    def __init__(self):
        self.client = httpx.AsyncClient(base_url="https://api.example.com")

    async def items(self):
        try:
            resp = await self.client.get("/items")
            resp.raise_for_status()
            return resp.json()
        except httpx.NetworkError:  # flagged
            return []
""",
        ),
        Invalid(
            """
import aiohttp, requests

async def fetch(session: aiohttp.ClientSession, url):
    try:
        async with session.get(url) as resp:
            resp.raise_for_status()
            return await resp.json()
    except requests.HTTPError:  # flagged
        return None
""",
            message=(
                "`requests.HTTPError` can never catch what this `try` raises: `aiohttp` raises "
                "`aiohttp.ClientResponseError` instead"
            ),
            fixed="""
import aiohttp, requests

async def fetch(session: aiohttp.ClientSession, url):
    try:
        async with session.get(url) as resp:
            resp.raise_for_status()
            return await resp.json()
    except aiohttp.ClientResponseError:  # flagged
        return None
""",
        ),
        Invalid(
            """
import httpx
from requests.exceptions import HTTPError

def fetch(client: httpx.Client, url):
    try:
        r = client.get(url)
        r.raise_for_status()
        return r.json()
    except HTTPError as e:  # flagged
        print(e)
        return None
""",
            fixed="""
import httpx
from requests.exceptions import HTTPError

def fetch(client: httpx.Client, url):
    try:
        r = client.get(url)
        r.raise_for_status()
        return r.json()
    except httpx.HTTPStatusError as e:  # flagged
        print(e)
        return None
""",
        ),
        Invalid(
            """
import json
import urllib.request
import requests

def fetch(url):
    try:
        with urllib.request.urlopen(url) as resp:
            return json.load(resp)
    except requests.HTTPError:  # flagged
        return None
""",
            fixed="""
import json
import urllib.request
import requests

def fetch(url):
    try:
        with urllib.request.urlopen(url) as resp:
            return json.load(resp)
    except urllib.error.HTTPError:  # flagged
        return None
""",
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[502, 503])))

def fetch(url):
    try:
        r = session.get(url, timeout=10)
        r.raise_for_status()
        return r.json()
    except requests.HTTPError as e:
        if e.response.status_code == 503:  # flagged
            return None
        raise
""",
            message=(
                "This branch never runs: once the mounted `Retry` runs out of 503 retries, requests raises "
                "`requests.exceptions.RetryError`, not `HTTPError`"
            ),
        ),
        Invalid(
            """
import requests

def fetch(url):
    try:
        r = requests.get(url, timeout=5)
        return r.json()
    except requests.HTTPError:  # flagged
        return None
""",
            message=(
                "`requests.HTTPError` can never catch what this `try` raises: only `raise_for_status()` raises it, "
                "and this `try` never calls it"
            ),
        ),
        Invalid(
            """
import logging
import requests

log = logging.getLogger(__name__)

class Client:
    def __init__(self):
        self.session = requests.Session()

    def fetch(self, url):
        try:
            r = self.session.get(url, timeout=(3, 10))
            r.raise_for_status()
            return r.json()
        except TimeoutError:  # flagged
            log.warning("timed out: %s", url)
            return None
""",
            fixed="""
import logging
import requests

log = logging.getLogger(__name__)

class Client:
    def __init__(self):
        self.session = requests.Session()

    def fetch(self, url):
        try:
            r = self.session.get(url, timeout=(3, 10))
            r.raise_for_status()
            return r.json()
        except requests.Timeout:  # flagged
            log.warning("timed out: %s", url)
            return None
""",
        ),
    ]

    def check(self) -> Iterator[Report]:
        shadowed = self._module_names()
        for handler in self.model.handlers:
            facts = self._facts(handler.try_node.body)
            if facts is None or not facts.libraries:
                continue
            for name, node in zip(handler.types, handler.type_nodes):
                report = self._judge(handler, name, node, facts, shadowed)
                if report is not None:
                    yield report
            if "requests.HTTPError" in handler.types and facts.libraries == {"requests"}:
                yield from self._exhausted_retry_branches(handler, facts)

    # --- one caught class -----------------------------------------------------------

    def _judge(self, handler: Handler, name: str, node: cst.BaseExpression, facts: _Facts, shadowed: set[str]):
        libraries = facts.libraries
        written = self.model.code(node)
        if name in _BUILTINS and written == name and name not in shadowed:
            if not libraries <= _NOT_BUILTIN:
                return None
            return self._unreachable(handler, node, written, name, libraries)
        owner = next((library for library, names in _LIBRARY_EXCEPTIONS.items() if name in names), None)
        if owner is None:
            return None
        if owner in libraries:
            if name == "requests.HTTPError" and libraries == {"requests"} and self._never_raises_for_status(facts):
                return self.report(
                    node,
                    f"`{written}` can never catch what this `try` raises: only `raise_for_status()` raises it, "
                    "and this `try` never calls it",
                )
            return None
        if not libraries <= {"requests", "httpx", "aiohttp", "urllib.request"}:
            return None
        return self._unreachable(handler, node, written, name, libraries)

    def _unreachable(self, handler: Handler, node: cst.BaseExpression, written: str, name: str, libraries: set[str]):
        if len(libraries) == 1:
            library = next(iter(libraries))
            equivalent = lib.EQUIVALENT_EXCEPTIONS.get((name, library))
        else:
            library, equivalent = None, None
        if equivalent is not None and self._already_caught(handler, equivalent, library):
            return None
        if equivalent is None:
            libs = " and ".join(f"`{l}`" for l in sorted(libraries))
            return self.report(node, f"`{written}` can never catch what this `try` raises: it calls only {libs}")
        tail = ", which is not the builtin" if name in _BUILTINS else " instead"
        message = f"`{written}` can never catch what this `try` raises: `{library}` raises `{equivalent}`{tail}"
        spelled = self.model.local_name(equivalent)
        fix = None
        if spelled is not None:
            fix = self.fix(f"Catch `{spelled}`", Applicability.SAFE, self.replace(node, spelled))
        return self.report(node, message, fix)

    def _already_caught(self, handler: Handler, equivalent: str, library: str | None) -> bool:
        types = set(handler.types)
        covering = _EVERYTHING | _COVERING.get(library or "", frozenset()) | {equivalent}
        if equivalent in ("httpx.NetworkError", "httpx.TimeoutException"):
            covering |= _TRANSPORT_BASES["httpx"]
        return bool(types & covering)

    def _never_raises_for_status(self, facts: _Facts) -> bool:
        if facts.raises_for_status or "hooks" in self.model.file_text:
            return False
        for call in facts.calls:
            if call.receiver is None:
                if keyword_value(call.node, "hooks") is not None:
                    return False
                continue
            client = self.model.client_for(call.node.func.value) if isinstance(call.node.func, cst.Attribute) else None
            if client is None or not self.model.contains(client.constructor):
                return False  # a session built elsewhere may raise in a response hook
        return True

    # --- `Retry` exhaustion -----------------------------------------------------------

    def _exhausted_retry_branches(self, handler: Handler, facts: _Facts) -> Iterator[Report]:
        if not facts.raises_for_status or not facts.calls:
            return
        forcelist: frozenset[int] | None = None
        for call in facts.calls:
            retried = self._statuses_raised_as_retry_error(call)
            if retried is None:
                return
            forcelist = retried if forcelist is None else forcelist & retried
        if not forcelist:
            return
        # The `if` statements of the handler itself (not of functions defined in it), in source order.
        for if_node in self.model.subtree(handler.node, into_functions=False):
            if type(if_node) is not cst.If:
                continue
            condition = status_condition(self.model, if_node.test)
            if condition is None or not condition.certain or condition.possible - condition.certain:
                continue
            if condition.certain <= forcelist:
                yield self.report(
                    if_node.test,
                    f"This branch never runs: once the mounted `Retry` runs out of {describe(condition.certain)} "
                    "retries, requests raises `requests.exceptions.RetryError`, not `HTTPError`",
                )

    def _statuses_raised_as_retry_error(self, call: HttpCall) -> frozenset[int] | None:
        """Statuses this call never returns: its mounted `Retry` raises `RetryError` after them."""
        scope = next(iter(mounted_scopes_of(self.model, call.node)), None)
        if scope is None or scope.config is None or call.method is None:
            return None
        retry = scope.config
        raise_on_status = keyword_value(retry, "raise_on_status")
        if raise_on_status is not None and self.model.const_value(raise_on_status) is not True:
            return None
        methods = keyword_value(retry, "allowed_methods") or keyword_value(retry, "method_whitelist")
        if methods is not None:
            value = self.model.const_value(methods)
            if value in (None, False) or value == () or value == frozenset():
                allowed = None  # every method
            elif isinstance(value, (tuple, frozenset)) and all(isinstance(v, str) for v in value):
                allowed = frozenset(v.upper() for v in value)
            else:
                return None
        else:
            allowed = _DEFAULT_ALLOWED_METHODS
        if allowed is not None and call.method not in allowed:
            return None
        forcelist = keyword_value(retry, "status_forcelist")
        return self.model.int_set(forcelist) if forcelist is not None else None

    # --- what a `try` body does -------------------------------------------------------

    def _facts(self, body: cst.CSTNode, depth: int = 2, seen: set | None = None) -> _Facts | None:
        facts = _Facts()
        seen = seen if seen is not None else set()
        if body in seen:
            return facts
        seen.add(body)
        for node in self.model.subtree(body, into_functions=False):
            if isinstance(node, cst.Raise) and node.exc is not None:
                return None
            if not isinstance(node, cst.Call):
                continue
            http = self.model.http_call(node)
            if http is not None:
                if http.library not in ("requests", "httpx", "aiohttp", "urllib.request"):
                    return None
                if http.receiver is not None and isinstance(node.func, cst.Attribute):
                    if self.model.client_for(node.func.value) is None:
                        return None  # named like a client, but of unknown kind
                facts.libraries.add(http.library)
                facts.calls.append(http)
                continue
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "raise_for_status":
                if not self._from_response(node.func.value):
                    return None
                facts.raises_for_status = True
                continue
            if self._harmless(node):
                continue
            target = self.model.called_function(node)
            if target is None or depth == 0:
                return None
            inner = self._facts(target.node.body, depth - 1, seen)
            if inner is None:
                return None
            facts.libraries |= inner.libraries
            facts.calls += inner.calls
            facts.raises_for_status |= inner.raises_for_status
        return facts

    def _harmless(self, call: cst.Call) -> bool:
        name = self.model.callee(call) or (call.func.value if isinstance(call.func, cst.Name) else None)
        if name in _SAFE_FUNCTIONS or (name and lib.canonical(name) in lib.CLIENT_CLASSES):
            return True
        if name and name.startswith("logging."):
            return True
        func = call.func
        if not isinstance(func, cst.Attribute):
            return False
        receiver = strip_await(func.value)
        if isinstance(receiver, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
            return True
        root = dotted_name(receiver) or ""
        if root.rsplit(".", 1)[-1] in _LOGGER_NAMES:
            return True
        if self.model.client_for(receiver) is not None and func.attr.value in ("mount", "close", "build_request"):
            return True
        return self._from_response(receiver)

    def _from_response(self, expr: cst.BaseExpression, depth: int = 0) -> bool:
        """Is `expr` an HTTP response, or something read from one (`r.json()`, `r.headers`)?"""
        if depth > 6:
            return False
        expr = strip_await(expr)
        if self.model.http_call(expr) is not None or self.model.response_call(expr) is not None:
            return True
        if isinstance(expr, cst.Attribute):
            return self._from_response(expr.value, depth + 1)
        if isinstance(expr, cst.Subscript):
            return self._from_response(expr.value, depth + 1)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
            return self._from_response(expr.func.value, depth + 1)
        if isinstance(expr, cst.Name):
            value = self.model.resolve(expr)
            return value is not expr and self._from_response(value, depth + 1)
        return False

    def _module_names(self) -> set[str]:
        """Names the module binds itself (a local `class TimeoutError`)."""
        names = set(self.model.imports)
        for node in self.model.module.body:
            if isinstance(node, (cst.ClassDef, cst.FunctionDef)):
                names.add(node.name.value)
        for assign in self.model.assigns:
            targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]
            names.update(t.value for t in targets if isinstance(t, cst.Name))
        return names


