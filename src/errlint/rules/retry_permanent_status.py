"""ERR101: retrying a status that cannot succeed unchanged."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from errlint.linter.findings import Applicability, FixAvailability
from errlint.linter.model import keyword_arg
from errlint.linter.rule import Invalid, Report, Rule, Valid
from errlint.linter.scopes import refreshes_credentials
from errlint.linter.status import describe


class RetryPermanentStatus(Rule):
    """
    ## What it does
    Flags retry paths that retry a 4xx status other than 408, 425 and 429:
    `status_forcelist`/`statuses=` lists, retry predicates such as
    `r.status_code != 200` or `not r.ok`, and hand-written loops that sleep and
    go round again on such a status.

    ## Why is this bad?
    A 400, 401, 403, 404, 409, 413 or 422 describes the request, not the
    server's mood: sending the same request again gets the same answer, after
    burning rate-limit budget and delaying the real error. API docs say it
    plainly: "Do not retry 400, 401, 403, or 404 until you change input or
    credentials", and mark 4xx codes such as `validation_error` and
    `idempotency_conflict` as "Retry? No".

    A 401 retried once after refreshing the credential, or a 403/400 retried
    only when a machine-readable code says rate limit, is not flagged.

    ## Example
    ```python
    retry = Retry(total=5, status_forcelist=[401, 404, 429, 500, 503])
    ```

    ## Use instead
    ```python
    retry = Retry(total=5, status_forcelist=[429, 500, 503])
    ```

    ## Fix safety
    A display-only suggestion removes the permanent statuses from a literal
    list; it is never applied automatically because some callers may depend on
    the retries.

    ## References
    - Seed: "Do not retry 400, 401, 403, or 404 until you change input or credentials."
    - Seed: 409 `idempotency_conflict`, 422 `validation_error`: "Retry? No".
    - RFC 9110 §15.5 (client error responses).
    """

    code = "ERR101"
    name = "retry-permanent-status"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # Retries only transient statuses.
        """
from urllib3.util.retry import Retry
retry = Retry(total=3, status_forcelist=[429, 500, 502, 503, 504])
""",
        # A table that maps 4xx to *fail* is not a retry path.
        """
import requests
TERMINAL = {400: "bad request", 401: "unauthorized", 404: "not found"}
def fetch(url):
    for attempt in range(3):
        r = requests.get(url)
        if r.status_code in TERMINAL:
            raise RuntimeError(TERMINAL[r.status_code])
        if r.status_code == 200:
            return r.json()
        if r.status_code in (429, 503):
            continue
        raise RuntimeError(r.status_code)
""",
        # A 401 retried after a credential refresh.
        """
import requests
def fetch(session, url):
    for attempt in range(2):
        r = session.get(url)
        if r.status_code == 401:
            session.refresh_token()
            continue
        r.raise_for_status()
        return r.json()
""",
        # A 403 retried only when the machine-readable reason says rate limit.
        """
import time, requests
def fetch(url):
    for attempt in range(5):
        r = requests.get(url)
        reason = r.json().get("error", {}).get("reason")
        if r.status_code == 403 and reason == "rateLimitExceeded":
            time.sleep(2 ** attempt)
            continue
        r.raise_for_status()
        return r.json()
""",
        # backoff giveup predicates name 4xx statuses to stop on them.
        """
import backoff, requests
@backoff.on_exception(backoff.expo, requests.HTTPError, max_tries=5,
                      giveup=lambda e: e.response.status_code in (400, 401, 403, 404))
def fetch(url):
    r = requests.get(url)
    r.raise_for_status()
    return r.json()
""",
        # The seed's own loop: 429 and 5xx continue, everything else raises.
        """
import time, random, requests
def api_request_with_retry(method, url, max_retries=3, **kwargs):
    for attempt in range(max_retries):
        response = requests.request(method, url, **kwargs)
        if response.status_code == 200:
            return response.json()
        if response.status_code == 429:
            time.sleep(5)
            continue
        if response.status_code >= 500:
            time.sleep((2 ** attempt) + random.random())
            continue
        raise RuntimeError(response.status_code)
""",
        # tenacity retrying only server errors via a result predicate.
        """
import httpx
from tenacity import retry, retry_if_result, stop_after_attempt
@retry(retry=retry_if_result(lambda r: r.status_code >= 500), stop=stop_after_attempt(3))
def fetch(client: httpx.Client, url):
    return client.get(url)
""",
        # aiohttp-retry with transient statuses only.
        """
from aiohttp_retry import RetryClient, ExponentialRetry
options = ExponentialRetry(attempts=3, statuses={429, 503})
""",
        # Pagination over pages is iteration, not retry.
        """
import requests
def pages(url):
    while url:
        r = requests.get(url)
        if r.status_code == 404:
            return
        yield r.json()
        url = r.links.get("next", {}).get("url")
