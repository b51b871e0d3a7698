"""ERR103: a retry with nothing that limits it."""

from __future__ import annotations

import re
from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import Applicability, Fix, FixAvailability
from errlint.linter.model import UNKNOWN, dotted_name, keyword_value, positional_args
from errlint.linter.rule import Invalid, Report, Rule
from errlint.linter.scopes import RetryPath, RetryScope
from errlint.linter.status import ALL_STATUSES, describe
from errlint.rules._retry_policy import (
    RetryConfig,
    add_keyword,
    config_label,
    exits_on_success,
    has_keyword,
    http_related,
    import_name_edit,
    loop_is_bounded,
    mentions_bound,
    report_node,
    retry_configs,
)

ATTEMPTS = 5
_STOPS = {
    "tenacity": ("stop",),
    "backoff": ("max_tries", "max_time"),
    "retrying": ("stop_max_attempt_number", "stop_max_delay", "stop_func", "stop"),
}
_URLLIB3_COUNTERS = ("connect", "read", "redirect", "status", "other")
_ERRORS = frozenset(range(400, 600))


_POLLING = re.compile(r"poll|stream|listen|watch|subscribe", re.I)


class UnboundedRetry(Rule):
    """
    ## What it does
    Flags retries that nothing limits. Shapes: tenacity and retrying decorators or
    `Retrying(...)` blocks without a stop, backoff decorators without
    `max_tries`/`max_time`, urllib3 `Retry(total=None)` with no other counter,
    `while True:` loops that retry an HTTP call after an error with no attempt
    counter or deadline, and functions that call themselves after an error
    with no depth limit.

    ## Why is this bad?
    tenacity, backoff and retrying retry forever when no stop is given, and
    `Retry(total=None)` with no other counter never runs out. A permanent
    failure (a revoked key, a deleted resource, a server that is down for
    hours) turns into a request loop that never reports the error, holds a
    worker, and keeps spending rate-limit budget. API docs ask for backoff
    *and* an end: "Retry your request after a brief delay. Contact support if
    issue persists."

    `while True` loops for pagination, polling with a deadline and redirect
    following are not retries and are not flagged; neither are loops whose
    counter or deadline is checked in the body, nor stamina (bounded by
    default: 10 attempts, 45 seconds).

    ## Example
    ```python
    @retry(wait=wait_exponential())
    def fetch(url):
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        return response.json()
    ```

    ## Use instead
    ```python
    @retry(wait=wait_exponential(), stop=stop_after_attempt(5))
    def fetch(url):
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        return response.json()
    ```

    ## Fix safety
    The fix adds `stop=stop_after_attempt(5)` (tenacity, importing
    `stop_after_attempt` when needed), `max_tries=5` (backoff) or
    `stop_max_attempt_number=5` (retrying). It is unsafe: callers that relied
    on the call never failing now see the error after five attempts.

    ## References
    - Library fact: tenacity, backoff and retrying retry forever with no stop argument.
    - Library fact: urllib3 `Retry(total=None)` with no other counters never runs out.
    - Octen error codes (https://docs.octen.ai/introduction/admin/error-codes), 500: "Retry your request after
      a brief delay. Contact support if issue persists."
    - GitHub REST API rate limits
      (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api): back off
      exponentially "and throw an error after a specific number of retries".
    """

    code = "ERR103"
    name = "unbounded-retry"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # A long poll times out by design; going round again is its cadence, not a retry.
        """
import requests
def events(session: requests.Session, url, longpolling=True):
    while True:
        try:
            return session.get(url, timeout=90).json()
        except requests.Timeout:
            if longpolling:
                continue
            raise
""",
        # tenacity with a stop.
        """
import requests
from tenacity import retry, stop_after_attempt, wait_exponential
@retry(stop=stop_after_attempt(5), wait=wait_exponential())
def fetch(url):
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    return r.json()
""",
        # An explicit `stop_never` is a decision, not an omission.
        """
import httpx
import tenacity as t
@t.retry(stop=t.stop_never, retry=t.retry_if_exception_type(httpx.ConnectError))
def wait_for_server(url):
    return httpx.get(url)
""",
        # backoff bounded by time, async aiohttp.
        """
import aiohttp
from backoff import on_exception, expo
@on_exception(expo, aiohttp.ClientConnectionError, max_time=60)
async def fetch(session: aiohttp.ClientSession, url):
    async with session.get(url) as resp:
        return await resp.json()
""",
        # stamina is bounded by default (10 attempts, 45 s).
        """
import httpx, stamina
@stamina.retry(on=httpx.TransportError)
def fetch(url):
    return httpx.get(url).json()
""",
        # `while True` for pagination: it goes round on success, not after an error.
        """
import requests
def all_items(session: requests.Session, url):
    items = []
    while True:
        r = session.get(url)
        r.raise_for_status()
        items.extend(r.json()["items"])
        url = r.links.get("next", {}).get("url")
        if not url:
            return items
""",
        # Polling with a deadline.
        """
import time, requests
def wait_for_job(url):
    deadline = time.monotonic() + 300
    while True:
        try:
            r = requests.get(url, timeout=10)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(5)
            continue
        if r.json()["state"] == "done":
            return r.json()
        time.sleep(5)
""",
        # A counter checked in the body.
        """
import time, httpx
async def fetch(client: httpx.AsyncClient, url):
    failures = 0
    while True:
        try:
            r = await client.get(url)
            r.raise_for_status()
            return r.json()
        except httpx.TransportError:
            failures += 1
            if failures > 4:
                raise
            time.sleep(2 ** failures)
""",
        # Following redirects by hand is not a retry.
        """
import requests
def resolve(url):
    while True:
        r = requests.get(url, allow_redirects=False)
        if r.status_code in (301, 302, 307, 308):
            url = r.headers["Location"]
            continue
        return r
""",
        # Recursion with a depth limit.
        """
import time, requests
def fetch(url, retries=3):
    try:
        return requests.get(url, timeout=5).json()
    except requests.ConnectionError:
        if retries == 0:
            raise
        time.sleep(1)
        return fetch(url, retries - 1)
""",
        # urllib3 Retry with a total, and `total=None` with another counter.
        """
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=5, backoff_factor=0.5)))
legacy = Retry(total=None, connect=3, read=2)
""",
        # retrying with a stop; tenacity configured through a shared dict is not guessed at.
        """
import requests
from retrying import retry
import tenacity
RETRY = dict(stop=tenacity.stop_after_attempt(3))
@retry(stop_max_attempt_number=3, wait_exponential_multiplier=100)
def fetch(url):
    return requests.get(url).json()
@tenacity.retry(**RETRY)
def fetch_again(url):
    return requests.get(url).json()
""",
        # aiohttp-retry (3 attempts by default) and stamina's retry_context are bounded.
        """
import httpx, stamina
from aiohttp_retry import RetryClient, ExponentialRetry
async def fetch(url):
    async with RetryClient(retry_options=ExponentialRetry(statuses={503})) as client:
        async with client.get(url) as resp:
            return await resp.json()
def fetch_sync(url):
    for attempt in stamina.retry_context(on=httpx.TransportError):
        with attempt:
            return httpx.get(url).json()
""",
        # A worker loop: each turn handles a new job, and success goes round too.
        """
import logging, requests
def worker(queue, session: requests.Session):
    while True:
        job = queue.get()
        try:
            session.post(job.url, json=job.payload).raise_for_status()
        except requests.RequestException:
            logging.exception("job %s failed", job.id)
""",
    ]

    INVALID = [
        Invalid(
            """
import requests
from tenacity import retry, wait_exponential
@retry(wait=wait_exponential())  # flagged
def fetch(url):
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    return r.json()
""",
            message="`@retry` has no `stop=`, so tenacity retries forever",
            fixed="""
import requests
from tenacity import retry, wait_exponential, stop_after_attempt
@retry(wait=wait_exponential(), stop=stop_after_attempt(5))  # flagged
def fetch(url):
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    return r.json()
""",
        ),
        Invalid(
            """
import httpx
import tenacity as t
class Api:
    def __init__(self):
        self.client = httpx.Client(base_url="https://api.example.com")

    @t.retry  # flagged
    def user(self, user_id):
        return self.client.get(f"/users/{user_id}").json()
""",
            fixed="""
import httpx
import tenacity as t
class Api:
    def __init__(self):
        self.client = httpx.Client(base_url="https://api.example.com")

    @t.retry(stop=t.stop_after_attempt(5))  # flagged
    def user(self, user_id):
        return self.client.get(f"/users/{user_id}").json()
""",
        ),
        Invalid(
            """
import httpx
from tenacity import AsyncRetrying, retry_if_exception_type
async def fetch(client: httpx.AsyncClient, url):
    async for attempt in AsyncRetrying(retry=retry_if_exception_type(httpx.TransportError)):  # flagged
        with attempt:
            return (await client.get(url)).json()
""",
            message="`AsyncRetrying(...)` has no `stop=`, so tenacity retries forever",
            fixed="""
import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt
async def fetch(client: httpx.AsyncClient, url):
    async for attempt in AsyncRetrying(retry=retry_if_exception_type(httpx.TransportError), stop=stop_after_attempt(5)):  # flagged
        with attempt:
            return (await client.get(url)).json()
""",
        ),
        Invalid(
            """
import requests
from backoff import on_exception, expo
@on_exception(expo, requests.ConnectionError)  # flagged
def fetch(url):
    return requests.get(url).json()
""",
            message="`@on_exception` has neither `max_tries=` nor `max_time=`, so backoff retries forever",
            fixed="""
import requests
from backoff import on_exception, expo
@on_exception(expo, requests.ConnectionError, max_tries=5)  # flagged
def fetch(url):
    return requests.get(url).json()
""",
        ),
        Invalid(
            """
import aiohttp, backoff
@backoff.on_predicate(backoff.expo, lambda status: status == 503)  # flagged
async def ping(session: aiohttp.ClientSession, url):
    async with session.get(url) as resp:
        return resp.status
""",
            fixed="""
import aiohttp, backoff
@backoff.on_predicate(backoff.expo, lambda status: status == 503, max_tries=5)  # flagged
async def ping(session: aiohttp.ClientSession, url):
    async with session.get(url) as resp:
        return resp.status
""",
        ),
        Invalid(
            """
import requests
from retrying import retry
@retry(wait_fixed=2000)  # flagged
def fetch(url):
    return requests.get(url).json()
""",
            fixed="""
import requests
from retrying import retry
@retry(wait_fixed=2000, stop_max_attempt_number=5)  # flagged
def fetch(url):
    return requests.get(url).json()
""",
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=None, backoff_factor=1)))  # flagged
""",
            message="`Retry(total=None)` has no other counter, so urllib3 never runs out of retries",
        ),
        Invalid(
            """
