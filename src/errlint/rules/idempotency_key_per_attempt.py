"""ERR402: an idempotency key minted inside the retry scope, so every attempt gets a new one."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from errlint.linter.findings import Applicability, Edit, FixAvailability, Position
from errlint.linter.rule import Invalid, Report, Rule
from errlint.linter.scopes import RetryScope
from errlint.linter.source import python_lines
from errlint.rules._idempotency import (
    Carrier,
    Idempotency,
    Mint,
    free_names,
    names_assigned_in,
)

_SCOPE_KINDS = ("decorator", "iterator", "loop", "recursion")
# Repeating these is harmless (RFC 9110), whatever key they carry.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


class IdempotencyKeyPerAttempt(Rule):
    """
    ## What it does
    Flags idempotency keys generated inside a retry scope, a new one per attempt. Flags idempotency keys generated inside a retry scope (`uuid.uuid4()`,
    `secrets.token_hex()`, `time.time()` in the header or body value, directly
    or through a variable assigned inside the scope), so that every attempt
    sends a different key.

    ## Why is this bad?
    An idempotency key exists so the server can tell "the same request again"
    from "a new request". A key minted per attempt makes each retry a new
    operation: when the first attempt's response was lost after the write
    committed, the retry is applied a second time, exactly what the key was
    meant to prevent. API docs: "Keep the same idempotency key when retrying
    the same write request".

    Not flagged: a new key per item in a loop over different items, keys
    minted before the retry loop, and keys passed in by the caller.

    ## Example
    ```python
    for attempt in range(3):
        key = str(uuid.uuid4())
        r = requests.post(URL, json=order, headers={"Idempotency-Key": key})
    ```

    ## Use instead
    ```python
    key = str(uuid.uuid4())
    for attempt in range(3):
        r = requests.post(URL, json=order, headers={"Idempotency-Key": key})
    ```

    ## Fix safety
    In hand-written loops and `Retrying` blocks the fix moves the key above
    the loop (the assignment itself, or a new `idempotency_key` variable). It
    is safe: generating the key has no side effects and nothing the key
    depends on changes inside the loop. Keys minted inside a decorated
    function have no fix: the caller must mint the key and pass it in.

    ## References
    - Katalo errors (https://docs.katalo.ai/docs/api/errors): "Keep the same idempotency key when retrying the
      same write request."
    - Stripe idempotent requests (https://docs.stripe.com/api/idempotent_requests): the key is what
      "the server uses to recognize subsequent retries of the same request".
    """

    code = "ERR402"
    name = "idempotency-key-per-attempt"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # The key is minted once, before the retry loop.
        """
import time, uuid, requests
def create_order(order):
    key = str(uuid.uuid4())
    for attempt in range(3):
        try:
            return requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": key})
        except requests.RequestException:
            time.sleep(2 ** attempt)
""",
        # One key per item in a loop over different items.
        """
import uuid, requests
def upload_all(items):
    for item in items:
        requests.post("https://api.example.com/items", json=item, headers={"Idempotency-Key": str(uuid.uuid4())})
""",
        # One key per item, with a retry around each item's request.
        """
import uuid, requests
from tenacity import retry, stop_after_attempt
@retry(stop=stop_after_attempt(3))
def send(item, key):
    return requests.post("https://api.example.com/items", json=item, headers={"Idempotency-Key": key})
def upload_all(items):
    for item in items:
        send(item, str(uuid.uuid4()))
""",
        # The caller mints the key and passes it in.
        """
import httpx, backoff
@backoff.on_exception(backoff.expo, httpx.HTTPError, max_tries=4)
async def charge(client: httpx.AsyncClient, payment, idempotency_key):
    return await client.post("https://api.example.com/charges", json=payment, headers={"Idempotency-Key": idempotency_key})
""",
        # A deterministic key derived from the operation survives every attempt.
        """
import hashlib, json, requests
import tenacity as t
@t.retry(stop=t.stop_after_attempt(3))
def create_order(order):
    key = hashlib.sha256(json.dumps(order, sort_keys=True).encode()).hexdigest()
    return requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": key})
""",
        # A fresh request id for tracing is not an idempotency key.
        """
import uuid, requests
from tenacity import retry, stop_after_attempt
@retry(stop=stop_after_attempt(3))
def create_order(order, key):
    headers = {"X-Request-Id": str(uuid.uuid4()), "Idempotency-Key": key}
    return requests.post("https://api.example.com/orders", json=order, headers=headers)
""",
        # Only connection failures are retried: the server never saw the earlier attempt.
        """
import uuid, requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt
@retry(retry=retry_if_exception_type(requests.ConnectTimeout), stop=stop_after_attempt(3))
def create_order(order):
    return requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": str(uuid.uuid4())})
""",
        # A queue drained one message at a time: each message gets its own key.
        """
import uuid, requests
def drain(queue):
    while queue:
        message = queue.pop()
        try:
            requests.post("https://api.example.com/events", json=message, headers={"Idempotency-Key": str(uuid.uuid4())})
        except requests.RequestException:
            continue
""",
        # aiohttp-retry and a mounted urllib3 `Retry` re-send the same headers: one key per call.
        """
import uuid
from aiohttp_retry import RetryClient
async def create(order):
    async with RetryClient() as client:
        async with client.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": str(uuid.uuid4())}) as resp:
            return await resp.json()
""",
        """
import uuid, requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=3, allowed_methods=None, status_forcelist=[503])))
def create(order):
    return session.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": str(uuid.uuid4())})
