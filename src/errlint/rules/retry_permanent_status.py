"""ERR101: retrying a status that cannot succeed unchanged."""

from __future__ import annotations

import functools
from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import Applicability, FixAvailability
from errlint.linter.model import keyword_arg
from errlint.linter.profiles import (
    Profile,
    key_path,
    sdk_error_attribute,
    value_condition,
)
from errlint.linter.rule import Invalid, Report, Rule, Valid
from errlint.linter.scopes import refreshes_credentials
from errlint.linter.status import describe

# Statements that leave the branch or go round again.
_LEAVING = frozenset({cst.Continue, cst.Return, cst.Raise, cst.Break})


@functools.lru_cache(maxsize=256)
def _described(statuses: frozenset[int]) -> str:
    """`describe(statuses)`, remembered: wording a whole class ("every 4xx except 408, 425 and 429")
    takes a tenth of a millisecond, and the same few sets come up in finding after finding."""
    return describe(statuses)


class RetryPermanentStatus(Rule):
    """
    ## What it does
    Flags retry paths that retry a 4xx status other than 408, 425 and 429. Shapes:
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

    When the call matches an API profile (docs/profiles.md), the profile
    decides: statuses it lists in `retryable-statuses` or sends with a
    retryable code are not permanent (OpenAI and Stripe document 409 as
    retryable), its `terminal-statuses` are; and a retry decided by a
    machine code the profile marks terminal (`validation_error`), or by a
    body field that repeats the status (Octen's `code`), is flagged too.

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
    - Google Cloud Storage retry strategy (https://cloud.google.com/storage/docs/retry-strategy): permanent
      errors need "changes, such as authorization or configuration changes, before it's useful to try the
      request again".
    - Katalo errors (https://docs.katalo.ai/docs/api/errors): 400, 401, 403, 404, 409 `idempotency_conflict`
      and 422 `validation_error` are all "Retry? No".
    - RFC 9110 §15.5 (client error responses).
    - Profiles: openai-python and stripe-python retry 409; Octen's body `code` is the "HTTP status code
      indicating the error type" (https://docs.octen.ai/introduction/admin/error-codes).
    """

    code = "ERR101"
    name = "retry-permanent-status"
    fix_availability = FixAvailability.SUGGESTION

    VALID = [
        # Working through a queue of recipients: an error moves on to the next one, it does not retry.
        """
import requests
def notify(url, targets, text):
    has_error = False
    while len(targets) > 0:
        target = targets.pop(0)
        r = requests.post(url, json={"to": target, "text": text})
        if not (200 <= r.status_code < 300):
            has_error = True
            continue
    return not has_error
""",
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
        # A loop where 429 and 5xx continue and everything else raises.
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
        # A profile that sends 409 with a retryable code (an in-flight request).
        Valid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry

session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[409, 503])))

def create(order):
    return session.post("https://api.acme.test/orders", json=order)
""",
            settings={
                "profiles": {
                    "acme": {
                        "hosts": ["api.acme.test"],
                        "codes": {"409": {"retryable": ["concurrent_request"], "terminal": ["idempotency_conflict"]}},
                    }
                }
            },
        ),
        # OpenAI documents 409 (lock timeout) as retryable: its SDK retries it.
        """
import time, requests

def complete(payload):
    for attempt in range(4):
        r = requests.post("https://api.openai.com/v1/chat/completions", json=payload)
        if r.status_code == 409:
            time.sleep(1)
            continue
        r.raise_for_status()
        return r.json()
""",
        # A retry on the one code the profile says is worth retrying.
        Valid(
            """
import time, requests

def jobs(base):
    for attempt in range(5):
        r = requests.get(f"{base}/v1/jobs")
        code = r.json().get("error", {}).get("code") if not r.ok else None
        if code == "rate_limited":
            time.sleep(2 ** attempt)
            continue
        r.raise_for_status()
        return r.json()
""",
            settings={"profiles": {"use": ["katalo"]}},
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
        Invalid(
            """
import time, requests

def submit(base, capture):
    for attempt in range(5):
        r = requests.post(f"{base}/v1/captures", json=capture)
        if r.ok:
            return r.json()
        body = r.json()
        if body["error"]["code"] in ("rate_limited", "validation_error"):  # flagged
            time.sleep(2 ** attempt)
            continue
        raise RuntimeError(body["error"]["message"])