import time, requests
def fetch(url):
    while True:  # flagged
        try:
            r = requests.get(url, timeout=10)
            r.raise_for_status()
            return r.json()
        except requests.ConnectionError:
            time.sleep(5)
""",
            message="`while True` retries `requests.get` after `requests.ConnectionError` with no attempt limit or deadline",
        ),
        Invalid(
            """
import asyncio, aiohttp
class Poller:
    def __init__(self):
        self.session = aiohttp.ClientSession()

    async def fetch(self, url):
        while True:  # flagged
            async with self.session.get(url) as resp:
                if resp.status in (429, 503):
                    await asyncio.sleep(2)
                    continue
                return await resp.json()
""",
            message="`while True` retries `self.session.get` on 429 and 503 with no attempt limit or deadline",
        ),
        Invalid(
            """
import time, requests
def fetch(url):
    try:
        return requests.get(url, timeout=5).json()
    except requests.RequestException:
        time.sleep(1)
        return fetch(url)  # flagged
""",
            message="`fetch` calls itself again after `requests.RequestException` with no depth limit",
        ),
    ]

    def check(self) -> Iterator[Report]:
        for config in retry_configs(self.model):
            report = self._library_config(config)
            if report is not None:
                yield report
        for config in self.model.retry_configs:
            report = self._urllib3_retry(config)
            if report is not None:
                yield report
        for scope in self.model.retry_scopes:
            if scope.kind == "loop":
                report = self._loop(scope)
            elif scope.kind == "recursion":
                report = self._recursion(scope)
            else:
                continue
            if report is not None:
                yield report

    # --- retry libraries -----------------------------------------------------

    def _library_config(self, config: RetryConfig) -> Report | None:
        if config.opaque or has_keyword(config.call, *_STOPS[config.library]):
            return None
        if config.function is not None and self._stopped_later(config.function):
            return None
        if config.library == "backoff" and config.call is None:
            return None  # backoff decorators are always called
        if not http_related(self.model, config.function):
            return None
        label = config_label(self.model, config)
        if config.library == "tenacity":
            message = f"`{label}` has no `stop=`, so tenacity retries forever"
        elif config.library == "backoff":
            message = f"`{label}` has neither `max_tries=` nor `max_time=`, so backoff retries forever"
        else:
            message = f"`{label}` has no `stop_max_attempt_number=` or `stop_max_delay=`, so retrying retries forever"
        return self.report(report_node(config), message, self._fix(config))

    def _stopped_later(self, function: cst.FunctionDef) -> bool:
        """`fetch.retry_with(stop=...)`: the stop is given where the function is called."""
        name = function.name.value
        for call in self.model.calls:
            func = call.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "retry_with"
                and (dotted_name(func.value) or "").rsplit(".", 1)[-1] == name
                and keyword_value(call, "stop") is not None
            ):
                return True
        return False

    def _fix(self, config: RetryConfig) -> Fix | None:
        if config.library == "backoff":
            return self.fix(
                f"Give up after {ATTEMPTS} tries",
                Applicability.UNSAFE,
                add_keyword(self.model, config.node, f"max_tries={ATTEMPTS}"),
            )
        if config.library == "retrying":
            return self.fix(
                f"Stop after {ATTEMPTS} attempts",
                Applicability.UNSAFE,
                add_keyword(self.model, config.node, f"stop_max_attempt_number={ATTEMPTS}"),
            )
        spelled = import_name_edit(self.model, "tenacity", "stop_after_attempt")
        if spelled is None:
            return None
        name, import_edit = spelled
        edits = [add_keyword(self.model, config.node, f"stop={name}({ATTEMPTS})")]
        if import_edit is not None:
            edits.insert(0, import_edit)
        return self.fix(f"Stop after {ATTEMPTS} attempts", Applicability.UNSAFE, *edits)

    def _urllib3_retry(self, config: cst.Call) -> Report | None:
        if self.model.callee(config) != lib.URLLIB3_RETRY or any(arg.star for arg in config.args):
            return None
        positional = positional_args(config)
        total_arg = next((arg for arg in config.args if arg.keyword and arg.keyword.value == "total"), None)
        total = total_arg.value if total_arg is not None else (positional[0] if positional else None)
        if total is None or self.model.const_value(total) is not None:
            return None  # the default total is 10
        for name in _URLLIB3_COUNTERS:
            value = keyword_value(config, name)
            if value is not None and self.model.const_value(value) is not None:
                return None
        if len(positional) > 1:
            return None
        return self.report(
            total_arg if total_arg is not None else total,
            "`Retry(total=None)` has no other counter, so urllib3 never runs out of retries",
        )

    # --- hand-written loops and recursion -------------------------------------

    def _loop(self, scope: RetryScope) -> Report | None:
        loop = scope.node
        if isinstance(loop, cst.While):
            if not self._forever(loop):
                return None
            node: cst.CSTNode = loop.test
        elif (
            isinstance(loop, cst.For)
            and isinstance(loop.iter, cst.Call)
            and self.model.callee(loop.iter) == "itertools.count"
        ):
            node = loop.iter
        else:
            return None
        paths = [
            path
            for path in scope.paths
            if self._retries_same_request(scope, path) and not self._long_polling(path)
        ]
        if not paths or loop_is_bounded(self.model, loop):
            return None
        flag_loop = isinstance(loop, cst.While) and self.model.const_value(loop.test) is UNKNOWN
        if not flag_loop and not exits_on_success(self.model, loop, [http.node for http in scope.http_calls]):
            return None
        call = self.model.code(scope.http_calls[0].node.func)
        header = f"while {self.model.code(loop.test)}" if isinstance(loop, cst.While) else self.model.code(loop.iter)
        return self.report(
            node,
            f"`{header}` retries `{call}` {self._trigger(paths[0])} with no attempt limit or deadline",
        )

    def _long_polling(self, path: RetryPath) -> bool:
        """`except Timeout: if longpolling: continue`: a long poll's timeout is its normal cadence."""
        for statement in path.statements:
            if isinstance(statement, cst.If) and any(
                isinstance(node, cst.Name) and _POLLING.search(node.value) for node in self.model.walk(statement.test)
            ):
                return True
        return False

    def _forever(self, loop: cst.While) -> bool:
        value = self.model.const_value(loop.test)
        if value is True or (isinstance(value, int) and not isinstance(value, bool) and value != 0):
            return True
        # `while not done:` where `done` is set inside the loop on success.
        test = loop.test
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test = test.expression
        if isinstance(test, cst.Name) and not mentions_bound(self.model, test):
            return any(
                isinstance(node, cst.AssignTarget) and dotted_name(node.target) == test.value
                for node in self.model.subtree(loop.body)
            )
        return False

    def _retries_same_request(self, scope: RetryScope, path: RetryPath) -> bool:
        """A path that sends the same request again (not the next page, not a redirect)."""
        if path.handler is None:
            statuses = path.statuses | path.gated_statuses
            if not statuses & _ERRORS or 200 in statuses:
                return False  # polling (a 200 or 202 goes round too), following redirects: not a retry after an error
        sent = {
            node.value
            for http in scope.http_calls
            for arg in http.node.args
            for node in self.model.subtree(arg.value)
            if isinstance(node, cst.Name)
        }
        containers = list(path.statements) + ([path.handler.node] if path.handler else [])
        for container in containers:
            for node in self.model.subtree(container):
                if isinstance(node, cst.AssignTarget) and dotted_name(node.target) in sent:
                    return False
        return True

    def _trigger(self, path: RetryPath) -> str:
        if path.handler is not None:
            if path.handler.types == ("*",):
                return "after any error"
            names = ", ".join(f"`{self.model.code(node)}`" for node in path.handler.type_nodes)
            return f"after {names}"
        statuses = path.statuses | path.gated_statuses
        if statuses >= ALL_STATUSES:
            return "on every status"
        if len(statuses) > len(ALL_STATUSES) // 2:
            return f"on every status except {describe(ALL_STATUSES - statuses)}"
        return f"on {describe(statuses)}"

    def _recursion(self, scope: RetryScope) -> Report | None:
        function = scope.node
        call = scope.anchor
        if not isinstance(function, cst.FunctionDef) or not isinstance(call, cst.Call) or not scope.paths:
            return None
        path = scope.paths[0]
        if path.handler is None and not (path.statuses | path.gated_statuses) & _ERRORS:
            return None
        params = {
            param.name.value
            for param in (*function.params.posonly_params, *function.params.params, *function.params.kwonly_params)
        }
        if function.params.star_arg is not None and isinstance(function.params.star_arg, cst.Param):
            params.add(function.params.star_arg.name.value)
        if function.params.star_kwarg is not None:
            params.add(function.params.star_kwarg.name.value)
        for arg in call.args:
            if arg.keyword is not None and mentions_bound(self.model, arg.keyword):
                return None
            for node in self.model.subtree(arg.value):
                if isinstance(node, (cst.BinaryOperation, cst.Call)):
                    return None  # `retries - 1`, `attempt + 1`, or a new value
                if isinstance(node, cst.Name) and node.value not in params and node.value not in ("self", "cls"):
                    return None  # a different request (next page, a redirect target)
        for node in self.model.subtree(function.body):
            if isinstance(node, cst.If) and mentions_bound(self.model, node.test):
                return None
        return self.report(
            call,
            f"`{function.name.value}` calls itself again {self._trigger(path)} with no depth limit",
        )
