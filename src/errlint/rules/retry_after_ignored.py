"""ERR104: a 429 or 503 retried on the client's own schedule, ignoring the server's hint."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import Applicability, FixAvailability
from errlint.linter.model import (
    dotted_name,
    keyword_arg,
    keyword_value,
    positional_args,
)
from errlint.linter.rule import Invalid, Report, Rule
from errlint.linter.scopes import (
    RetryPath,
    RetryScope,
    goes_round_on_success,
    path_calls,
    path_sleeps,
    reads_retry_hint,
    singles_out_errors,
    wait_shape,
)
from errlint.linter.status import describe, status_condition_past_guards

_LOGGING = frozenset({"print", "debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


class RetryAfterIgnored(Rule):
    """
    ## What it does
    Flags retries of 429 and 503 that never read the server's hint (`Retry-After` and the like). Flags retries of 429 and 503 that wait on the client's own schedule (a
    fixed sleep, a library backoff) and never read the server's hint
    (`Retry-After`, `retry-after-ms`, `X-RateLimit-Reset`, a body
    `retry_after`); urllib3 `Retry(respect_retry_after_header=False)` on a
    `Retry` that retries 429 or 503; and `backoff.runtime` waits left to
    backoff's default full jitter, which shortens them.

    ## Why is this bad?
    A 429 or 503 says when capacity returns. Retrying sooner fails again and
    keeps the client throttled, or gets its key blocked; retrying later wastes
    time. API docs are explicit: "Retry `429` only after the advertised retry
    window", "Retry 429 with backoff and honor Retry-After". backoff applies
    `full_jitter` to every wait unless `jitter=None`, so a `backoff.runtime`
    wait of 30 s becomes a random wait between 0 and 30 s.

    Not flagged: retries done by SDKs that honour hints themselves (openai,
    anthropic, stripe, botocore clients); polling loops that do not react to
    429; a 429 answered by switching keys or hosts without waiting; urllib3
    `Retry` with the default `respect_retry_after_header=True`, which sleeps
    for `Retry-After` before its own backoff; waits computed by code errlint
    cannot see, and paths that hand the response headers to such code. A
    hint read anywhere in the retry scope counts as read.

    ## Example
    ```python
    for attempt in range(5):
        r = session.get(url)
        if r.status_code == 429:
            time.sleep(5)
            continue
        return r
    ```

    ## Use instead
    ```python
    for attempt in range(5):
        r = session.get(url)
        if r.status_code == 429:
            time.sleep(retry_after_seconds(r.headers.get("Retry-After"), default=2 ** attempt))
            continue
        return r
    ```

    ## Fix safety
    Removing `respect_retry_after_header=False` is offered as an unsafe fix:
    urllib3 then sleeps as long as the server asks (bounded by
    `retry_after_max`, six hours by default, in recent urllib3 2 releases)
    and also retries 413, 429 and 503 responses that carry `Retry-After` even
    when they are not in `status_forcelist`. That is the intended behaviour,
    but it changes how long calls can block: code that turned the header off
    to avoid hour-long waits should set `retry_after_max` instead. Other
    findings have no automatic fix.

    ## References
    - Katalo errors (https://docs.katalo.ai/docs/api/errors): "Retry `429` only after the advertised
      retry window."
    - GitHub REST API rate limits
      (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api): with `retry-after`,
      "you should not retry your request until after that many seconds has elapsed".
    - RFC 6585 §4 (https://www.rfc-editor.org/rfc/rfc6585#section-4): a 429 "MAY include a Retry-After header
      indicating how long to wait before making a new request".
    - Library fact (RULES.md): urllib3 `respect_retry_after_header` defaults to True; "backoff's default full
      jitter shortens a `backoff.runtime` wait unless `jitter=None`".
    - RFC 9110 §10.2.3 (`Retry-After`).
    """

    code = "ERR104"
    name = "retry-after-ignored"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # A loop where 429 waits for Retry-After (the hint is read in the scope).
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
        # urllib3 Retry with the default respect_retry_after_header honours the header.
        """
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
session = requests.Session()
retry = Retry(total=5, backoff_factor=1, status_forcelist=[429, 503])
session.mount("https://", HTTPAdapter(max_retries=retry))
""",
        # Retries managed by an SDK that honours hints.
        """
import time
import openai
client = openai.OpenAI()
def complete(prompt):
    for attempt in range(3):
        try:
            return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])
        except openai.RateLimitError:
            time.sleep(10)
