"""ERR401: a POST/PATCH re-sent by a retry with no idempotency key."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import Applicability, Edit, FixAvailability, Position
from errlint.linter.model import (
    UNKNOWN,
    HttpCall,
    dotted_name,
    keyword_arg,
    keyword_value,
    positional_args,
)
from errlint.linter.rule import Invalid, Report, Rule, Valid
from errlint.linter.scopes import RetryScope, exception_names
from errlint.rules._idempotency import (
    UNPROCESSED_STATUSES,
    Idempotency,
    capitalized,
)

_ALL = "all"


class WriteRetryWithoutIdempotencyKey(Rule):
    """
    ## What it does
    Flags POST and PATCH requests that a retry sends again without an idempotency key. Shapes: urllib3 `Retry(allowed_methods=...)` that includes POST or
    PATCH (or is `None`/empty, which means every method), aiohttp-retry clients
    (whose default retries every 5xx for every method), and tenacity, backoff,
    stamina, `Retrying` blocks, hand-written loops and recursion around
    `.post()`, `.patch()` or `request("POST", ...)`.

    ## Why is this bad?
    POST and PATCH are not idempotent (RFC 9110). When a response is lost (a
    read timeout, a 502 from a proxy, a 500 after the write committed) the
    server may already have applied the request, and sending it again creates
    a second order or a second charge. An `Idempotency-Key` header (or the
    API's body field such as `idempotency_token` or `client_token`) lets the
    server recognise the retry and replay the first result. API docs say so:
    "For generation endpoints, always send an Idempotency-Key when your own
    client may retry the same request" and "Keep the same idempotency key when
    retrying the same write request".

    Not flagged: POST endpoints that read (GraphQL queries, search and query
    endpoints), retries that only follow 429 or connection failures (the
    server never processed the request), `Retry` objects with the default
    `allowed_methods` (no POST, no PATCH), and requests whose key header or
    body field is present, including one the caller passes in.

    ## Example
    ```python
    @retry(stop=stop_after_attempt(3))
    def create_order(order):
        return requests.post(URL, json=order)
    ```

    ## Use instead
    ```python
    def create_order(order):
        key = str(uuid.uuid4())
        return _send(order, key)

    @retry(stop=stop_after_attempt(3))
    def _send(order, key):
        return requests.post(URL, json=order, headers={"Idempotency-Key": key})
    ```

    ## Fix safety
    For hand-written loops and `Retrying` blocks a display-only suggestion
    mints a key above the loop and sends it as a header; it is never applied
    automatically because the API must support the header.

    ## References
    - Stripe idempotent requests (https://docs.stripe.com/api/idempotent_requests): with an idempotency key,
      "if a connection error occurs, you can safely repeat the request".
    - IETF draft-ietf-httpapi-idempotency-key-header
      (https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/): the header
      "can be used to make non-idempotent HTTP methods such as POST or PATCH fault-tolerant".
    - urllib3 `Retry`: `allowed_methods` defaults to HEAD, GET, PUT, DELETE, OPTIONS, TRACE; a falsy value means every method.
    - aiohttp-retry: the default options retry every 5xx for every method, POST included.
    - RFC 9110 §9.2.2: POST and PATCH are not idempotent.
    """

    code = "ERR401"
    name = "write-retry-without-idempotency-key"
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
        # The key header is present.
        """
import requests
from tenacity import retry, stop_after_attempt
@retry(stop=stop_after_attempt(3))
def create_order(order, key):
    return requests.post("https://api.example.com/orders", json=order, headers={"Idempotency-Key": key})
""",
        # GraphQL queries are reads sent with POST.
        """
import httpx
from tenacity import retry, stop_after_attempt
@retry(stop=stop_after_attempt(3))
def viewer(client: httpx.Client):
    return client.post("https://api.example.com/graphql", json={"query": "{ viewer { login } }"})
""",
        # Search endpoints read.
        """
import backoff, requests
@backoff.on_exception(backoff.expo, requests.RequestException, max_tries=4)
def search(query):
    return requests.post("https://es.example.com/products/_search", json={"query": query})
""",
        # Query endpoints read; so do vendor-keyed writes (`idempotency_token`).
        """
import requests
from retrying import retry
@retry(stop_max_attempt_number=3)
def run_query(sql):
    return requests.post("https://warehouse.example.com/api/v2/query", json={"sql": sql})
@retry(stop_max_attempt_number=3)
def create_cluster(spec, token):
    return requests.post("https://api.example.com/clusters", json={"spec": spec, "idempotency_token": token})
""",
        # Only connection failures are retried: the server never saw the request.
        """
import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt
@retry(retry=retry_if_exception_type((requests.ConnectTimeout, requests.exceptions.SSLError)), stop=stop_after_attempt(3))
def create_order(order):
    return requests.post("https://api.example.com/orders", json=order)
""",
        # A hand loop that retries only 429.
        """
import time, requests
def create_order(order):
    for attempt in range(5):
        r = requests.post("https://api.example.com/orders", json=order)
        if r.status_code == 429:
            time.sleep(2 ** attempt)
            continue
        r.raise_for_status()
        return r.json()
""",
        # A mounted Retry with the default allowed_methods never re-sends POST.
        """
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
class Api:
    def __init__(self):
        self.session = requests.Session()
        self.session.mount("https://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[500, 502, 503])))
    def create(self, order):
        return self.session.post("https://api.example.com/orders", json=order)
""",
        # A Retry that allows POST but only for 429 and never after a read error.
        """
from urllib3.util.retry import Retry
retry = Retry(total=3, read=0, status_forcelist=[429], allowed_methods=None)
""",
        # Vendor body keys carry the idempotency token.
        """
import stamina, httpx
@stamina.retry(on=httpx.HTTPError, attempts=3)
async def launch(client: httpx.AsyncClient, spec, token):
    return await client.post("https://api.example.com/instances", json={"spec": spec, "client_token": token})
""",
        # The key is set once on the session headers by the caller-facing method.
        """
import requests
from tenacity import retry, stop_after_attempt
session = requests.Session()
def configure(key):
    session.headers.update({"Idempotency-Key": key})
@retry(stop=stop_after_attempt(3))
def create_order(order):
    return session.post("https://api.example.com/orders", json=order)
""",
        # Headers passed in by the caller may hold the key.
        """
import requests
from tenacity import retry, stop_after_attempt
@retry(stop=stop_after_attempt(3))
def create_order(order, headers):
    return requests.post("https://api.example.com/orders", json=order, headers=headers)
""",
        # aiohttp-retry limited to safe methods.
        """
from aiohttp_retry import RetryClient, ExponentialRetry
async def create(order):
    options = ExponentialRetry(attempts=3, methods={"GET", "PUT"})
    async with RetryClient(retry_options=options) as client:
        async with client.post("https://api.example.com/orders", json=order) as resp:
            return await resp.json()
""",
        # A loop over different items is not a retry.
        """
import requests
def upload_all(items):
    for item in items:
        try:
            requests.post("https://api.example.com/items", json=item)
        except requests.RequestException:
            continue
""",
        # A configured body field carries the key.
        Valid(
            """
import requests
from tenacity import retry, stop_after_attempt
@retry(stop=stop_after_attempt(3))
def create_order(order, request_id):
    return requests.post("https://api.example.com/orders", json={**order, "request_id": request_id})
""",
            settings={"idempotency-fields": ["request_id"]},
        ),
        # An API profile declares the body field that carries the key.
        Valid(
            """
import requests
from tenacity import retry, stop_after_attempt
@retry(stop=stop_after_attempt(3))
def create_order(order, key):
    return requests.post("https://api.acme.io/orders", json={**order, "dedupe": {"token": key}})
""",
            settings={"profiles": {"acme": {"hosts": ["api.acme.io"], "idempotency-field": "dedupe.token"}}},
        ),
    ]

    INVALID = [
        Invalid(
            """
import requests
from tenacity import retry, stop_after_attempt
@retry(stop=stop_after_attempt(3))
def create_order(order):
    return requests.post("https://api.example.com/orders", json=order)  # flagged
""",
            message=(
                "`@retry` on `create_order` re-sends `requests.post()` with no `Idempotency-Key`, "
                "so a write whose response was lost can be applied twice"
            ),
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
class Api:
    def __init__(self):
        self.session = requests.Session()
        self.session.mount("https://", HTTPAdapter(max_retries=build_retry()))
    def create(self, order):
        return self.session.post("https://api.example.com/orders", json=order)
def build_retry():
    return Retry(total=3, status_forcelist=[502, 503], allowed_methods=None)  # flagged
""",
            message=(
                "`allowed_methods=None` makes this `Retry` re-send every method, POST and PATCH included, "
                "and `self.session.post()` carries no `Idempotency-Key`"
            ),
        ),
        Invalid(
            """
from urllib3 import Retry
RETRY = Retry(total=5, allowed_methods=frozenset({"GET", "POST"}), status_forcelist=[500, 503])  # flagged
""",
            message="`allowed_methods` makes this `Retry` re-send POST without an idempotency key",
        ),
        Invalid(
            """
import time, requests as rq
def charge(payment):
    for attempt in range(3):
        try:
            r = rq.post("https://api.example.com/charges", json=payment, timeout=10)  # flagged
            r.raise_for_status()
            return r.json()
        except rq.RequestException:
            time.sleep(2 ** attempt)
    raise RuntimeError("charge failed")
""",
            message=(
                "The retry loop in `charge` re-sends `rq.post()` with no `Idempotency-Key`, "
                "so a write whose response was lost can be applied twice"
            ),
        ),
        Invalid(
            """
import httpx
import tenacity as t
def create(client: httpx.Client, order):
    for attempt in t.Retrying(stop=t.stop_after_attempt(3), retry=t.retry_if_exception_type(httpx.ReadTimeout)):
        with attempt:
            return client.post("https://api.example.com/orders", json=order)  # flagged
"""
        ),
        Invalid(
            """
import httpx
from backoff import on_exception, expo
class Billing:
    def __init__(self):
        self.client = httpx.AsyncClient(base_url="https://api.example.com")
    @on_exception(expo, httpx.HTTPError, max_tries=4)
    async def refund(self, charge_id, amount):
        r = await self.client.request("POST", f"/charges/{charge_id}/refunds", json={"amount": amount})  # flagged
        r.raise_for_status()
        return r.json()
"""
        ),
        Invalid(
            """
from aiohttp_retry import RetryClient
async def create(order):
    async with RetryClient() as client:
        async with client.post("https://api.example.com/orders", json=order) as resp:  # flagged
            return await resp.json()
""",
            message=(
                "`RetryClient` re-sends `client.post()` with no `Idempotency-Key`, "
                "so a write whose response was lost can be applied twice"
            ),
        ),
        Invalid(
            """
import aiohttp, asyncio
async def update_profile(session: aiohttp.ClientSession, user_id, changes):
    while True:
        async with session.patch(f"https://api.example.com/users/{user_id}", json=changes) as resp:  # flagged
            if resp.status >= 500:
                await asyncio.sleep(1)
                continue
            return await resp.json()
"""
        ),
        Invalid(
            """
import stamina, requests
@stamina.retry(on=requests.Timeout, attempts=3)
def submit(job):
    headers = {"Authorization": "Bearer token"}
    return requests.post("https://api.example.com/jobs", json=job, headers=headers)  # flagged
"""
        ),
        Invalid(
            """
import json, urllib.request, urllib.error
def send(event, attempt=0):
    req = urllib.request.Request("https://api.example.com/events", data=json.dumps(event).encode(), method="POST")
    try:
        return urllib.request.urlopen(req, timeout=5)  # flagged
    except urllib.error.URLError:
        if attempt < 3:
            return send(event, attempt + 1)
        raise
"""
        ),
        Invalid(
            """
import requests
from retrying import retry
@retry(stop_max_attempt_number=3, wait_exponential_multiplier=500)
def rename(user_id, name):
    return requests.patch(f"https://api.example.com/users/{user_id}", json={"name": name})  # flagged
"""
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[500], allowed_methods=["GET", "POST"])))  # flagged
def create_order(order):
    return session.post("https://api.example.com/orders", json=order)
