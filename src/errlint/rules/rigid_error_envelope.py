"""ERR303: an error path that indexes one error-body shape with no guard."""

from __future__ import annotations

import re
from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.checks import body_parse, parsed_response, response_of
from errlint.linter.findings import FixAvailability
from errlint.linter.model import dotted_name, string_value
from errlint.linter.rule import Invalid, Report, Rule
from errlint.linter.status import SUCCESS, status_condition

# First-level keys that only an error body is read for.
_ERROR_KEYS = frozenset(
    {"error", "detail", "msg", "message", "error_message", "errorMessage", "error_msg", "error_description"}
)
# Handlers that turn a body of another shape into a handled error.
_SHAPE_GUARDS = frozenset(
    {"KeyError", "LookupError", "TypeError", "ValueError", "IndexError", "AttributeError", "Exception", "BaseException", "*"}
)
_STATUS_ERRORS = lib.STATUS_ERRORS | lib.BROAD_LIBRARY_BASES
_RESPONSE_NAME = re.compile(r"^(r|res|resp|response|rsp|reply|.*_resp(onse)?|resp(onse)?_.*)$", re.I)
_ERROR_FUNCTION = re.compile(r"error|_err$|^err_|fail|raise_for|exception", re.I)
_CONTENT_TYPE = re.compile(r"content[-_]type|mimetype|media_type", re.I)
_EXITS = (cst.Return, cst.Raise, cst.Continue, cst.Break)
_ERROR_STATUSES = frozenset(range(400, 600))


