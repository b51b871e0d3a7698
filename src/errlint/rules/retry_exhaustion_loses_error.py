"""ERR108: when the last attempt fails, the caller never sees the error."""

from __future__ import annotations

import functools
import re
from typing import Iterator

import libcst as cst

from errlint.linter.findings import Applicability, Fix, FixAvailability
from errlint.linter.model import Handler, dotted_name, keyword_arg
from errlint.linter.rule import Invalid, Report, Rule
from errlint.linter.scopes import RetryScope
from errlint.linter.status import status_condition
from errlint.rules._retry_policy import (
    RetryConfig,
    add_keyword,
    exits_on_success,
    mentions_bound,
    names_text,
    report_node,
    retry_configs,
    terminates,
)

# Documentation that says losing the error is intended.
_BEST_EFFORT = re.compile(
    r"best[\s_-]*effort|fire[\s_-]*(and|&)[\s_-]*forget|non[\s_-]*critical|never raises|must not raise|"
    r"(ignore[sd]?|swallow(s|ed)?|drop(s|ped)?)\s+(all\s+)?(errors|failures|exceptions)|"
    r"(errors|failures|exceptions)\s+(are|is)\s+(ignored|swallowed|dropped|not raised)",
    re.I,
)
# Every match of `_BEST_EFFORT` contains one of these (keep the two in step).
_INTENT_WORDS = ("effort", "forget", "critical", "never raises", "must not raise", "errors", "failures", "exceptions")
# Exception families whose root class catches every member (a caller catching the
# root misses the `RetryError` that replaces any of them, and the other way round).
_FAMILY_ROOTS = {
    "requests.RequestException": "requests.",
    "httpx.HTTPError": "httpx.",
    "aiohttp.ClientError": "aiohttp.",
    "openai.OpenAIError": "openai.",
    "openai.APIError": "openai.",
    "anthropic.AnthropicError": "anthropic.",
    "anthropic.APIError": "anthropic.",
    "google.api_core.exceptions.GoogleAPICallError": "google.api_core.exceptions.",
}
_BROAD = frozenset({"Exception", "BaseException", "*"})
_ERRORS = frozenset(range(400, 600))


