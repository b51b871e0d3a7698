"""ERR403: one idempotency key sent with different writes."""

from __future__ import annotations

import re
from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import FixAvailability
from errlint.linter.rule import Invalid, Report, Rule, Valid
from errlint.rules._idempotency import Carrier, Idempotency, capitalized, loop_targets

_TEST_PATH = re.compile(r"(^|[\\/])(tests?|testing)[\\/]|(^|[\\/])test_[^\\/]*\.py$|_tests?\.py$|conftest\.py$")
_SETUP_METHODS = ("__init__", "__post_init__", "setUp", "setup")


class IdempotencyKeyReused(Rule):
    """
    ## What it does
    Flags one idempotency key sent with different writes. Shapes: a fixed string as
    the key, a key generated once at module level or in `__init__` and sent by
    a function whose payload varies, or a key generated once before a loop
    over different items.

    ## Why is this bad?
    The server stores the first result under the key and treats every later
    request with that key as a retry of the first one: it replays the first
    response (the second order is silently never created) or rejects the
    request, as in "409 `idempotency_conflict`: The same `Idempotency-Key` was
    reused with a different payload." A key must identify one operation.

    Keys derived from the operation's own identity (`f"order-{order.id}"`, a
    hash of the payload) are deterministic per operation and are not flagged.

    ## Example
    ```python
    class Orders:
        def __init__(self):
            self.key = str(uuid.uuid4())

        def create(self, order):
            return self.session.post(URL, json=order, headers={"Idempotency-Key": self.key})
    ```

    ## Use instead
    ```python
    class Orders:
        def create(self, order):
            key = f"order-{order['id']}"
            return self.session.post(URL, json=order, headers={"Idempotency-Key": key})
    ```

    ## Fix safety
    There is no fix: only the author knows what identifies one operation.

    ## References
    - Katalo errors (https://docs.katalo.ai/docs/api/errors): 409 `idempotency_conflict`, "The same
      `Idempotency-Key` was reused with a different payload", Retry? No.
    - IETF draft-ietf-httpapi-idempotency-key-header §2.2
      (https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/): the key
      "MUST NOT be reused with another request with a different request payload".
    """

    code = "ERR403"
    name = "idempotency-key-reused"
    fix_availability = FixAvailability.NONE

    VALID = [
        # A key derived from the order's identity.
        """
import requests
def create_order(order):
    return requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": f"order-{order['id']}"})
""",
        # A hash of the payload.
        """
import hashlib, json, httpx
async def create(client: httpx.AsyncClient, payload):
    key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return await client.post("https://api.example.com/payments", json=payload, headers={"Idempotency-Key": key})
""",
        # A new key per call.
        """
import uuid, requests
def create_order(order):
    return requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": str(uuid.uuid4())})
""",
        # Minted once per operation object whose payload is fixed.
        """
import uuid, requests
class Submission:
    def __init__(self, job):
        self.job = job
        self.key = str(uuid.uuid4())
    def submit(self):
        return requests.post("https://api.example.com/jobs", json=self.job, headers={"Idempotency-Key": self.key})
""",
        # A one-off request with a fixed payload and a fixed key is one operation.
        """
import requests
def bootstrap():
    return requests.post("https://api.example.com/setup", json={"plan": "free"}, headers={"Idempotency-Key": "bootstrap-v1"})
""",
        # The caller passes the key in.
        """
import aiohttp
async def charge(session: aiohttp.ClientSession, payment, key):
    async with session.post("https://api.example.com/charges", json=payment, headers={"Idempotency-Key": key}) as resp:
        return await resp.json()
""",
        # A key per item, minted inside the loop.
        """
import uuid, requests
def upload_all(items):
    for item in items:
        key = str(uuid.uuid4())
        requests.post("https://api.example.com/items", json=item, headers={"Idempotency-Key": key})
""",
        # A key minted before a retry loop is the same operation retried.
        """
import time, uuid, requests
def create_order(order):
    key = str(uuid.uuid4())
    for attempt in range(3):
        try:
            return requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": key})
        except requests.RequestException:
            time.sleep(1)
""",
        # Tests reuse keys on purpose to check the server's replay.
        Valid(
            """
import requests
def test_replay(order):
    first = requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": "k1"})
    second = requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": "k1"})
    assert first.json() == second.json()
"""
        ),
    ]

    INVALID = [
        Invalid(
            """
import requests
def create_order(order):
    return requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": "create-order"})  # flagged
""",
            message=(
                '`Idempotency-Key` is the fixed string `"create-order"`, so every `create_order` call sends '
                "a different payload under the same key"
            ),
        ),
        Invalid(
            """
import uuid, requests
class Orders:
    def __init__(self):
        self.session = requests.Session()
        self.key = str(uuid.uuid4())
    def create(self, order):
        return self.session.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": self.key})  # flagged
""",
            message=(
                "`Idempotency-Key` comes from `self.key`, generated once in `__init__`, so every "
                "`Orders.create` call sends a different payload under the same key"
            ),
        ),
        Invalid(
            """
import httpx
from uuid import uuid4
KEY = uuid4().hex
async def refund(client: httpx.AsyncClient, charge_id, amount):
    r = await client.post(f"https://api.example.com/charges/{charge_id}/refunds", json={"amount": amount}, headers={"Idempotency-Key": KEY})  # flagged
    return r.json()
""",
            message=(
                "`Idempotency-Key` comes from `KEY`, generated once at module level, so every "
                "`refund` call sends a different payload under the same key"
            ),
        ),
        Invalid(
            """
import uuid, requests
def upload_all(items):
    key = str(uuid.uuid4())
    for item in items:
        requests.post("https://api.example.com/items", json=item, headers={"Idempotency-Key": key})  # flagged
""",
            message=(
                "`Idempotency-Key` comes from `key`, generated once before the loop over `items`, "
                "so every item is sent under the same key"
            ),
        ),
        Invalid(
            """
import requests as rq
HEADERS = {"Authorization": "Bearer t", "Idempotency-Key": "5f1c2a"}  # flagged
def pay(invoice):
    return rq.post("https://api.example.com/payments", json=invoice, headers=HEADERS)
"""
        ),
        Invalid(
            """
import uuid, httpx
class Client:
    def __init__(self):
        self.http = httpx.Client(base_url="https://api.example.com")
        self.http.headers.update({"Idempotency-Key": str(uuid.uuid4())})  # flagged
    def create(self, order):
        return self.http.post("/orders", json=order)
"""
        ),
        Invalid(
            """
import aiohttp
from aiohttp_retry import RetryClient
async def launch(specs):
    async with RetryClient() as client:
        for spec in specs:
            async with client.post("https://api.example.com/instances", json={"spec": spec, "client_token": "launch"}) as resp:  # flagged
                await resp.json()
"""
        ),
        Invalid(
            """
import uuid, stamina, httpx
TOKEN = str(uuid.uuid4())
@stamina.retry(on=httpx.HTTPError, attempts=3)
def update(client: httpx.Client, user_id, changes):
    headers = {"Idempotency-Key": TOKEN}  # flagged
    return client.patch(f"https://api.example.com/users/{user_id}", json=changes, headers=headers)
"""
        ),
        Invalid(
            """
import json, urllib.request
def send(event):
    req = urllib.request.Request("https://api.example.com/events", data=json.dumps(event).encode(), method="POST")
    req.add_header("Idempotency-Key", "event")  # flagged
    return urllib.request.urlopen(req)
"""
        ),
        Invalid(
            """
import requests
def create_order(order):
    return requests.post("https://api.example.com/orders", json=order, headers={"X-Dedupe-Key": "orders"})  # flagged
""",
            settings={"idempotency-headers": ["X-Dedupe-Key"]},
        ),
    ]

    def check(self) -> Iterator[Report]:
        if _TEST_PATH.search(self.model.path):
            return
        self.idem = Idempotency(self.model)
        reported: set[cst.CSTNode] = set()
        for http in self.model.http_calls:
            if http.method is not None and http.method not in lib.WRITE_METHODS:
                continue
            for carrier in self.idem.of_call(http).carriers:
                node = carrier.value if carrier.anchor is carrier.value else carrier.anchor
                if node in reported:
                    continue
                message = self._reuse(http, carrier)
                if message is not None:
                    reported.add(node)
                    yield self.report(node, message)

    def _reuse(self, http, carrier: Carrier) -> str | None:
        model = self.model
        label = self.idem.label(carrier)
        function = model.enclosing_function(http.node)
        if function is not None and _is_test(model, function):
            return None  # tests send one key twice on purpose, to check the server's replay
        caller = f"`{model.functions[function].qualified}`" if function is not None else "this"
        literal = self.idem.literal_key(carrier.value)
        if literal is not None:
            if not self.idem.payload_varies(http.node):
                return None
            shown = model.code(carrier.value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            return f"{capitalized(label)} is the fixed string `{shown}`, so every {caller} call sends a different payload under the same key"
        mint = self.idem.mint(carrier.value)
        if mint is None:
            return None
        location = mint.assign if mint.assign is not None else mint.node
        minted_in = model.enclosing_function(location)
        name = f"`{mint.name}`" if mint.name else f"`{model.code(mint.node)}`"
        if minted_in is not function and (minted_in is None or minted_in.name.value in _SETUP_METHODS):
            if not self.idem.payload_varies(http.node):
                return None
            where = "at module level" if minted_in is None else f"in `{minted_in.name.value}`"
            return f"{capitalized(label)} comes from {name}, generated once {where}, so every {caller} call sends a different payload under the same key"
        if minted_in is not function:
            return None
        # Minted once in this function, before a loop over different items.
        for loop in self.idem.item_loops_around(http.node, function):
            if model.is_within(location, loop):
                return None
            targets = loop_targets(loop)
            if self.idem.payload_names(http.node) & targets:
                items = model.code(loop.iter)
                items = items if len(items) <= 30 else "the items"
                return f"{capitalized(label)} comes from {name}, generated once before the loop over `{items}`, so every item is sent under the same key"
        return None


def _is_test(model, function: cst.FunctionDef) -> bool:
    owner = model.functions[function].class_node if function in model.functions else None
    return function.name.value.startswith("test") or (owner is not None and owner.name.value.startswith("Test"))