"""
        ),
    ]

    def check(self) -> Iterator[Report]:
        self.idem = Idempotency(self.model)
        reported: set[cst.CSTNode] = set()
        for config in self.model.retry_configs:
            if self.model.callee(config) == lib.URLLIB3_RETRY:
                report = self._urllib3_retry(config)
                if report is not None:
                    yield report
        scopes = sorted(
            (s for s in self.model.retry_scopes if s.kind not in ("mounted",)),
            key=lambda s: -sum(1 for _ in self.model.ancestors(s.node)),
        )
        for scope in scopes:
            if scope.kind != "client" and self.idem.resends_after_processing(scope) is not True:
                continue
            for http in scope.http_calls:
                if http.method not in lib.WRITE_METHODS or http.node in reported:
                    continue
                if scope.kind == "client" and not self._client_call_resends(http):
                    continue
                if scope.kind == "loop" and self.idem.iterates_items(scope.node, http.node, None):  # type: ignore[arg-type]
                    continue
                if self.idem.reads_only(http) or self._carries_key(http):
                    continue
                reported.add(http.node)
                yield self.report(
                    http.node,
                    f"{capitalized(self.idem.describe_scope(scope))} re-sends {self.idem.call_label(http)} with no "
                    f"`{self.idem.header_label}`, so a write whose response was lost can be applied twice",
                    self._suggestion(scope, http),
                )

    # --- what counts as carrying a key -----------------------------------------

    def _carries_key(self, http: HttpCall) -> bool:
        """A key is present, or may be (headers the caller builds, opaque bodies in a file that uses keys)."""
        found = self.idem.of_call(http)
        if found.carriers or not found.headers_known:
            return True
        return not found.body_known and self.idem.module_mentions_keys

    # --- urllib3 Retry ----------------------------------------------------------

    def _urllib3_retry(self, config: cst.Call) -> Report | None:
        model = self.model
        if any(arg.star for arg in config.args):
            return None
        argument = keyword_arg(config, "allowed_methods") or keyword_arg(config, "method_whitelist")
        if argument is None:
            return None
        total = keyword_value(config, "total") or (positional_args(config)[0] if positional_args(config) else None)
        if total is not None and model.const_value(total) in (0, False):
            return None
        methods = self._methods(argument.value)
        if methods is None:
            return None
        writes = lib.WRITE_METHODS if methods == _ALL else lib.WRITE_METHODS & methods  # type: ignore[operator]
        if not writes:
            return None
        read = keyword_value(config, "read")
        status = keyword_value(config, "status")
        forcelist = keyword_value(config, "status_forcelist")
        statuses = model.int_set(forcelist) if forcelist is not None else frozenset()
        if status is not None and model.const_value(status) in (0, False):
            statuses = frozenset()
        if read is not None and model.const_value(read) in (0, False):
            if statuses is None or statuses <= UNPROCESSED_STATUSES:
                return None
        sent = [
            http
            for scope in model.retry_scopes
            if scope.kind == "mounted" and scope.config is config
            for http in scope.http_calls
            if http.method in writes
        ]
        unkeyed = [http for http in sent if not self.idem.reads_only(http) and not self._carries_key(http)]
        if sent and not unkeyed:
            return None
        if not sent and self.idem.module_mentions_keys:
            return None
        value = model.code(argument.value)
        shown = f"`{argument.keyword.value}={value}`" if len(value) <= 24 else f"`{argument.keyword.value}`"  # type: ignore[union-attr]
        what = "every method, POST and PATCH included" if methods == _ALL else " and ".join(sorted(writes))
        if unkeyed:
            return self.report(
                argument,
                f"{shown} makes this `Retry` re-send {what}, and {self.idem.call_label(unkeyed[0])} "
                f"carries no `{self.idem.header_label}`",
            )
        return self.report(argument, f"{shown} makes this `Retry` re-send {what} without an idempotency key")

    def _methods(self, expr: cst.BaseExpression) -> object:
        """`_ALL` for a falsy value, the upper-cased methods named, or None when unknown."""
        model = self.model
        value = model.const_value(expr)
        if isinstance(expr, cst.Call) and not expr.args and model.const_value(expr.func) is UNKNOWN:
            if isinstance(expr.func, cst.Name) and expr.func.value in ("set", "frozenset", "list", "tuple"):
                return _ALL
        if value is None or value is False:
            return _ALL
        if isinstance(value, (tuple, list, set, frozenset)):
            if not value:
                return _ALL
            return frozenset(str(item).upper() for item in value if isinstance(item, str))
        named = frozenset(text.upper() for text in self.idem.strings_in(expr, expr))
        return named & lib.WRITE_METHODS or None

    # --- aiohttp-retry ----------------------------------------------------------

    def _options_retry_writes(self, options: cst.BaseExpression | None, method: str | None) -> bool:
        model = self.model
        if options is None:
            return True  # the defaults: every 5xx, every method
        options = model.resolve(options)
        if not isinstance(options, cst.Call):
            return False
        name = model.callee(options) or ""
        if name == "aiohttp_retry.RetryClient":
            inner = keyword_value(options, "retry_options")
            return self._options_retry_writes(inner, method) if inner is not None else True
        if name not in lib.AIOHTTP_RETRY_OPTIONS or any(arg.star for arg in options.args):
            return False
        attempts = keyword_value(options, "attempts")
        if attempts is not None and isinstance(model.const_value(attempts), int) and model.const_value(attempts) <= 1:  # type: ignore[operator]
            return False
        methods = keyword_value(options, "methods")
        if methods is not None:
            value = model.const_value(methods)
            if not isinstance(value, (tuple, list, set, frozenset)):
                return False
            if method not in {str(item).upper() for item in value}:
                return False
        statuses = set(model.int_set(keyword_value(options, "statuses")) or ())
        server_errors = keyword_value(options, "retry_all_server_errors")
        if server_errors is None or model.const_value(server_errors) is not False:
            statuses |= set(range(500, 600))
        if set(statuses) - UNPROCESSED_STATUSES:
            return True
        exceptions = keyword_value(options, "exceptions")
        if exceptions is not None:
            names = exception_names(model, exceptions)
            return "?" not in names and any(lib.canonical(n) not in lib.CONNECT_ONLY_EXCEPTIONS for n in names)
        return False

    def _client_call_resends(self, http: HttpCall) -> bool:
        per_call = keyword_value(http.node, "retry_options")
        if per_call is not None:
            return self._options_retry_writes(per_call, http.method)
        client = self.model.clients.get(http.receiver or "")
        if client is None:
            return False
        return self._options_retry_writes(client.constructor, http.method)

    # --- suggestion ---------------------------------------------------------------

    def _suggestion(self, scope: RetryScope, http: HttpCall):
        model = self.model
        loop = scope.node
        if scope.kind not in ("loop", "iterator") or not isinstance(loop, (cst.For, cst.While)):
            return None
        if http.library == "urllib.request" or not model.same_function(http.node, loop):
            return None
        function = model.enclosing_function(loop)
        container = function if function is not None else model.module
        if any(isinstance(n, cst.Name) and n.value == "idempotency_key" for n in self.model.subtree(container)):
            return None
        mint, import_edit = self._mint_expression()
        header = f'"{self.idem.header_label}": idempotency_key'
        headers = keyword_arg(http.node, "headers")
        if headers is None:
            last = http.node.args[-1].value if http.node.args else None
            if last is None or any(arg.star for arg in http.node.args):
                return None
            end = model.range_of(last)[1]
            header_edit = Edit(end, end, f", headers={{{header}}}")
        elif isinstance(headers.value, cst.Dict):
            start = model.range_of(headers.value)[0]
            after = Position(start.line, start.column + 1)
            header_edit = Edit(after, after, header + (", " if headers.value.elements else ""))
        else:
            header_edit = self.replace(headers.value, f"{{**{model.code(headers.value)}, {header}}}")
        edits = [self.insert_line_before(loop, f"idempotency_key = {mint}"), header_edit]
        if import_edit is not None:
            edits.insert(0, import_edit)
        return self.fix(
            f"Mint an `{self.idem.header_label}` once, before the retry loop", Applicability.DISPLAY, *edits
        )

    def _mint_expression(self) -> tuple[str, Edit | None]:
        for local, target in self.model.imports.items():
            if target == "uuid":
                return f"str({local}.uuid4())", None
            if target == "uuid.uuid4":
                return f"str({local}())", None
        body = self.model.module.body
        index = 0
        while index < len(body):
            statement = body[index]
            if isinstance(statement, cst.SimpleStatementLine) and all(
                (isinstance(s, cst.Expr) and isinstance(s.value, (cst.SimpleString, cst.ConcatenatedString)) and index == 0)
                or (isinstance(s, cst.ImportFrom) and dotted_name(s.module) == "__future__")
                for s in statement.body
            ):
                index += 1
                continue
            break
        if index >= len(body):
            return "str(uuid.uuid4())", None
        return "str(uuid.uuid4())", self.insert_line_before(body[index], "import uuid")
