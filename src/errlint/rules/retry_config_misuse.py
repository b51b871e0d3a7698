"""ERR109: retry configuration that is broken."""

from __future__ import annotations

import difflib
import re
from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import Applicability, FixAvailability
from errlint.linter.model import (
    dotted_name,
    keyword_arg,
    keyword_value,
    positional_args,
    string_value,
)
from errlint.linter.rule import Invalid, Report, Rule

_SCHEMES = ("http://", "https://")
_URL = re.compile(r"^(https?://)[^/\s]")
_COMPAT_ERRORS = re.compile(r"\*|AttributeError|TypeError|Exception")
_COMPAT_TEST = re.compile(r"hasattr|version|ALLOWED_METHODS|allowed_methods|BACKOFF_MAX|signature", re.I)


class RetryConfigMisuse(Rule):
    """
    ## What it does
    Flags urllib3 `Retry` configuration that is broken. Shapes: keywords and class
    attributes removed in urllib3 2.0 (`method_whitelist`,
    `Retry.DEFAULT_METHOD_WHITELIST`, `Retry.BACKOFF_MAX`), keywords `Retry`
    does not accept, numbers in `status_forcelist` (or aiohttp-retry
    `statuses=`) that are not HTTP statuses, and a `Retry` mounted on only
    one of `http://` and `https://` of a session.

    ## Why is this bad?
    `method_whitelist` was removed in urllib3 2.0: `Retry(method_whitelist=...)`
    raises `TypeError` and `Retry.BACKOFF_MAX` raises `AttributeError` the day
    the dependency is upgraded, usually in a code path that only runs when a
    server is already failing. Any other unknown keyword fails the same way. A
    number such as `5003` in `status_forcelist` never matches a response, so
    the retry it was meant to add silently never happens. `session.mount()`
    matches URL prefixes: a `Retry` mounted on `https://` alone leaves requests
    to `http://` URLs (a local or internal base URL) without retries.

    Assigning `Retry.BACKOFF_MAX` (or overriding it in a subclass) is flagged
    without a fix: in urllib3 2 the cap is the `backoff_max=` argument.
    The scheme check stays silent when every URL the session is seen to
    request uses the mounted scheme.

    ## Example
    ```python
    retry = Retry(total=3, method_whitelist=["GET"], status_forcelist=[500, 5003])
    session.mount("https://", HTTPAdapter(max_retries=retry))
    ```

    ## Use instead
    ```python
    retry = Retry(total=3, allowed_methods=["GET"], status_forcelist=[500, 503])
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    ```

    ## Fix safety
    The renames (`method_whitelist` -> `allowed_methods`,
    `DEFAULT_METHOD_WHITELIST` -> `DEFAULT_ALLOWED_METHODS`, `BACKOFF_MAX` ->
    `DEFAULT_BACKOFF_MAX`) are safe: the new names exist since urllib3 1.26
    and hold the same values. They are not offered when `allowed_methods` is
    also passed. The other findings have no fix.

    ## References
    - Library fact (RULES.md): "`method_whitelist` was removed in urllib3 2.0".
    - urllib3 2.x `Retry.__init__`: `total, connect, read, redirect, status, other, allowed_methods,
      status_forcelist, backoff_factor, backoff_max, raise_on_redirect, raise_on_status, history,
      respect_retry_after_header, remove_headers_on_redirect, backoff_jitter` (and `retry_after_max`).
    - RFC 9110 §15: status codes are three-digit integers from 100 to 599.
    """

    code = "ERR109"
    name = "retry-config-misuse"
    fix_availability = FixAvailability.SOMETIMES

    VALID = [
        # The urllib3 2 spelling.
        """
from urllib3.util.retry import Retry
retry = Retry(total=3, allowed_methods=["GET", "PUT"], backoff_factor=0.5, status_forcelist=[429, 503])
""",
        # The current class attributes.
        """
from urllib3 import Retry
methods = Retry.DEFAULT_ALLOWED_METHODS | {"POST"}
cap = Retry.DEFAULT_BACKOFF_MAX
retry = Retry(total=5, allowed_methods=methods, backoff_max=cap, backoff_jitter=0.5)
""",
        # One adapter mounted on both schemes, from a session factory.
        """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
def make_session():
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=Retry(total=3, backoff_factor=1, status_forcelist=[502, 503]))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
""",
        # Only https:// is mounted and every request the session makes is https.
        """
import requests as rq
from requests.adapters import HTTPAdapter
from urllib3 import Retry
class Client:
    def __init__(self):
        self.session = rq.Session()
        self.session.mount("https://", HTTPAdapter(max_retries=Retry(total=3, backoff_factor=1)))
    def users(self):
        return self.session.get("https://api.example.com/users", timeout=10).json()
""",
        # A host-specific prefix is a deliberate choice, not a scheme.
        """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
session = requests.Session()
session.mount("https://api.example.com/", HTTPAdapter(max_retries=Retry(total=3, backoff_factor=1)))
""",
        # aiohttp-retry options with real statuses; `Retry(**kwargs)` cannot be checked.
        """
from aiohttp_retry import RetryClient, JitterRetry
from urllib3 import Retry
options = JitterRetry(attempts=3, statuses={429, 503})
def build(**kwargs):
    return Retry(**kwargs)
""",
        # Mounted through a loop over both schemes.
        """
import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry
session = requests.Session()
adapter = HTTPAdapter(max_retries=Retry(total=4, backoff_factor=0.5, status_forcelist=(500, 502, 503)))
for prefix in ("http://", "https://"):
    session.mount(prefix, adapter)
""",
        # Deliberate support for urllib3 < 1.26.
        """
from urllib3.util.retry import Retry
try:
    retry = Retry(total=3, allowed_methods=["GET"], backoff_factor=1)
except TypeError:
    retry = Retry(total=3, method_whitelist=["GET"], backoff_factor=1)
METHODS = Retry.DEFAULT_ALLOWED_METHODS if hasattr(Retry, "DEFAULT_ALLOWED_METHODS") else Retry.DEFAULT_METHOD_WHITELIST
""",
        # httpx transports and google-api-core Retry are other classes.
        """
import httpx
from google.api_core.retry import Retry
transport = httpx.HTTPTransport(retries=3)
retry = Retry(initial=1.0, maximum=10.0, multiplier=2.0, deadline=60.0)
""",
    ]

    INVALID = [
        Invalid(
            """
from urllib3.util.retry import Retry
retry = Retry(total=3, method_whitelist=["GET", "POST"])  # flagged
""",
            message="`method_whitelist` was removed in urllib3 2.0 and makes `Retry()` raise `TypeError`; use `allowed_methods`",
            fixed="""
from urllib3.util.retry import Retry
retry = Retry(total=3, allowed_methods=["GET", "POST"])  # flagged
""",
        ),
        Invalid(
            """
import requests
from requests.packages.urllib3.util.retry import Retry
methods = Retry.DEFAULT_METHOD_WHITELIST | {"POST"}  # flagged
retry = Retry(total=3, allowed_methods=methods)
""",
            message="`Retry.DEFAULT_METHOD_WHITELIST` was removed in urllib3 2.0 and raises `AttributeError`; use `Retry.DEFAULT_ALLOWED_METHODS`",
            fixed="""
import requests
from requests.packages.urllib3.util.retry import Retry
methods = Retry.DEFAULT_ALLOWED_METHODS | {"POST"}  # flagged
retry = Retry(total=3, allowed_methods=methods)
""",
        ),
        Invalid(
            """
import urllib3
def backoff_cap():
    return urllib3.Retry.BACKOFF_MAX  # flagged
""",
            fixed="""
import urllib3
def backoff_cap():
    return urllib3.Retry.DEFAULT_BACKOFF_MAX  # flagged
""",
        ),
        Invalid(
            """
from urllib3 import Retry
Retry.BACKOFF_MAX = 30  # flagged
class CappedRetry(Retry):
    BACKOFF_MAX = 10  # flagged
""",
            message="`Retry.BACKOFF_MAX` was removed in urllib3 2.0, so setting it has no effect; pass `backoff_max=` to `Retry`",
        ),
        Invalid(
            """
from urllib3 import Retry
retry = Retry(
    total=5,
    backoff_factors=0.5,  # flagged
    status_forcelist=[502, 503],
)
""",
            message="`Retry` has no keyword `backoff_factors`, so building it raises `TypeError` (did you mean `backoff_factor`?)",
        ),
        Invalid(
            """
from requests.adapters import HTTPAdapter
from urllib3 import Retry
FORCE = [500, 502, 5003]
adapter = HTTPAdapter(max_retries=Retry(total=3, backoff_factor=1, status_forcelist=FORCE))  # flagged
""",
            message="`status_forcelist` contains 5003, which is not an HTTP status (100-599) and never matches a response",
        ),
        Invalid(
            """
from aiohttp_retry import RetryClient, JitterRetry
options = JitterRetry(attempts=3, statuses={42, 503})  # flagged
client = RetryClient(retry_options=options)
"""
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
def make_retry():
    return Retry(total=3, backoff_factor=1, status_forcelist=[502, 503])
class Api:
    def __init__(self, base_url="http://localhost:8000"):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.mount("https://", HTTPAdapter(max_retries=make_retry()))  # flagged
    def get(self, path):
        return self.session.get(self.base_url + path, timeout=5)
""",
            message="`Retry` is mounted on `https://` only, so `self.session` requests to `http://` URLs are not retried",
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
session = requests.Session()
retry = Retry(total=3, backoff_factor=1, status_forcelist=[503])
session.mount("http://", HTTPAdapter(max_retries=retry))  # flagged
session.get("https://api.example.com/health", timeout=5)
"""
        ),
    ]

    def check(self) -> Iterator[Report]:
        for config in self.model.retry_configs:
            if self.model.callee(config) == lib.URLLIB3_RETRY:
                yield from self._keywords(config)
            yield from self._status_numbers(config)
        yield from self._removed_attributes()
        yield from self._one_scheme_mounts()

    # --- keywords ------------------------------------------------------------

    def _keywords(self, config: cst.Call) -> Iterator[Report]:
        for arg in config.args:
            if arg.keyword is None or arg.star:
                continue
            keyword = arg.keyword.value
            if keyword in lib.URLLIB3_RETRY_RENAMES:
                new = lib.URLLIB3_RETRY_RENAMES[keyword]
                if self._compatibility_branch(arg):
                    continue
                fix = None
                if keyword_arg(config, new) is None:
                    fix = self.fix(f"Rename to `{new}`", Applicability.SAFE, self.replace(arg.keyword, new))
                yield self.report(
                    arg,
                    f"`{keyword}` was removed in urllib3 2.0 and makes `Retry()` raise `TypeError`; use `{new}`",
                    fix,
                )
            elif keyword not in lib.URLLIB3_RETRY_KEYWORDS:
                close = difflib.get_close_matches(keyword, sorted(lib.URLLIB3_RETRY_KEYWORDS), n=1, cutoff=0.7)
                hint = f" (did you mean `{close[0]}`?)" if close else ""
                yield self.report(
                    arg, f"`Retry` has no keyword `{keyword}`, so building it raises `TypeError`{hint}"
                )

    # --- removed class attributes --------------------------------------------

    def _removed_attributes(self) -> Iterator[Report]:
        for attribute in self.model.attributes:
            old = attribute.attr.value
            if old not in ("DEFAULT_METHOD_WHITELIST", "BACKOFF_MAX") or not self._is_retry(attribute.value):
                continue
            new = lib.URLLIB3_RETRY_RENAMES[old]
            if self._compatibility_branch(attribute):
                continue
            if self._is_assignment_target(attribute):
                yield self.report(attribute, self._no_effect(old))
                continue
            yield self.report(
                attribute,
                f"`Retry.{old}` was removed in urllib3 2.0 and raises `AttributeError`; use `Retry.{new}`",
                self.fix(f"Rename to `{new}`", Applicability.SAFE, self.replace(attribute.attr, new)),
            )
        for class_node in self.model.classes:
            if not any(self.model.qualname(base.value) == lib.URLLIB3_RETRY for base in class_node.bases):
                continue
            for statement in class_node.body.body:
                if not isinstance(statement, cst.SimpleStatementLine):
                    continue
                for small in statement.body:
                    targets = (
                        [t.target for t in small.targets] if isinstance(small, cst.Assign)
                        else [small.target] if isinstance(small, cst.AnnAssign) else []
                    )
                    for target in targets:
                        if isinstance(target, cst.Name) and target.value in ("DEFAULT_METHOD_WHITELIST", "BACKOFF_MAX"):
                            yield self.report(target, self._no_effect(target.value))

    def _compatibility_branch(self, node: cst.CSTNode) -> bool:
        """Code that supports urllib3 < 1.26 on purpose: a `try` that catches the failure, or a version/feature test."""
        for ancestor in self.model.ancestors(node):
            if isinstance(ancestor, cst.FunctionDef):
                return False
            if isinstance(ancestor, cst.Try):
                for handler in ancestor.handlers:
                    caught = self.model.code(handler.type) if handler.type is not None else "*"
                    if self.model.is_within(node, handler) or _COMPAT_ERRORS.search(caught):
                        return True
            if isinstance(ancestor, (cst.If, cst.IfExp)) and _COMPAT_TEST.search(self.model.code(ancestor.test)):
                return True
        return False

    @staticmethod
    def _no_effect(old: str) -> str:
        instead = "`backoff_max=`" if old == "BACKOFF_MAX" else "`allowed_methods=`"
        return f"`Retry.{old}` was removed in urllib3 2.0, so setting it has no effect; pass {instead} to `Retry`"

    def _is_retry(self, expr: cst.BaseExpression) -> bool:
        if self.model.qualname(expr) == lib.URLLIB3_RETRY:
            return True
        value = self.model.resolve(expr)
        return isinstance(value, cst.Call) and self.model.callee(value) == lib.URLLIB3_RETRY

    def _is_assignment_target(self, node: cst.CSTNode) -> bool:
        parent = self.model.parent(node)
        if isinstance(parent, cst.AssignTarget):
            return True
        return isinstance(parent, (cst.AugAssign, cst.AnnAssign)) and parent.target is node

    # --- status numbers ------------------------------------------------------

    def _status_numbers(self, config: cst.Call) -> Iterator[Report]:
        keyword = "status_forcelist" if self.model.callee(config) == lib.URLLIB3_RETRY else "statuses"
        argument = keyword_arg(config, keyword)
        if argument is None:
            return
        statuses = self.model.int_set(argument.value)
        bad = frozenset(s for s in statuses or () if not 100 <= s <= 599)
        if not bad:
            return
        numbers = [str(n) for n in sorted(bad)]
        listed = numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " and " + numbers[-1]
        verb = "is not an HTTP status (100-599) and never matches" if len(bad) == 1 else (
            "are not HTTP statuses (100-599) and never match"
        )
        yield self.report(argument, f"`{keyword}` contains {listed}, which {verb} a response")

    # --- one scheme mounted ----------------------------------------------------

    def _one_scheme_mounts(self) -> Iterator[Report]:
        retry_mounts = {scope.node for scope in self.model.retry_scopes if scope.kind == "mounted"}
        sessions: dict[tuple[cst.CSTNode | None, str], list[tuple[cst.Call, cst.BaseExpression, str | None]]] = {}
        for call in self.model.calls:
            func = call.func
            if not (isinstance(func, cst.Attribute) and func.attr.value == "mount"):
                continue
            key = dotted_name(func.value)
            args = positional_args(call)
            prefix = keyword_value(call, "prefix") or (args[0] if args else None)
            if not key or prefix is None:
                continue
            text = self.model.const_value(prefix)
            sessions.setdefault((self.model.binding_scope(call, key), key), []).append(
                (call, prefix, text if isinstance(text, str) else None)
            )
        for (_, key), mounts in sessions.items():
            if any(text is None for _, _, text in mounts):
                continue  # a computed prefix (a loop over both schemes)
            mounted = {text for _, _, text in mounts}
            for call, prefix, text in mounts:
                if call not in retry_mounts or text not in _SCHEMES:
                    continue
                other = _SCHEMES[1 - _SCHEMES.index(text)]
                if other in mounted or self._only_scheme_used(key, text):
                    continue
                yield self.report(
                    prefix,
                    f"`Retry` is mounted on `{text}` only, so `{key}` requests to `{other}` URLs are not retried",
                )

    def _only_scheme_used(self, session: str, scheme: str) -> bool:
        """Every URL the session is seen to request (else every URL literal in the file) uses `scheme`."""
        schemes = [self._url_scheme(http.url) for http in self.model.http_calls if http.receiver == session]
        if not schemes or None in schemes:
            schemes = self._module_url_schemes()
        return bool(schemes) and all(found == scheme for found in schemes)

    def _url_scheme(self, expr: cst.BaseExpression | None) -> str | None:
        if expr is None:
            return None
        expr = self.model.resolve(expr)
        if isinstance(expr, cst.FormattedString):
            first = expr.parts[0] if expr.parts else None
            text = first.value if isinstance(first, cst.FormattedStringText) else None
        else:
            text = string_value(expr)
        match = _URL.match(text or "")
        return match.group(1) if match else None

    def _module_url_schemes(self) -> list[str]:
        found = []

        for node in self.model.strings:
            match = _URL.match(string_value(node) or "")
            if match:
                found.append(match.group(1))
        for node in self.model.walk(self.model.module):
            if isinstance(node, cst.FormattedStringText):
                match = _URL.match(node.value)
                if match:
                    found.append(match.group(1))
        return found
