"""ERR202: retrying a status the API overloads without reading the machine code."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.model import child_nodes, dotted_name
from errlint.linter.profiles import Profile, reads_code
from errlint.linter.rule import Invalid, Report, Rule, Valid
from errlint.linter.scopes import RetryPath, RetryScope, handler_retry_loop

# Calls that cannot look at the error body: waiting, logging, counting.
_NEUTRAL_CALLS = frozenset(
    {"print", "str", "repr", "int", "float", "len", "min", "max", "round", "abs", "format", "isinstance"}
)
_NEUTRAL_PREFIXES = ("time.", "asyncio.", "random.", "math.", "logging.", "secrets.")
_LOGGER_WORDS = ("log", "logger", "logging", "warn", "metrics", "statsd")

_ACME = {
    "hosts": ["api.acme.test"],
    "code-fields": ["error.code"],
    "codes": {"409": {"retryable": ["concurrent_request"], "terminal": ["idempotency_conflict"]}},
}


class StatusWithoutCode(Rule):
    """
    ## What it does
    Flags a status retried without reading the machine code that tells its meanings apart. Flags retries that repeat a status on the status alone when the API's
    profile says that status carries both retryable and final machine codes,
    such as a 429 that is either a rate limit or an exhausted quota, or a 409
    that is either an in-flight request or an idempotency-key conflict.

    Only statuses for which a profile (built-in or `[tool.errlint.profiles]`)
    declares `codes` are checked; everything else is left to ERR101.

    ## Why is this bad?
    APIs overload statuses: OpenAI answers 429 both for `rate_limit_exceeded`
    (wait and retry) and `insufficient_quota` (retrying never helps until
    someone pays); Titan's error docs tell clients to "branch on HTTP status
    and `error.code`, not only on message text".
    A retry keyed on the status alone burns the retry budget on requests that
    cannot succeed and hides the real error behind a generic "gave up".

    A code check in a helper called from the branch counts as reading the
    code; so does reading the server's own retry decision (`x-should-retry`,
    a body `retryable` flag).

    ## Example
    ```python
    for attempt in range(5):
        r = requests.post("https://api.openai.com/v1/chat/completions", json=payload)
        if r.status_code == 429:
            time.sleep(2 ** attempt)
            continue
        r.raise_for_status()
        return r.json()
    ```

    ## Use instead
    ```python
    for attempt in range(5):
        r = requests.post("https://api.openai.com/v1/chat/completions", json=payload)
        if r.status_code == 429:
            if r.json()["error"]["code"] == "insufficient_quota":
                raise QuotaExhausted(r.json()["error"]["message"])
            time.sleep(2 ** attempt)
            continue
        r.raise_for_status()
        return r.json()
    ```

    ## Fix safety
    No fix: which codes are final, and what to do about them, is the caller's decision.

    ## References
    - Titan errors (https://webscraping.titannet.io/docs/api-reference/errors): "Your client should branch on
      HTTP status and `error.code`, not only on message text";
      control-plane throttling and preview quotas share 429 with different bodies.
    - Stripe errors (https://docs.stripe.com/api/errors): `code` is for "errors that could be handled
      programmatically"; `message` is "A human-readable message".
    - Katalo errors (https://docs.katalo.ai/docs/api/errors): 409 `idempotency_conflict` is "Retry? No".
    - OpenAI: 429 `insufficient_quota` does not clear by waiting; 429 `rate_limit_exceeded` does.
    - Profiles: docs/profiles.md (`codes`).
    """

    code = "ERR202"
    name = "status-without-code"

    VALID = [
        # The code is checked in a helper called from the 429 branch.
        """
import time, requests

def raise_if_final(resp):
    if resp.json().get("error", {}).get("code") == "insufficient_quota":
        raise RuntimeError("OpenAI quota exhausted")

def complete(payload):
    for attempt in range(5):
        r = requests.post("https://api.openai.com/v1/chat/completions", json=payload)
        if r.status_code == 429:
            raise_if_final(r)
            time.sleep(2 ** attempt)
            continue
        r.raise_for_status()
        return r.json()
""",
        # The retry is gated on the machine code.
        """
import time, requests
URL = "https://api.openai.com/v1/embeddings"

def embed(texts):
    for attempt in range(5):
        r = requests.post(URL, json={"input": texts})
        code = r.json().get("error", {}).get("code")
        if r.status_code == 429 and code == "rate_limit_exceeded":
            time.sleep(2 ** attempt)
            continue
        r.raise_for_status()
        return r.json()
""",
        # The SDK error's code is read before retrying.
        """
import time, openai
client = openai.OpenAI()

def complete(messages):
    for attempt in range(5):
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except openai.RateLimitError as e:
            if e.code == "insufficient_quota":
                raise
            time.sleep(2 ** attempt)
""",
        # Stripe's 429 codes are all retryable (lock timeouts, rate limits).
        """
import time, httpx

async def charge(client: httpx.AsyncClient, params):
    for attempt in range(4):
        r = await client.post("https://api.stripe.com/v1/charges", data=params)
        if r.status_code == 429:
            time.sleep(1 + attempt)
            continue
        r.raise_for_status()
        return r.json()
""",
        # No profile covers this host: ERR202 only speaks where a profile declares codes.
        """
import time, requests

def fetch(url):
    for attempt in range(3):
        r = requests.get("https://status.example.org/api/summary.json")
        if r.status_code == 429:
            time.sleep(5)
            continue
        return r.json()
""",
        # The server's own retry decision header is consulted.
        """
import asyncio, aiohttp
CHAT = "https://api.openai.com/v1/chat/completions"

async def complete(session: aiohttp.ClientSession, payload):
    for attempt in range(5):
        async with session.post(CHAT, json=payload) as resp:
            if resp.status == 429:
                if resp.headers.get("x-should-retry") == "false":
                    raise RuntimeError("OpenAI says not to retry")
                await asyncio.sleep(2 ** attempt)
                continue
            return await resp.json()
""",
        # A 429 that is not retried at all.
        """
import urllib.request, json

def complete(body):
    req = urllib.request.Request("https://api.openai.com/v1/chat/completions", data=body, method="POST")
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)
""",
        # A configured profile whose 409 is gated on the in-flight code.
        Valid(
            """
import time, requests

def create(order):
    for attempt in range(5):
        r = requests.post("https://api.acme.test/orders", json=order, headers={"Idempotency-Key": order["id"]})
        err = r.json().get("error", {}) if not r.ok else {}
        if r.status_code == 409 and err.get("code") == "concurrent_request":
            time.sleep(1)
            continue
        r.raise_for_status()
        return r.json()
""",
            settings={"profiles": {"acme": _ACME}},
        ),
        # Katalo's 429 carries only `rate_limited`, which is worth retrying.
        Valid(
            """
import time, requests

def jobs(base):
    for attempt in range(5):
        r = requests.get(f"{base}/v1/jobs")
        if r.status_code == 429:
            time.sleep(2 ** attempt)
            continue
        return r.json()
""",
            settings={"profiles": {"use": ["katalo"]}},
        ),
        # tenacity with a predicate that reads the code.
        """
import openai
from tenacity import retry, retry_if_exception, stop_after_attempt

def _transient(e):
    return isinstance(e, openai.RateLimitError) and e.code != "insufficient_quota"

client = openai.OpenAI()

@retry(retry=retry_if_exception(_transient), stop=stop_after_attempt(5))
def complete(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages)
""",
    ]

    INVALID = [
        Invalid(
            """
import time, requests

def complete(payload):
    for attempt in range(5):
        r = requests.post("https://api.openai.com/v1/chat/completions", json=payload)
        if r.status_code == 429:  # flagged
            time.sleep(2 ** attempt)
            continue
        r.raise_for_status()
        return r.json()
""",
            message=(
                "This retry repeats every 429 without reading `error.code`, but `openai` also sends 429 with "
                "`insufficient_quota`, `credit_balance_exhausted` and 3 more codes that retrying cannot fix"
            ),
        ),
        Invalid(
            """
import asyncio, httpx

class Completer:
    def __init__(self):
        self.client = httpx.AsyncClient(base_url="https://api.openai.com/v1")

    async def complete(self, payload):
        for attempt in range(5):
            resp = await self.client.post("/chat/completions", json=payload)
            if resp.status_code in (429, 503):  # flagged
                await asyncio.sleep(2 ** attempt)
                continue
            resp.raise_for_status()
            return resp.json()
"""
        ),
        Invalid(
            """
import asyncio, aiohttp
CHAT_URL = "https://api.openai.com/v1/chat/completions"

async def complete(session: aiohttp.ClientSession, payload):
    while True:
        async with session.post(CHAT_URL, json=payload) as resp:
            if resp.status == 429:  # flagged
                await asyncio.sleep(2)
                continue
            resp.raise_for_status()
            return await resp.json()
"""
        ),
        Invalid(
            """
import json, time, urllib.error, urllib.request

def complete(body):
    for attempt in range(5):
        req = urllib.request.Request("https://api.openai.com/v1/chat/completions", data=body, method="POST")
        try:
            with urllib.request.urlopen(req) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as e:
            if e.code == 429:  # flagged
                time.sleep(2 ** attempt)
                continue
            raise
"""
        ),
        Invalid(
            """
import time
import openai as oa

client = oa.OpenAI()

def complete(messages):
    for attempt in range(5):
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except oa.RateLimitError:  # flagged
            time.sleep(2 ** attempt)
""",
            message=(
                "This retry repeats every 429 without reading `error.code`, but `openai` also sends 429 with "
                "`insufficient_quota`, `credit_balance_exhausted` and 3 more codes that retrying cannot fix"
            ),
        ),
        Invalid(
            """
import openai
import tenacity as t

client = openai.OpenAI(max_retries=0)

@t.retry(retry=t.retry_if_exception_type(openai.RateLimitError), stop=t.stop_after_attempt(5))  # flagged
def complete(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages)
"""
        ),
        Invalid(
            """
import openai
from backoff import on_exception, expo

client = openai.OpenAI(max_retries=0)

@on_exception(expo, openai.RateLimitError, max_tries=6)  # flagged
def embed(texts):
    return client.embeddings.create(model="text-embedding-3-small", input=texts)
"""
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=4, status_forcelist=[409, 503])))  # flagged

def create(order):
    return session.post("https://api.acme.test/orders", json=order)
""",
            message=(
                "This retry repeats every 409 without reading `error.code`, but `acme` also sends 409 with "
                "`idempotency_conflict`, which retrying cannot fix"
            ),
            settings={"profiles": {"acme": _ACME}},
        ),
        Invalid(
            """
import time, requests

def export(base, task_id):
    for attempt in range(6):
        r = requests.post(f"{base}/api/v1/tasks/{task_id}/run")
        if r.status_code == 429:  # flagged
            time.sleep(30)
            continue
        r.raise_for_status()
        return r.json()
""",
            settings={"profiles": {"use": ["titan"]}},
        ),
        Invalid(
            """
import time, requests

def create(order):
    for attempt in range(5):
        try:
            r = requests.post("https://api.acme.test/orders", json=order)
            r.raise_for_status()
            return r.json()
        except requests.HTTPError as e:
            if e.response.status_code == 409:  # flagged
                time.sleep(1)
                continue
            raise
""",
            settings={"profiles": {"acme": _ACME}},
        ),
    ]

    def check(self) -> Iterator[Report]:
        reported: set[cst.CSTNode] = set()
        base = self.settings.retryable_statuses
        for scope in self.model.retry_scopes:
            for path in scope.paths:
                for status, profile, node in self._retried(scope, path):
                    if node in reported or not self._overloaded(profile, status, base):
                        continue
                    if path.decision is not None and reads_code(self.model, profile, self._read_region(scope, path)):
                        continue
                    if self._hands_off(scope, path):
                        continue
                    reported.add(node)
                    yield self.report(node, self._message(profile, status))
        # `except <SDK status error>:` sending an attempt loop round again (SDK calls have no RetryScope).
        for handler in self.model.handlers:
            for name, type_node in zip(handler.types, handler.type_nodes):
                status = lib.EXCEPTION_STATUS.get(name)
                profile = self.model.profile_for_exception(name) if status is not None else None
                if profile is None or type_node in reported or not self._overloaded(profile, status, base):
                    continue
                if handler_retry_loop(self.model, handler) is None:
                    continue
                if reads_code(self.model, profile, [handler.node]) or self._passes_error_on(handler.node, handler.name):
                    continue
                reported.add(type_node)
                yield self.report(type_node, self._message(profile, status))

    # --- what a path retries, and for which API ---------------------------------

    def _retried(self, scope: RetryScope, path: RetryPath) -> Iterator[tuple[int, Profile, cst.CSTNode]]:
        node = self._node(path)
        if node is None:
            return
        profiles = [p for p in self.model.profiles_for_calls(scope.http_calls) if p is not None]
        for status in sorted(path.statuses):
            for profile in profiles:
                yield status, profile, node
        if path.status_filtered or path.handler is not None:
            return  # a hand loop's handler: see the handler pass in `check`
        for name in path.exceptions:
            status = lib.EXCEPTION_STATUS.get(name)
            profile = self.model.profile_for_exception(name) if status is not None else None
            if profile is not None:
                yield status, profile, self._exception_node(path.decision, name) or node

    def _node(self, path: RetryPath) -> cst.CSTNode | None:
        decision = path.decision
        if isinstance(decision, (cst.If, cst.While)):
            return decision.test
        if isinstance(decision, cst.ExceptHandler) or decision is None:
            return None
        return decision

    def _exception_node(self, decision: cst.CSTNode | None, name: str) -> cst.CSTNode | None:
        if decision is None:
            return None
        stack = [decision]
        while stack:
            current = stack.pop()
            if isinstance(current, (cst.Name, cst.Attribute)):
                qualified = self.model.qualname(current)
                if qualified and lib.canonical(qualified) == name:
                    return current
            stack.extend(child_nodes(current))
        return None

    def _overloaded(self, profile: Profile, status: int, base: frozenset[int]) -> bool:
        """The profile sends `status` with final codes, and the status is not permanent anyway (ERR101)."""
        return bool(profile.terminal_codes_for(status)) and status not in profile.permanent_statuses(base)

    # --- does the path look at the code? ------------------------------------------

    def _read_region(self, scope: RetryScope, path: RetryPath) -> list[cst.CSTNode]:
        region: list[cst.CSTNode] = list(path.statements)
        if path.handler is not None:
            region.append(path.handler.node)
        if path.decision is not None:
            region.append(path.decision)
        return region

    def _hands_off(self, scope: RetryScope, path: RetryPath) -> bool:
        """The path passes the response or error to code we cannot see, which may read the code."""
        if scope.kind not in ("loop", "recursion"):
            return False
        names = {call.node for call in scope.http_calls}
        response_names = set()
        for statement in path.statements:
            for node in self.model.subtree(statement):
                if isinstance(node, cst.Assign) and self.model.http_call(node.value) is not None:
                    response_names.update(dotted_name(t.target) for t in node.targets)
                elif isinstance(node, cst.WithItem) and node.asname is not None:
                    if self.model.http_call(node.item) is not None:
                        response_names.add(dotted_name(node.asname.name))
        if path.handler is not None and path.handler.name:
            response_names.add(path.handler.name)
        response_names.discard(None)
        region = self._after_decision(path)
        for container in region:
            for node in self.model.subtree(container):
                if isinstance(node, cst.Call) and node not in names and self._passes(node, response_names):
                    return True
        return False

    def _after_decision(self, path: RetryPath) -> list[cst.CSTNode]:
        statements = list(path.statements)
        if path.decision in statements:
            statements = statements[statements.index(path.decision) + 1 :]
        if path.handler is not None:
            statements.append(path.handler.node)
        return statements

    def _passes_error_on(self, container: cst.CSTNode, name: str | None) -> bool:
        if not name:
            return False
        return any(isinstance(node, cst.Call) and self._passes(node, {name}) for node in self.model.subtree(container))

    def _passes(self, call: cst.Call, names: set[str]) -> bool:
        """`call` receives one of `names` and is not a neutral wait/log/format call."""
        if not any(
            isinstance(arg.value, (cst.Name, cst.Attribute)) and dotted_name(arg.value) in names for arg in call.args
        ):
            return False
        callee = self.model.callee(call) or dotted_name(call.func) or ""
        last = callee.rsplit(".", 1)[-1].lower()
        if callee in _NEUTRAL_CALLS or callee.startswith(_NEUTRAL_PREFIXES):
            return False
        if any(word in callee.lower().split(".")[0] for word in _LOGGER_WORDS) or last in (
            "debug", "info", "warning", "warn", "error", "exception", "critical", "increment", "incr",
        ):
            return False
        return True

    def _message(self, profile: Profile, status: int) -> str:
        terminal = [f"`{code}`" for code in profile.terminal_codes_for(status)]
        if len(terminal) > 2:
            codes = f"{terminal[0]}, {terminal[1]} and {len(terminal) - 2} more codes that retrying cannot fix"
        else:
            codes = " and ".join(terminal) + ", which retrying cannot fix"
        field = f"`{profile.code_fields[0]}`" if profile.code_fields else "the error code"
        return f"This retry repeats every {status} without reading {field}, but `{profile.name}` also sends {status} with {codes}"