""",
        # The key is minted once per operation object and reused on retry.
        """
import uuid, stamina, httpx
class Submission:
    def __init__(self, client: httpx.Client, job):
        self.client = client
        self.job = job
        self.key = str(uuid.uuid4())
    @stamina.retry(on=httpx.HTTPError, attempts=3)
    def submit(self):
        return self.client.post("https://api.example.com/jobs", json=self.job, headers={"Idempotency-Key": self.key})
""",
    ]

    INVALID = [
        Invalid(
            """
import time, uuid, requests
def create_order(order):
    for attempt in range(3):
        key = str(uuid.uuid4())  # flagged
        try:
            return requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": key})
        except requests.RequestException:
            time.sleep(2 ** attempt)
""",
            message=(
                "`uuid.uuid4()` mints a new `Idempotency-Key` on every attempt of the retry loop in "
                "`create_order`, so the server sees each retry as a new operation"
            ),
            fixed="""
import time, uuid, requests
def create_order(order):
    key = str(uuid.uuid4())  # flagged
    for attempt in range(3):
        try:
            return requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": key})
        except requests.RequestException:
            time.sleep(2 ** attempt)
""",
        ),
        Invalid(
            """
import asyncio, secrets, aiohttp
async def charge(session: aiohttp.ClientSession, payment):
    while True:
        headers = {"Idempotency-Key": secrets.token_hex(16)}  # flagged
        async with session.post("https://api.example.com/charges", json=payment, headers=headers) as resp:
            if resp.status >= 500:
                await asyncio.sleep(1)
                continue
            return await resp.json()
""",
            fixed="""
import asyncio, secrets, aiohttp
async def charge(session: aiohttp.ClientSession, payment):
    idempotency_key = secrets.token_hex(16)
    while True:
        headers = {"Idempotency-Key": idempotency_key}  # flagged
        async with session.post("https://api.example.com/charges", json=payment, headers=headers) as resp:
            if resp.status >= 500:
                await asyncio.sleep(1)
                continue
            return await resp.json()
""",
        ),
        Invalid(
            """
import httpx
from uuid import uuid4
from tenacity import Retrying, stop_after_attempt
def create(client: httpx.Client, order):
    for attempt in Retrying(stop=stop_after_attempt(3)):
        with attempt:
            r = client.post(
                "https://api.example.com/orders",
                json=order,
                headers={"Idempotency-Key": uuid4().hex},  # flagged
            )
            r.raise_for_status()
            return r.json()
""",
            message=(
                "`uuid4()` mints a new `Idempotency-Key` on every attempt of the `Retrying` block, "
                "so the server sees each retry as a new operation"
            ),
            fixed="""
import httpx
from uuid import uuid4
from tenacity import Retrying, stop_after_attempt
def create(client: httpx.Client, order):
    idempotency_key = uuid4().hex
    for attempt in Retrying(stop=stop_after_attempt(3)):
        with attempt:
            r = client.post(
                "https://api.example.com/orders",
                json=order,
                headers={"Idempotency-Key": idempotency_key},  # flagged
            )
            r.raise_for_status()
            return r.json()
