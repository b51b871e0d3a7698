"""ERR106: retries whose waits are the same in every client, so they all fire together."""

from __future__ import annotations

import math
from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import Applicability, Edit, Fix, FixAvailability
from errlint.linter.model import keyword_arg, keyword_value, positional_args
from errlint.linter.rule import Invalid, Report, Rule
from errlint.linter.scopes import (
    RetryPath,
    RetryScope,
    goes_round_on_success,
    library_paths,
    path_sleeps,
    singles_out_errors,
    wait_shape,
    waits_for_readiness,
)
from errlint.linter.status import describe

_SDK_MODULES = ("openai", "anthropic", "stripe", "boto3", "botocore", "google")
_UNCAPPED_ATTEMPTS = 10  # 2 ** 10 s is 17 minutes: past that an uncapped exponential needs a cap
_RANDOM_EXPONENTIAL = "wait_random_exponential"
_STAMINA_CONFIGS = frozenset(
    {"stamina.retry", "stamina.retry_context", "stamina.RetryingCaller", "stamina.AsyncRetryingCaller"}
)
_CONFIGS = (
    lib.TENACITY_CONFIGS
    | _STAMINA_CONFIGS
    | lib.AIOHTTP_RETRY_DETERMINISTIC
    | {"backoff.on_exception", "backoff.on_predicate", "retrying.retry", "retrying.Retrying", lib.URLLIB3_RETRY}
)
_RETRYING_RANDOM = ("wait_random_min", "wait_random_max", "wait_jitter_max", "wait_func")