""",
        # A status listed in retryable-statuses is the user's call.
        Valid(
            """
from urllib3 import Retry
retry = Retry(total=3, status_forcelist=[409, 503])
""",
            settings={"retryable-statuses": [409, 503]},
        ),
    ]

    INVALID = [
        Invalid(
            """
from urllib3.util.retry import Retry
retry = Retry(total=5, status_forcelist=[401, 404, 429, 500])  # flagged
""",
            message="`status_forcelist` retries 401 and 404, which fail the same way on every attempt",
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
NOT_FOUND = 404
RETRY_ON = (NOT_FOUND, 500, 503)
session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=RETRY_ON)))  # flagged
"""
        ),
        Invalid(
            """
from urllib3 import Retry
retry = Retry(total=3, status_forcelist=range(400, 600))  # flagged
""",
            message="`status_forcelist` retries every 4xx except 408, 425 and 429, which fail the same way on every attempt",
        ),
        Invalid(
            """
import time, requests
def fetch(url):
    for attempt in range(5):
        r = requests.get(url)
        if r.status_code != 200:  # flagged
            time.sleep(2 ** attempt)
            continue
        return r.json()
"""
        ),
        Invalid(
            """
import time, requests
def fetch(url):
    for attempt in range(5):
        r = requests.get(url)
        if r.ok:  # flagged
            return r.json()
        time.sleep(1)
"""
        ),
        Invalid(
            """
import httpx
from tenacity import retry, retry_if_result, stop_after_attempt
@retry(retry=retry_if_result(lambda r: r.status_code >= 400), stop=stop_after_attempt(3))  # flagged
async def fetch(client: httpx.AsyncClient, url):
    return await client.get(url)
"""
        ),
        Invalid(
            """
import backoff, requests
@backoff.on_predicate(backoff.expo, lambda r: not r.ok, max_tries=4)  # flagged
def fetch(url):
    return requests.get(url)
"""
        ),
        Invalid(
            """
from aiohttp_retry import RetryClient, ExponentialRetry
options = ExponentialRetry(attempts=3, statuses={404, 429})  # flagged
client = RetryClient(retry_options=options)
"""
        ),
        Invalid(
            """
import asyncio, aiohttp
async def fetch(session: aiohttp.ClientSession, url):
    while True:
        async with session.get(url) as resp:
            if resp.status in (403, 429, 503):  # flagged
                await asyncio.sleep(2)
                continue
            return await resp.json()
"""
        ),
        Invalid(
            """
import time, requests
def fetch(url, attempts=3):
    for attempt in range(attempts):
        try:
            r = requests.get(url)
            r.raise_for_status()
            return r.json()
        except requests.HTTPError as e:
            if e.response.status_code >= 400:  # flagged
                time.sleep(1)
                continue
            raise
"""
        ),
    ]

    def check(self) -> Iterator[Report]:
        permanent = frozenset(range(400, 500)) - self.settings.retryable_statuses
        reported: set[cst.CSTNode] = set()
        for config in self.model.retry_configs:
            keyword = "status_forcelist" if (self.model.callee(config) or "").endswith("Retry") and "aiohttp" not in (self.model.callee(config) or "") else "statuses"
            argument = keyword_arg(config, keyword)
            if argument is None:
                continue
            statuses = self.model.int_set(argument.value)
            bad = (statuses or frozenset()) & permanent
            if bad:
                reported.add(argument.value)
                yield self.report(
                    argument,
                    f"`{keyword}` retries {describe(bad)}, which fail the same way on every attempt",
                    self._suggestion(argument.value, statuses or frozenset(), bad),
                )
        for scope in self.model.retry_scopes:
            if scope.kind in ("mounted", "client"):
                continue  # their status lists are reported above, once
            for path in scope.paths:
                bad = path.statuses & permanent
                if bad and refreshes_credentials(self.model, path):
                    bad -= {401}
                if not bad or path.decision is None or path.decision in reported:
                    continue
                reported.add(path.decision)
                node = path.decision.test if isinstance(path.decision, (cst.If, cst.While)) else path.decision
                yield self.report(
                    node,
                    f"This retry condition retries {describe(bad)}, which fail the same way on every attempt",
                )

    def _suggestion(self, value: cst.BaseExpression, statuses: frozenset[int], bad: frozenset[int]):
        if not isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            return None
        kept = [element for element in value.elements if self.model.const_value(element.value) not in bad]
        if not kept:
            return None
        text = ", ".join(self.model.code(element.value) for element in kept)
        opening, closing = {cst.List: "[]", cst.Tuple: "()", cst.Set: "{}"}[type(value)]
        if isinstance(value, cst.Tuple) and len(kept) == 1:
            text += ","
        return self.fix(
            f"Retry only {describe(statuses - bad)}",
            Applicability.DISPLAY,
            self.replace(value, f"{opening}{text}{closing}"),
        )