""",
        # Fixed-cadence job polling that does not react to 429.
        """
import time, httpx
def wait_for_job(client: httpx.Client, job_url):
    while True:
        r = client.get(job_url)
        r.raise_for_status()
        if r.json()["state"] in ("done", "failed"):
            return r.json()
        time.sleep(5)
""",
        # backoff.runtime with jitter=None waits exactly what the server asked.
        """
import backoff, requests
@backoff.on_predicate(
    backoff.runtime,
    predicate=lambda r: r.status_code == 429,
    value=lambda r: int(r.headers.get("Retry-After", 1)),
    jitter=None,
    max_tries=5,
)
def fetch(url):
    return requests.get(url, timeout=5)
""",
        # tenacity with a wait callback that reads the header.
        """
import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

def wait_from_header(state):
    error = state.outcome.exception()
    header = error.response.headers.get("retry-after") if error is not None else None
    return float(header) if header else wait_exponential(max=30)(state)

@retry(
    retry=retry_if_exception(lambda e: isinstance(e, httpx.HTTPStatusError) and e.response.status_code == 429),
    wait=wait_from_header,
    stop=stop_after_attempt(5),
)
def fetch(url):
    r = httpx.get(url)
    r.raise_for_status()
    return r
""",
        # The body's `retry_after` field, read through a same-class helper.
        """
import asyncio, aiohttp
class Client:
    def __init__(self):
        self.session = aiohttp.ClientSession()
    async def _delay(self, resp):
        body = await resp.json()
        return min(float(body["error"]["retry_after"] or 1), 60)
    async def get(self, url):
        for attempt in range(5):
            async with self.session.get(url) as resp:
                if resp.status == 429:
                    await asyncio.sleep(await self._delay(resp))
                    continue
                resp.raise_for_status()
                return await resp.json()
""",
        # X-RateLimit-Reset through a module constant.
        """
import time, requests
RESET = "X-RateLimit-Reset"
def fetch(session: requests.Session, url):
    for attempt in range(4):
        r = session.get(url)
        if r.status_code == 429:
            reset = float(r.headers.get(RESET, time.time() + 1))
            time.sleep(min(max(reset - time.time(), 0), 60))
            continue
        return r
""",
        # respect_retry_after_header=False on a Retry that never retries 429/503 by status, or never retries.
        """
from urllib3 import Retry
retry = Retry(total=3, connect=3, backoff_factor=1, respect_retry_after_header=False)
no_retry = Retry(total=0, status_forcelist=[429], respect_retry_after_header=False)
""",
        # Fixed-cadence polling: "not done yet" and failures wait the same interval.
        """
import time, requests
def wait_done(session: requests.Session, status_url):
    while True:
        r = session.get(status_url)
        if r.status_code == 200 and r.json()["done"]:
            return r.json()
        time.sleep(10)
""",
        # Switching to another API key on 429 does not wait at all.
        """
import requests
def fetch(url, keys):
    for attempt, key in enumerate(keys):
        r = requests.get(url, headers={"Authorization": f"Bearer {key}"})
        if r.status_code == 429:
            continue
        return r
""",
    ]

    INVALID = [
        Invalid(
            """
from urllib3.util.retry import Retry
retry = Retry(total=5, backoff_factor=1, status_forcelist=[429, 500, 503], respect_retry_after_header=False)  # flagged
""",
            message="`respect_retry_after_header=False` makes `Retry` ignore the server's `Retry-After` when it retries 429 and 503",
            fixed="""