class RigidErrorEnvelope(Rule):
    """
    ## What it does
    Flags error paths that index one error-body shape with no guard. Shapes:
    `r.json()["error"]["message"]`, `body["detail"]`, `data["msg"]` read after
    a failing status check, in an `except` for a status error, or in a helper
    named like an error extractor, with no `try/except` (`KeyError`,
    `TypeError`, `ValueError`, `Exception`), `isinstance` check, `.get(...)`
    lookup, key test or content-type check around it.

    Lookups inside `try/except` with a text fallback, `isinstance` guards and
    extractors that try several shapes are not flagged.

    ## Why is this bad?
    Error bodies differ by the layer that produced them: middleware sends
    `{"error": {"code", "message"}}`, the framework `{"detail": str | dict}`,
    others `{"code", "msg"}` or a legacy `{"error": "text"}`, and a gateway or
    CDN in front of the API sends HTML. Code that reads one shape raises
    `KeyError`, `TypeError` or `JSONDecodeError` on the others, so the real
    error (status, code, request id) is replaced by a crash in the error
    handler.

    ## Example
    ```python
    if r.status_code >= 400:
        raise ApiError(r.json()["error"]["message"])
    ```

    ## Use instead
    ```python
    if r.status_code >= 400:
        try:
            body = r.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else (error or r.text[:200])
        raise ApiError(r.status_code, message)
    ```

    ## Fix safety
    No fix: the right fallback depends on the API.

    ## References
    - Aionvision error codes (https://aionvision.tech/docs/api/resources/errors): "The exact shape depends on
      which layer raised the error": `{"error": {...}, "request_id"}` from
      middleware, FastAPI's `{"detail": ...}`, where "detail may be a string or an object".
    - Titan errors (https://webscraping.titannet.io/docs/api-reference/errors): the media CDN answers
      `{ "error": "<message>" }` "without a success field", and "Some billing operations" are listed among
      the responses without the success envelope.
    - Octen error codes (https://docs.octen.ai/introduction/admin/error-codes): error responses
      `{"code": 400, "msg": "...", "data": {}, "meta": {}}`.
    """

    code = "ERR303"
    name = "rigid-error-envelope"
    fix_availability = FixAvailability.NONE

    VALID = [
        # A test asserts the error shape its API returns.
        """
import pytest, requests
def test_unknown_field_is_rejected(api):
    with pytest.raises(requests.HTTPError) as caught:
        api.get("https://api.example.com/repos?expand=nope").raise_for_status()
    assert caught.value.response.status_code == 400
    assert "expected one of" in caught.value.response.json()["error"]
""",
        # try/except with a text fallback.
        """
import requests
def create(url, payload):
    r = requests.post(url, json=payload)
    if r.status_code >= 400:
        try:
            message = r.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = r.text[:200]
        raise RuntimeError(message)
    return r.json()
""",
        # isinstance guards.
        """
import httpx
def create(client: httpx.Client, payload):
    r = client.post("/items", json=payload)
    if r.is_error:
        body = r.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            raise RuntimeError(body["error"]["message"])
        raise RuntimeError(r.text)
    return r.json()
""",
        # A multi-shape extractor with .get chains.
        """
import requests
def error_message(resp):
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    error = body.get("error") or {}
    return error.get("message") or body.get("msg") or resp.reason
""",
        # A handler that reads with .get and defaults.
        """
import requests
def call(url):
    response = requests.post(url)
    if response.status_code == 200:
        return response.json()
    data = response.json()
    error = data.get("error", {})
    raise RuntimeError(error.get("code"), error.get("message"))
""",
        # A content-type check before reading the body.
        """
import requests
def call(url):
    r = requests.delete(url)
    if not r.ok:
        if r.headers.get("Content-Type", "").startswith("application/json"):
            raise RuntimeError(r.json()["detail"])
        raise RuntimeError(r.text)
""",
        # A success path reading a `message` field is not an error path.
        """
import requests
def greeting(url):
    r = requests.get(url)
    r.raise_for_status()
    return r.json()["message"]
""",
        # A key test before the lookup.
        """
import aiohttp
async def create(url, payload):
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=payload) as resp:
            data = await resp.json()
            if resp.status >= 400:
                if "detail" in data:
                    raise RuntimeError(data["detail"])
                raise RuntimeError(str(data))
            return data
""",
        # An except handler that catches the lookup failure.
        """
import httpx
async def create(client: httpx.AsyncClient, payload):
    try:
        r = await client.post("/items", json=payload)
        r.raise_for_status()
    except httpx.HTTPStatusError as exc:
        try:
            detail = exc.response.json()["detail"]
        except Exception:
            detail = exc.response.text
        raise RuntimeError(detail) from exc
    return r.json()
""",
    ]

    INVALID = [
        Invalid(
            """
import requests
def create(url, payload):
    r = requests.post(url, json=payload)
    if r.status_code >= 400:
        raise RuntimeError(r.json()["error"]["message"])  # flagged
    return r.json()
""",
            message='`r.json()["error"]["message"]` reads one error-body shape with no guard, so a `{"detail": ...}`, plain-text or HTML error body raises here instead',
        ),
        Invalid(
            """
import requests
def create(url, payload):
    try:
        r = requests.post(url, json=payload)
        r.raise_for_status()
    except requests.HTTPError as e:
        raise RuntimeError(e.response.json()["detail"]) from e  # flagged
    return r.json()
"""
        ),
        Invalid(
            """
import httpx
async def fetch(url):
    async with httpx.AsyncClient() as client:
        r = await client.get(url)
        if r.status_code == 200:
            return r.json()
        body = r.json()
        raise RuntimeError(body["msg"])  # flagged
""",
            message='`body["msg"]` reads one error-body shape with no guard, so a `{"detail": ...}`, plain-text or HTML error body raises here instead',
        ),
        Invalid(
            """
import httpx as hx
def fetch(client: hx.Client, url):
    try:
        r = client.get(url)
        r.raise_for_status()
        return r.json()
    except hx.HTTPStatusError as exc:
        code = exc.response.json()["error"]["code"]  # flagged
        raise RuntimeError(code) from exc
"""
        ),
        Invalid(
            """
import aiohttp
async def create(url, payload):
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=payload) as resp:
            if resp.status != 201:
                data = await resp.json()
                raise RuntimeError(data["error"]["message"])  # flagged
            return await resp.json()
"""
        ),
        Invalid(
            """
import requests
class Client:
    def __init__(self):
        self.session = requests.Session()
    def delete(self, item_id):
        resp = self.session.delete(f"https://api.example.com/items/{item_id}")
        if not resp.ok:
            raise RuntimeError(resp.json()["detail"])  # flagged
"""
        ),
        Invalid(
            """
import requests
def _raise_api_error(response):
    raise RuntimeError(response.json()["error"]["message"])  # flagged
"""
        ),
        Invalid(
            """
import json
import urllib3
http = urllib3.PoolManager()
def fetch(url):
    r = http.request("GET", url)
    if r.status >= 400:
        raise RuntimeError(json.loads(r.data)["message"])  # flagged
    return json.loads(r.data)
"""
        ),
        Invalid(
            """
import requests
def fetch(url):
    r = requests.get(url)
    if r.status_code == 200:
        return r.json()
    elif r.status_code == 404:
        return None
    else:
        data = r.json()
        try:
            code = data["error"]["code"]  # flagged
        except requests.ConnectionError:
            code = None
        raise RuntimeError(code)
"""
        ),
    ]

    def check(self) -> Iterator[Report]:
        for subscript in self.model.subscripts:
            key = _key(subscript)
            if key not in _ERROR_KEYS or isinstance(self.model.parent(subscript), (cst.AssignTarget, cst.Del)):
                continue
            parse = body_parse(self.model, subscript.value)
            response = parsed_response(self.model, parse) if parse is not None else None
            if response is None or not self._is_response(response):
                continue
            if _in_test(self.model, subscript):
                continue  # a test pins the one shape its API returns on purpose
            if not self._on_error_path(subscript, response) or self._guarded(subscript, parse, response):
                continue
            chain: cst.CSTNode = subscript
            while isinstance(self.model.parent(chain), cst.Subscript) and self.model.parent(chain).value is chain:
                chain = self.model.parent(chain)  # type: ignore[assignment]
            text = self.model.code(chain)
            if len(text) > 60:
                text = "[" + repr(key).replace("'", '"') + "]..."
            yield self.report(
                chain,
                f"`{text}` reads one error-body shape with no guard, so a `{{\"detail\": ...}}`, plain-text or "
                "HTML error body raises here instead",
            )

    def _is_response(self, expr: cst.BaseExpression) -> bool:
        if response_of(self.model, expr) is not None:
            return True
        name = dotted_name(expr) or ""
        return name.endswith(".response") or bool(_RESPONSE_NAME.match(name.rsplit(".", 1)[-1]))

    # --- is this an error path? -------------------------------------------------------

    def _on_error_path(self, node: cst.CSTNode, response: cst.BaseExpression) -> bool:
        function = self.model.enclosing_function(node)
        previous: cst.CSTNode = node
        for ancestor in self.model.ancestors(node):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                break
            if isinstance(ancestor, cst.ExceptHandler):
                types = next((set(h.types) for h in self.model.handlers if h.node is ancestor), set())
                if types & _STATUS_ERRORS or (dotted_name(response) or "").endswith(".response"):
                    return True
            if isinstance(ancestor, (cst.If, cst.IfExp)):
                kind = self._test_kind(ancestor.test)
                if kind == "failure" and previous is ancestor.body:
                    return True
                if kind == "success" and previous is ancestor.orelse:
                    return True
            if isinstance(ancestor, cst.IndentedBlock) and self._after_success_exit(ancestor, previous):
                return True
            previous = ancestor
        # A helper named like an error extractor that is handed the response.
        if function is not None and _ERROR_FUNCTION.search(function.name.value) and isinstance(response, cst.Name):
            params = function.params
            return any(
                param.name.value == response.value
                for param in (*params.posonly_params, *params.params, *params.kwonly_params)
            )
        return False

    def _test_kind(self, test: cst.BaseExpression) -> str | None:
        condition = status_condition(self.model, test)
        if condition is None:
            return None
        if SUCCESS - condition.any and condition.certain & _ERROR_STATUSES:
            return "failure"
        if condition.certain & SUCCESS and not condition.any & _ERROR_STATUSES:
            return "success"
        return None

    def _after_success_exit(self, block: cst.IndentedBlock, statement: cst.CSTNode) -> bool:
        """`statement` follows `if <success>: ... return` in `block`."""
        for sibling in block.body:
            if sibling is statement:
                return False
            if (
                isinstance(sibling, cst.If)
                and sibling.orelse is None
                and self._test_kind(sibling.test) == "success"
                and _ends_in_exit(sibling.body)
            ):
                return True
        return False

    # --- guards ---------------------------------------------------------------------

    def _guarded(self, node: cst.CSTNode, parse: cst.BaseExpression, response: cst.BaseExpression) -> bool:
        if any(set(h.types) & _SHAPE_GUARDS or any("JSONDecodeError" in t for t in h.types) for h in self.model.handlers_around(node)):
            return True
        function = self.model.enclosing_function(node)
        scope = function if function is not None else self.model.module
        if _CONTENT_TYPE.search(self.model.code(scope)):
            return True
        bodies = {self.model.code(parse)}
        if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name):
            bodies.add(node.value.value)
        roots = re.compile("|".join(rf"(?<![\w.]){re.escape(body)}(?!\w)" for body in bodies))
        keys: set[str] = set()
        for call in self.model.calls:
            if not self.model.same_function(call, scope):
                continue
            func = call.func
            if isinstance(func, cst.Name) and func.value == "isinstance" and call.args:
                if roots.search(self.model.code(call.args[0].value)):
                    return True
            if isinstance(func, cst.Attribute) and func.attr.value == "get" and roots.fullmatch(self.model.code(func.value)):
                return True
        for comparison in self.model.comparisons:
            if not self.model.same_function(comparison, scope):
                continue
            for target in comparison.comparisons:
                if isinstance(target.operator, (cst.In, cst.NotIn)) and roots.fullmatch(self.model.code(target.comparator)):
                    return True
        for subscript in self.model.subscripts:
            if self.model.same_function(subscript, scope) and roots.fullmatch(self.model.code(subscript.value)):
                key = _key(subscript)
                if key in _ERROR_KEYS:
                    keys.add(key)
        # Several error shapes read from one body: a multi-shape extractor.
        return len(keys - {"message"}) > 1


def _key(subscript: cst.Subscript) -> str | None:
    if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Index):
        return None
    return string_value(subscript.slice[0].slice.value)


def _ends_in_exit(body: cst.BaseSuite) -> bool:
    if isinstance(body, cst.SimpleStatementSuite):
        return bool(body.body) and isinstance(body.body[-1], _EXITS)
    if not body.body:
        return False
    last = body.body[-1]
    return isinstance(last, cst.SimpleStatementLine) and bool(last.body) and isinstance(last.body[-1], _EXITS)


def _in_test(model, node: cst.CSTNode) -> bool:
    """Test code: a `test*` function, or a `test_*.py` / `*_test.py` file or `tests/` folder."""
    from pathlib import PurePath

    path = PurePath(model.path)
    if path.name.startswith("test_") or path.name.endswith("_test.py") or "tests" in path.parts:
        return True
    function = model.enclosing_function(node)
    return function is not None and function.name.value.startswith("test")
