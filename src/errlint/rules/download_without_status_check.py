"""ERR305: response bytes saved or returned before anything looked at the status."""

from __future__ import annotations

import re
from typing import Iterator

import libcst as cst

from errlint.linter.checks import response_of, unchecked_at
from errlint.linter.findings import Applicability, FixAvailability
from errlint.linter.model import HttpCall, dotted_name, positional_args, strip_await
from errlint.linter.rule import Invalid, Report, Rule

# Attributes and methods that hand out a response's raw bytes, per library.
_BYTES_ATTRIBUTES = {
    "content": ("requests", "httpx"),
    "data": ("urllib3",),
}
_BYTES_METHODS = {
    "read": ("aiohttp", "aiohttp_retry", "httpx", "urllib3"),
    "aread": ("httpx",),
}
_CHUNK_ITERATORS = {
    "iter_content": ("requests",),
    "iter_bytes": ("httpx",),
    "aiter_bytes": ("httpx",),
    "iter_raw": ("httpx",),
    "aiter_raw": ("httpx",),
    "stream": ("urllib3",),
}
# aiohttp: `resp.content` is a stream reader.
_STREAM_METHODS = frozenset({"read", "iter_chunked", "iter_any", "iter_chunks", "readany", "readexactly"})
# A file named like this holds an error body on purpose.
_DELIBERATE = re.compile(r"err|debug|fail|dump|trace", re.I)
_FIXABLE = frozenset({"requests", "httpx"})


