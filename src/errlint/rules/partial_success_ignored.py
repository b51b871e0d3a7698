"""ERR304: a 200 from a batch endpoint used as if every item succeeded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from errlint.linter.checks import body_parse, parsed_response
from errlint.linter.findings import FixAvailability
from errlint.linter.model import HttpCall, dotted_name, string_value
from errlint.linter.profiles import call_url
from errlint.linter.rule import Invalid, Report, Rule

_SEARCH_CLIENTS = frozenset(
    {
        "elasticsearch.Elasticsearch",
        "elasticsearch.AsyncElasticsearch",
        "opensearchpy.OpenSearch",
        "opensearchpy.AsyncOpenSearch",
    }
)
_SEARCH_MODULES = ("elasticsearch", "opensearchpy")
_SEARCH_NAME = re.compile(r"(^|_)(es|os)($|_)|elastic|opensearch|search", re.I)
_SLACK_CLIENTS = frozenset({"slackclient.SlackClient"})
# Calls that only show a value: passing a response to them is not handing it on.
_DISPLAY = re.compile(r"^(print|debug|info|warning|warn|error|exception|critical|log|len|str|repr)$")


@dataclass(frozen=True)
class _Shape:
    """A batch response shape: the keys that report per-item failures."""

    api: str
    failure_keys: frozenset[str]
    message: str
    items: str = "results"  # the key of the item list


_BULK = _Shape(
    "Elasticsearch bulk",
    frozenset({"errors", "items"}),
    "returns 200 even when items fail, and its `errors`/`items` are never read",
)
_SLACK = _Shape("Slack", frozenset({"ok", "error"}), "returns 200 with `\"ok\": false` on failure, and `ok` is never read")
_EXTRACT = _Shape(
    "extract",
    frozenset({"status", "error_message", "failed", "successful_urls", "failed_urls", "usage", "meta"}),
    "marks failed URLs with `status: \"failed\"` in a 200, and no item's `status`/`error_message` is read",
)
_GRAPHQL = _Shape(
    "GraphQL",
    frozenset({"errors"}),
    "returns 200 with an `errors` list when fields fail, and `errors` is never read",
)


class PartialSuccessIgnored(Rule):
    """
    ## What it does
    Flags batch and bulk results used as if every item succeeded. Flags results of batch and bulk endpoints used as if every item
    succeeded, when the response reports per-item failures inside a 200:
    Elasticsearch/OpenSearch `client.bulk(...)` or a POST to `/_bulk` whose
    `errors`/`items` are never read; an `/extract`-style response whose
    `results` are used without reading each item's `status`/`error_message`
    (or the `meta.usage` counters); Slack Web API calls (`slack.com/api/...`,
    legacy `SlackClient.api_call`) whose body `ok` is never read; GraphQL
    responses whose `data` is read but `errors` never is. API profiles can
    declare more shapes (`partial-success`).

    Results handed back to the caller or to another function are not
    flagged, nor is Elasticsearch `helpers.bulk`, which raises
    `BulkIndexError` on item errors by default.

    ## Why is this bad?
    The HTTP status says the batch was processed, not that each item was:
    `raise_for_status()` passes, and failed items are silently dropped. API
    docs say so explicitly: "A request to Extract may return `200 OK` overall
    while individual URLs within the request fail; failed URLs are marked
    with `status: "failed"` and include an `error_message`."

    ## Example
    ```python
    resp = es.bulk(operations=actions)
    log.info("indexed %d documents", len(actions))
    ```

    ## Use instead
    ```python
    resp = es.bulk(operations=actions)
    if resp["errors"]:
        failed = [item for item in resp["items"] if next(iter(item.values())).get("error")]
        raise BulkError(failed)
    ```

    ## Fix safety
    No fix: what to do with failed items (retry them, report them) is the
    caller's decision.

    ## References
    - Octen error codes (https://docs.octen.ai/introduction/admin/error-codes): Extract "may return `200 OK`
      overall while individual URLs within the request fail"; failed URLs carry `status: "failed"` and an
      `error_message`.
    - Elasticsearch bulk API: the response has a top-level `errors` flag and per-item results in `items`;
      `helpers.bulk` raises `BulkIndexError` unless `raise_on_error=False`.
    - Slack Web API: every response carries `ok`; failures are `{"ok": false, "error": "..."}` with HTTP 200.
    - GraphQL over HTTP: field errors come back in `errors` next to partial `data`.
    """

    code = "ERR304"
    name = "partial-success-ignored"
    fix_availability = FixAvailability.NONE

    VALID = [
        # A test that only inspects the request that was sent trusts nothing in the body.
        """
import requests
def test_token_is_sent(session):
    response = session.get("https://slack.com/api/auth.test")
    assert "token" in response.request.url
""",
        # helpers.bulk raises BulkIndexError on item errors by default.
        """
from elasticsearch import Elasticsearch, helpers
es = Elasticsearch("http://localhost:9200")
def index(docs):
    helpers.bulk(es, ({"_index": "docs", "_source": d} for d in docs))
""",
        # from-import of the helper, too.
        """
from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk
def index(es: Elasticsearch, actions):
    ok, _ = bulk(es, actions)
    return ok
""",
        # Raw bulk whose `errors` flag is checked.
        """
from elasticsearch import Elasticsearch
class Indexer:
    def __init__(self):
        self.es = Elasticsearch("http://localhost:9200")
    def index(self, operations):
        resp = self.es.bulk(operations=operations)
        if resp["errors"]:
            raise RuntimeError([i for i in resp["items"] if "error" in i["index"]])
""",
        # Extract results filtered by per-item status.
        """
import requests
def extract(urls):
    r = requests.post("https://api.octen.ai/v1/extract", json={"urls": urls})
    r.raise_for_status()
    results = r.json()["data"]["results"]
    return [item for item in results if item["status"] == "success"]
""",
        # Slack `ok` checked.
        """
import requests
def post_message(token, channel, text):
    r = requests.post("https://slack.com/api/chat.postMessage",
                      headers={"Authorization": f"Bearer {token}"}, json={"channel": channel, "text": text})
    body = r.json()
    if not body["ok"]:
        raise RuntimeError(body["error"])
    return body["ts"]
""",
        # GraphQL errors read.
        """
import httpx
async def viewer(client: httpx.AsyncClient, query):
    r = await client.post("https://api.example.com/graphql", json={"query": query})
    body = r.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"][0]["message"])
    return body["data"]["viewer"]
""",
        # The whole body is returned to the caller, who decides.
        """
import requests
def bulk(url, payload):
    r = requests.post(url + "/_bulk", data=payload, headers={"Content-Type": "application/x-ndjson"})
    r.raise_for_status()
    return r.json()
""",
        # slack_sdk's WebClient raises SlackApiError when `ok` is false.
        """
from slack_sdk import WebClient
client = WebClient(token="xoxb-1")
def post(channel, text):
    client.chat_postMessage(channel=channel, text=text)
""",
        # The bulk result is handed to a checking function.
        """
from elasticsearch import AsyncElasticsearch
es = AsyncElasticsearch("http://localhost:9200")
async def index(operations):
    resp = await es.bulk(operations=operations)
    check_bulk(resp)
""",
    ]

    INVALID = [
        Invalid(
            """
from elasticsearch import Elasticsearch
es = Elasticsearch("http://localhost:9200")
def index(operations):
    es.bulk(operations=operations)  # flagged
    return len(operations)
""",
            message="`es.bulk(...)` returns 200 even when items fail, and its `errors`/`items` are never read",
        ),
        Invalid(
            """
from elasticsearch import AsyncElasticsearch
class Indexer:
    def __init__(self):
        self.client = AsyncElasticsearch("http://localhost:9200")
    async def index(self, operations):
        resp = await self.client.bulk(operations=operations)  # flagged
        return resp["took"]
"""
        ),
        Invalid(
            """
import requests
ES = "http://localhost:9200"
def index(payload):
    r = requests.post(f"{ES}/_bulk", data=payload, headers={"Content-Type": "application/x-ndjson"})  # flagged
    r.raise_for_status()
    return True
"""
        ),
        Invalid(
            """
import requests
EXTRACT_URL = "https://api.octen.ai/v1/extract"
def extract(urls):
    r = requests.post(EXTRACT_URL, json={"urls": urls})
    r.raise_for_status()
    return {item["url"]: item["content"] for item in r.json()["data"]["results"]}  # flagged
""",
            message="This extract response marks failed URLs with `status: \"failed\"` in a 200, and no item's `status`/`error_message` is read",
        ),
        Invalid(
            """
import httpx
async def extract(client: httpx.AsyncClient, urls):
    r = await client.post("/v1/extract", json={"urls": urls})
    r.raise_for_status()
    data = r.json()
    for item in data["data"]["results"]:  # flagged
        yield item["content"]
"""
        ),
        Invalid(
            """
import requests as rq
def notify(token, text):
    r = rq.post("https://slack.com/api/chat.postMessage", json={"channel": "#ops", "text": text},  # flagged
                headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
""",
            message='This Slack call returns 200 with `"ok": false` on failure, and `ok` is never read',
        ),
        Invalid(
            """
import aiohttp
class Notifier:
    def __init__(self, token):
        self.session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"})
    async def post(self, channel, text):
        async with self.session.post("https://slack.com/api/chat.postMessage", json={"channel": channel, "text": text}) as resp:  # flagged
            body = await resp.json()
            return body["ts"]
"""
        ),
        Invalid(
            """
from slackclient import SlackClient
sc = SlackClient("xoxb-1")
def post(channel, text):
    sc.api_call("chat.postMessage", channel=channel, text=text)  # flagged
"""
        ),
        Invalid(
            """
import requests
GRAPHQL = "https://api.example.com/graphql"
def viewer(session: requests.Session, query):
    r = session.post(GRAPHQL, json={"query": query})
    r.raise_for_status()
    return r.json()["data"]["viewer"]  # flagged
""",
            message="This GraphQL response returns 200 with an `errors` list when fields fail, and `errors` is never read",
        ),
        Invalid(
            """
import httpx
def viewer(query):
    with httpx.Client() as client:
        body = client.post("https://api.example.com/graphql", json={"query": query}).json()
        return body.get("data")  # flagged
"""
        ),
    ]

    def check(self) -> Iterator[Report]:
        yield from self._bulk_calls()
        for http in self.model.http_calls:
            shape = self._http_shape(http)
            if shape is None:
                continue
            if shape in (_BULK, _SLACK):
                yield from self._whole_result(http.node, http, shape)
            else:
                yield from self._item_reads(http, shape)

    # --- shapes -----------------------------------------------------------------

    def _http_shape(self, http: HttpCall) -> _Shape | None:
        url = call_url(self.model, http) or ""
        if "/_bulk" in url:
            return _BULK
        if "slack.com/api/" in url:
            return _SLACK
        if "graphql" in url.lower():
            return _GRAPHQL
        profile = self.model.profile_for(http)
        declared = profile.partial_success_for(url) if profile is not None and url else None
        if declared is not None:
            read = {declared.flag, declared.item_status, declared.item_error, declared.summary}
            keys = {segment for path in read if path for segment in path.split(".") if segment != "*"}
            items = declared.items.split(".")[-1]
            return _Shape("batch", frozenset(keys), "reports failed items in a 200, and they are never read", items)
        if re.search(r"/extract(/|$)", url.split("?")[0]):
            return _EXTRACT
        return None

    def _bulk_calls(self) -> Iterator[Report]:
        for call in self.model.calls:
            func = call.func
            if not isinstance(func, cst.Attribute):
                continue
            if func.attr.value == "bulk":
                if ".helpers." in (self.model.callee(call) or "") or dotted_name(func.value) == "helpers":
                    continue
                if self._search_client(func.value):
                    yield from self._whole_result(call, None, _BULK)
            elif func.attr.value == "api_call" and self._slack_legacy(func.value):
                yield from self._whole_result(call, None, _SLACK)

    def _search_client(self, receiver: cst.BaseExpression) -> bool:
        resolved = self.model.resolve(receiver)
        if isinstance(resolved, cst.Call):
            return self.model.callee(resolved) in _SEARCH_CLIENTS
        name = dotted_name(receiver) or ""
        return bool(_SEARCH_NAME.search(name.rsplit(".", 1)[-1])) and self.model.imports_any(_SEARCH_MODULES)

    def _slack_legacy(self, receiver: cst.BaseExpression) -> bool:
        resolved = self.model.resolve(receiver)
        return isinstance(resolved, cst.Call) and self.model.callee(resolved) in _SLACK_CLIENTS

    # --- whole result ignored (bulk, Slack) -------------------------------------------

    def _whole_result(self, call: cst.Call, http: HttpCall | None, shape: _Shape) -> Iterator[Report]:
        scope = self._scope(call)
        if self._reads(scope, shape.failure_keys):
            return
        node: cst.CSTNode = call
        parent = self.model.parent(node)
        while isinstance(parent, cst.Await):
            node, parent = parent, self.model.parent(parent)
        if isinstance(parent, (cst.Return, cst.Yield)) or isinstance(parent, cst.Arg):
            return
        bound = self._bound_name(node)
        if bound is not None and (self._handed_on(scope, bound, call) or not self._body_read(scope, bound, call)):
            return
        if not isinstance(parent, (cst.Expr, cst.Assign, cst.AnnAssign, cst.WithItem, cst.Attribute, cst.Subscript)):
            return
        yield self.report(call, self._message(call, http, shape))

    def _body_read(self, scope: cst.CSTNode, name: str, origin: cst.CSTNode) -> bool:
        """Is the response trusted: its body read (`.json()`, `r["..."]`) or its status taken as success?

        A test that only inspects `response.request` trusts nothing the server said.
        """
        for node in self.model.walk(scope):
            if not isinstance(node, cst.Name) or node.value != name or self.model.is_within(node, origin):
                continue
            parent = self.model.parent(node)
            if isinstance(parent, cst.Subscript) and parent.value is node:
                return True
            if isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value in _BODY_ATTRIBUTES:
                return True
        return False

    def _bound_name(self, node: cst.CSTNode) -> str | None:
        parent = self.model.parent(node)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            return dotted_name(parent.targets[0].target)
        if isinstance(parent, cst.WithItem) and parent.asname is not None:
            return dotted_name(parent.asname.name)
        return None

    # --- items read without their status (extract, GraphQL, profiles) -------------------

    def _item_reads(self, http: HttpCall, shape: _Shape) -> Iterator[Report]:
        scope = self._scope(http.node)
        if self._reads(scope, shape.failure_keys):
            return
        bound = self._bound_name(_whole_body(self.model, http.node))
        if bound is not None and self._handed_on(scope, bound, http.node):
            return
        used = {"data"} if shape is _GRAPHQL else {shape.items}
        for node in self._reads_of(scope, used):
            parse = body_parse(self.model, _body_root(node))
            response = parsed_response(self.model, parse) if parse is not None else None
            if response is None or self.model.response_call(response) is not http:
                continue
            yield self.report(node, self._message(http.node, http, shape))
            return

    def _reads_of(self, scope: cst.CSTNode, keys: set[str]) -> Iterator[cst.CSTNode]:
        """Subscripts `body["key"]` and calls `body.get("key")` in `scope`, outermost bodies first."""
        for subscript in self.model.subscripts:
            if self.model.same_function(subscript, scope) and _subscript_key(subscript) in keys:
                yield subscript
        for call in self.model.calls:
            func = call.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "get"
                and call.args
                and string_value(call.args[0].value) in keys
                and self.model.same_function(call, scope)
            ):
                yield call

    # --- helpers -----------------------------------------------------------------------

    def _scope(self, node: cst.CSTNode) -> cst.CSTNode:
        function = self.model.enclosing_function(node)
        return function if function is not None else self.model.module

    def _reads(self, scope: cst.CSTNode, keys: frozenset[str]) -> bool:
        """A string naming one of `keys` (a subscript, `.get`, `in` test) or such an attribute appears in `scope`."""
        for node in self.model.walk(scope):
            if isinstance(node, cst.SimpleString) and string_value(node) in keys:
                return True
            if isinstance(node, cst.Attribute) and node.attr.value in keys:
                return True
        return False

    def _handed_on(self, scope: cst.CSTNode, name: str, origin: cst.CSTNode, depth: int = 0) -> bool:
        """The result bound to `name` (or its whole parsed body) is returned, stored or passed on."""
        model = self.model
        for node in model.walk(scope):
            if not isinstance(node, cst.Name) or node.value != name or model.is_within(node, origin):
                continue
            top = _whole_body(model, node)
            parent = model.parent(top)
            if isinstance(parent, (cst.Return, cst.Yield)):
                return True
            if isinstance(parent, cst.Arg):
                call = model.parent(parent)
                callee = (dotted_name(call.func) or "").rsplit(".", 1)[-1] if isinstance(call, cst.Call) else ""
                if not _DISPLAY.match(callee):
                    return True
            elif isinstance(parent, cst.Assign) and parent.value is top and len(parent.targets) == 1:
                target = dotted_name(parent.targets[0].target)
                if target is None or "." in target:
                    return True
                if depth < 3 and target != name and self._handed_on(scope, target, origin, depth + 1):
                    return True
        return False

    def _message(self, call: cst.Call, http: HttpCall | None, shape: _Shape) -> str:
        if http is None:
            return f"`{self.model.code(call.func)}(...)` {shape.message}"
        return f"This {shape.api} {'call' if shape is _SLACK else 'response'} {shape.message}"


# Using any of these trusts the response: its body, or its status as the success signal.
_BODY_ATTRIBUTES = frozenset(
    {
        "json", "text", "content", "data", "body", "get", "read", "iter_content", "iter_lines",
        "raise_for_status", "status_code", "status", "ok", "is_success",
    }
)


def _whole_body(model, node: cst.CSTNode) -> cst.CSTNode:
    """`r` -> `r.json()` -> `await r.json()`: the largest expression that is still the whole result."""
    while True:
        parent = model.parent(node)
        if isinstance(parent, cst.Await):
            node = parent
        elif isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value in ("json", "body"):
            node = parent
        elif isinstance(parent, cst.Call) and parent.func is node and isinstance(node, cst.Attribute):
            node = parent
        else:
            return node


def _body_root(node: cst.CSTNode) -> cst.BaseExpression:
    """`body["data"]["results"]` / `body.get("data", {}).get("results")` -> `body`."""
    while True:
        if isinstance(node, cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "get":
            node = node.func.value
        else:
            return node  # type: ignore[return-value]


def _subscript_key(subscript: cst.Subscript) -> str | None:
    if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Index):
        return None
    return string_value(subscript.slice[0].slice.value)
