"""ERR107: retrying 501, 505 or 511, which no retry can fix."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import Applicability, Fix, FixAvailability
from errlint.linter.model import keyword_arg, positional_args
from errlint.linter.rule import Invalid, Report, Rule, Valid
from errlint.linter.scopes import (
    RetryPath,
    RetryScope,
    consults_server_retry_decision,
    is_sleep,
)
from errlint.linter.status import describe, status_condition_past_guards

_TRANSIENT = "(500, 502, 503, 504)"
_FIXABLE_RANGES = ((500, 600), (500, 599))
_FLOW = (cst.Continue, cst.Break, cst.Return, cst.Raise)
_SERVER_ERRORS = frozenset(range(500, 600))


class RetryNonTransient5xx(Rule):
    """
    ## What it does
    Flags retries of 501, 505 and 511 through catch-all server-error conditions. Shapes: `range(500, 600)` in `status_forcelist` or a status test,
    `status >= 500`, `status // 100 == 5`, and aiohttp-retry options, whose
    `retry_all_server_errors=True` default retries every 5xx.

    ## Why is this bad?
    Not every 5xx is a passing failure. 501 Not Implemented says the server
    does not support the method, 505 HTTP Version Not Supported rejects the
    protocol version, and 511 Network Authentication Required comes from a
    captive portal: each is returned again on every attempt, so retrying only
    delays the real error and spends rate-limit budget. API docs ask for
    retries of "retryable `5xx` failures", not of every 5xx.

    `>= 500` is not flagged when the server's own verdict (`x-should-retry`)
    is read first, nor when the classification only picks a log message. A
    status listed in `retryable-statuses` is the user's call.

    ## Example
    ```python
    retry = Retry(total=5, backoff_factor=1, status_forcelist=range(500, 600))
    ```

    ## Use instead
    ```python
    retry = Retry(total=5, backoff_factor=1, status_forcelist=(500, 502, 503, 504))
    ```

    ## Fix safety
    Replacing a literal `range(500, 600)` with `(500, 502, 503, 504)` is
    offered as a safe fix, following the rule catalog: it keeps every status
    with a standard transient meaning and drops 501, 505, 511 and the
    unassigned and vendor codes. Users who rely on a vendor 5xx (a CDN's 520-524)
    should add it back to the tuple. Other shapes (`>= 500`, `// 100 == 5`,
    aiohttp-retry defaults) have no automatic fix.

    ## References
    - Katalo errors (https://docs.katalo.ai/docs/api/errors): "Retry retryable `5xx` failures with backoff."
    - RFC 9110 §15.6.4 (https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4): a 503 is a "temporary
      overload or scheduled maintenance, which will likely be alleviated after some delay".
    - Library fact (RULES.md): "aiohttp-retry's default retries every 5xx for every method".
    - RFC 9110 §15.6.2 (501), §15.6.6 (505); RFC 6585 §6 (511).
    """

    code = "ERR107"
    name = "retry-non-transient-5xx"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # The transient server errors, listed.
        """
from urllib3.util.retry import Retry
retry = Retry(total=5, backoff_factor=1, status_forcelist=(500, 502, 503, 504))
""",
        # `>= 500` after the server's own `x-should-retry` verdict was read.
        """
import time, random, httpx
def send(client: httpx.Client, url):
    for attempt in range(4):
        r = client.get(url)
        verdict = r.headers.get("x-should-retry")
        if verdict == "false":
            r.raise_for_status()
        if verdict == "true" or r.status_code >= 500:
            time.sleep(random.uniform(0, 2 ** attempt))
            continue
        r.raise_for_status()
        return r.json()
""",
        # Classification used only to pick a log message.
        """
import logging, requests
log = logging.getLogger(__name__)
def fetch(url):
    for attempt in range(3):
        try:
            r = requests.get(url, timeout=5)
            r.raise_for_status()
            return r.json()
        except requests.HTTPError as e:
            if e.response.status_code >= 500:
                log.warning("server error %s", e.response.status_code)
            raise
""",
        # aiohttp-retry with the catch-all turned off.
        """
from aiohttp_retry import RetryClient, ExponentialRetry
options = ExponentialRetry(attempts=3, statuses={500, 502, 503, 504}, retry_all_server_errors=False)
client = RetryClient(retry_options=options)
""",
        # tenacity on the transient statuses only.
        """
import httpx
import tenacity as t
@t.retry(
    retry=t.retry_if_exception(lambda e: isinstance(e, httpx.HTTPStatusError) and e.response.status_code in (502, 503, 504)),
    wait=t.wait_random_exponential(max=30),
    stop=t.stop_after_attempt(4),
)
async def fetch(client: httpx.AsyncClient, url):
    r = await client.get(url)
    r.raise_for_status()
    return r.json()
""",
        # `>= 500` as a giveup test: 5xx are the ones NOT given up on, but only 4xx are listed.
        """
import backoff, requests
@backoff.on_exception(backoff.expo, requests.HTTPError, max_tries=5,
                      giveup=lambda e: 400 <= e.response.status_code < 500)
def fetch(url):
    r = requests.get(url, timeout=5)
    r.raise_for_status()
    return r.json()
""",
        # Not a retry: a 5xx is reported, the loop walks pages.
        """
import requests
def pages(session: requests.Session, url):
    while url:
        r = session.get(url)
        if r.status_code >= 500:
            raise RuntimeError(f"server error {r.status_code}")
        yield r.json()
        url = r.links.get("next", {}).get("url")
""",
        # The user declared 501 retryable for their API.
        Valid(
            """
from urllib3 import Retry
retry = Retry(total=3, backoff_factor=1, status_forcelist=[500, 501, 503])
""",
            settings={"retryable-statuses": [429, 500, 501, 502, 503, 504]},
        ),
    ]

    INVALID = [
        Invalid(
            """
from urllib3.util.retry import Retry
retry = Retry(total=5, backoff_factor=1, status_forcelist=range(500, 600))  # flagged
""",
            message="`status_forcelist` retries 501, 505 and 511, which fail the same way on every attempt",
            fixed="""
from urllib3.util.retry import Retry
retry = Retry(total=5, backoff_factor=1, status_forcelist=(500, 502, 503, 504))  # flagged
""",
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
def make_retry():
    return Retry(total=3, backoff_factor=0.5, status_forcelist=[500, 501, 502, 503])  # flagged
class Api:
    def __init__(self):
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=make_retry())
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
""",
            message="`status_forcelist` retries 501, which fails the same way on every attempt",
        ),
        Invalid(
            """
import time, random, requests as rq
def fetch(url):
    for attempt in range(5):
        r = rq.get(url, timeout=10)
        if r.status_code >= 500:  # flagged
            time.sleep(random.uniform(0, 2 ** attempt))
            continue
        r.raise_for_status()
        return r.json()
""",
            message="`r.status_code >= 500` retries 501, 505 and 511, which fail the same way on every attempt",
        ),
        Invalid(
            """
import asyncio, random, aiohttp
async def fetch(session: aiohttp.ClientSession, url):
    for attempt in range(4):
        async with session.get(url) as resp:
            if resp.status // 100 == 5:  # flagged
                await asyncio.sleep(random.random() * 2 ** attempt)
                continue
            resp.raise_for_status()
            return await resp.json()
"""
        ),
        Invalid(
            """
import time, random, requests
class Client:
    def __init__(self):
        self.session = requests.Session()
    def get(self, url):
        for attempt in range(4):
            r = self.session.get(url)
            if r.status_code in range(500, 600):  # flagged
                time.sleep(random.uniform(0, 2 ** attempt))
                continue
            return r
""",
            fixed="""
import time, random, requests
class Client:
    def __init__(self):
        self.session = requests.Session()
    def get(self, url):
        for attempt in range(4):
            r = self.session.get(url)
            if r.status_code in (500, 502, 503, 504):  # flagged
                time.sleep(random.uniform(0, 2 ** attempt))
                continue
            return r
""",
        ),
        Invalid(
            """
from aiohttp_retry import RetryClient, ExponentialRetry
options = ExponentialRetry(attempts=3, statuses={429})  # flagged
client = RetryClient(retry_options=options)
""",
            message="`ExponentialRetry` retries every 5xx by default (`retry_all_server_errors=True`), including 501, 505 and 511, which fail the same way on every attempt",
        ),
        Invalid(
            """
from aiohttp_retry import RetryClient
async def main(url):
    async with RetryClient() as client:  # flagged
        async with client.get(url) as resp:
            return await resp.json()
"""
        ),
        Invalid(
            """
import httpx
import tenacity as t
@t.retry(
    retry=t.retry_if_exception(lambda e: isinstance(e, httpx.HTTPStatusError) and e.response.status_code >= 500),  # flagged
    wait=t.wait_random_exponential(max=30),
    stop=t.stop_after_attempt(4),
)
async def fetch(client: httpx.AsyncClient, url):
    r = await client.get(url)
    r.raise_for_status()
    return r.json()
"""
        ),
        Invalid(
            """
import backoff
from backoff import on_predicate
import httpx
@on_predicate(backoff.expo, lambda r: r.status_code >= 500, max_tries=5)  # flagged
def fetch(url):
    return httpx.get(url)
"""
        ),
        Invalid(
            """
import time, random, requests
def fetch(url, retries=3):
    r = requests.get(url, timeout=5)
    if r.status_code >= 500 and retries:  # flagged
        time.sleep(random.uniform(1, 3))
        return fetch(url, retries - 1)
    return r
"""
        ),
    ]

    def check(self) -> Iterator[Report]:
        never = lib.NON_TRANSIENT_SERVER_ERRORS - self.settings.retryable_statuses
        if not never:
            return
        reported: set[cst.CSTNode] = set()
        for config in self.model.retry_configs:
            yield from self._config(config, never, reported)
        for scope in self.model.retry_scopes:
            if scope.kind == "client" and scope.config is scope.node:
                yield from self._default_client(scope, never)
            if scope.kind in ("mounted", "client"):
                continue  # their status lists are reported above, once
            for path in scope.paths:
                node = self._condition(path)
                if node is None or node in reported:
                    continue
                retried = self._retried(path, node)
                bad = retried & never
                # A server-error condition (`>= 500`, `// 100 == 5`, `in range(500, 600)`, with 429
                # and friends); "every other status" paths belong to ERR101/ERR102.
                if not bad or not retried - _SERVER_ERRORS <= self.settings.retryable_statuses:
                    continue
                if not self._decides_retry(scope, path):
                    continue
                if consults_server_retry_decision(self.model, scope.node, scope.config):
                    continue
                reported.add(node)
                yield self.report(
                    node,
                    f"{self._subject(node)} retries {describe(bad)}, {_which(bad)}",
                    self._range_fix(node),
                )

    # --- configuration calls ---------------------------------------------------

    def _config(self, config: cst.Call, never: frozenset[int], reported: set) -> Iterator[Report]:
        urllib3 = self.model.callee(config) == lib.URLLIB3_RETRY
        keyword = "status_forcelist" if urllib3 else "statuses"
        argument = keyword_arg(config, keyword)
        listed = self.model.int_set(argument.value) if argument is not None else None
        if not urllib3:
            catch_all = keyword_arg(config, "retry_all_server_errors")
            if catch_all is None or self.model.const_value(catch_all.value) is True:
                name = self.model.code(config.func).rsplit(".", 1)[-1]
                how = "by default " if catch_all is None else ""
                yield self.report(
                    catch_all if catch_all is not None else config.func,
                    f"`{name}` retries every 5xx {how}(`retry_all_server_errors=True`), including {describe(never)}, "
                    f"{_which(never)}",
                )
                return
        bad = (listed or frozenset()) & never
        if argument is None or not bad:
            return
        reported.add(argument.value)
        yield self.report(
            argument,
            f"`{keyword}` retries {describe(bad)}, {_which(bad)}",
            self._range_fix(argument.value),
        )

    def _subject(self, node: cst.CSTNode) -> str:
        """The condition as written, or its status comparison when the whole is too long to quote."""
        candidates = [node] + [
            sub for sub in self.model.subtree(node, into_functions=False)
            if isinstance(sub, cst.Comparison) and status_condition_past_guards(self.model, sub) is not None
        ]
        for candidate in candidates:
            text = " ".join(self.model.code(candidate).split())
            if len(text) <= 48:
                return f"`{text}`"
        return "This retry condition"

    def _default_client(self, scope: RetryScope, never: frozenset[int]) -> Iterator[Report]:
        call = scope.node
        assert isinstance(call, cst.Call)
        if keyword_arg(call, "retry_options") is not None or len(positional_args(call)) > 2:
            return
        yield self.report(
            call.func,
            f"`RetryClient` without `retry_options` retries every 5xx, including {describe(never)}, "
            "which fail the same way on every attempt",
        )

    # --- hand-written and library conditions ------------------------------------

    def _condition(self, path: RetryPath) -> cst.CSTNode | None:
        decision = path.decision
        if isinstance(decision, (cst.If, cst.While)):
            return decision.test
        if isinstance(decision, cst.BaseExpression):
            return decision
        return None

    def _retried(self, path: RetryPath, node: cst.CSTNode) -> frozenset[int]:
        if path.statuses:
            return path.statuses
        if not isinstance(node, cst.BaseExpression):
            return frozenset()
        # `isinstance(e, HTTPStatusError) and e.response.status_code >= 500`, `>= 500 and retries`:
        # a type guard or a retry budget does not make the status conditional.
        condition = status_condition_past_guards(self.model, node)
        if condition is None:
            return frozenset()
        return condition.certain & path.gated_statuses if path.gated_statuses else condition.certain

    def _decides_retry(self, scope: RetryScope, path: RetryPath) -> bool:
        """The condition steers the retry: a branch that loops, sleeps, recurses or leaves; not a log line."""
        decision = path.decision
        if not isinstance(decision, cst.If):
            return True
        blocks = [decision.body] + ([decision.orelse] if decision.orelse is not None else [])
        for block in blocks:
            for node in self.model.subtree(block, into_functions=False):
                if isinstance(node, _FLOW) or (isinstance(node, cst.Call) and is_sleep(self.model, node)):
                    return True
                if scope.kind == "recursion" and node is scope.anchor:
                    return True
        return False

    def _range_fix(self, node: cst.CSTNode) -> Fix | None:
        target = None
        if isinstance(node, cst.Call):
            target = node
        elif isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            comparison = node.comparisons[0]
            if isinstance(comparison.operator, cst.In) and isinstance(comparison.comparator, cst.Call):
                target = comparison.comparator
        if target is None or not isinstance(target.func, cst.Name) or target.func.value != "range":
            return None
        bounds = tuple(self.model.const_value(arg.value) for arg in target.args)
        if bounds not in _FIXABLE_RANGES or any(arg.keyword or arg.star for arg in target.args):
            return None
        return self.fix(f"Retry only {_TRANSIENT}", Applicability.SAFE, self.replace(target, _TRANSIENT))


def _which(statuses: frozenset[int]) -> str:
    return "which fails the same way on every attempt" if len(statuses) == 1 else (
        "which fail the same way on every attempt"
    )
