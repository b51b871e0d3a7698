"""ERR301: success decided by a test that is wrong for the response at hand."""

from __future__ import annotations

import os
from typing import Iterator

import libcst as cst

from errlint.linter.checks import certain_library, response_of
from errlint.linter.findings import Applicability, FixAvailability
from errlint.linter.model import HttpCall, strip_await
from errlint.linter.profiles import call_url
from errlint.linter.rule import Invalid, Report, Rule, Valid
from errlint.linter.status import StatusCondition, status_condition

# Methods whose success is often 201, 202 or 204 rather than 200.
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STATUS_ATTRIBUTES = frozenset({"status_code", "status", "code"})
# Reading one of these in the function means other 2xx are accounted for.
_RANGE_TESTS = frozenset({"ok", "is_success", "is_error", "is_client_error", "is_server_error", "raise_for_status"})
_ALWAYS_TRUE = {"httpx": "httpx", "aiohttp": "aiohttp", "aiohttp_retry": "aiohttp"}


class WrongSuccessTest(Rule):
    """
    ## What it does
    Flags success tests that are wrong for the response they look at. Shapes:
    `status == 200` as the only success (or `!= 200` as failure) after a
    `POST`, `PUT`, `PATCH`, `DELETE` or a request whose method is a variable;
    the truthiness of an httpx or aiohttp response (`if resp:`), which is
    always true; `.ok` on an httpx response, which has no such attribute; and
    `.status_code` on an aiohttp response, whose status is `.status`.

    `== 200` is not flagged when the function also accepts other 2xx statuses
    (`raise_for_status()`, `.ok`, `.is_success`, `== 204`, `>= 400`...), i.e.
    when `== 200` only picks the branch that parses a body; nor when an API
    profile declares the endpoint 200-only (`success-statuses = [200]`), nor
    in `assert`s and test files, nor after a `GET`, where 200 is the success.

    ## Why is this bad?
    Creating a resource answers 201 Created, accepting a job 202, and deleting
    one 204 No Content: with `== 200` as the success test each of these
    successful calls is reported as a failure, and often retried, creating
    duplicates. For httpx and aiohttp, `if resp:` never fails, and `.ok` /
    `.status_code` on the wrong library raise `AttributeError` on the error
    path only, where nobody tested them.

    ## Example
    ```python
    r = requests.post(f"{BASE}/uploads", json=payload)
    if r.status_code != 200:
        raise UploadError(r.text)

    async with session.get(url) as resp:
        if resp.status_code == 429:
            ...
    ```

    ## Use instead
    ```python
    r = requests.post(f"{BASE}/uploads", json=payload)
    if not 200 <= r.status_code < 300:
        raise UploadError(r.text)

    async with session.get(url) as resp:
        if resp.status == 429:
            ...
    ```

    ## Fix safety
    `.ok` -> `.is_success` on httpx and `.status_code` -> `.status` on aiohttp
    are safe: the original raises `AttributeError`. `== 200` -> `200 <= s < 300`
    and `!= 200` -> `not 200 <= s < 300` are unsafe: they change which
    responses count as success, which is the point, but callers may have
    relied on the old behaviour.

    ## References
    - Aionvision error codes (https://aionvision.tech/docs/api/resources/errors): "201 Created: Resource
      created successfully", "204 No Content: Request succeeded, no content to
      return (typically for DELETE)".
    - httpx: responses have no `.ok` and are always truthy; use `is_success`.
    - aiohttp: the status is `.status`.
    """

    code = "ERR301"
    name = "wrong-success-test"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # A streaming connection opens with 200; anything else is the error path.
        """
import requests
def stream(session: requests.Session, method, url):
    with session.request(method, url, stream=True) as resp:
        if resp.status_code == 200:
            for line in resp.iter_lines():
                yield line
        else:
            raise RuntimeError(resp.status_code)
""",
        # `== 200` picks the parsing branch; raise_for_status handles failures and 201/204 fall through.
        """
import requests
def create(url, payload):
    r = requests.post(url, json=payload)
    r.raise_for_status()
    if r.status_code == 200:
        return r.json()
    return None
""",
        # `== 200` next to a 204 branch: other 2xx are accounted for.
        """
import httpx
async def delete(client: httpx.AsyncClient, url):
    r = await client.delete(url)
    if r.status_code == 204:
        return None
    if r.status_code == 200:
        return r.json()
    raise RuntimeError(r.text)
""",
        # `== 200` with a generic failure range test.
        """
import requests
def upload(session: requests.Session, url, data):
    resp = session.put(url, data=data)
    if resp.status_code >= 400:
        raise RuntimeError(resp.text)
    if resp.status_code == 200:
        return resp.json()
    return {}
""",
        # A GET answers 200 when it succeeds.
        """
import requests
def fetch(url):
    r = requests.get(url)
    if r.status_code != 200:
        raise RuntimeError(r.status_code)
    return r.json()
""",
        # The endpoint is declared 200-only in a profile.
        Valid(
            """
import requests
def charge(payload):
    r = requests.post("https://billing.example.com/v1/charges", json=payload)
    if r.status_code != 200:
        raise RuntimeError(r.text)
    return r.json()
""",
            settings={"profiles": {"billing": {"hosts": ["billing.example.com"], "success-statuses": [200]}}},
        ),
        # requests responses are falsy for 4xx/5xx, so `if r:` is a real test.
        """
import requests
def fetch(url):
    r = requests.post(url)
    if not r:
        raise RuntimeError(r.status_code)
    return r.json()
""",
        # httpx with is_success; aiohttp with .status.
        """
import httpx, aiohttp
def fetch(url):
    r = httpx.post(url)
    if not r.is_success:
        raise RuntimeError(r.status_code)
async def fetch_async(url):
    async with aiohttp.ClientSession() as session:
        async with session.post(url) as resp:
            if resp.status >= 400:
                raise RuntimeError(resp.status)
""",
        # A None check on a name that may hold no response.
        """
import httpx
async def fetch(client: httpx.AsyncClient, url):
    resp = None
    try:
        resp = await client.get(url)
    except httpx.TransportError:
        pass
    if resp:
        return resp.json()
""",
        # Tests assert the exact status the endpoint returns.
        """
import httpx
def test_create(client: httpx.Client):
    r = client.post("/items", json={"name": "x"})
    assert r.status_code == 200
""",
        # Two success statuses in one test.
        """
import requests
def delete(url):
    r = requests.delete(url)
    return r.status_code == 200 or r.status_code == 204
""",
    ]

    INVALID = [
        Invalid(
            """
import requests
def upload(url, payload):
    r = requests.post(url, json=payload)
    if r.status_code != 200:  # flagged
        raise RuntimeError(r.text)
    return r.json()
""",
            message="`r.status_code != 200` treats 201, 202 and 204 from this `POST` as failures",
            fixed="""
import requests
def upload(url, payload):
    r = requests.post(url, json=payload)
    if not 200 <= r.status_code < 300:  # flagged
        raise RuntimeError(r.text)
    return r.json()
""",
        ),
        Invalid(
            """
import requests as rq
def delete(url):
    r = rq.delete(url)
    return r.status_code == 200  # flagged
""",
            message="`r.status_code == 200` is the only success for this `DELETE`, so 201, 202 and 204 count as failures",
            fixed="""
import requests as rq
def delete(url):
    r = rq.delete(url)
    return 200 <= r.status_code < 300  # flagged
""",
        ),
        Invalid(
            """
import requests
class Api:
    def __init__(self):
        self.session = requests.Session()
    def call(self, method, url, **kwargs):
        response = self.session.request(method, url, **kwargs)
        if response.status_code == 200:  # flagged
            return response.json()
        if response.status_code == 429:
            raise RuntimeError("rate limited")
        raise RuntimeError(response.text)
""",
            message="`response.status_code == 200` is the only success for this request, so 201, 202 and 204 count as failures",
            fixed="""
import requests
class Api:
    def __init__(self):
        self.session = requests.Session()
    def call(self, method, url, **kwargs):
        response = self.session.request(method, url, **kwargs)
        if 200 <= response.status_code < 300:  # flagged
            return response.json()
        if response.status_code == 429:
            raise RuntimeError("rate limited")
        raise RuntimeError(response.text)
""",
        ),
        Invalid(
            """
import httpx
def create(client: httpx.Client, item):
    r = client.post("/items", json=item)
    if not r.ok:  # flagged
        raise RuntimeError(r.text)
    return r.json()
""",
            message="`r.ok` raises `AttributeError` on an httpx response; use `r.is_success`",
            fixed="""
import httpx
def create(client: httpx.Client, item):
    r = client.post("/items", json=item)
    if not r.is_success:  # flagged
        raise RuntimeError(r.text)
    return r.json()
""",
        ),
        Invalid(
            """
import httpx
async def fetch(url):
    async with httpx.AsyncClient() as client:
        resp = await client.get(url)
        if resp:  # flagged
            return resp.json()
        return None
""",
            message="`resp` is an httpx response, which is always true; test `resp.is_success` instead",
        ),
        Invalid(
            """
import aiohttp
async def fetch(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            if resp.status_code == 429:  # flagged
                return None
            return await resp.json()
""",
            message="`resp.status_code` raises `AttributeError` on an aiohttp response; use `resp.status`",
            fixed="""
import aiohttp
async def fetch(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            if resp.status == 429:  # flagged
                return None
            return await resp.json()
""",
        ),
        Invalid(
            """
from aiohttp import ClientSession
class Jobs:
    def __init__(self):
        self.session = ClientSession()
    async def submit(self, job):
        async with self.session.post("https://api.example.com/jobs", json=job) as resp:
            if resp.status != 200:  # flagged
                raise RuntimeError(await resp.text())
            return await resp.json()
""",
            fixed="""
from aiohttp import ClientSession
class Jobs:
    def __init__(self):
        self.session = ClientSession()
    async def submit(self, job):
        async with self.session.post("https://api.example.com/jobs", json=job) as resp:
            if not 200 <= resp.status < 300:  # flagged
                raise RuntimeError(await resp.text())
            return await resp.json()
""",
        ),
        Invalid(
            """
import aiohttp
async def ping(url):
    async with aiohttp.ClientSession() as session:
        resp = await session.get(url)
        ok = "up" if resp else "down"  # flagged
        return ok
""",
        ),
        Invalid(
            """
import json
from urllib.request import Request, urlopen
def send(url, event):
    req = Request(url, data=json.dumps(event).encode(), method="POST")
    with urlopen(req) as resp:
        status = resp.status
        if status == 200:  # flagged
            return True
    return False
""",
            fixed="""
import json
from urllib.request import Request, urlopen
def send(url, event):
    req = Request(url, data=json.dumps(event).encode(), method="POST")
    with urlopen(req) as resp:
        status = resp.status
        if 200 <= status < 300:  # flagged
            return True
    return False
""",
        ),
        Invalid(
            """
import urllib3
http = urllib3.PoolManager()
def patch(url, body):
    r = http.request("PATCH", url, body=body)
    success = r.status == 200  # flagged
    return success
""",
            fixed="""
import urllib3
http = urllib3.PoolManager()
def patch(url, body):
    r = http.request("PATCH", url, body=body)
    success = 200 <= r.status < 300  # flagged
    return success
""",
        ),
    ]

    def check(self) -> Iterator[Report]:
        yield from self._exact_200()
        yield from self._always_true()
        yield from self._wrong_attribute()

    # --- `== 200` / `!= 200` ---------------------------------------------------

    def _exact_200(self) -> Iterator[Report]:
        base = os.path.basename(self.model.path)
        if base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py":
            return
        for comparison in self.model.comparisons:
            if len(comparison.comparisons) != 1:
                continue
            target = comparison.comparisons[0]
            if not isinstance(target.operator, (cst.Equal, cst.NotEqual)):
                continue
            if self.model.const_value(target.comparator) == 200:
                operand = comparison.left
            elif self.model.const_value(comparison.left) == 200:
                operand = target.comparator
            else:
                continue
            http = self._status_of(operand)
            if http is None or not self._varied_success(http) or not self._decides_success(comparison):
                continue
            if self._other_2xx_accounted(comparison) or self._declared_200_only(http):
                continue
            status = self.model.code(operand)
            method = f"this `{http.method}`" if http.method else "this request"
            if isinstance(target.operator, cst.Equal):
                message = f"`{status} == 200` is the only success for {method}, so 201, 202 and 204 count as failures"
                replacement = f"200 <= {status} < 300"
            else:
                message = f"`{status} != 200` treats 201, 202 and 204 from {method} as failures"
                replacement = f"not 200 <= {status} < 300"
            if comparison.lpar:
                replacement = f"({replacement})"
            fix = self.fix(
                f"Accept every 2xx status ({replacement})",
                Applicability.UNSAFE,
                self.replace(comparison, replacement),
            )
            yield self.report(comparison, message, fix)

    def _status_of(self, operand: cst.BaseExpression) -> HttpCall | None:
        """The HTTP call whose status `operand` is (`r.status_code`, `resp.status`, a name bound to one)."""
        operand = strip_await(operand)
        if isinstance(operand, cst.Name):
            resolved = self.model.resolve(operand)
            if resolved is operand:
                return None
            operand = resolved
        receiver = None
        if isinstance(operand, cst.Attribute) and operand.attr.value in _STATUS_ATTRIBUTES:
            receiver = operand.value
        elif isinstance(operand, cst.Call) and isinstance(operand.func, cst.Attribute) and operand.func.attr.value == "getcode":
            receiver = operand.func.value
        found = response_of(self.model, receiver) if receiver is not None else None
        return found[0] if found is not None else None

    def _varied_success(self, http: HttpCall) -> bool:
        if http.method in _WRITES:
            return True
        return http.method is None and http.method_from_argument and not self._streams(http)

    def _streams(self, http: HttpCall) -> bool:
        """A streaming request (`stream=True`, or reading `resp.content` as a stream): success is the stream opening with 200."""
        if self.model.const_value(http.keyword("stream")) is True:
            return True
        function = http.function
        if function is None:
            return False
        return any(
            isinstance(node, cst.Attribute) and node.attr.value in ("content", "iter_lines", "iter_any")
            and isinstance(self.model.parent(node), (cst.For, cst.Attribute))
            for node in self.model.walk(function.body)
        )

    def _decides_success(self, comparison: cst.Comparison) -> bool:
        """The comparison is (part of) an `if`/conditional test, a returned value or an assigned flag."""
        node: cst.CSTNode = comparison
        parent = self.model.parent(node)
        while isinstance(parent, (cst.BooleanOperation, cst.UnaryOperation)):
            node, parent = parent, self.model.parent(parent)
        if isinstance(parent, (cst.If, cst.IfExp)):
            return parent.test is node
        return isinstance(parent, (cst.Return, cst.Assign, cst.AnnAssign)) and parent.value is node

    def _other_2xx_accounted(self, comparison: cst.Comparison) -> bool:
        """Elsewhere in the function (or in the same test) another 2xx counts as success, or failure is a range."""
        function = self.model.enclosing_function(comparison)
        scope = function if function is not None else self.model.module
        for attribute in self.model.attributes:
            if attribute.attr.value in _RANGE_TESTS and self.model.same_function(attribute, scope):
                return True
        top: cst.CSTNode = comparison
        while isinstance(self.model.parent(top), (cst.BooleanOperation, cst.UnaryOperation)):
            top = self.model.parent(top)  # type: ignore[assignment]
        for other in self.model.comparisons:
            if other is comparison or not self.model.same_function(other, scope):
                continue
            condition = status_condition(self.model, other)
            if condition is not None and _separates_2xx(condition):
                return True
        if top is not comparison:
            condition = status_condition(self.model, top)  # type: ignore[arg-type]
            if condition is not None and _separates_2xx(condition):
                return True
        return False

    def _declared_200_only(self, http: HttpCall) -> bool:
        profile = self.model.profile_for(http)
        if profile is None:
            return False
        return profile.success_statuses_for(call_url(self.model, http)) == frozenset({200})

    # --- always-true responses --------------------------------------------------

    def _always_true(self) -> Iterator[Report]:
        for node in self._truth_tested():
            if not isinstance(node, cst.Name):
                continue
            found = response_of(self.model, node)
            if found is None:
                continue
            http, name = found
            library = _ALWAYS_TRUE.get(certain_library(self.model, http) or "")
            if library is None or not self._only_responses(node):
                continue
            hint = f"`{name}.is_success`" if library == "httpx" else f"`{name}.status`"
            yield self.report(node, f"`{name}` is an {library} response, which is always true; test {hint} instead")

    def _truth_tested(self) -> Iterator[cst.BaseExpression]:
        tests: list[cst.BaseExpression] = [node.test for node in self.model.ifs]
        tests += [loop.test for loop in self.model.loops if isinstance(loop, cst.While)]
        tests += [node.test for node in self._conditional_expressions()]
        while tests:
            test = tests.pop()
            if isinstance(test, cst.BooleanOperation):
                tests += [test.left, test.right]
            elif isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
                tests.append(test.expression)
            else:
                yield test

    def _conditional_expressions(self) -> list[cst.IfExp]:
        return self.model.conditional_expressions

    def _only_responses(self, name: cst.Name) -> bool:
        """Every binding of `name` in its function is a response (no `None` default, parameter or loop target)."""
        values = self.model.assigned_values(name)
        if not values or any(self.model.http_call(value) is None for value in values):
            return False
        function = self.model.enclosing_function(name)
        if function is None:
            return True
        params = function.params
        if any(param.name.value == name.value for param in (*params.posonly_params, *params.params, *params.kwonly_params)):
            return False
        for node in self.model.walk(function.body):
            if isinstance(node, (cst.For, cst.CompFor, cst.NamedExpr)) and _binds(node.target, name.value):
                return False
            if isinstance(node, cst.ExceptHandler) and node.name is not None and _binds(node.name.name, name.value):
                return False
        return True

    # --- attributes the library does not have -------------------------------------

    def _wrong_attribute(self) -> Iterator[Report]:
        for attribute in self.model.attributes:
            attr = attribute.attr.value
            if attr not in ("ok", "status_code") or isinstance(self.model.parent(attribute), cst.AssignTarget):
                continue
            found = response_of(self.model, attribute.value)
            if found is None:
                continue
            http, name = found
            library = certain_library(self.model, http)
            subject = name if name is not None else f"{self.model.code(http.node.func)}(...)"
            if attr == "ok" and library == "httpx":
                yield self.report(
                    attribute,
                    f"`{subject}.ok` raises `AttributeError` on an httpx response; use `{subject}.is_success`",
                    self.fix("Use `is_success`", Applicability.SAFE, self.replace(attribute.attr, "is_success")),
                )
            elif attr == "status_code" and library in ("aiohttp", "aiohttp_retry"):
                yield self.report(
                    attribute,
                    f"`{subject}.status_code` raises `AttributeError` on an aiohttp response; use `{subject}.status`",
                    self.fix("Use `status`", Applicability.SAFE, self.replace(attribute.attr, "status")),
                )


def _separates_2xx(condition: StatusCondition) -> bool:
    """The condition treats some 2xx other than 200 unlike both 400 and 500."""

    def truth(status: int) -> bool | None:
        if status in condition.certain:
            return True
        return None if status in condition.possible else False

    failures = (truth(400), truth(500))
    return any(truth(status) is None or truth(status) not in failures for status in (201, 202, 204))


def _binds(target: cst.BaseExpression, name: str) -> bool:
    if isinstance(target, cst.Name):
        return target.value == name
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_binds(element.value, name) for element in target.elements)
    return False
