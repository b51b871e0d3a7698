"""ERR201: control flow decided by an error's human-readable text."""

from __future__ import annotations

import re
from typing import Iterator

import libcst as cst

from errlint.linter.findings import FixAvailability
from errlint.linter.model import (
    Handler,
    dotted_name,
    positional_args,
    string_value,
    strip_await,
)
from errlint.linter.rule import Invalid, Report, Rule
from errlint.linter.status import status_condition

# Body fields that hold human-readable text (never codes).
_TEXT_KEYS = frozenset(
    {"message", "msg", "detail", "error_message", "errorMessage", "error_msg", "errmsg", "error_description", "errorDescription"}
)
# `detail` is a string or an object depending on the endpoint (FastAPI): a key test on it is not text matching.
_MAYBE_OBJECT_KEYS = frozenset({"detail"})
_ERROR_KEYS = frozenset({"error", "errors", "err", "fault"})
# Attributes of exceptions that hold their message.
_EXCEPTION_TEXT_ATTRS = frozenset({"message", "msg", "detail", "error_message", "user_message", "strerror"})
_CASE_METHODS = frozenset({"lower", "upper", "casefold", "strip", "lstrip", "rstrip", "decode", "title"})
_REGEX_FUNCTIONS = frozenset({"re.search", "re.match", "re.fullmatch", "re.findall", "re.finditer"})
_REGEX_METHODS = frozenset({"search", "match", "fullmatch", "findall", "finditer"})
_PREFIX_METHODS = frozenset({"startswith", "endswith"})
_LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "print", "echo", "secho", "add_note", "write"}
)
_TENACITY_MESSAGE = frozenset({"retry_if_exception_message", "retry_if_not_exception_message"})
_API_MODULES = (
    "requests.", "httpx.", "aiohttp.", "aiohttp_retry.", "urllib3.", "urllib.error.", "openai.", "anthropic.",
    "google.", "googleapiclient.", "stripe.", "botocore.", "boto3.", "slack_sdk.", "slack.", "github.", "tweepy.",
    "twilio.", "httpcore.", "grpc.", "elasticsearch.", "kubernetes.",
)
_RETRY_MODULES = ("tenacity", "backoff", "stamina", "retrying", "google.api_core", "openai", "anthropic")
_EXCEPTION_PARAM = re.compile(r"^(e|ex|exc|err|error|exception|\w+_(error|exc|exception|err))$")
_RESPONSE_NAME = re.compile(r"^(r|res|resp|response|rsp|reply|.*_resp(onse)?|resp(onse)?_.*)$", re.I)
_ERROR_PHRASE = re.compile(
    r"rate|limit|quota|throttl|too many|exceed|timeout|timed out|unavailable|denied|forbidden|unauthori[sz]ed|"
    r"invalid|expired|not found|fail|error|try again|overload|busy|capacity|conflict|already exists|"
    r"permission|insufficient|blocked|\b[45]\d\d\b",
    re.I,
)
_STATUS_TEXT = re.compile(r"^\s*([45]\d\d)\s*$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class BranchOnMessageText(Rule):
    """
    ## What it does
    Flags control flow (a retry, a return, the raised type, success) decided by error prose. Shapes: `"rate limit" in str(e)` and
    its `.lower()` variants, `in e.message`, `in e.args[0]`, `in resp.text`,
    `in body["error"]["message"]` (or `["msg"]`, a string `["detail"]`),
    `.startswith(...)`, `re.search(..., str(e))`, `"429" in str(e)`,
    `== "Rate limit exceeded"`, and tenacity's `retry_if_exception_message`.

    ## Why is this bad?
    Messages are written for people: they change wording, get translated,
    gain request ids and differ between the layers that produce them (a
    gateway, the framework, the application). APIs say so: "Your client
    should branch on **HTTP status** and **`error.code`**, not only on message
    text", and "Handle `error.code` first, then use the message for logs or
    UI". A branch on text silently stops matching, and the rate-limit
    handling or the terminal-error detection it implemented is gone.

    Comparisons against code fields (`code`, `type`, `error_code`, `reason`,
    `status`, Slack's `error`), key tests such as `"error" in data`, and
    branches that only log, print or add a hint before re-raising the same
    error are not flagged.

    ## Example
    ```python
    try:
        r = requests.post(url, json=payload)
        r.raise_for_status()
    except requests.HTTPError as e:
        if "rate limit" in str(e).lower():
            time.sleep(5)
            return send(payload)
        raise
    ```

    ## Use instead
    ```python
    except requests.HTTPError as e:
        error = e.response.json().get("error", {})
        if e.response.status_code == 429 or error.get("code") == "RATE_LIMIT_ERROR":
            time.sleep(5)
            return send(payload)
        raise
    ```

    ## Fix safety
    No fix: which status or code replaces the text depends on the API.

    ## References
    - Titan errors (https://webscraping.titannet.io/docs/api-reference/errors): "Your client should branch on
      **HTTP status** and **`error.code`**, not only on message text."
    - RFC 9457 §3.1.4 (https://www.rfc-editor.org/rfc/rfc9457#section-3.1.4): "Consumers SHOULD NOT parse the
      'detail' member for information"; extensions are "more suitable and less error-prone".
    - aiohttp: `ClientResponseError.message` is the reason phrase, not the body.
    """

    code = "ERR201"
    name = "branch-on-message-text"
    fix_availability = FixAvailability.NONE

    VALID = [
        # Machine-readable code in the standard envelope.
        """
import time, requests
def send(url, payload):
    for attempt in range(3):
        r = requests.post(url, json=payload)
        body = r.json()
        if r.status_code == 429 or body["error"]["code"] == "TOO_MANY_REQUESTS":
            time.sleep(2 ** attempt)
            continue
        if body["error"]["message"]:
            print(body["error"]["message"])
        return body
""",
        # Google-style `reason`, Slack's `error`, `type` and `error_code` are codes.
        """
import requests
def classify(r: requests.Response):
    data = r.json()
    if data.get("error") == "ratelimited":
        return "retry"
    if data["error"]["errors"][0]["reason"] == "rateLimitExceeded":
        return "retry"
    if data.get("type") == "invalid_request_error" or data.get("error_code") == "QUOTA":
        return "fail"
    if data.get("status") == "RESOURCE_EXHAUSTED":
        return "retry"
    return "ok"
""",
        # Key tests on the parsed body.
        """
import httpx
async def fetch(client: httpx.AsyncClient, url):
    r = await client.get(url)
    data = r.json()
    if "error" in data:
        raise RuntimeError(data["error"])
    if "detail" in data and "code" in data["detail"]:
        raise RuntimeError(data["detail"]["code"])
    return data
""",
        # Text used only to log before re-raising.
        """
import logging, requests
log = logging.getLogger(__name__)
def fetch(url):
    try:
        r = requests.get(url)
        r.raise_for_status()
    except requests.HTTPError as e:
        if "rate limit" in str(e).lower():
            log.warning("rate limited: %s", e)
        raise
    return r.json()
""",
        # Appending a hint before re-raising the same error.
        """
import aiohttp
async def fetch(session: aiohttp.ClientSession, url):
    try:
        async with session.get(url, raise_for_status=True) as resp:
            return await resp.json()
    except aiohttp.ClientResponseError as e:
        if e.message.startswith("Unauthorized"):
            e.add_note("Hint: check the API_TOKEN environment variable")
        raise
""",
        # tenacity predicate on the status, backoff giveup on the status.
        """
import backoff, httpx
from tenacity import retry, retry_if_exception, stop_after_attempt
def is_retryable(e):
    return isinstance(e, httpx.HTTPStatusError) and e.response.status_code in (429, 503)
@retry(retry=retry_if_exception(is_retryable), stop=stop_after_attempt(3))
def fetch(client: httpx.Client, url):
    return client.get(url).raise_for_status()
@backoff.on_exception(backoff.expo, httpx.HTTPStatusError, max_tries=3,
                      giveup=lambda e: e.response.status_code < 500)
def fetch_other(client: httpx.Client, url):
    return client.get(url).raise_for_status()
""",
        # Text shown to the user, not branched on.
        """
import urllib.request, urllib.error
def fetch(url):
    try:
        return urllib.request.urlopen(url).read()
    except urllib.error.HTTPError as e:
        message = e.read().decode()
        label = "quota" if "quota" in message else "other"
        print(f"{label}: {message}")
        raise
""",
        # Content-type checks read a header, not a message.
        """
import requests
def parse(r: requests.Response):
    if "application/json" in r.headers.get("Content-Type", ""):
        return r.json()
    if r.text.startswith("<"):
        return None
    return r.text
""",
        # Text branching outside any HTTP error path (a parser, a chat command).
        """
import requests
def handle(event):
    if "hello" in event["text"]:
        return "hi"
    try:
        value = int(event["count"])
    except ValueError as e:
        if "invalid literal" in str(e):
            return 0
        raise
    return value
""",
        # A urllib3 retry loop that branches on the status only.
        """
import time, urllib3
http = urllib3.PoolManager()
def fetch(url):
    for attempt in range(3):
        r = http.request("GET", url)
        if r.status in (429, 503):
            time.sleep(2 ** attempt)
            continue
        return r.data
""",
    ]

    INVALID = [
        Invalid(
            """
import time, requests
def send(url, payload):
    try:
        r = requests.post(url, json=payload)
        r.raise_for_status()
        return r.json()
    except requests.HTTPError as e:
        if "rate limit" in str(e).lower():  # flagged
            time.sleep(5)
            return send(url, payload)
        raise
""",
            message="Branches on the wording of `str(e)`; test the status or a machine-readable error code instead",
        ),
        Invalid(
            """
import time, requests as rq
def fetch(url):
    for attempt in range(5):
        try:
            r = rq.get(url)
            r.raise_for_status()
            return r.json()
        except rq.RequestException as exc:
            if "429" in str(exc):  # flagged
                time.sleep(2 ** attempt)
                continue
            raise
""",
            message="Reads status 429 from the wording of `str(exc)`; compare the response status instead",
        ),
        Invalid(
            """
import httpx
class Client:
    def __init__(self):
        self.http = httpx.Client()
    def create(self, payload):
        r = self.http.post("https://api.example.com/jobs", json=payload)
        if r.status_code >= 400:
            body = r.json()
            if body["error"]["message"] == "Rate limit exceeded: 100 calls per 60 seconds":  # flagged
                raise RateLimited()
            raise ApiError(body["error"]["code"])
        return r.json()
""",
            message='Branches on the wording of `body["error"]["message"]`; test the status or a machine-readable error code instead',
        ),
        # aiohttp: `e.message` is the reason phrase.
        Invalid(
            """
import asyncio, aiohttp
async def fetch(session: aiohttp.ClientSession, url):
    while True:
        try:
            async with session.get(url, raise_for_status=True) as resp:
                return await resp.json()
        except aiohttp.ClientResponseError as e:
            if "Too Many Requests" in e.message:  # flagged
                await asyncio.sleep(1)
                continue
            raise
""",
            message="Branches on the wording of `e.message`; test the status or a machine-readable error code instead",
        ),
        # Response text in a hand loop, and `e.args[0]`.
        Invalid(
            """
import time, requests
def fetch(session: requests.Session, url):
    for attempt in range(3):
        r = session.get(url)
        if r.status_code == 403 and "rate limit" in r.text:  # flagged
            time.sleep(60)
            continue
        try:
            r.raise_for_status()
        except requests.HTTPError as e:
            if "Too Many Requests" in e.args[0]:  # flagged
                time.sleep(5)
                continue
            raise
        return r.json()
"""
        ),
        # tenacity: retry decided by the exception message.
        Invalid(
            """
import tenacity as t, httpx
@t.retry(retry=t.retry_if_exception_message(match=r".*(timeout|rate limit).*"), stop=t.stop_after_attempt(3))  # flagged
def fetch(client: httpx.Client, url):
    return client.get(url).raise_for_status()
""",
            message="`retry_if_exception_message` decides retries by the exception's wording; retry on a status or error code instead",
        ),
        # backoff giveup and a tenacity predicate that read the text.
        Invalid(
            """
import re, backoff, requests
from tenacity import retry, retry_if_exception, stop_after_attempt
@backoff.on_exception(backoff.expo, requests.HTTPError, max_tries=4,
                      giveup=lambda e: "not found" in str(e))  # flagged
def fetch(url):
    r = requests.get(url)
    r.raise_for_status()
    return r.json()
def is_rate_limited(error):
    return re.search(r"rate.?limit", str(error), re.I) is not None  # flagged
@retry(retry=retry_if_exception(is_rate_limited), stop=stop_after_attempt(3))
def fetch_again(url):
    return requests.get(url).raise_for_status()
"""
        ),
        # urllib3 body text and a FastAPI `detail` string deciding success.
        Invalid(
            """
import json, urllib3
http = urllib3.PoolManager()
def delete(url):
    r = http.request("DELETE", url)
    if r.status == 404:
        detail = json.loads(r.data)["detail"]
        if detail.startswith("Rule not found"):  # flagged
            return True
    return r.status < 300
"""
        ),
        # httpx async: message text decides the raised type (via a variable).
        Invalid(
            """
import httpx
async def call(client: httpx.AsyncClient, url):
    try:
        r = await client.get(url)
        r.raise_for_status()
    except httpx.HTTPStatusError as e:
        message = e.response.json().get("error", {}).get("message", "")
        if "quota" in message.lower():  # flagged
            raise QuotaExceeded() from e
        raise
    return r.json()
"""
        ),
    ]

    def check(self) -> Iterator[Report]:
        reported: set[cst.CSTNode] = set()
        for call in self.model.calls:
            name = self.model.callee(call) or ""
            if name.startswith("tenacity") and name.rsplit(".", 1)[-1] in _TENACITY_MESSAGE:
                short = name.rsplit(".", 1)[-1]
                reported.add(call)
                yield self.report(
                    call,
                    f"`{short}` decides retries by the exception's wording; retry on a status or error code instead",
                )
        candidates: list[tuple[cst.CSTNode, cst.BaseExpression, cst.BaseExpression | None]] = []
        for comparison in self.model.comparisons:
            found = self._compared_text(comparison)
            if found is not None:
                candidates.append((comparison, *found))
        for call in self.model.calls:
            found = self._matched_text(call)
            if found is not None:
                candidates.append((call, *found))
        statements_done: set[tuple[cst.CSTNode, str]] = set()
        for node, source, needle in candidates:
            if node in reported or any(ancestor in reported for ancestor in self.model.ancestors(node)):
                continue
            kind = self._text_kind(source)
            if kind is None:
                continue
            needle_text = self._needle_text(needle)
            if kind == "ambiguous" and needle_text is not None and _IDENTIFIER.match(needle_text):
                continue  # `"code" in body["detail"]` is a key test on an object
            if kind != "exception" and not self._error_context(node, source, needle_text):
                continue
            if not self._decides(node):
                continue
            described = _short(self.model.code(_unwrap(strip_await(source))))
            key = (self.model.enclosing_statement(node), described)
            if key in statements_done:
                continue
            statements_done.add(key)
            reported.add(node)
            status = _STATUS_TEXT.match(needle_text or "")
            if status is not None:
                message = f"Reads status {status.group(1)} from the wording of `{described}`; compare the response status instead"
            else:
                message = f"Branches on the wording of `{described}`; test the status or a machine-readable error code instead"
            yield self.report(node, message)

    # --- shapes --------------------------------------------------------------

    def _compared_text(
        self, comparison: cst.Comparison
    ) -> tuple[cst.BaseExpression, cst.BaseExpression | None] | None:
        """(text source, needle) when the comparison matches text."""
        left = comparison.left
        for target in comparison.comparisons:
            right = target.comparator
            if isinstance(target.operator, (cst.In, cst.NotIn)):
                if self._text_kind(right) is not None:
                    return right, left
                if self._text_kind(left) is not None and self._has_sentence(right):
                    return left, right
            elif isinstance(target.operator, (cst.Equal, cst.NotEqual)):
                for source, other in ((left, right), (right, left)):
                    if self._text_kind(source) is not None and self._has_sentence(other):
                        return source, other
            left = right
        return None

    def _matched_text(self, call: cst.Call) -> tuple[cst.BaseExpression, cst.BaseExpression | None] | None:
        func = call.func
        args = positional_args(call)
        if isinstance(func, cst.Attribute) and func.attr.value in _PREFIX_METHODS and args:
            if self._text_kind(func.value) is not None:
                return func.value, args[0]
            return None
        name = self.model.callee(call) or ""
        if name in _REGEX_FUNCTIONS and len(args) >= 2:
            return (args[1], args[0]) if self._text_kind(args[1]) is not None else None
        if isinstance(func, cst.Attribute) and func.attr.value in _REGEX_METHODS and args:
            pattern = self._compiled_pattern(func.value)
            if pattern is not None and self._text_kind(args[0]) is not None:
                return args[0], pattern
        return None

    def _compiled_pattern(self, expr: cst.BaseExpression) -> cst.BaseExpression | None:
        """The pattern argument when `expr` is (bound to) `re.compile(pattern)`."""
        value = self.model.resolve(expr)
        if isinstance(value, cst.Call) and self.model.callee(value) == "re.compile" and positional_args(value):
            return positional_args(value)[0]
        return None

    def _has_sentence(self, expr: cst.BaseExpression) -> bool:
        """A literal (or constant) that reads like a sentence: words separated by spaces, or punctuation."""
        value = self.model.const_value(expr)
        values = value if isinstance(value, (tuple, list, set, frozenset)) else (value,)
        return any(isinstance(item, str) and (" " in item.strip() or item.rstrip().endswith((".", "!"))) for item in values)

    def _needle_text(self, needle: cst.BaseExpression | None) -> str | None:
        if needle is None:
            return None
        value = self.model.const_value(needle)
        return value if isinstance(value, str) else None

    # --- what counts as text -------------------------------------------------

    def _text_kind(self, expr: cst.BaseExpression, depth: int = 0) -> str | None:
        """exception | response | body | ambiguous when `expr` holds human-readable error text."""
        if depth > 3:
            return None
        expr = _unwrap(strip_await(expr))
        if isinstance(expr, cst.Name):
            resolved = self.model.resolve(expr)
            if resolved is not expr:
                return self._text_kind(resolved, depth + 1)
            return None
        if isinstance(expr, cst.Call):
            func = expr.func
            callee = self.model.callee(expr) or ""
            if isinstance(func, cst.Name) and func.value in ("str", "repr") and len(expr.args) == 1:
                inner = expr.args[0].value
                return "exception" if self._is_exception(inner) else self._text_kind(inner, depth + 1)
            if callee in ("traceback.format_exc", "traceback.format_exception"):
                return "exception"
            if isinstance(func, cst.Name) and func.value == "getattr" and len(expr.args) >= 2:
                attribute = string_value(expr.args[1].value)
                if attribute in _EXCEPTION_TEXT_ATTRS and self._is_exception(expr.args[0].value):
                    return "exception"
                return None
            if isinstance(func, cst.Attribute):
                if func.attr.value in ("text", "read") and not expr.args:
                    if self._is_exception(func.value):
                        return "exception"  # urllib's HTTPError.read()
                    if func.attr.value == "text" and self._is_response(func.value):
                        return "response"  # aiohttp's `await resp.text()`
                    if self.model.response_call(func.value) is not None:
                        return "response"
                if func.attr.value == "get" and expr.args:
                    return self._field_kind(func.value, expr.args[0].value)
            return None
        if isinstance(expr, cst.FormattedString):
            parts = [part for part in expr.parts if isinstance(part, cst.FormattedStringExpression)]
            texts = [part for part in expr.parts if isinstance(part, cst.FormattedStringText) and part.value.strip()]
            if len(parts) == 1 and not texts and self._is_exception(parts[0].expression):
                return "exception"
            return None
        if isinstance(expr, cst.Attribute):
            if expr.attr.value in _EXCEPTION_TEXT_ATTRS and self._is_exception(expr.value):
                return "exception"
            if expr.attr.value == "args" and self._is_exception(expr.value):
                return "exception"
            if expr.attr.value in ("text", "content") and self._is_response(expr.value):
                return "response"
            return None
        if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
            index = expr.slice[0].slice
            if not isinstance(index, cst.Index):
                return None
            base = expr.value
            if isinstance(base, cst.Attribute) and base.attr.value == "args" and self._is_exception(base.value):
                return "exception"
            return self._field_kind(base, index.value)
        return None

    def _field_kind(self, base: cst.BaseExpression, key: cst.BaseExpression) -> str | None:
        name = string_value(key)
        if name not in _TEXT_KEYS:
            return None
        return "ambiguous" if name in _MAYBE_OBJECT_KEYS else "body"

    def _is_exception(self, expr: cst.BaseExpression) -> bool:
        """An exception from an API call: bound by an API `except`, a predicate's parameter, or `outcome.exception()`."""
        expr = strip_await(expr)
        if isinstance(expr, cst.Call):
            return isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "exception" and not expr.args
        if not isinstance(expr, cst.Name):
            return False
        name = expr.value
        for ancestor in self.model.ancestors(expr):
            if isinstance(ancestor, cst.ExceptHandler):
                handler = self._handler(ancestor)
                if handler is not None and handler.name == name:
                    return self._api_handler(handler)
            if isinstance(ancestor, (cst.Lambda, cst.FunctionDef)):
                params = ancestor.params
                for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                    if param.name.value == name:
                        return self._exception_param(param)
                if isinstance(ancestor, cst.FunctionDef):
                    break
        resolved = self.model.resolve(expr)
        return resolved is not expr and isinstance(resolved, cst.Call) and self._is_exception(resolved)

    def _exception_param(self, param: cst.Param) -> bool:
        if not self._api_module():
            return False
        if param.annotation is not None:
            annotation = dotted_name(param.annotation.annotation) or ""
            return annotation.endswith(("Error", "Exception"))
        return _EXCEPTION_PARAM.match(param.name.value) is not None

    def _api_module(self) -> bool:
        return bool(self.model.http_libraries_imported) or self.model.imports_any(_RETRY_MODULES)

    def _handler(self, node: cst.ExceptHandler) -> Handler | None:
        return next((handler for handler in self.model.handlers if handler.node is node), None)

    def _api_handler(self, handler: Handler) -> bool:
        """Does the handler catch errors of an HTTP call or an API client?"""
        if any(kind.startswith(_API_MODULES) for kind in handler.types):
            return True
        if self.model.http_calls_in(handler.try_node.body):
            return True
        for node in self.model.subtree(handler.try_node.body):
            if isinstance(node, cst.Call):
                root = dotted_name(node.func) or ""
                parts = root.split(".")
                keys = {parts[0], ".".join(parts[:2])}
                if keys & set(self.model.clients):
                    return True
        return False

    def _is_response(self, expr: cst.BaseExpression) -> bool:
        expr = strip_await(expr)
        if self.model.response_call(expr) is not None:
            return True
        if isinstance(expr, cst.Attribute) and expr.attr.value == "response":
            return self._is_exception(expr.value) or bool(self.model.http_libraries_imported)
        name = dotted_name(expr)
        return bool(name and self.model.http_libraries_imported and _RESPONSE_NAME.match(name.rsplit(".", 1)[-1]))

    # --- where the text is used ----------------------------------------------

    def _error_context(self, node: cst.CSTNode, source: cst.BaseExpression, needle: str | None) -> bool:
        """Is response/body text read on an error path (not a page being scraped)?"""
        if needle is not None and _ERROR_PHRASE.search(needle):
            return True
        for inner in self.model.subtree(source):
            key = string_value(inner) if isinstance(inner, (cst.SimpleString, cst.ConcatenatedString)) else None
            if key in _ERROR_KEYS:
                return True
        resolved = self.model.resolve(_unwrap(source)) if isinstance(_unwrap(source), cst.Name) else None
        if resolved is not None:
            for inner in self.model.subtree(resolved):
                key = string_value(inner) if isinstance(inner, (cst.SimpleString, cst.ConcatenatedString)) else None
                if key in _ERROR_KEYS:
                    return True
        for ancestor in self.model.ancestors(node):
            if isinstance(ancestor, cst.ExceptHandler):
                return True
            if isinstance(ancestor, (cst.If, cst.While)) and status_condition(self.model, ancestor.test) is not None:
                return True
            if isinstance(ancestor, cst.BooleanOperation) and (
                status_condition(self.model, ancestor.left) is not None
                or status_condition(self.model, ancestor.right) is not None
            ):
                return True
        return any(
            scope.kind in ("decorator", "iterator", "loop", "recursion") and self.model.is_within(node, scope.node)
            for scope in self.model.retry_scopes
        )

    def _decides(self, node: cst.CSTNode) -> bool:
        """Does the text decide control flow (a branch, a returned verdict, a retry predicate)?"""
        child: cst.CSTNode = node
        for ancestor in self.model.ancestors(node):
            if isinstance(ancestor, (cst.If, cst.While)):
                if ancestor.test is not child:
                    return False
                if isinstance(ancestor, cst.If) and self._only_hints(ancestor):
                    return False
                return True
            if isinstance(ancestor, cst.Lambda):
                return ancestor.body is child
            if isinstance(ancestor, cst.Call) and self._is_log_call(ancestor):
                return False
            if isinstance(ancestor, (cst.Return, cst.Raise)):
                return True
            if isinstance(ancestor, (cst.Assign, cst.AnnAssign)):
                return self._tested_later(ancestor)
            if isinstance(ancestor, (cst.SimpleStatementLine, cst.BaseCompoundStatement, cst.FunctionDef)):
                return False
            child = ancestor
        return False

    def _tested_later(self, assign: cst.Assign | cst.AnnAssign) -> bool:
        """`retryable = "..." in msg` counts when `retryable` is then branched on or returned."""
        targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]
        names = {t.value for t in targets if isinstance(t, cst.Name)}
        if not names:
            return False
        scope = self.model.enclosing_function(assign) or self.model.module
        for node in self.model.subtree(scope):
            tests: list[cst.CSTNode] = []
            if isinstance(node, (cst.If, cst.While)):
                if isinstance(node, cst.If) and self._only_hints(node):
                    continue
                tests = [node.test]
            elif isinstance(node, cst.Return) and node.value is not None:
                tests = [node.value]
            for test in tests:
                if any(isinstance(inner, cst.Name) and inner.value in names for inner in self.model.subtree(test)):
                    return True
        return False

    def _only_hints(self, branch: cst.If) -> bool:
        """Does the text only pick what to log, print or add as a hint, while the error is re-raised either way?"""
        handler = self.model.enclosing(branch, cst.ExceptHandler)
        caught = None
        if handler is not None and handler.name is not None and isinstance(handler.name.name, cst.Name):
            caught = handler.name.name.value
        outcome = self._hint_if(branch, caught)
        if outcome is None:
            return False
        if outcome == "mixed":
            # One side re-raises, the other falls through: only harmless if what follows re-raises too.
            return self._reraises_after(branch, caught)
        return True

    def _hint_if(self, branch: cst.If, caught: str | None) -> str | None:
        """`raise` / `fall` / `mixed` when every side only logs or hints (and maybe re-raises), else None."""
        outcomes = [self._hint_block(branch.body, caught)]
        orelse = branch.orelse
        if orelse is None:
            outcomes.append("fall")
        elif isinstance(orelse, cst.If):
            outcomes.append(self._hint_if(orelse, caught))
        else:
            outcomes.append(self._hint_block(orelse.body, caught))
        if None in outcomes:
            return None
        if all(outcome == "raise" for outcome in outcomes):
            return "raise"
        if all(outcome == "fall" for outcome in outcomes):
            return "fall"
        return "mixed"

    def _hint_block(self, block: cst.BaseSuite, caught: str | None) -> str | None:
        outcome = "fall"
        for statement in block.body:
            if outcome != "fall":
                return None  # statements after a raise
            if isinstance(statement, cst.If):
                nested = self._hint_if(statement, caught)
                if nested != "fall":
                    return None
                continue
            smalls = statement.body if isinstance(statement, cst.SimpleStatementLine) else (
                [statement] if isinstance(statement, cst.BaseSmallStatement) else None
            )
            if smalls is None:
                return None
            for small in smalls:
                if isinstance(small, cst.Raise):
                    if not self._reraise(small, caught):
                        return None
                    outcome = "raise"
                elif not self._hint_statement(small):
                    return None
        return outcome

    def _reraises_after(self, branch: cst.If, caught: str | None) -> bool:
        parent = self.model.parent(branch)
        if not isinstance(parent, (cst.IndentedBlock, cst.Module)):
            return False
        siblings = list(parent.body)
        index = next(i for i, statement in enumerate(siblings) if statement is branch)
        if index + 1 >= len(siblings):
            return False
        following = siblings[index + 1]
        return (
            isinstance(following, cst.SimpleStatementLine)
            and isinstance(following.body[0], cst.Raise)
            and self._reraise(following.body[0], caught)
        )

    def _reraise(self, statement: cst.Raise, caught: str | None) -> bool:
        exc = statement.exc
        if exc is None:
            return True
        if isinstance(exc, cst.Name) and exc.value == caught:
            return True
        # `raise type(e)(f"{e} (hint)") from e`: the same error type with a hint.
        return (
            isinstance(exc, cst.Call)
            and isinstance(exc.func, cst.Call)
            and isinstance(exc.func.func, cst.Name)
            and exc.func.func.value == "type"
        )

    def _hint_statement(self, small: cst.BaseSmallStatement) -> bool:
        if isinstance(small, cst.Pass):
            return True
        if isinstance(small, cst.Expr):
            value = strip_await(small.value)
            return isinstance(value, cst.Call) and self._is_log_call(value)
        if isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            value = small.value
            if value is None:
                return True
            return _is_text_literal(value) or _target_is_hint(small)
        return False

    def _is_log_call(self, call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Name):
            return func.value in ("print", "pprint", "log", "warn", "echo")
        if isinstance(func, cst.Attribute) and func.attr.value in _LOG_METHODS:
            root = dotted_name(func.value) or ""
            qualified = self.model.qualname(func) or ""
            if func.attr.value == "add_note":
                return True
            if qualified.startswith(("logging.", "warnings.", "sys.", "click.", "typer.", "rich.")):
                return True
            lowered = root.lower()
            return any(word in lowered for word in ("log", "console", "stderr", "stdout", "warnings", "click"))
        return False


def _is_text_literal(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
        return True
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        return _is_text_literal(expr.left) or _is_text_literal(expr.right)
    return False


def _target_is_hint(statement: cst.Assign | cst.AugAssign | cst.AnnAssign) -> bool:
    targets = [t.target for t in statement.targets] if isinstance(statement, cst.Assign) else [statement.target]
    for target in targets:
        name = dotted_name(target) or ""
        if not re.search(r"(^|[._])(msg|message|hint|note|args)$", name):
            return False
    return True


def _unwrap(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`x.lower()`, `x.strip()`, `x.decode()` -> `x`."""
    while (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value in _CASE_METHODS
    ):
        expr = expr.func.value
    return expr


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