class BackoffWithoutJitter(Rule):
    """
    ## What it does
    Flags retry waits with no random term. Shapes: a constant `time.sleep(c)` or
    `asyncio.sleep(c)` between attempts, `sleep(2 ** attempt)` (or a doubling
    delay) with no random term, or with one but no cap over many attempts;
    tenacity `wait_exponential`/`wait_fixed` on an error retry; backoff with
    `jitter=None`; retrying's `wait_fixed`/`wait_exponential_multiplier`
    without `wait_jitter_max`; stamina's `wait_jitter=0`; aiohttp-retry's
    `ExponentialRetry`/`FibonacciRetry`; and urllib3 `Retry` that retries
    statuses with `backoff_factor` 0.

    ## Why is this bad?
    Clients fail together: a deploy, a failover or a rate-limit window hits
    every caller at the same moment. When every caller then waits the same
    time, they all come back at the same moment too, and the retry storm
    keeps the server down. A random term spreads the retries out ("full
    jitter"). API docs ask for "exponential backoff", and urllib3's `Retry`
    with the default `backoff_factor=0` retries at once, with no wait at all.

    Not flagged: waits that honour `Retry-After` (jitter must not shorten
    them) and retries of only 429/503 (ERR104 covers their waits); a single
    retry (`range(2)`, `stop_after_attempt(2)`, `max_tries=2`); fixed-interval
    polling, where success waits too; waits computed by code errlint cannot
    see. `HTTPAdapter(max_retries=3)` is not flagged: its `Retry` retries
    statuses only when `Retry-After` is present, and then waits exactly that.

    ## Example
    ```python
    @retry(wait=wait_exponential(multiplier=1, max=30), stop=stop_after_attempt(5))
    def fetch(url): ...
    ```

    ## Use instead
    ```python
    @retry(wait=wait_random_exponential(multiplier=1, max=30), stop=stop_after_attempt(5))
    def fetch(url): ...
    ```

    ## Fix safety
    Replacing tenacity `wait_exponential` with `wait_random_exponential` is an
    unsafe fix: the arguments keep their meaning, but each wait becomes a
    random time between `min` and the exponential value, so individual
    retries come sooner than before. When `wait_exponential` was imported by
    name, the fix adds `wait_random_exponential` to the same import. Other
    shapes have no automatic fix.

    ## References
    - Katalo reliability (https://docs.katalo.ai/docs/api/reliability): "Retry retryable `5xx` responses with
      exponential backoff and jitter."
    - Titan rate limits (https://webscraping.titannet.io/docs/about-platform/rate-limits): without
      `Retry-After`, clients "should read X-RateLimit-Reset or use exponential backoff with jitter".
    - tenacity docs: `wait_exponential` intervals "are fixed (i.e. there is no jitter)"; use
      `wait_random_exponential` to resolve contention between processes.
    - urllib3 `Retry.sleep()`: "By default, the backoff factor is 0 and this method will return immediately."
    - AWS Architecture Blog, "Exponential Backoff And Jitter".
    """

    code = "ERR106"
    name = "backoff-without-jitter"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # Waiting for a local service to come up is one client polling, not a thundering herd.
        """
import time, requests
def wait_for_server(url, timeout=60):
    deadline = time.time() + timeout
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            if time.time() > deadline:
                raise TimeoutError(f"{url} was not reachable within {timeout}s")
            time.sleep(1)
""",
        # Honouring Retry-After exactly: jitter must not shorten it; 5xx get full jitter with a cap.
        """
import time, random, requests
def fetch(session: requests.Session, url):
    for attempt in range(5):
        r = session.get(url)
        if r.status_code == 429:
            time.sleep(float(r.headers.get("Retry-After", 1)))
            continue
        if r.status_code >= 500:
            time.sleep(min(30, random.uniform(0, 2 ** attempt)))
            continue
        return r
""",
        # A loop where 429 waits for Retry-After and 5xx back off with a random term over few attempts.
        """
import time, random, requests
def api_request_with_retry(method, url, max_retries=3, **kwargs):
    for attempt in range(max_retries):
        response = requests.request(method, url, **kwargs)
        if response.status_code == 200:
            return response.json()
        if response.status_code == 429:
            retry_after = int(response.headers.get('Retry-After', 5))
            time.sleep(retry_after)
            continue
        if response.status_code >= 500:
            time.sleep((2 ** attempt) + (random.random() * 0.5))
            continue
        raise RuntimeError(response.status_code)
""",
        # A single retry.
        """
import time, httpx
def fetch(client: httpx.Client, url):
    for attempt in range(2):
        try:
            return client.get(url).raise_for_status()
        except httpx.TransportError:
            time.sleep(1)
""",
        # Polling whose failures wait the same interval as "not done yet".
        """
import time, requests
def wait_done(session: requests.Session, status_url):
    for attempt in range(60):
        r = session.get(status_url)
        if r.status_code != 200:
            time.sleep(10)
            continue
        if r.json()["state"] == "done":
            return r.json()
        time.sleep(10)
""",
        # A single retry, tenacity style.
        """
import requests
from tenacity import retry, stop_after_attempt, wait_fixed
@retry(stop=stop_after_attempt(2), wait=wait_fixed(1))
def fetch(url):
    return requests.get(url, timeout=5).json()
""",
        # Fixed-interval polling: success waits too.
        """
import time, logging, requests
log = logging.getLogger(__name__)
def watch(session: requests.Session, job_url):
    while True:
        try:
            r = session.get(job_url, timeout=5)
            r.raise_for_status()
            if r.json()["state"] == "done":
                return r.json()
        except requests.RequestException:
            log.warning("poll failed")
        time.sleep(5)
""",
        # Polling with tenacity: the retry condition is the job state, not an error.
        """
import httpx
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed
@retry(retry=retry_if_result(lambda job: job["state"] != "done"), wait=wait_fixed(5), stop=stop_after_delay(600))
def wait_for(client: httpx.Client, job_url):
    return client.get(job_url).json()
""",
        # Jittered waits from tenacity, backoff (full jitter by default), stamina and aiohttp-retry.
        """
import backoff, requests, stamina
import tenacity as t
from aiohttp_retry import JitterRetry
@t.retry(wait=t.wait_fixed(1) + t.wait_random(0, 2), stop=t.stop_after_attempt(5))
def a(url):
    return requests.get(url).json()
@t.retry(wait=t.wait_random_exponential(multiplier=1, max=30), stop=t.stop_after_attempt(5))
def b(url):
    return requests.get(url).json()
@backoff.on_exception(backoff.expo, requests.ConnectionError, max_tries=5)
def c(url):
    return requests.get(url).json()
@stamina.retry(on=requests.ConnectionError, attempts=5)
def d(url):
    return requests.get(url).json()
options = JitterRetry(attempts=5, statuses={502, 503})
""",
        # urllib3 Retry with a backoff factor, one that retries once, and one that honours Retry-After only.
        """
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=5, backoff_factor=0.5, status_forcelist=[500, 502, 503])))
once = Retry(total=1, status_forcelist=[502])
limited = Retry(total=5, status_forcelist=[429, 503])
plain = HTTPAdapter(max_retries=3)
""",
        # A custom strategy that waits for Retry-After and falls back to a fixed wait.
        """
import urllib.error, urllib.request
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_fixed
from tenacity.wait import wait_base
class wait_for_retry_after_header(wait_base):
    def __init__(self, fallback):
        self.fallback = fallback
    def __call__(self, retry_state):
        error = retry_state.outcome.exception()
        if isinstance(error, urllib.error.HTTPError) and error.headers.get("Retry-After"):
            return float(error.headers["Retry-After"])
        return self.fallback(retry_state)
@retry(retry=retry_if_exception(lambda e: isinstance(e, urllib.error.URLError)),
       wait=wait_for_retry_after_header(fallback=wait_fixed(1)), stop=stop_after_attempt(5))
def fetch(url):
    with urllib.request.urlopen(url) as resp:
        return resp.read()
""",
        # A database retry in a module that also calls HTTP APIs.
        """
import requests
from tenacity import retry, stop_after_attempt, wait_exponential
@retry(wait=wait_exponential(multiplier=1, min=4, max=10), stop=stop_after_attempt(5))
def load(db, key):
    return db.execute("select value from cache where key = ?", (key,)).fetchone()
def fetch(url):
    return requests.get(url, timeout=5).json()
""",
        # A wait computed by a helper errlint cannot see.
        """
import asyncio, aiohttp
from myapp.retry import next_delay
async def fetch(session: aiohttp.ClientSession, url):
    for attempt in range(5):
        try:
            async with session.get(url) as resp:
                resp.raise_for_status()
                return await resp.json()
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(next_delay(attempt))
""",
    ]

    INVALID = [
        Invalid(
            """
import time, requests
def fetch(url):
    for attempt in range(5):
        try:
            r = requests.get(url, timeout=5)
            r.raise_for_status()
            return r.json()
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(2)  # flagged
""",
            message="`time.sleep(2)` waits the same 2 seconds before every retry, so clients that failed together retry together",
        ),
        Invalid(
            """
import asyncio, httpx
async def fetch(client: httpx.AsyncClient, url):
    for attempt in range(6):
        r = await client.get(url)
        if r.status_code >= 500:
            await asyncio.sleep(2 ** attempt)  # flagged
            continue
        return r
""",
            message="`asyncio.sleep(2 ** attempt)` grows the wait with no random term, so clients that failed together retry together",
        ),
        Invalid(
            """
import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential
@retry(
    retry=retry_if_exception_type(requests.ConnectionError),
    wait=wait_exponential(multiplier=1, min=2, max=30),  # flagged
    stop=stop_after_attempt(5),
)
def fetch(url):
    return requests.get(url, timeout=5).json()
""",
            message="`wait_exponential` waits the same growing delays in every client, so clients that failed together retry together",
            fixed="""
import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random_exponential
@retry(
    retry=retry_if_exception_type(requests.ConnectionError),
    wait=wait_random_exponential(multiplier=1, min=2, max=30),  # flagged
    stop=stop_after_attempt(5),
)
def fetch(url):
    return requests.get(url, timeout=5).json()
""",
        ),
        Invalid(
            """
import httpx
import tenacity as t
class Client:
    def __init__(self):
        self.http = httpx.AsyncClient()
    @t.retry(wait=t.wait_exponential(max=60), stop=t.stop_after_attempt(8), reraise=True)  # flagged
    async def get(self, url):
        r = await self.http.get(url)
        r.raise_for_status()
        return r.json()
""",
            fixed="""
import httpx
import tenacity as t
class Client:
    def __init__(self):
        self.http = httpx.AsyncClient()
    @t.retry(wait=t.wait_random_exponential(max=60), stop=t.stop_after_attempt(8), reraise=True)  # flagged
    async def get(self, url):
        r = await self.http.get(url)
        r.raise_for_status()
        return r.json()
""",
        ),
        Invalid(
            """
import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_fixed
async def fetch(session: aiohttp.ClientSession, url):
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(aiohttp.ClientConnectionError),
        wait=wait_fixed(3),  # flagged
        stop=stop_after_attempt(4),
    ):
        with attempt:
            async with session.get(url) as resp:
                return await resp.json()
""",
            message="`wait_fixed(3)` waits the same 3 seconds before every retry, so clients that failed together retry together",
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
def make_retry():
    return Retry(total=5, status_forcelist=[500, 502, 503, 504])  # flagged
class Api:
    def __init__(self):
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=make_retry())
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
""",
            message="`Retry` retries 500, 502 and 504 with `backoff_factor` 0, so every client retries at once",
        ),
        Invalid(
            """
import requests
from backoff import on_exception, expo
@on_exception(expo, requests.ConnectionError, max_tries=6, jitter=None)  # flagged
def fetch(url):
    return requests.get(url, timeout=5).json()
""",
            message="`jitter=None` turns off backoff's jitter, so clients that failed together retry together",
        ),
        Invalid(
            """
import requests
from retrying import retry
@retry(wait_fixed=2000, stop_max_attempt_number=5)  # flagged
def fetch(url):
    return requests.get(url, timeout=5).json()
"""
        ),
        Invalid(
            """
from aiohttp_retry import RetryClient, ExponentialRetry
async def main(url):
    options = ExponentialRetry(attempts=5, statuses={500, 502})  # flagged
    async with RetryClient(retry_options=options) as client:
        async with client.get(url) as resp:
            return await resp.json()
""",
            message="`ExponentialRetry` waits the same delays in every client, so clients that failed together retry together; use `JitterRetry`",
        ),
        Invalid(
            """
import time, requests
def fetch(session: requests.Session, url, retries=4):
    try:
        return session.get(url, timeout=5).json()
    except requests.ConnectionError:
        if not retries:
            raise
        time.sleep(1.5)  # flagged
        return fetch(session, url, retries - 1)
"""
        ),
        Invalid(
            """
import time, random, requests
def fetch(url):
    for attempt in range(20):
        r = requests.get(url, timeout=5)
        if r.status_code < 500:
            return r
        time.sleep(2 ** attempt + random.random())  # flagged
"""
        ),
        Invalid(
            """
import asyncio, aiohttp
class Client:
    def __init__(self):
        self.session = aiohttp.ClientSession()
    async def get(self, url):
        delay = 0.5
        for attempt in range(6):
            try:
                async with self.session.get(url) as resp:
                    resp.raise_for_status()
                    return await resp.json()
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(delay)  # flagged
            delay *= 2
"""
        ),
        Invalid(
            """
import httpx, stamina
@stamina.retry(on=httpx.TransportError, attempts=5, wait_jitter=0)  # flagged
def fetch(url):
    return httpx.get(url).json()
"""
        ),
    ]

    def check(self) -> Iterator[Report]:
        self._import_aliases: dict[str, cst.ImportAlias | None] = {}
        if not (self.model.http_libraries_imported or self.model.imports_any(_SDK_MODULES)):
            return
        reported: set[cst.CSTNode] = set()
        for scope in self.model.retry_scopes:
            if scope.kind in ("loop", "recursion"):
                yield from self._hand_written(scope, reported)
        for call in self.model.calls:
            name = self.model.callee(call) or ""
            if name not in _CONFIGS or not self._retries_requests(call):
                continue
            if name in lib.TENACITY_CONFIGS:
                yield from self._tenacity(call, reported)
            elif name in ("backoff.on_exception", "backoff.on_predicate"):
                yield from self._backoff(call)
            elif name in ("retrying.retry", "retrying.Retrying"):
                yield from self._retrying(call)
            elif name in _STAMINA_CONFIGS:
                yield from self._stamina(call)
            elif name in lib.AIOHTTP_RETRY_DETERMINISTIC:
                yield from self._aiohttp_retry(call)
            elif name == lib.URLLIB3_RETRY:
                yield from self._urllib3(call)

    # --- hand-written loops and recursion ---------------------------------------

    def _hand_written(self, scope: RetryScope, reported: set[cst.CSTNode]) -> Iterator[Report]:
        attempts = self._loop_attempts(scope)
        if attempts is not None and attempts <= 2:
            return  # a single retry cannot collide with itself
        polling = None
        for path in scope.paths:
            if not _error_path(path):
                continue
            if not singles_out_errors(path):
                polling = goes_round_on_success(self.model, scope) if polling is None else polling
                if polling or waits_for_readiness(self.model, scope):
                    continue  # fixed-interval polling: failures wait the poll interval
            for sleep in path_sleeps(self.model, scope, path):
                if sleep in reported or not sleep.args:
                    continue
                message = self._sleep_message(sleep, attempts)
                if message is not None:
                    reported.add(sleep)
                    yield self.report(sleep, message)

    def _sleep_message(self, sleep: cst.Call, attempts: float | None) -> str | None:
        shape = wait_shape(self.model, sleep.args[0].value)
        text = f"`{_short(self.model.code(sleep))}`"
        if shape.kind == "constant" and shape.seconds:
            return (
                f"{text} waits the same {_seconds(shape.seconds)} before every retry, "
                "so clients that failed together retry together"
            )
        if shape.kind == "exponential" and not shape.random:
            return f"{text} grows the wait with no random term, so clients that failed together retry together"
        if shape.kind == "exponential" and not shape.capped and attempts is not None and attempts > _UNCAPPED_ATTEMPTS:
            count = "an unbounded number of" if math.isinf(attempts) else f"{attempts:g}"
            return f"{text} grows with no cap over {count} attempts; bound it with `min(...)`"
        return None

    def _loop_attempts(self, scope: RetryScope) -> float | None:
        loop = scope.node
        if scope.kind != "loop" or not isinstance(loop, cst.For) or not isinstance(loop.iter, cst.Call):
            return None
        iterator = loop.iter
        if isinstance(iterator.func, cst.Name) and iterator.func.value == "range":
            value = self.model.const_value(iterator)
            return float(len(value)) if isinstance(value, range) else None
        if self.model.callee(iterator) == "itertools.count":
            return math.inf
        return None

    # --- retry libraries ---------------------------------------------------------

    def _retries_requests(self, call: cst.Call) -> bool:
        """A decorator or `for ... in Retrying(...)` around code that sends requests (not a database retry)."""
        parent = self.model.parent(call)
        if isinstance(parent, cst.Decorator):
            container: cst.CSTNode | None = self.model.parent(parent)
        elif isinstance(parent, (cst.For,)) and parent.iter is call:
            container = parent.body
        else:
            return True  # a configuration bound to a name, in a module that imports an HTTP library
        assert container is not None
        return bool(self.model.http_calls_in(container) or self.model.self_retrying_calls_in(container))

    def _library_retries_errors(self, call: cst.Call, library: str) -> bool:
        paths = library_paths(self.model, RetryScope("decorator", library, call, call, []))
        return any(_error_path(path) for path in paths)

    def _tenacity(self, call: cst.Call, reported: set[cst.CSTNode]) -> Iterator[Report]:
        wait = keyword_value(call, "wait")
        if wait is None or not self._library_retries_errors(call, "tenacity"):
            return
        stop = keyword_value(call, "stop")
        if stop is not None and self._fewest(stop, "tenacity.stop_after_attempt") <= 2:
            return
        wait = self.model.resolve(wait)
        waits = [node for node in self.model.subtree(wait) if isinstance(node, cst.Call)]
        if any(self.model.callee(node) in lib.TENACITY_RANDOM_WAITS for node in waits):
            return
        if not self._only_tenacity_waits(wait):
            return  # a custom strategy (often "Retry-After, else this fallback") decides the wait
        for node in waits:
            name = self.model.callee(node)
            if node in reported or name not in ("tenacity.wait_exponential", "tenacity.wait_fixed"):
                continue
            reported.add(node)
            if name == "tenacity.wait_fixed":
                argument = next(iter(positional_args(node)), None) or keyword_value(node, "wait")
                shape = wait_shape(self.model, argument) if argument is not None else None
                seconds = shape.seconds if shape is not None and shape.kind == "constant" else None
                if seconds == 0:
                    continue
                same = "the same time" if seconds is None else f"the same {_seconds(seconds)}"
                yield self.report(
                    node,
                    f"`{_short(self.model.code(node))}` waits {same} before every retry, "
                    "so clients that failed together retry together",
                )
            else:
                yield self.report(
                    node,
                    "`wait_exponential` waits the same growing delays in every client, "
                    "so clients that failed together retry together",
                    self._random_exponential_fix(node),
                )
            return  # one finding per `wait=`

    def _only_tenacity_waits(self, wait: cst.BaseExpression) -> bool:
        for node in self.model.subtree(wait):
            if isinstance(node, cst.Lambda):
                return False
            if isinstance(node, cst.Call) and not (self.model.callee(node) or "").startswith("tenacity."):
                return False
            if isinstance(node, cst.Name) and self.model.function_named(node.value) is not None:
                return False
        return True

    def _backoff(self, call: cst.Call) -> Iterator[Report]:
        jitter = keyword_arg(call, "jitter")
        if jitter is None or self.model.const_value(jitter.value) is not None:
            return
        wait = keyword_value(call, "wait_gen") or next(iter(positional_args(call)), None)
        if wait is None or self.model.qualname(wait) not in lib.BACKOFF_DETERMINISTIC_WAITS:
            return  # `backoff.runtime` with `jitter=None` honours the server's wait
        if self._keyword_number(call, "max_tries") <= 2 or not self._library_retries_errors(call, "backoff"):
            return
        yield self.report(
            jitter, "`jitter=None` turns off backoff's jitter, so clients that failed together retry together"
        )

    def _retrying(self, call: cst.Call) -> Iterator[Report]:
        if any(keyword_arg(call, name) for name in _RETRYING_RANDOM):
            return
        if self._keyword_number(call, "stop_max_attempt_number") <= 2:
            return
        for name in ("wait_fixed", "wait_exponential_multiplier", "wait_incrementing_start"):
            argument = keyword_arg(call, name)
            if argument is None or not self._library_retries_errors(call, "retrying"):
                continue
            yield self.report(
                argument,
                f"`{_short(self.model.code(argument).rstrip(', '))}` has no random term, so clients that failed "
                "together retry together; add `wait_jitter_max`",
            )
            return

    def _stamina(self, call: cst.Call) -> Iterator[Report]:
        jitter = keyword_arg(call, "wait_jitter")
        if jitter is None or not self._zero(jitter.value):
            return
        if self._keyword_number(call, "attempts") <= 2:
            return
        yield self.report(
            jitter, "`wait_jitter=0` turns off stamina's jitter, so clients that failed together retry together"
        )

    def _aiohttp_retry(self, call: cst.Call) -> Iterator[Report]:
        if self._keyword_number(call, "attempts") <= 2:
            return
        name = self.model.code(call.func).rsplit(".", 1)[-1]
        yield self.report(
            call.func,
            f"`{name}` waits the same delays in every client, so clients that failed together retry together; "
            "use `JitterRetry`",
        )

    def _urllib3(self, call: cst.Call) -> Iterator[Report]:
        if any(arg.star for arg in call.args):
            return  # configured through `*args`/`**kwargs` errlint cannot read
        statuses = self.model.int_set(keyword_value(call, "status_forcelist")) or frozenset()
        # Without `Retry-After` urllib3 retries these at once too, but ERR104 owns 429/503 waits.
        immediate = statuses - lib.URLLIB3_RETRY_AFTER_STATUSES
        if not immediate:
            return
        factor = keyword_arg(call, "backoff_factor")
        if factor is not None and not self._zero(factor.value):
            return
        jitter = keyword_value(call, "backoff_jitter")
        if jitter is not None and not self._zero(jitter):
            return
        total = keyword_value(call, "total") or next(iter(positional_args(call)), None)
        for budget in (total, keyword_value(call, "status")):
            value = self.model.const_value(budget) if budget is not None else None
            if value is False or (isinstance(value, int) and value <= 1):
                return
        yield self.report(
            factor if factor is not None else call.func,
            f"`Retry` retries {describe(immediate)} with `backoff_factor` 0, so every client retries at once",
        )

    # --- helpers -------------------------------------------------------------------

    def _zero(self, expr: cst.BaseExpression) -> bool:
        shape = wait_shape(self.model, expr)
        return shape.kind == "constant" and shape.seconds == 0

    def _keyword_number(self, call: cst.Call, name: str) -> float:
        value = self.model.const_value(keyword_value(call, name))
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else math.inf

    def _fewest(self, expr: cst.BaseExpression, stop_name: str) -> float:
        """The smallest attempt count among `stop_after_attempt(N)` in a stop expression."""
        fewest = math.inf
        for node in self.model.subtree(self.model.resolve(expr)):
            if isinstance(node, cst.Call) and self.model.callee(node) == stop_name and node.args:
                value = self.model.const_value(node.args[0].value)
                if isinstance(value, int):
                    fewest = min(fewest, value)
        return fewest

    def _random_exponential_fix(self, call: cst.Call) -> Fix | None:
        func = call.func
        title = f"Use `{_RANDOM_EXPONENTIAL}`"
        if isinstance(func, cst.Attribute):
            return self.fix(title, Applicability.UNSAFE, self.replace(func.attr, _RANDOM_EXPONENTIAL))
        if not isinstance(func, cst.Name):
            return None
        edits = [self.replace(func, _RANDOM_EXPONENTIAL)]
        bound = self.model.imports.get(_RANDOM_EXPONENTIAL)
        if bound is not None:
            if lib.canonical(bound) != f"tenacity.{_RANDOM_EXPONENTIAL}":
                return None  # the name means something else here
        else:
            alias = self._import_alias(func.value)
            if alias is None:
                return None
            end = self.model.range_of(alias)[1]
            edits.append(Edit(end, end, f", {_RANDOM_EXPONENTIAL}"))
        return self.fix(title, Applicability.UNSAFE, *edits)

    def _import_alias(self, local: str) -> cst.ImportAlias | None:
        """The `from tenacity import wait_exponential [as local]` alias that binds `local`."""
        # Asked once per flagged `wait=`, mostly about the same name: look it up once.
        if local not in self._import_aliases:
            self._import_aliases[local] = self._find_import_alias(local)
        return self._import_aliases[local]

    def _find_import_alias(self, local: str) -> cst.ImportAlias | None:
        found: list[cst.ImportAlias] = []
        model = self.model

        for node in self.model.module.body:
            node = node.body[0] if isinstance(node, cst.SimpleStatementLine) and node.body else node
            if not isinstance(node, cst.ImportFrom):
                continue
            if node.module is None or node.relative or isinstance(node.names, cst.ImportStar):
                continue
            if lib.canonical(model.code(node.module)) != "tenacity":
                continue
            for alias in node.names:
                bound = alias.asname.name if alias.asname is not None else alias.name
                if isinstance(bound, cst.Name) and bound.value == local:
                    found.append(alias)
        return found[0] if len(found) == 1 else None


def _error_path(path: RetryPath) -> bool:
    """The path retries an error (an exception or a 4xx/5xx), and not only 429/503 (ERR104's waits)."""
    errors = frozenset(status for status in path.statuses | path.gated_statuses if status >= 400)
    if errors:
        return not errors <= lib.RETRY_AFTER_STATUSES
    return path.on_exception


def _seconds(value: float) -> str:
    return f"{value:g} second{'' if value == 1 else 's'}"


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