class RetryExhaustionLosesError(Rule):
    """
    ## What it does
    Flags retries whose final failure reaches the caller without its status, code or body. Shapes: an `except ...: pass` (or log-and-continue) at the end of a
    retry loop followed by `return None` or the end of the function, a
    `return None` on the last attempt, backoff's `raise_on_giveup=False`, and
    tenacity decorators without `reraise=True` whose callers in the same
    module catch the original exception type (tenacity raises `RetryError`
    instead, so those handlers never run).

    ## Why is this bad?
    When the retries run out, the last error is the most useful fact there
    is: its status tells a 429 quota problem from a 503 outage, and its body
    carries the machine code (`INSUFFICIENT_CREDITS`, `rate_limited`) and the
    `request_id` support asks for. Returning `None` turns it into an
    unrelated `TypeError` further down, and `RetryError` slips past the
    `except requests.HTTPError` written for it.

    Fire-and-forget paths (telemetry, best-effort notifications) whose
    docstring or comments say so are not flagged.

    ## Example
    ```python
    def fetch(url):
        for attempt in range(3):
            try:
                response = requests.get(url, timeout=10)
                response.raise_for_status()
                return response.json()
            except requests.RequestException:
                time.sleep(2 ** attempt)
        return None
    ```

    ## Use instead
    ```python
    def fetch(url):
        for attempt in range(3):
            try:
                response = requests.get(url, timeout=10)
                response.raise_for_status()
                return response.json()
            except requests.RequestException:
                if attempt == 2:
                    raise
                time.sleep(2 ** attempt)
    ```

    ## Fix safety
    For tenacity the fix adds `reraise=True`, so the last attempt's exception
    propagates instead of `RetryError`. It is unsafe: code that catches
    `RetryError` stops seeing it.

    ## References
    - Aionvision error codes (https://aionvision.tech/docs/api/resources/errors): "When a request_id is
      present, always include it when contacting support for faster debugging."
    - Titan errors (https://webscraping.titannet.io/docs/api-reference/errors): "Your client should branch on
      HTTP status and `error.code`, not only on message text."
    - Library fact: tenacity raises `RetryError` when it stops unless `reraise=True`; backoff returns `None`
      when it gives up with `raise_on_giveup=False`.
    """

    code = "ERR108"
    name = "retry-exhaustion-loses-error"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # The last attempt re-raises.
        """
import time, requests
def fetch(url):
    for attempt in range(3):
        try:
            r = requests.get(url, timeout=10)
            r.raise_for_status()
            return r.json()
        except requests.RequestException:
            if attempt == 2:
                raise
            time.sleep(2 ** attempt)
""",
        # The last error is kept and raised after the loop.
        """
import asyncio, httpx
async def fetch(client: httpx.AsyncClient, url):
    last_error = None
    for attempt in range(3):
        try:
            r = await client.get(url)
            r.raise_for_status()
            return r.json()
        except httpx.HTTPError as e:
            last_error = e
            await asyncio.sleep(1)
    raise RuntimeError(f"GET {url} failed") from last_error
""",
        # Documented fire-and-forget telemetry.
        """
import time, requests
def send_metric(session: requests.Session, point):
    \"\"\"Best effort: metrics must never break the caller.\"\"\"
    for attempt in range(2):
        try:
            session.post("https://metrics.example.com/v1/points", json=point, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.5)
""",
        # tenacity with `reraise=True`: callers catching `HTTPError` see it.
        """
import requests
from tenacity import retry, stop_after_attempt, reraise
@retry(stop=stop_after_attempt(3), reraise=True)
def fetch(url):
    r = requests.get(url)
    r.raise_for_status()
    return r.json()
def main(url):
    try:
        return fetch(url)
    except requests.HTTPError as e:
        return {"status": e.response.status_code}
""",
        # tenacity without `reraise=True` whose caller catches `RetryError`.
        """
import httpx
import tenacity as t
@t.retry(stop=t.stop_after_attempt(3))
def fetch(url):
    return httpx.get(url).raise_for_status().json()
def main(url):
    try:
        return fetch(url)
    except t.RetryError as e:
        raise RuntimeError("gave up") from e.last_attempt.exception()
""",
        # tenacity where the caller catches an exception the retry never retries.
        """
import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt
@retry(retry=retry_if_exception_type(requests.ConnectionError), stop=stop_after_attempt(3))
def fetch(url):
    r = requests.get(url)
    r.raise_for_status()
    return r.json()
def main(url):
    try:
        return fetch(url)
    except requests.HTTPError:
        return None
""",
        # backoff re-raises by default; `raise_on_giveup=False` on a documented fire-and-forget path.
        """
import aiohttp, backoff
@backoff.on_exception(backoff.expo, aiohttp.ClientError, max_tries=3)
async def fetch(session: aiohttp.ClientSession, url):
    async with session.get(url, raise_for_status=True) as resp:
        return await resp.json()
@backoff.on_exception(backoff.expo, aiohttp.ClientError, max_tries=2, raise_on_giveup=False)
async def ping(session: aiohttp.ClientSession, url):
    # fire-and-forget heartbeat: failures are ignored
    async with session.post(url) as resp:
        return resp.status
""",
        # stamina and retrying re-raise the original exception.
        """
import httpx, stamina
from retrying import retry
@stamina.retry(on=httpx.TransportError, attempts=3)
def fetch(url):
    return httpx.get(url).json()
@retry(stop_max_attempt_number=3)
def fetch_again(url):
    return httpx.get(url).json()
def main(url):
    try:
        return fetch(url), fetch_again(url)
    except httpx.TransportError:
        return None
""",
        # A health check answers `False` on purpose.
        """
import time, requests
def is_up(url):
    for attempt in range(3):
        try:
            requests.get(url, timeout=2).raise_for_status()
            return True
        except requests.RequestException:
            time.sleep(1)
    return False
""",
        # Returning the last response lets the caller see its status.
        """
import time, requests
def fetch(url):
    for attempt in range(3):
        r = requests.get(url)
        if r.status_code not in (429, 503):
            return r
        time.sleep(2 ** attempt)
    return r
""",
    ]

    INVALID = [
        Invalid(
            """
import time, requests
def fetch(url):
    for attempt in range(3):
        try:
            r = requests.get(url, timeout=10)
            r.raise_for_status()
            return r.json()
        except requests.RequestException:  # flagged
            time.sleep(2 ** attempt)
    return None
""",
            message="After the last attempt `fetch` swallows `requests.RequestException` and returns `None`, so the caller never sees the last error",
        ),
        Invalid(
            """
import requests
class Api:
    def __init__(self):
        self.session = requests.Session()

    def get(self, path):
        for attempt in range(3):
            try:
                r = self.session.get("https://api.example.com" + path)
                r.raise_for_status()
                return r.json()
            except requests.HTTPError:  # flagged
                pass
""",
        ),
        Invalid(
            """
import asyncio, aiohttp
async def fetch(session: aiohttp.ClientSession, url, retries=3):
    for attempt in range(retries):
        try:
            async with session.get(url, raise_for_status=True) as resp:
                return await resp.json()
        except aiohttp.ClientError:
            if attempt == retries - 1:
                return None  # flagged
            await asyncio.sleep(2 ** attempt)
""",
            message="`fetch` returns `None` on the last attempt instead of raising `aiohttp.ClientError`, so the caller never sees the last error",
        ),
        Invalid(
            """
import time, httpx
def fetch(client: httpx.Client, url):
    for attempt in range(4):
        r = client.get(url)
        if r.status_code == 200:
            return r.json()
        time.sleep(2 ** attempt)
    return None  # flagged
""",
            message="After the last attempt `fetch` returns `None`, dropping the final response's status and body",
        ),
        Invalid(
            """
import backoff, requests
@backoff.on_exception(backoff.expo, requests.RequestException, max_tries=3, raise_on_giveup=False)  # flagged
def fetch(url):
    r = requests.get(url)
    r.raise_for_status()
    return r.json()
""",
            message="`raise_on_giveup=False` makes `fetch` return `None` when backoff gives up, so the caller never sees the last error",
        ),
        Invalid(
            """
import requests
from tenacity import retry, stop_after_attempt
@retry(stop=stop_after_attempt(3))  # flagged
def fetch(url):
    r = requests.get(url)
    r.raise_for_status()
    return r.json()
def main(url):
    try:
        return fetch(url)
    except requests.HTTPError as e:
        return {"status": e.response.status_code}
""",
            message="When retries run out `fetch` raises `tenacity.RetryError`, so `except requests.HTTPError` in `main` never sees the original error",
            fixed="""
import requests
from tenacity import retry, stop_after_attempt
@retry(stop=stop_after_attempt(3), reraise=True)  # flagged
def fetch(url):
    r = requests.get(url)
    r.raise_for_status()
    return r.json()
def main(url):
    try:
        return fetch(url)
    except requests.HTTPError as e:
        return {"status": e.response.status_code}
""",
        ),
        Invalid(
            """
import httpx
import tenacity as t
class Api:
    def __init__(self):
        self.client = httpx.AsyncClient()

    @t.retry(retry=t.retry_if_exception_type(httpx.TransportError), stop=t.stop_after_attempt(3), reraise=False)  # flagged
    async def user(self, user_id):
        return (await self.client.get(f"/users/{user_id}")).json()

    async def user_or_none(self, user_id):
        try:
            return await self.user(user_id)
        except httpx.HTTPError:
            return None
""",
            fixed="""
import httpx
import tenacity as t
class Api:
    def __init__(self):
        self.client = httpx.AsyncClient()

    @t.retry(retry=t.retry_if_exception_type(httpx.TransportError), stop=t.stop_after_attempt(3), reraise=True)  # flagged
    async def user(self, user_id):
        return (await self.client.get(f"/users/{user_id}")).json()

    async def user_or_none(self, user_id):
        try:
            return await self.user(user_id)
        except httpx.HTTPError:
            return None
""",
        ),
        Invalid(
            """
import requests
from tenacity import Retrying, stop_after_attempt
def fetch(url):
    try:
        for attempt in Retrying(stop=stop_after_attempt(3)):  # flagged
            with attempt:
                r = requests.get(url)
                r.raise_for_status()
                return r.json()
    except requests.HTTPError as e:
        return {"status": e.response.status_code}
""",
            fixed="""
import requests
from tenacity import Retrying, stop_after_attempt
def fetch(url):
    try:
        for attempt in Retrying(stop=stop_after_attempt(3), reraise=True):  # flagged
            with attempt:
                r = requests.get(url)
                r.raise_for_status()
                return r.json()
    except requests.HTTPError as e:
        return {"status": e.response.status_code}
""",
        ),
        Invalid(
            """
import time, urllib.request, urllib.error
def fetch(url, retries=3):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.read()
    except urllib.error.URLError:
        if retries == 0:
            return None  # flagged
        time.sleep(1)
        return fetch(url, retries - 1)
""",
        ),
        Invalid(
            """
import logging, time, requests
def notify(session: requests.Session, url, event):
    attempt = 0
    while attempt < 3:
        try:
            session.post(url, json=event, timeout=5).raise_for_status()
            return
        except Exception:  # flagged
            logging.warning("notify failed, retrying")
            attempt += 1
            time.sleep(1)
""",
        ),
    ]

    def check(self) -> Iterator[Report]:
        reported: set[cst.CSTNode] = set()
        for scope in self.model.retry_scopes:
            if scope.kind in ("loop", "recursion"):
                for report in self._hand_scope(scope):
                    if report.node not in reported:
                        reported.add(report.node)
                        yield report
        for config in retry_configs(self.model):
            if config.library == "backoff":
                report = self._backoff(config)
            elif config.library == "tenacity":
                report = self._tenacity(config)
            else:
                continue
            if report is not None and report.node not in reported:
                reported.add(report.node)
                yield report

    # --- hand-written loops and recursion --------------------------------------

    def _hand_scope(self, scope: RetryScope) -> Iterator[Report]:
        function = scope.node if isinstance(scope.node, cst.FunctionDef) else self.model.enclosing_function(scope.node)
        if function is None or self._documented(function) or self._generator(function):
            return
        loop = scope.node if isinstance(scope.node, (cst.For, cst.While)) else None
        if loop is not None and not exits_on_success(self.model, loop, [http.node for http in scope.http_calls]):
            return
        if self._none_by_design(function, scope):
            return
        name = function.name.value
        found = False
        for path in scope.paths:
            if path.handler is not None:
                report = self._handler(path.handler, loop, name)
                if report is not None:
                    found = True
                    yield report
        if not found and isinstance(loop, cst.For):
            if any(path.handler is None and (path.statuses | path.gated_statuses) & _ERRORS for path in scope.paths):
                report = self._status_exhaustion(loop, name)
                if report is not None:
                    yield report

    def _handler(self, handler: Handler, loop: cst.For | cst.While | None, name: str) -> Report | None:
        caught = self._caught(handler)
        body = handler.node.body
        last_attempt = [
            node
            for node in self.model.subtree(body)
            if isinstance(node, cst.If) and mentions_bound(self.model, node.test)
        ]
        for branch in last_attempt:
            for node in self.model.subtree(branch.body):
                if isinstance(node, cst.Return) and self._loses(node.value):
                    return self.report(
                        node,
                        f"`{name}` returns `{self._shown(node.value)}` on the last attempt instead of raising "
                        f"{caught}, so the caller never sees the last error",
                    )
        if any(terminates(self.model, node) and not isinstance(node, cst.Break) for node in self.model.subtree(body)):
            return None
        if loop is None:
            return None
        if self._endless(loop):
            return None  # never runs out (ERR103's business)
        if not self._exhaustion_drops_error(loop):
            return None
        node = handler.type_nodes[0] if handler.type_nodes else handler.node
        return self.report(
            node,
            f"After the last attempt `{name}` swallows {caught} and returns `None`, "
            "so the caller never sees the last error",
        )

    def _status_exhaustion(self, loop: cst.For, name: str) -> Report | None:
        statement = self._exhaustion_return(loop)
        if not isinstance(statement, cst.Return):
            return None  # implicit end of function: too often a procedure that logs; keep to explicit returns
        return self.report(
            statement,
            f"After the last attempt `{name}` returns `None`, dropping the final response's status and body",
        )

    def _endless(self, loop: cst.For | cst.While) -> bool:
        if isinstance(loop, cst.While):
            value = self.model.const_value(loop.test)
            return value is True or (type(value) is int and value != 0)
        iterator = loop.iter
        return isinstance(iterator, cst.Call) and (
            self.model.callee(iterator) == "itertools.count"
            or (self.model.callee(iterator) == "itertools.repeat" and len(iterator.args) == 1)
        )

    def _none_by_design(self, function: cst.FunctionDef, scope: RetryScope) -> bool:
        """`return None` written on another error path (a 404, a timeout): `None` is the function's failure value."""
        own = {path.handler.node for path in scope.paths if path.handler is not None}
        for node in self.model.walk(function.body, into_functions=False):
            if not (type(node) is cst.Return and type(node.value) is cst.Name and node.value.value == "None"):
                continue
            handler = self.model.enclosing(node, cst.ExceptHandler)
            if handler is not None and handler not in own:
                return True
            branch = self.model.enclosing(node, cst.If)
            if branch is not None and status_condition(self.model, branch.test) is not None:
                return True
        return False

    def _caught(self, handler: Handler) -> str:
        if handler.types == ("*",):
            return "every error"
        return names_text([self.model.code(node) for node in handler.type_nodes])

    @staticmethod
    def _loses(value: cst.BaseExpression | None) -> bool:
        """`return` or `return None`: nothing of the error survives.

        `return False` and `return []` are left alone: a health check or a
        search may answer "no" on purpose.
        """
        return value is None or (isinstance(value, cst.Name) and value.value == "None")

    def _shown(self, value: cst.BaseExpression | None) -> str:
        return "None" if value is None else self.model.code(value)

    def _exhaustion_statement(self, loop: cst.For | cst.While) -> cst.CSTNode | None:
        """The statement that runs when the loop runs out (its `else:` or what follows); None for the function end."""
        if loop.orelse is not None:
            return loop.orelse.body.body[0] if loop.orelse.body.body else None
        node: cst.CSTNode = loop
        while True:
            parent = self.model.parent(node)
            if not isinstance(parent, cst.IndentedBlock):
                return node  # a loop on one line or in an odd place: do not guess
            siblings = list(parent.body)
            index = next(i for i, sibling in enumerate(siblings) if sibling is node)
            if index + 1 < len(siblings):
                return siblings[index + 1]
            owner = self.model.parent(parent)
            if isinstance(owner, cst.FunctionDef):
                return None
            if isinstance(owner, (cst.With, cst.If)):
                node = owner
                continue
            if isinstance(owner, cst.Else) and isinstance(self.model.parent(owner), cst.If):
                node = self.model.parent(owner)  # type: ignore[assignment]
                continue
            return owner  # inside another loop or a try: do not guess

    def _exhaustion_drops_error(self, loop: cst.For | cst.While) -> bool:
        return self._exhaustion_return(loop) is not None

    def _exhaustion_return(self, loop: cst.For | cst.While) -> cst.CSTNode | None:
        """When the loop runs out: the `return None` reached (the function itself for its end).

        Logging calls (also under an `if`) are skipped on the way; anything
        else (a `raise`, a return of a value, other statements) gives None.
        """
        statement = self._exhaustion_statement(loop)
        while True:
            if statement is None:
                return self.model.enclosing_function(loop)
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Return):
                        return small if self._loses(small.value) else None
                    if isinstance(small, cst.Pass) or (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
                        continue
                    return None
            elif not (isinstance(statement, cst.If) and self._only_logging(statement)):
                return None
            following = self._next_statement(statement)
            if following is False:
                return None
            statement = following  # type: ignore[assignment]

    def _only_logging(self, statement: cst.If) -> bool:
        for node in self.model.subtree(statement):
            if isinstance(node, cst.BaseSmallStatement) and not isinstance(node, (cst.Expr, cst.Pass)):
                return False
            if isinstance(node, cst.BaseCompoundStatement) and not isinstance(node, cst.If):
                return False
        return True

    def _next_statement(self, statement: cst.CSTNode) -> cst.CSTNode | None | bool:
        """The statement after `statement` in its block; None at the end of the function body; False: unknown."""
        parent = self.model.parent(statement)
        if not isinstance(parent, cst.IndentedBlock):
            return False
        siblings = list(parent.body)
        index = next(i for i, sibling in enumerate(siblings) if sibling is statement)
        if index + 1 < len(siblings):
            return siblings[index + 1]
        return None if isinstance(self.model.parent(parent), cst.FunctionDef) else False

    # --- backoff ------------------------------------------------------------------

    def _backoff(self, config: RetryConfig) -> Report | None:
        call = config.call
        if call is None or config.function is None:
            return None
        argument = keyword_arg(call, "raise_on_giveup")
        if argument is None or self.model.const_value(argument.value) is not False:
            return None
        if self._documented(config.function):
            return None
        on_giveup = keyword_arg(call, "on_giveup")
        if on_giveup is not None:
            handler = self.model.function_named(dotted_name(on_giveup.value) or "")
            if handler is None or any(isinstance(node, cst.Raise) for node in self.model.subtree(handler.node)):
                return None
        return self.report(
            argument,
            f"`raise_on_giveup=False` makes `{config.function.name.value}` return `None` when backoff gives up, "
            "so the caller never sees the last error",
        )

    # --- tenacity -----------------------------------------------------------------

    def _tenacity(self, config: RetryConfig) -> Report | None:
        call = config.call
        if config.opaque or config.name == "tenacity.retry" and config.function is None:
            return None
        reraise = keyword_arg(call, "reraise") if call is not None else None
        if reraise is not None and self.model.const_value(reraise.value) is not False:
            return None
        retried = self._retried(config)
        if retried is None:
            return None
        if config.function is not None:
            if self._documented(config.function):
                return None
            callers = self.model.callers_of(config.function)
            subject = config.function.name.value
        else:
            loop = self._iterator_loop(config)
            if loop is None:
                return None
            callers = [loop]
            subject = None
        for caller in callers:
            handlers = self.model.handlers_around(caller)
            if any("tenacity.RetryError" in handler.types for handler in handlers):
                continue
            for handler in handlers:
                missed = next((name for name in handler.types if self._related(name, retried)), None)
                if missed is None:
                    continue
                where = self.model.enclosing_function(caller)
                place = f"in `{where.name.value}`" if where is not None else "at module level"
                written = next(
                    (self.model.code(node) for node, name in zip(handler.type_nodes, handler.types) if name == missed),
                    missed,
                )
                who = f"`{subject}` raises" if subject else "tenacity raises"
                return self.report(
                    report_node(config),
                    f"When retries run out {who} `tenacity.RetryError`, so `except {written}` {place} "
                    "never sees the original error",
                    self._reraise_fix(config, reraise),
                )
        return None

    def _retried(self, config: RetryConfig) -> frozenset[str] | None:
        """Canonical names of the exceptions the configuration retries (None when unknown)."""
        for scope in self.model.retry_scopes:
            if scope.config is config.call and config.call is not None:
                names = {name for path in scope.paths for name in path.exceptions}
                if any(path.status_filtered and path.exceptions for path in scope.paths) and names == {"Exception"}:
                    return None  # a predicate decides
                return frozenset(names) if names else None
        if config.call is None or keyword_arg(config.call, "retry") is None:
            return frozenset({"Exception"})
        return None

    def _related(self, caught: str, retried: frozenset[str]) -> bool:
        if caught in _BROAD or caught in ("tenacity.RetryError", "?"):
            return False
        for name in retried:
            if name in ("Exception", "BaseException") or name == caught:
                return True
            for root, prefix in _FAMILY_ROOTS.items():
                if (caught == root and name.startswith(prefix)) or (name == root and caught.startswith(prefix)):
                    return True
        return False

    def _iterator_loop(self, config: RetryConfig) -> cst.CSTNode | None:
        parent = self.model.parent(config.node)
        if isinstance(parent, (cst.For,)) and parent.iter is config.node:
            return parent
        return None

    def _reraise_fix(self, config: RetryConfig, reraise: cst.Arg | None) -> Fix:
        edit = (
            self.replace(reraise.value, "True")
            if reraise is not None
            else add_keyword(self.model, config.node, "reraise=True")
        )
        return self.fix("Re-raise the last error", Applicability.UNSAFE, edit)

    # --- documentation --------------------------------------------------------------

    def _documented(self, function: cst.FunctionDef) -> bool:
        if not self._file_may_document_intent:
            return False
        # The text as written (comments above, decorators, docstring, body): indentation does not matter here.
        return _BEST_EFFORT.search(self.model.source_text(function)) is not None

    @functools.cached_property
    def _file_may_document_intent(self) -> bool:
        """False when no function's text can match `_BEST_EFFORT`: the file lacks all of `_INTENT_WORDS`.

        Searching the whole file with the regex costs milliseconds; a substring
        test costs microseconds.
        """
        source = getattr(self.model, "source", None)
        if source is None or not source.isascii():
            return True  # `re.I` also matches a few non-ASCII letters (`ſ`, `ı`, `K`) to ASCII ones
        lowered = source.lower()
        return any(word in lowered for word in _INTENT_WORDS)

    def _generator(self, function: cst.FunctionDef) -> bool:
        return any(type(node) is cst.Yield for node in self.model.walk(function.body, into_functions=False))