class DownloadWithoutStatusCheck(Rule):
    """
    ## What it does
    Flags a download written or returned before its status is checked. Flags response bytes written to a file or returned as the download
    (`f.write(r.content)`, `open(p, "wb").write(r.content)`,
    `for chunk in r.iter_content(...)`, httpx `iter_bytes`/`aiter_bytes`,
    aiohttp `resp.content.read()`/`iter_chunked`,
    `shutil.copyfileobj(r.raw, f)`, `return r.content`) when nothing looked
    at the response's status first.

    The same checks as ERR302 count (`raise_for_status()`, a status
    comparison, `.ok`, a raising session or hook). `urllib.request`
    (`urlopen`, `urlretrieve`) raises on error statuses by itself and is not
    flagged, nor is an error body saved on purpose: after a failing status
    check, or into a file named like `error`/`debug`/`dump`.

    ## Why is this bad?
    Download endpoints return raw bytes on success and a JSON error envelope
    when they reject the request. Without a status check the error body is
    saved under the expected file name (`report.pdf` containing
    `{"error": ...}`) and the failure surfaces much later, when something
    tries to open the file.

    ## Example
    ```python
    r = requests.get(export_url, stream=True)
    with open(path, "wb") as f:
        for chunk in r.iter_content(65536):
            f.write(chunk)
    ```

    ## Use instead
    ```python
    r = requests.get(export_url, stream=True)
    r.raise_for_status()
    with open(path, "wb") as f:
        for chunk in r.iter_content(65536):
            f.write(chunk)
    ```

    ## Fix safety
    For a named requests or httpx response, an unsafe fix inserts
    `r.raise_for_status()` before the statement that writes (above the
    `with open(...)` block when there is one, so no empty file is left
    behind). It is unsafe because error statuses now raise.

    ## References
    - Titan errors (https://webscraping.titannet.io/docs/api-reference/errors): `…/results/export` and
      `…/results/download` answer "Raw file bytes" on success and a "JSON error envelope when the handler
      rejects the request".
    - Same page: the media CDN (`GET /media/...?token=…`) sends a "Binary stream" on success and
      `{ "error": "<message>" }` on failure.
    - RFC 9110 §15.5 (https://www.rfc-editor.org/rfc/rfc9110#section-15.5): for a 4xx "the server SHOULD
      send a representation containing an explanation of the error situation".
    - requests: `HTTPError` is raised only by `raise_for_status()`.
    """

    code = "ERR305"
    name = "download-without-status-check"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # raise_for_status before writing.
        """
import requests
def download(url, path):
    r = requests.get(url, stream=True, timeout=30)
    r.raise_for_status()
    with open(path, "wb") as f:
        for chunk in r.iter_content(65536):
            f.write(chunk)
""",
        # Deliberately saving an error body, after a failing status check.
        """
import requests
def export(url, path):
    r = requests.get(url)
    if r.status_code != 200:
        with open(path + ".txt", "wb") as f:
            f.write(r.content)
        raise RuntimeError(f"export failed: {r.status_code}")
    with open(path, "wb") as f:
        f.write(r.content)
""",
        # Deliberately saving an error body into a debug file.
        """
import requests
def probe(url):
    r = requests.get(url)
    with open("debug_response.bin", "wb") as f:
        f.write(r.content)
    return r
""",
        # urlretrieve / urlopen raise HTTPError on error statuses.
        """
import shutil
import urllib.request
def download(url, path):
    urllib.request.urlretrieve(url, path)
    with urllib.request.urlopen(url) as resp, open(path, "wb") as f:
        shutil.copyfileobj(resp, f)
""",
        # httpx streaming with a status check.
        """
import httpx
def download(url, path):
    with httpx.stream("GET", url) as r:
        if not r.is_success:
            raise RuntimeError(r.status_code)
        with open(path, "wb") as f:
            for chunk in r.iter_bytes():
                f.write(chunk)
""",
        # aiohttp session that raises on error statuses.
        """
import aiohttp
async def download(url, path):
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        async with session.get(url) as resp:
            with open(path, "wb") as f:
                async for chunk in resp.content.iter_chunked(65536):
                    f.write(chunk)
""",
        # Streaming bytes to a parser, not to disk.
        """
import hashlib, requests
def digest(url):
    r = requests.get(url, stream=True)
    h = hashlib.sha256()
    for chunk in r.iter_content(8192):
        h.update(chunk)
    return h.hexdigest()
""",
        # .ok checked in a method before returning bytes.
        """
import requests
class Media:
    def __init__(self):
        self.session = requests.Session()
    def image(self, url):
        resp = self.session.get(url)
        if not resp.ok:
            return None
        return resp.content
""",
        # An aiohttp session passed in may raise on its own.
        """
import aiohttp
async def download(session: aiohttp.ClientSession, url):
    async with session.get(url) as resp:
        return await resp.read()
""",
    ]

    INVALID = [
        Invalid(
            """
import requests
def download(url, path):
    r = requests.get(url, stream=True, timeout=30)
    with open(path, "wb") as f:
        for chunk in r.iter_content(65536):  # flagged
            f.write(chunk)
""",
            message="`r.iter_content(...)` is written out before the status of `r` is checked, so an error body is saved as the download",
            fixed="""
import requests
def download(url, path):
    r = requests.get(url, stream=True, timeout=30)
    r.raise_for_status()
    with open(path, "wb") as f:
        for chunk in r.iter_content(65536):  # flagged
            f.write(chunk)
""",
        ),
        Invalid(
            """
import requests as rq
def save(url, path):
    open(path, "wb").write(rq.get(url).content)  # flagged
""",
            message="`rq.get(...).content` is written out before its status is checked, so an error body is saved as the download",
        ),
        Invalid(
            """
import shutil, requests
def save(url, path):
    r = requests.get(url, stream=True)
    with open(path, "wb") as out:
        shutil.copyfileobj(r.raw, out)  # flagged
""",
            fixed="""
import shutil, requests
def save(url, path):
    r = requests.get(url, stream=True)
    r.raise_for_status()
    with open(path, "wb") as out:
        shutil.copyfileobj(r.raw, out)  # flagged
""",
        ),
        Invalid(
            """
from pathlib import Path
import requests
class Exporter:
    def __init__(self):
        self.session = requests.Session()
    def export(self, job_id, target: Path):
        resp = self.session.get(f"https://api.example.com/executions/{job_id}/results/export")
        target.write_bytes(resp.content)  # flagged
""",
            fixed="""
from pathlib import Path
import requests
class Exporter:
    def __init__(self):
        self.session = requests.Session()
    def export(self, job_id, target: Path):
        resp = self.session.get(f"https://api.example.com/executions/{job_id}/results/export")
        resp.raise_for_status()
        target.write_bytes(resp.content)  # flagged
""",
        ),
        Invalid(
            """
import httpx
def download(url, path):
    with httpx.stream("GET", url) as r:
        with open(path, "wb") as f:
            for chunk in r.iter_bytes():  # flagged
                f.write(chunk)
""",
            fixed="""
import httpx
def download(url, path):
    with httpx.stream("GET", url) as r:
        r.raise_for_status()
        with open(path, "wb") as f:
            for chunk in r.iter_bytes():  # flagged
                f.write(chunk)
""",
        ),
        Invalid(
            """
import httpx
async def download(client: httpx.AsyncClient, url, path):
    async with client.stream("GET", url) as r:
        with open(path, "wb") as f:
            async for chunk in r.aiter_bytes():  # flagged
                f.write(chunk)
""",
            fixed="""
import httpx
async def download(client: httpx.AsyncClient, url, path):
    async with client.stream("GET", url) as r:
        r.raise_for_status()
        with open(path, "wb") as f:
            async for chunk in r.aiter_bytes():  # flagged
                f.write(chunk)
""",
        ),
        Invalid(
            """
import aiohttp
async def download(url, path):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            with open(path, "wb") as f:
                async for chunk in resp.content.iter_chunked(65536):  # flagged
                    f.write(chunk)
"""
        ),
        Invalid(
            """
from aiohttp import ClientSession
class Media:
    def __init__(self):
        self.session = ClientSession()
    async def image(self, url):
        async with self.session.get(url) as resp:
            return await resp.read()  # flagged
""",
            message="`resp.read()` is returned before the status of `resp` is checked, so an error body is returned as the download",
        ),
        Invalid(
            """
import urllib3
pool = urllib3.PoolManager()
def fetch_pdf(url, path):
    r = pool.request("GET", url)
    with open(path, "wb") as f:
        f.write(r.data)  # flagged
"""
        ),
        Invalid(
            """
import requests
def thumbnail(url):
    r = requests.get(url, timeout=5)
    print(r.status_code)
    return r.content  # flagged
""",
            fixed="""
import requests
def thumbnail(url):
    r = requests.get(url, timeout=5)
    print(r.status_code)
    r.raise_for_status()
    return r.content  # flagged
""",
        ),
    ]

    def check(self) -> Iterator[Report]:
        for node, response, what in self._sinks():
            found = response_of(self.model, response)
            if found is None:
                continue
            http, name = found
            if not self._yields_bytes(http, what) or not unchecked_at(self.model, http, name, node):
                continue
            subject = self._subject(http, name, what)
            status = f"the status of `{name}`" if name else "its status"
            if isinstance(self.model.parent(node), cst.Return):
                message = f"{subject} is returned before {status} is checked, so an error body is returned as the download"
            else:
                message = f"{subject} is written out before {status} is checked, so an error body is saved as the download"
            yield self.report(node, message, self._fix(http, name, node))

    # --- where bytes leave the response ---------------------------------------

    def _sinks(self) -> Iterator[tuple[cst.CSTNode, cst.BaseExpression, str]]:
        """(node to report, response expression, how the bytes are taken) for every write, copy or return."""
        model = self.model
        for call in model.calls:
            func = call.func
            name = model.callee(call)
            if name == "shutil.copyfileobj":
                args = positional_args(call)
                if len(args) >= 2 and not self._deliberate(args[1]):
                    source = strip_await(args[0])
                    if isinstance(source, cst.Attribute) and source.attr.value == "raw":
                        yield call, source.value, "raw"
                    else:
                        yield call, source, "file"
            elif isinstance(func, cst.Attribute) and func.attr.value in ("write", "write_bytes"):
                args = positional_args(call)
                if len(args) == 1 and not self._deliberate(func.value):
                    taken = self._bytes_of(args[0])
                    if taken is not None:
                        yield call, *taken
        for loop in model.loops:
            if not isinstance(loop, cst.For):
                continue
            iterator = strip_await(loop.iter)
            if not (isinstance(iterator, cst.Call) and isinstance(iterator.func, cst.Attribute)):
                continue
            method = iterator.func.attr.value
            receiver = iterator.func.value
            if method in _CHUNK_ITERATORS:
                sink = (iterator, receiver, method)
            elif method in _STREAM_METHODS and isinstance(receiver, cst.Attribute) and receiver.attr.value == "content":
                sink = (iterator, receiver.value, "content." + method)
            else:
                continue
            if self._writes_out(loop):  # the body is read only for loops over response chunks
                yield sink
        for node in self._returns():
            taken = self._bytes_of(node.value) if node.value is not None else None
            if taken is not None:
                yield node.value, *taken  # type: ignore[misc]

    def _returns(self) -> list[cst.Return]:
        return self.model.returns

    def _bytes_of(self, expr: cst.BaseExpression) -> tuple[cst.BaseExpression, str] | None:
        """`r.content`, `r.data`, `await resp.read()`, `await resp.content.read()`: (response, how)."""
        expr = strip_await(expr)
        if isinstance(expr, cst.Attribute) and expr.attr.value in _BYTES_ATTRIBUTES:
            return expr.value, expr.attr.value
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and not expr.args:
            method = expr.func.attr.value
            receiver = expr.func.value
            if method in _BYTES_METHODS:
                return receiver, method
            if method in _STREAM_METHODS and isinstance(receiver, cst.Attribute) and receiver.attr.value == "content":
                return receiver.value, "content." + method
        return None

    def _yields_bytes(self, http: HttpCall, what: str) -> bool:
        if what in ("raw", "file"):
            return http.library == "requests" if what == "raw" else http.library == "urllib3"
        if what.startswith("content."):
            return http.library in ("aiohttp", "aiohttp_retry")
        libraries = _BYTES_ATTRIBUTES.get(what) or _BYTES_METHODS.get(what) or _CHUNK_ITERATORS.get(what) or ()
        return http.library in libraries

    def _writes_out(self, loop: cst.For) -> bool:
        for node in self.model.walk(loop.body, into_functions=False):
            if isinstance(node, cst.Yield):
                return True
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value in ("write", "write_bytes")
            ):
                return True
        return False

    def _deliberate(self, target: cst.BaseExpression) -> bool:
        """The file written to is named like an error or debug dump."""
        texts = [self.model.code(target)]
        resolved = self.model.resolve(target)
        if resolved is not target:
            texts.append(self.model.code(resolved))
        elif isinstance(target, cst.Name):
            opened = self._opened_as(target.value, target)
            if opened is not None:
                texts.append(self.model.code(opened))
        return any(_DELIBERATE.search(text) for text in texts)

    def _opened_as(self, name: str, near: cst.CSTNode) -> cst.BaseExpression | None:
        """The `open(...)` call of `with open(...) as name` around `near`."""
        for ancestor in self.model.ancestors(near):
            if isinstance(ancestor, cst.With):
                for item in ancestor.items:
                    if item.asname is not None and dotted_name(item.asname.name) == name:
                        return item.item
        return None

    # --- reporting --------------------------------------------------------------

    def _subject(self, http: HttpCall, name: str | None, what: str) -> str:
        base = name if name is not None else f"{self.model.code(http.node.func)}(...)"
        if what == "file":
            return f"`{base}`"
        if what in _BYTES_ATTRIBUTES or what == "raw":
            return f"`{base}.{what}`"
        if what in _BYTES_METHODS or what == "content.read":
            return f"`{base}.{what}()`"
        return f"`{base}.{what}(...)`"

    def _fix(self, http: HttpCall, name: str | None, node: cst.CSTNode):
        if name is None or http.library not in _FIXABLE:
            return None
        statement = self.model.enclosing_statement(node)
        # Hoist above `with open(...)` blocks so no empty file is created.
        while True:
            parent = self.model.parent(self.model.parent(statement) or statement)
            mentions = re.compile(rf"\b{re.escape(name)}\b")
            if isinstance(parent, cst.With) and not any(mentions.search(self.model.code(item)) for item in parent.items):
                statement = parent
                continue
            break
        if not isinstance(self.model.parent(statement), (cst.IndentedBlock, cst.Module)):
            return None
        if isinstance(statement, cst.If) and isinstance(self.model.parent(statement), cst.If):
            return None
        return self.fix(
            f"Call `{name}.raise_for_status()` first",
            Applicability.UNSAFE,
            self.insert_line_before(statement, f"{name}.raise_for_status()"),
        )