""",
            message=(
                "This retry condition retries error code `validation_error`, which `katalo` documents as failing "
                "the same way on every attempt"
            ),
            settings={"profiles": {"use": ["katalo"]}},
        ),
        Invalid(
            """
import asyncio, httpx

async def search(client: httpx.AsyncClient, query):
    for attempt in range(4):
        resp = await client.post("https://api.octen.test/v1/search", json={"query": query})
        data = resp.json()
        if data["code"] != 0:  # flagged
            await asyncio.sleep(1)
            continue
        return data["data"]
""",
            settings={"profiles": {"octen": {"hosts": ["api.octen.test"]}}},
        ),
    ]

    def check(self) -> Iterator[Report]:
        reported: set[cst.CSTNode] = set()
        for config in self.model.retry_configs:
            keyword = "status_forcelist" if (self.model.callee(config) or "").endswith("Retry") and "aiohttp" not in (self.model.callee(config) or "") else "statuses"
            argument = keyword_arg(config, keyword)
            if argument is None:
                continue
            permanent = self._permanent(self._config_calls(config), config)
            statuses = self.model.int_set(argument.value)
            bad = (statuses or frozenset()) & permanent
            if bad:
                reported.add(argument.value)
                yield self.report(
                    argument,
                    f"`{keyword}` retries {_described(bad)}, which fail the same way on every attempt",
                    self._suggestion(argument.value, statuses or frozenset(), bad),
                )
        for scope in self.model.retry_scopes:
            if scope.kind in ("mounted", "client"):
                continue  # their status lists are reported above, once
            permanent = self._permanent(scope.http_calls, scope.node)
            for path in scope.paths:
                bad = path.statuses & permanent
                if bad and refreshes_credentials(self.model, path):
                    bad -= {401}
                if not bad or path.decision is None or path.decision in reported:
                    continue
                if isinstance(path.decision, cst.If) and not self._decides(path.decision):
                    continue  # both branches fall through: something later decides the retry
                reported.add(path.decision)
                node = path.decision.test if isinstance(path.decision, (cst.If, cst.While)) else path.decision
                reported.add(node)
                yield self.report(
                    node,
                    f"This retry condition retries {_described(bad)}, which fail the same way on every attempt",
                )
        yield from self._profile_code_retries(reported)

    def _decides(self, if_node: cst.If) -> bool:
        """Does a branch of `if_node` leave, go round again or wait (rather than only prepare data)?"""
        for node in self.model.subtree(if_node):
            kind = type(node)  # exact types: these classes have no subclasses, and isinstance() is slow here
            if kind in _LEAVING:
                return True
            if kind is cst.Call:
                name = self.model.callee(node) or ""
                if name in lib.SLEEP_FUNCTIONS or name.rsplit(".", 1)[-1] == "sleep":
                    return True
                if isinstance(node.func, cst.Attribute) and node.func.attr.value == "sleep":
                    return True
        return False

    # --- API profiles: which statuses and codes cannot succeed on retry -------------

    def _permanent(self, calls: list, container: cst.CSTNode | None) -> frozenset[int]:
        """4xx statuses (but 408/425/429 and `retryable-statuses`) adjusted by the calls' API profiles.

        A status is permanent only if it is permanent for every API the calls reach.
        """
        base = self.settings.retryable_statuses
        default = frozenset(range(400, 500)) - base
        profiles = list(self.model.profiles_for_calls(calls)) if calls else []
        if container is not None:
            for call, _ in self.model.self_retrying_calls_in(container):
                profiles.append(self.model.profile_for(call))
        if not profiles:
            profiles = list(self.model.profiles_for_calls([]))
        if not profiles:
            return default
        permanent: frozenset[int] | None = None
        for profile in profiles:
            own = default if profile is None else profile.permanent_statuses(base)
            permanent = own if permanent is None else permanent & own
        return permanent or frozenset()

    def _config_calls(self, config: cst.Call) -> list:
        calls = []
        for scope in self.model.retry_scopes:
            if scope.kind in ("mounted", "client") and config in (scope.config, scope.node):
                calls.extend(scope.http_calls)
        return calls

    def _profile_code_retries(self, reported: set[cst.CSTNode]) -> Iterator[Report]:
        """`if body["error"]["code"] in ("rate_limited", "validation_error"): continue`: a retry
        decided by a machine code the API's profile documents as final (or, for APIs like Octen,
        by a body field that repeats the HTTP status)."""
        base = self.settings.retryable_statuses
        for if_node in self.model.ifs:
            if if_node.test in reported:
                continue
            calls = self._retried_calls(if_node)
            if not calls:
                continue
            for profile in self.model.profiles_for_calls(calls):
                if profile is None:
                    continue
                message = self._code_message(profile, if_node.test) or self._status_field_message(
                    profile, if_node.test, base
                )
                if message is not None:
                    reported.add(if_node.test)
                    yield self.report(if_node.test, message)
                    break

    def _code_message(self, profile: Profile, test: cst.BaseExpression) -> str | None:
        terminal = profile.all_terminal_codes
        if not terminal or not profile.code_fields:
            return None

        def is_code(expr: cst.BaseExpression) -> bool:
            keys = key_path(self.model, expr)
            if keys is None:
                attribute = sdk_error_attribute(self.model, expr)
                keys = (attribute,) if attribute else None
            return keys is not None and profile.is_code_path(keys)

        condition = value_condition(self.model, test, is_code, profile.all_codes)
        bad = sorted(code for code in (condition.certain if condition else ()) if code in terminal)
        if not bad:
            return None
        codes = " and ".join(f"`{code}`" for code in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        noun = "code" if len(bad) == 1 else "codes"
        return (
            f"This retry condition retries error {noun} {codes}, which `{profile.name}` documents as failing "
            "the same way on every attempt"
        )

    def _status_field_message(self, profile: Profile, test: cst.BaseExpression, base) -> str | None:
        if profile.status_field is None:
            return None

        def is_status(expr: cst.BaseExpression) -> bool:
            keys = key_path(self.model, expr)
            return keys is not None and profile.is_status_path(keys)

        condition = value_condition(self.model, test, is_status, range(100, 600))
        retried = frozenset(v for v in (condition.certain if condition else ()) if isinstance(v, int))
        bad = retried & profile.permanent_statuses(base)
        if not bad:
            return None
        return (
            f"This retry condition retries body `{profile.status_field}` {_described(bad)}, which fail the same way "
            "on every attempt"
        )

    def _retried_calls(self, if_node: cst.If) -> list:
        """The HTTP calls re-sent when `if_node`'s test is true (`continue` in an attempt loop, recursion)."""
        body = if_node.body.body
        statements = [small for line in body if isinstance(line, cst.SimpleStatementLine) for small in line.body]
        exits = [small for small in statements if isinstance(small, (cst.Return, cst.Raise, cst.Break))]
        function = self.model.enclosing_function(if_node)
        if any(isinstance(small, cst.Continue) for small in statements) and not exits:
            loop = self.model.enclosing(if_node, (cst.For, cst.While, cst.FunctionDef, cst.Lambda))
            if isinstance(loop, (cst.For, cst.While)) and self._attempt_loop(loop):
                return self.model.http_calls_in(loop.body)
            return []
        if function is not None:
            for small in statements:
                for node in self.model.subtree(small):
                    if isinstance(node, cst.Call):
                        target = self.model.called_function(node)
                        if target is not None and target.node is function:
                            return self.model.http_calls_in(function)
        return []

    def _attempt_loop(self, loop: cst.For | cst.While) -> bool:
        if any(scope.node is loop for scope in self.model.retry_scopes):
            return True
        calls = self.model.http_calls_in(loop.body)
        if not calls:
            return False
        if isinstance(loop, cst.While):
            return True
        target = loop.target.value if isinstance(loop.target, cst.Name) else None
        counted = isinstance(loop.iter, cst.Call) and isinstance(loop.iter.func, cst.Name) and loop.iter.func.value == "range"
        if not counted or target is None:
            return False
        return not any(
            isinstance(node, cst.Name) and node.value == target
            for call in calls
            for arg in call.node.args
            for node in self.model.subtree(arg.value)
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
            f"Retry only {_described(statuses - bad)}",
            Applicability.DISPLAY,
            self.replace(value, f"{opening}{text}{closing}"),
        )