""",
        ),
        Invalid(
            """
import uuid, requests
import tenacity as t
@t.retry(stop=t.stop_after_attempt(3), wait=t.wait_random_exponential())
def create_order(order):
    key = str(uuid.uuid4())  # flagged
    return requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": key})
""",
            message=(
                "`uuid.uuid4()` mints a new `Idempotency-Key` on every attempt of `@t.retry` on "
                "`create_order`, so the server sees each retry as a new operation"
            ),
        ),
        Invalid(
            """
import time, backoff, requests
from backoff import on_exception
class Payments:
    def __init__(self):
        self.session = requests.Session()
    @on_exception(backoff.expo, requests.RequestException, max_tries=5)
    def pay(self, invoice_id, amount):
        key = f"pay-{invoice_id}-{time.time()}"  # flagged
        r = self.session.post(f"https://api.example.com/invoices/{invoice_id}/pay", json={"amount": amount}, headers={"Idempotency-Key": key})
        r.raise_for_status()
        return r.json()
"""
        ),
        Invalid(
            """
import uuid, stamina, httpx
@stamina.retry(on=httpx.HTTPError, attempts=3)
async def launch(client: httpx.AsyncClient, spec):
    body = {"spec": spec, "client_token": uuid.uuid4().hex}  # flagged
    r = await client.post("https://api.example.com/instances", json=body)
    r.raise_for_status()
    return r.json()
""",
            message=(
                "`uuid.uuid4()` mints a new `client_token` field on every attempt of `@stamina.retry` on "
                "`launch`, so the server sees each retry as a new operation"
            ),
        ),
        Invalid(
            """
import time, uuid
import requests as rq
def submit(job):
    attempts = 0
    while attempts < 5:
        try:
            r = rq.post("https://api.example.com/jobs", json=job, headers={"Idempotency-Key": str(uuid.uuid4())})  # flagged
            r.raise_for_status()
            return r.json()
        except rq.RequestException:
            attempts += 1
            time.sleep(attempts)
""",
            fixed="""
import time, uuid
import requests as rq
def submit(job):
    attempts = 0
    idempotency_key = str(uuid.uuid4())
    while attempts < 5:
        try:
            r = rq.post("https://api.example.com/jobs", json=job, headers={"Idempotency-Key": idempotency_key})  # flagged
            r.raise_for_status()
            return r.json()
        except rq.RequestException:
            attempts += 1
            time.sleep(attempts)
""",
        ),
        Invalid(
            """
import json, uuid, urllib.request, urllib.error
def send(event, attempt=0):
    req = urllib.request.Request("https://api.example.com/events", data=json.dumps(event).encode(), method="POST")
    req.add_header("Idempotency-Key", str(uuid.uuid4()))  # flagged
    try:
        return urllib.request.urlopen(req, timeout=5)
    except urllib.error.URLError:
        if attempt < 3:
            return send(event, attempt + 1)
        raise
"""
        ),
        Invalid(
            """
import uuid, requests
class Orders:
    def __init__(self):
        self.session = requests.Session()
    def _headers(self):
        return {"Idempotency-Key": str(uuid.uuid4())}
    def create(self, order):
        for attempt in range(3):
            try:
                return self.session.post("https://api.example.com/orders", json=order, headers=self._headers())  # flagged
            except requests.Timeout:
                continue
"""
        ),
        Invalid(
            """
import time, uuid, requests
def sync(orders):
    for order in orders:
        for attempt in range(3):
            key = str(uuid.uuid4())  # flagged
            r = requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": key})
            if r.status_code < 500:
                break
            time.sleep(1)
""",
            fixed="""
import time, uuid, requests
def sync(orders):
    for order in orders:
        key = str(uuid.uuid4())  # flagged
        for attempt in range(3):
            r = requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": key})
            if r.status_code < 500:
                break
            time.sleep(1)
