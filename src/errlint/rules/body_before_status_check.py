"""ERR302: a response body indexed before anything looked at the status."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from errlint.linter.checks import body_parse, parsed_response, response_of, unchecked_at
from errlint.linter.findings import Applicability, FixAvailability
from errlint.linter.rule import Invalid, Report, Rule

# Handlers that catch the `KeyError` an error body raises when indexed.
_KEY_ERROR_CATCHERS = frozenset({"KeyError", "LookupError", "Exception", "BaseException", "*"})
_FIXABLE = frozenset({"requests", "httpx", "aiohttp", "aiohttp_retry"})


class BodyBeforeStatusCheck(Rule):
    """
    ## What it does
    Flags a response body parsed and indexed before its status is checked. Flags a response body that is parsed and indexed (`r.json()["items"]`,
    `for x in r.json()["data"]`, `data = r.json(); data["id"]`) before
    anything in the function looked at the response's status.

    A status check is any of: `raise_for_status()`, a comparison on
    `status_code`/`status`, `.ok`, `.is_success`, handing the response to a
    helper, a requests `hooks=`/httpx `event_hooks=` client, an aiohttp
    `raise_for_status=True` session or request, or `urllib.request.urlopen`
    (which raises `HTTPError` itself). Indexing inside a `try` whose handler
    catches `KeyError` (or `LookupError`, `Exception`, a bare `except`) is
    not flagged: the code expects bodies of another shape. A response
    returned unparsed to the caller is the caller's business and is not
    flagged, nor are responses whose session was configured elsewhere (an
    unannotated or aiohttp session parameter), nor indexing inside `assert`
    statements (tests fail on an error body either way).

    ## Why is this bad?
    Error responses have bodies too, in another shape: `{"error": {"code",
    "message"}}`, FastAPI's `{"detail": ...}`, `{"code", "msg", "data": {}}`,
    or an HTML page from a gateway. Indexing one as if it were the success
    payload raises `KeyError`/`JSONDecodeError` far from the cause, or worse,
    silently reads `data` from an error envelope. API docs say to "branch on
    HTTP status and `error.code`" first.

    ## Example
    ```python
    def list_jobs(session):
        r = session.get(f"{BASE}/jobs")
        return [job["id"] for job in r.json()["data"]]
    ```

    ## Use instead
    ```python
    def list_jobs(session):
        r = session.get(f"{BASE}/jobs")
        r.raise_for_status()
        return [job["id"] for job in r.json()["data"]]
    ```

    ## Fix safety
    When the response is a named variable of requests, httpx or aiohttp, an
    unsafe fix inserts `r.raise_for_status()` before the statement that
    parses the body. It is unsafe because error statuses now raise instead of
    flowing on, which callers may not expect.

    ## References
    - Titan errors (https://webscraping.titannet.io/docs/api-reference/errors): "Your client should branch on
      **HTTP status** and **`error.code`**, not only on message text."
    - Aionvision error codes (https://aionvision.tech/docs/api/resources/errors): "The exact shape depends on
      which layer raised the error" (`{"error": {...}}` vs `{"detail": ...}`).
    - requests: `HTTPError` is raised only by `raise_for_status()`.
    """

    code = "ERR302"
    name = "body-before-status-check"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # The parsed body is validated (and an error body raises) before it is indexed.
        """
import requests
def bearer_token(url, key, secret):
    resp = requests.post(url, auth=(key, secret), data={"grant_type": "client_credentials"})
    data = resp.json()
    if data.get("token_type") != "bearer":
        raise RuntimeError(f"unexpected token response: {data}")
    return data["access_token"]
""",
        # raise_for_status first.
        """
import requests
def list_jobs(url):
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    return [job["id"] for job in r.json()["data"]]
""",
        # The response is returned unparsed: the caller decides.
        """
import requests
def fetch(session: requests.Session, url):
    return session.get(url, timeout=10)
""",
        # A status comparison guards the parse.
        """
import httpx
def user_name(client: httpx.Client, user_id):
    r = client.get(f"/users/{user_id}")
    if r.status_code == 404:
        return None
    if r.is_error:
        raise RuntimeError(r.text)
    return r.json()["name"]
""",
        # aiohttp session created with raise_for_status=True.
        """
import aiohttp
async def items(url):
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        async with session.get(url) as resp:
            return (await resp.json())["items"]
""",
        # aiohttp request-level raise_for_status.
        """
import aiohttp
async def items(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url, raise_for_status=True) as resp:
            data = await resp.json()
            return data["items"]
""",
        # httpx client with an event hook that raises.
        """
import httpx
def raise_on_4xx_5xx(response):
    response.raise_for_status()
client = httpx.Client(event_hooks={"response": [raise_on_4xx_5xx]})
def items(url):
    r = client.get(url)
    return r.json()["items"]
""",
        # requests session hook.
        """
import requests as rq
class Api:
    def __init__(self):
        self.session = rq.Session()
        self.session.hooks["response"].append(lambda r, *a, **k: r.raise_for_status())
    def items(self, url):
        r = self.session.get(url)
        return r.json()["items"]
""",
        # urlopen raises HTTPError on 4xx/5xx by itself.
        """
import json
from urllib.request import urlopen
def items(url):
    with urlopen(url) as resp:
        return json.load(resp)["items"]
""",
        # Indexing inside a try that catches KeyError: another shape is expected.
        """
import requests
def items(url):
    r = requests.get(url)
    try:
        return r.json()["items"]
    except (KeyError, ValueError):
        raise RuntimeError(f"unexpected response {r.status_code}: {r.text[:200]}")
""",
        # `.ok` in the conditional expression is evaluated first.
        """
import requests
def items(url):
    r = requests.get(url)
    return r.json()["items"] if r.ok else []
""",
        # The response is handed to a checking helper first.
        """
import httpx
def check(response):
    if response.is_error:
        raise RuntimeError(response.text)
async def items(client: httpx.AsyncClient, url):
    r = await client.get(url)
    check(r)
    return r.json()["items"]
""",
        # A body that is parsed but not indexed is not this rule's business.
        """
import requests
def items(url):
    r = requests.get(url)
    return r.json()
""",
    ]

    INVALID = [
        Invalid(
            """
import requests
def list_jobs(url):
    r = requests.get(url, timeout=10)
    return [job["id"] for job in r.json()["data"]]  # flagged
""",
            message="The body of `r` is indexed before its status is checked, so an error response is read as data",
            fixed="""
import requests
def list_jobs(url):
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    return [job["id"] for job in r.json()["data"]]  # flagged
""",
        ),
        Invalid(
            """
import requests as rq
def total(url):
    r = rq.get(url)
    data = r.json()
    count = data["meta"]["total"]  # flagged
    return count, data["items"]
""",
            fixed="""
import requests as rq
def total(url):
    r = rq.get(url)
    r.raise_for_status()
    data = r.json()
    count = data["meta"]["total"]  # flagged
    return count, data["items"]
""",
        ),
        Invalid(
            """
import requests
def token(url, creds):
    return requests.post(url, data=creds).json()["access_token"]  # flagged
""",
            message="The body of `requests.post(...)` is indexed before its status is checked, so an error response is read as data",
        ),
        Invalid(
            """
import requests
class Jobs:
    def __init__(self, base):
        self.base = base
        self.session = requests.Session()
    def ids(self):
        resp = self.session.get(f"{self.base}/jobs")
        for job in resp.json()["data"]:  # flagged
            yield job["id"]
""",
            fixed="""
import requests
class Jobs:
    def __init__(self, base):
        self.base = base
        self.session = requests.Session()
    def ids(self):
        resp = self.session.get(f"{self.base}/jobs")
        resp.raise_for_status()
        for job in resp.json()["data"]:  # flagged
            yield job["id"]
""",
        ),
        Invalid(
            """
import httpx
async def items(client: httpx.AsyncClient, url):
    r = await client.get(url)
    items = r.json()["items"]  # flagged
    if r.status_code != 200:
        raise RuntimeError(r.text)
    return items
""",
            fixed="""
import httpx
async def items(client: httpx.AsyncClient, url):
    r = await client.get(url)
    r.raise_for_status()
    items = r.json()["items"]  # flagged
    if r.status_code != 200:
        raise RuntimeError(r.text)
    return items
""",
        ),
        Invalid(
            """
from httpx import Client
def name(user_id):
    with Client(base_url="https://api.example.com") as client:
        response = client.get(f"/users/{user_id}")
        print("status", response.status_code)
        return response.json()["name"]  # flagged
""",
            fixed="""
from httpx import Client
def name(user_id):
    with Client(base_url="https://api.example.com") as client:
        response = client.get(f"/users/{user_id}")
        print("status", response.status_code)
        response.raise_for_status()
        return response.json()["name"]  # flagged
""",
        ),
        Invalid(
            """
import aiohttp
async def items(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            data = await resp.json()
            return data["items"]  # flagged
""",
            fixed="""
import aiohttp
async def items(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            resp.raise_for_status()
            data = await resp.json()
            return data["items"]  # flagged
""",
        ),
        Invalid(
            """
import json
import urllib3
http = urllib3.PoolManager()
def items(url):
    r = http.request("GET", url)
    return json.loads(r.data)["items"]  # flagged
"""
        ),
        Invalid(
            """
import requests
def items(url):
    r = requests.get(url)
    try:
        data = r.json()["items"]  # flagged
    except ValueError:
        data = []
    return data
""",
            fixed="""
import requests
def items(url):
    r = requests.get(url)
    try:
        r.raise_for_status()
        data = r.json()["items"]  # flagged
    except ValueError:
        data = []
    return data
""",
        ),
    ]

    def check(self) -> Iterator[Report]:
        reported: set[cst.CSTNode] = set()
        for subscript in self.model.subscripts:
            if isinstance(self.model.parent(subscript), (cst.AssignTarget, cst.Del)):
                continue
            if isinstance(self.model.enclosing(subscript, (cst.Assert, cst.FunctionDef)), cst.Assert):
                continue  # a test assertion fails on an error body either way
            parse = body_parse(self.model, subscript.value)
            if parse is None or parse in reported:
                continue
            response = parsed_response(self.model, parse)
            found = response_of(self.model, response) if response is not None else None
            if found is None:
                continue
            http, name = found
            if (
                not unchecked_at(self.model, http, name, subscript)
                or self._expects_other_shapes(subscript)
                or self._body_validated(subscript)
            ):
                continue
            reported.add(parse)
            what = name if name is not None else f"{self.model.code(http.node.func)}(...)"
            yield self.report(
                subscript,
                f"The body of `{what}` is indexed before its status is checked, so an error response is read as data",
                self._fix(http.library, name, parse),
            )

    def _body_validated(self, subscript: cst.Subscript) -> bool:
        """An earlier `if` tests the parsed body and raises or returns: an error body never gets here.

        Also true when the code itself stored that key earlier (`flow["expires_in"] = ...`).
        """
        if not isinstance(subscript.value, cst.Name):
            return False
        body = subscript.value.value
        function = self.model.enclosing_function(subscript)
        key = self.model.code(subscript.slice[0]) if subscript.slice else None
        for other in self.model.subscripts:
            if (
                other is not subscript
                and isinstance(self.model.parent(other), cst.AssignTarget)
                and isinstance(other.value, cst.Name)
                and other.value.value == body
                and other.slice
                and self.model.code(other.slice[0]) == key
                and self.model.enclosing_function(other) is function
                and self.model.before(other, subscript)
            ):
                return True
        for branch in self.model.ifs:
            if self.model.enclosing_function(branch) is not function or not self.model.before(branch, subscript):
                continue
            if self.model.is_within(subscript, branch):
                continue
            tests_body = any(
                isinstance(node, cst.Name) and node.value == body for node in self.model.walk(branch.test)
            )
            leaves = any(isinstance(node, (cst.Raise, cst.Return)) for node in self.model.walk(branch.body))
            if tests_body and leaves:
                return True
        return False

    def _expects_other_shapes(self, node: cst.CSTNode) -> bool:
        return any(set(handler.types) & _KEY_ERROR_CATCHERS for handler in self.model.handlers_around(node))

    def _fix(self, library: str, name: str | None, parse: cst.CSTNode):
        if name is None or library not in _FIXABLE:
            return None
        statement = self.model.enclosing_statement(parse)
        parent = self.model.parent(statement)
        if isinstance(statement, cst.If) and isinstance(parent, cst.If):
            return None  # an `elif` header: nowhere to put a line
        if not isinstance(parent, (cst.IndentedBlock, cst.Module)):
            return None
        return self.fix(
            f"Call `{name}.raise_for_status()` first",
            Applicability.UNSAFE,
            self.insert_line_before(statement, f"{name}.raise_for_status()"),
        )