from urllib3.util.retry import Retry
retry = Retry(total=5, backoff_factor=1, status_forcelist=[429, 500, 503])  # flagged
""",
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
def build_retry():
    return Retry(
        total=3,
        status_forcelist=(429,),
        respect_retry_after_header=False,  # flagged
    )
class Api:
    def __init__(self):
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=build_retry())
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
""",
            fixed="""
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
def build_retry():
    return Retry(
        total=3,
        status_forcelist=(429,),  # flagged
    )
class Api:
    def __init__(self):
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=build_retry())
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
""",
        ),
        Invalid(
            """
import time, requests
def fetch(url):
    for attempt in range(5):
        r = requests.get(url, timeout=10)
        if r.status_code == 429:
            time.sleep(5)  # flagged
            continue
        r.raise_for_status()
        return r.json()
""",
            message="`time.sleep(5)` waits a fixed 5 seconds after 429 and never reads the server's `Retry-After`",
        ),
        Invalid(
            """
import asyncio, httpx
class Client:
    def __init__(self):
        self.http = httpx.AsyncClient()
    async def get(self, url):
        delay = 1
        for attempt in range(6):
            r = await self.http.get(url)
            if r.status_code in (429, 503):
                await asyncio.sleep(delay)  # flagged
                delay *= 2
                continue
            return r
"""
        ),
        Invalid(
            """
import backoff, requests
from backoff import on_predicate
@on_predicate(
    backoff.runtime,  # flagged
    predicate=lambda r: r.status_code == 429,
    value=lambda r: int(r.headers.get("Retry-After", 1)),
    max_tries=5,
)
def fetch(url):
    return requests.get(url, timeout=5)
""",
            message="`backoff.runtime` waits are cut short by backoff's default full jitter; pass `jitter=None` to wait what the server asked",
        ),
        Invalid(
            """
import httpx
import tenacity as t
@t.retry(
    retry=t.retry_if_result(lambda r: r.status_code in (429, 503)),
    wait=t.wait_exponential(multiplier=1, max=60),  # flagged
    stop=t.stop_after_attempt(5),
)
async def fetch(client: httpx.AsyncClient, url):
    return await client.get(url)
""",
            message="`t.wait_exponential(multiplier=1, max=60)` decides the wait after 429 and 503 and never reads the server's `Retry-After`",
        ),
        Invalid(
            """
import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_fixed
def is_rate_limited(error):
    return isinstance(error, requests.HTTPError) and error.response.status_code == 429
def fetch(url):
    for attempt in Retrying(
        retry=retry_if_exception(is_rate_limited),
        wait=wait_fixed(2),  # flagged
        stop=stop_after_attempt(4),
    ):
        with attempt:
            r = requests.get(url)
            r.raise_for_status()
            return r.json()
"""
        ),
        Invalid(
            """
import backoff, httpx
@backoff.on_predicate(backoff.expo, lambda r: r.status_code == 429, max_tries=6)  # flagged
def fetch(url):
    return httpx.get(url)
"""
        ),
        Invalid(
            """
from retrying import retry
import requests
@retry(retry_on_result=lambda r: r.status_code == 503, wait_exponential_multiplier=1000, stop_max_attempt_number=5)  # flagged
def fetch(url):
    return requests.get(url)
"""
        ),
        Invalid(
            """
import time, requests
def fetch(session: requests.Session, url, retries=3):
    try:
        r = session.get(url)
        r.raise_for_status()
        return r
    except requests.HTTPError as e:
        if e.response.status_code == 429 and retries:
            time.sleep(30)  # flagged
            return fetch(session, url, retries - 1)
        raise
"""
        ),
        Invalid(
            """
import asyncio, random, aiohttp
async def fetch(session: aiohttp.ClientSession, url):
    for attempt in range(5):
        async with session.get(url) as resp:
            if resp.status == 503:
                await asyncio.sleep(random.uniform(0, 2 ** attempt))  # flagged
                continue
            resp.raise_for_status()
            return await resp.json()
""",
            message="`asyncio.sleep(random.uniform(0, 2 ** attempt))` picks its own delay after 503 and never reads the server's `Retry-After`",
        ),
        Invalid(
            """
from aiohttp_retry import RetryClient, JitterRetry
retry_options = JitterRetry(attempts=5, statuses={429, 503}, retry_all_server_errors=False)  # flagged
client = RetryClient(retry_options=retry_options)
""",
            message="`JitterRetry` retries 429 and 503 on its own schedule and never reads the server's `Retry-After`",
        ),
    ]

    def check(self) -> Iterator[Report]:
        hinted = lib.RETRY_AFTER_STATUSES
        for config in self.model.retry_configs:
            if self.model.callee(config) == lib.URLLIB3_RETRY:
                yield from self._urllib3(config)
            else:
                yield from self._aiohttp_retry(config, hinted)
        for call in self.model.calls:
            if self.model.callee(call) in ("backoff.on_exception", "backoff.on_predicate"):
                yield from self._backoff_runtime(call)
        reported: set[cst.CSTNode] = set()
        for scope in self.model.retry_scopes:
            if scope.kind in ("mounted", "client") or not scope.http_calls:
                continue  # configured clients are handled above; no visible HTTP call: SDK-managed
            for path in scope.paths:
                statuses = self._retried(path) & hinted
                if not statuses:
                    continue
                if scope.kind in ("loop", "recursion"):
                    found = self._hand_wait(scope, path, statuses)
                else:
                    found = self._library_wait(scope, statuses)
                if found is not None and found.node not in reported:
                    reported.add(found.node)
                    yield found

    # --- configuration calls ---------------------------------------------------

    def _urllib3(self, config: cst.Call) -> Iterator[Report]:
        argument = keyword_arg(config, "respect_retry_after_header")
        if argument is None or self.model.const_value(argument.value) is not False:
            return
        forcelist = keyword_value(config, "status_forcelist")
        statuses = (self.model.int_set(forcelist) or frozenset()) & lib.URLLIB3_RETRY_AFTER_STATUSES
        if not statuses:
            return
        total = keyword_value(config, "total") or next(iter(positional_args(config)), None)
        for budget in (total, keyword_value(config, "status")):
            if budget is not None and self.model.const_value(budget) in (0, False):
                return  # no status retries at all: nothing waits
        yield self.report(
            argument,
            "`respect_retry_after_header=False` makes `Retry` ignore the server's `Retry-After` "
            f"when it retries {describe(statuses)}",
            self.fix(
                "Remove `respect_retry_after_header=False`",
                Applicability.UNSAFE,
                self.delete_argument(config, argument),
            ),
        )

    def _aiohttp_retry(self, config: cst.Call, hinted: frozenset[int]) -> Iterator[Report]:
        argument = keyword_arg(config, "statuses")
        statuses = (self.model.int_set(argument.value) if argument is not None else None) or frozenset()
        if argument is None or not statuses & hinted:
            return
        name = self.model.code(config.func).rsplit(".", 1)[-1]
        yield self.report(
            argument,
            f"`{name}` retries {describe(statuses & hinted)} on its own schedule "
            "and never reads the server's `Retry-After`",
        )

    def _backoff_runtime(self, call: cst.Call) -> Iterator[Report]:
        wait = keyword_value(call, "wait_gen") or next(iter(positional_args(call)), None)
        if wait is None or self.model.qualname(wait) != lib.BACKOFF_RUNTIME:
            return
        jitter = keyword_arg(call, "jitter")
        if jitter is None:
            yield self.report(
                wait,
                "`backoff.runtime` waits are cut short by backoff's default full jitter; "
                "pass `jitter=None` to wait what the server asked",
            )
        elif self.model.qualname(jitter.value) == lib.BACKOFF_FULL_JITTER:
            yield self.report(
                jitter,
                "`jitter=backoff.full_jitter` cuts `backoff.runtime` waits short; "
                "pass `jitter=None` to wait what the server asked",
            )

    # --- retry scopes ------------------------------------------------------------

    def _retried(self, path: RetryPath) -> frozenset[int]:
        if path.statuses:
            return path.statuses
        decision = path.decision
        test = decision.test if isinstance(decision, (cst.If, cst.While)) else decision
        if path.status_filtered and isinstance(test, cst.BaseExpression):
            # `isinstance(e, HTTPStatusError) and e.response.status_code == 429`, `== 429 and retries`.
            condition = status_condition_past_guards(self.model, test)
            if condition is not None:
                return condition.certain & path.gated_statuses if path.gated_statuses else condition.certain
        return frozenset()

    def _hand_wait(self, scope: RetryScope, path: RetryPath, statuses: frozenset[int]) -> Report | None:
        if not singles_out_errors(path) and goes_round_on_success(self.model, scope):
            return None  # a poll whose cadence also covers failures, not a reaction to 429
        sleeps = path_sleeps(self.model, scope, path)
        if not sleeps:
            return None  # no wait at all: switching keys or hosts, not ignoring a hint
        shapes = [wait_shape(self.model, call.args[0].value) if call.args else None for call in sleeps]
        if any(shape is None or shape.kind in ("hint", "opaque") for shape in shapes):
            return None
        if reads_retry_hint(self.model, scope.node) or self._hands_headers_off(path):
            return None
        sleep, shape = sleeps[0], shapes[0]
        assert shape is not None
        if shape.kind == "constant" and shape.seconds is not None:
            how = f"waits a fixed {shape.seconds:g} second{'' if shape.seconds == 1 else 's'}"
        else:
            how = "picks its own delay"
        return self.report(
            sleep,
            f"`{_short(self.model.code(sleep))}` {how} after {describe(statuses)} "
            "and never reads the server's `Retry-After`",
        )

    def _hands_headers_off(self, path: RetryPath) -> bool:
        """The path passes response headers to code errlint cannot see (`limiter.update(r.headers)`)."""
        for call in path_calls(self.model, path):
            name = (self.model.callee(call) or dotted_name(call.func) or "").rsplit(".", 1)[-1]
            if name in _LOGGING or self.model.called_function(call) is not None:
                continue
            for arg in call.args:
                value = arg.value
                if isinstance(value, cst.Attribute) and value.attr.value == "headers":
                    return True
        return False

    def _library_wait(self, scope: RetryScope, statuses: frozenset[int]) -> Report | None:
        config = scope.config
        if config is None:
            return None
        wait: cst.BaseExpression | None = None
        if scope.library == "tenacity":
            wait = keyword_value(config, "wait")
            if wait is not None and not self._tenacity_builtin(wait):
                return None
        elif scope.library == "backoff":
            wait = keyword_value(config, "wait_gen") or next(iter(positional_args(config)), None)
            if wait is None or self.model.qualname(wait) not in lib.BACKOFF_DETERMINISTIC_WAITS:
                return None
        elif scope.library == "retrying":
            if keyword_value(config, "wait_func") is not None:
                return None
        elif scope.library != "stamina":
            return None
        if reads_retry_hint(self.model, scope.node, config):
            return None
        if wait is not None:
            return self.report(
                wait,
                f"`{_short(self.model.code(wait))}` decides the wait after {describe(statuses)} "
                "and never reads the server's `Retry-After`",
            )
        name = _short(self.model.code(config.func))
        return self.report(
            config.func,
            f"`{'@' if scope.kind == 'decorator' else ''}{name}` retries {describe(statuses)} on its own schedule "
            "and never reads the server's `Retry-After`",
        )

    def _tenacity_builtin(self, wait: cst.BaseExpression) -> bool:
        """Is the `wait=` value made only of tenacity's own strategies (no callback that could read a hint)?"""
        wait = self.model.resolve(wait)
        calls = 0
        for node in self.model.subtree(wait):
            if isinstance(node, cst.Lambda):
                return False
            if isinstance(node, cst.Call):
                calls += 1
                if not (self.model.callee(node) or "").startswith("tenacity.wait"):
                    return False
        return calls > 0


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