""",
        ),
    ]

    def check(self) -> Iterator[Report]:
        self.idem = Idempotency(self.model)
        reported: set[cst.CSTNode] = set()
        scopes = sorted(
            (s for s in self.model.retry_scopes if s.kind in _SCOPE_KINDS),
            key=lambda s: -sum(1 for _ in self.model.ancestors(s.node)),
        )
        for scope in scopes:
            if self.idem.resends_after_processing(scope) is False:
                continue  # only failures the server never saw: a new key per attempt is harmless
            for http in scope.http_calls:
                if http.method in _IDEMPOTENT_METHODS:
                    continue
                for carrier in self.idem.of_call(http).carriers:
                    if carrier.session:
                        continue
                    found = self._minted_per_attempt(scope, http, carrier)
                    if found is None:
                        continue
                    node, mint, location = found
                    if node in reported:
                        continue
                    reported.add(node)
                    yield self.report(
                        node,
                        f"`{self.model.code(node)}` mints a new {self.idem.label(carrier, article=False)} on every attempt of "
                        f"{self.idem.describe_scope(scope)}, so the server sees each retry as a new operation",
                        self._hoist(scope, carrier, mint, location),
                    )

    def _minted_per_attempt(self, scope: RetryScope, http, carrier: Carrier):
        """(node to report, mint, where it runs) when the key is generated inside the scope."""
        model = self.model
        if carrier.anchor is not carrier.value:
            # The mapping comes from a same-module helper called inside the scope.
            if self.idem.mint(carrier.value) is None:
                return None
            location: cst.CSTNode = carrier.anchor
            mint = Mint(carrier.anchor, None, None)
            node = carrier.anchor
        else:
            mint = self.idem.mint(carrier.value)
            if mint is None:
                return None
            location = mint.assign if mint.assign is not None else mint.node
            node = mint.node
        sender = model.enclosing_function(http.node)
        if scope.kind in ("loop", "iterator"):
            loop = scope.node
            inside = model.is_within(location, loop.body) and model.same_function(location, loop)  # type: ignore[attr-defined]
            in_helper = sender is not model.enclosing_function(loop) and model.same_function(location, sender) if sender else False
            if not (inside or in_helper):
                return None
            if scope.kind == "loop" and self.idem.iterates_items(loop, http.node, carrier.value):  # type: ignore[arg-type]
                return None
            stop = loop
        else:
            if sender is None or not model.same_function(location, sender):
                return None
            stop = sender
        if self.idem.item_loops_around(location, stop):
            return None  # a key per item of an inner loop over different items
        return node, mint, location

    # --- fix ---------------------------------------------------------------------

    def _hoist(self, scope: RetryScope, carrier: Carrier, mint: Mint, location: cst.CSTNode):
        model = self.model
        loop = scope.node
        if scope.kind not in ("loop", "iterator") or not isinstance(loop, (cst.For, cst.While)):
            return None
        if not (model.is_within(location, loop.body) and model.same_function(location, loop)):
            return None
        changing = names_assigned_in(model, loop)
        function = model.enclosing_function(loop)
        if mint.assign is not None:
            return self._hoist_assignment(loop, mint.assign, changing, function)
        value = carrier.value
        if carrier.anchor is not value or "\n" in model.code(value) or free_names(model, value) & changing:
            return None
        container = function if function is not None else model.module
        if any(isinstance(n, cst.Name) and n.value == "idempotency_key" for n in self.model.subtree(container)):
            return None
        return self.fix(
            "Mint the key once, before the retry loop",
            Applicability.SAFE,
            self.insert_line_before(loop, f"idempotency_key = {model.code(value)}"),
            self.replace(value, "idempotency_key"),
        )

    def _hoist_assignment(self, loop, assign: cst.CSTNode, changing: set[str], function):
        model = self.model
        if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
            return None
        target = assign.targets[0].target
        if not isinstance(target, cst.Name):
            return None
        statement = model.parent(assign)
        block = model.parent(statement) if statement is not None else None
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        if not isinstance(block, cst.IndentedBlock) or len(block.body) < 2:
            return None
        if len(model._assignments.get((function, target.value), [])) != 1:
            return None
        if free_names(model, assign.value) & changing:
            return None
        start, end = model.range_of(statement)
        if start.line != end.line:
            return None
        # python_lines, not str.splitlines: a form feed is no line break to Python.
        line = python_lines(model.file_text)[start.line - 1]
        return self.fix(
            f"Mint `{target.value}` once, before the retry loop",
            Applicability.SAFE,
            self.insert_line_before(loop, line[start.column :].rstrip()),
            Edit(Position(start.line, 0), Position(start.line + 1, 0), ""),
        )
