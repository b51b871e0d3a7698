"""ERR102: a retry condition that also catches permanent errors and bugs."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import Applicability, Fix, FixAvailability
from errlint.linter.model import dotted_name, keyword_value
from errlint.linter.rule import Invalid, Report, Rule
from errlint.linter.scopes import RetryPath, RetryScope
from errlint.linter.status import status_condition
from errlint.rules._retry_policy import (
    add_keyword,
    config_label,
    exits_on_success,
    handler_filters,
    import_name_edit,
    names_text,
    report_node,
    retry_configs,
    sends_requests,
)

# Where each family's status errors come from, for messages.
_STATUS_SOURCES = {
    "requests": "4xx errors raised by `raise_for_status()`",
    "httpx": "4xx errors raised by `raise_for_status()`",
    "aiohttp": "4xx errors raised by `raise_for_status`",
    "urllib": "4xx errors that `urlopen` raises as `HTTPError`",
    "openai": "4xx errors such as `BadRequestError` and `AuthenticationError`",
    "anthropic": "4xx errors such as `BadRequestError` and `AuthenticationError`",
    "google": "4xx errors such as `InvalidArgument` and `PermissionDenied`",
}
_FAMILY_LIBRARIES = {
    "requests": ("requests",),
    "httpx": ("httpx",),
    "aiohttp": ("aiohttp", "aiohttp_retry"),
    "urllib": ("urllib.request",),
}
# Exception classes that name these families (openai >= 1.0 only: `openai.error.APIError` is the legacy leaf).
_LEGACY_OPENAI = ("openai.error", "openai.ChatCompletion", "openai.Completion", "openai.Embedding")
_OPENAI_V1_NAMES = frozenset(
    f"openai.{name}"
    for name in ("OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI", "APIStatusError", "APIConnectionError",
                 "APITimeoutError", "BadRequestError", "InternalServerError")
)


class RetryTriggerTooBroad(Rule):
    """
    ## What it does
    Flags retry conditions that catch permanent errors and bugs along with transient failures. Shapes: tenacity `@retry` without `retry=` (every
    exception), `retry_if_exception_type(Exception)`, backoff
    `on_exception(..., Exception)`, `except Exception:` or a bare `except:`
    that goes round a retry loop again, and library base classes that include
    HTTP status errors (`requests.RequestException`, `requests.HTTPError`,
    `httpx.HTTPError`, `aiohttp.ClientError`, `openai.APIError`,
    `GoogleAPICallError`...) when the retried code raises status errors and
    nothing filters them by status.

    ## Why is this bad?
    A `TypeError`, a `KeyError` in response parsing, a 400 for a malformed
    request, a 401 for a bad key or a 404 for a missing resource fail the same
    way on every attempt. Retrying them delays the real error by the whole
    backoff schedule, hides bugs behind "retrying..." logs and burns rate-limit
    budget. API docs are explicit: "Do not retry 400, 401, 403, or 404 until
    you change input or credentials."

    A broad class paired with a `giveup=` or `retry_if_exception(predicate)`
    that checks the status, an `except Exception` that logs and re-raises, and
    the legacy `openai.error.APIError` (openai < 1.0, a server-error leaf) are
    not flagged.

    ## Example
    ```python
    @backoff.on_exception(backoff.expo, requests.RequestException, max_tries=5)
    def fetch(url):
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        return response.json()
    ```

    ## Use instead
    ```python
    @backoff.on_exception(backoff.expo, (requests.ConnectionError, requests.Timeout), max_tries=5)
    def fetch(url):
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        return response.json()
    ```

    ## Fix safety
    A display-only suggestion names the transient exceptions of the library
    (for example `(requests.ConnectionError, requests.Timeout)`). It is never
    applied automatically: it also stops retrying statuses such as 429 and
    503, which you may want to retry with a status check.

    ## References
    - Google Cloud Storage retry strategy (https://cloud.google.com/storage/docs/retry-strategy): permanent
      errors need "changes, such as authorization or configuration changes, before it's useful to try the
      request again".
    - Library fact: tenacity's default `retry=` is every `Exception`.
    - Library fact: `requests.RequestException` covers `HTTPError`, `InvalidURL`, `MissingSchema` and JSON decode
      errors; `httpx.HTTPError` includes `HTTPStatusError`.
    """

    code = "ERR102"
    name = "retry-trigger-too-broad"
    fix_availability = FixAvailability.SUGGESTION

    VALID = [
        # `except Exception` whose retry is decided per error by a handler predicate (slack_sdk's shape).
        """
import urllib.request
def send(req, retry_handlers, state):
    while True:
        try:
            with urllib.request.urlopen(req) as res:
                return res.read()
        except Exception as err:
            for handler in retry_handlers:
                if handler.can_retry(state=state, error=err):
                    handler.prepare_for_next_attempt(state=state, error=err)
                    break
            if state.next_attempt_requested is False:
                raise err
""",
        # Transient exceptions only.
        """
import requests
from backoff import on_exception, expo
@on_exception(expo, (requests.ConnectionError, requests.Timeout), max_tries=5)
def fetch(url):
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    return r.json()
""",
        # A broad class with a `giveup=` that checks the status.
        """
import backoff, requests
def permanent(e):
    return e.response is not None and 400 <= e.response.status_code < 500 and e.response.status_code != 429
@backoff.on_exception(backoff.expo, requests.RequestException, max_tries=5, giveup=permanent)
def fetch(url):
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    return r.json()
""",
        # tenacity `retry_if_exception(pred)` that checks the status.
        """
import httpx
import tenacity as t
def transient(exc):
    return isinstance(exc, httpx.TransportError) or (
        isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (429, 502, 503)
    )
@t.retry(retry=t.retry_if_exception(transient), stop=t.stop_after_attempt(4))
async def fetch(client: httpx.AsyncClient, url):
    r = await client.get(url)
    r.raise_for_status()
    return r.json()
""",
        # `except Exception` that logs and re-raises is not a retry trigger.
        """
import logging, time, requests
def fetch(session: requests.Session, url):
    for attempt in range(3):
        try:
            r = session.get(url, timeout=10)
            r.raise_for_status()
            return r.json()
        except requests.ConnectionError:
            time.sleep(2 ** attempt)
        except Exception:
            logging.exception("unexpected failure for %s", url)
            raise
    raise RuntimeError("unreachable")
""",
        # Legacy openai (< 1.0): `openai.error.APIError` is a server-error leaf.
        """
import openai
from tenacity import retry, retry_if_exception_type, stop_after_attempt
@retry(retry=retry_if_exception_type(openai.error.APIError), stop=stop_after_attempt(3))
def complete(prompt):
    return openai.ChatCompletion.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": prompt}])
""",
        # `requests.RequestException` with no `raise_for_status()`: no status errors are raised.
        """
import time, requests
def fetch(url):
    for attempt in range(3):
        try:
            r = requests.get(url, timeout=5)
            break
        except requests.RequestException:
            time.sleep(1)
    else:
        raise RuntimeError(f"{url} unreachable")
    return r
""",
        # The status is filtered in the handler before going round.
        """
import asyncio, aiohttp
async def fetch(url):
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        for attempt in range(4):
            try:
                async with session.get(url) as resp:
                    return await resp.json()
            except aiohttp.ClientResponseError as e:
                if e.status not in (429, 503):
                    raise
                await asyncio.sleep(2 ** attempt)
""",
        # stamina on transport errors; retries of a status check only on 5xx.
        """
import httpx, stamina
@stamina.retry(on=httpx.TransportError, attempts=3)
def fetch(client: httpx.Client, url):
    r = client.get(url)
    if r.status_code >= 500:
        r.raise_for_status()
    return r.json()
""",
        # aiohttp-retry client options are configuration, not a trigger written by hand.
        """
from aiohttp_retry import RetryClient, ExponentialRetry
async def fetch(url):
    async with RetryClient(retry_options=ExponentialRetry(attempts=3, statuses={503})) as client:
        async with client.get(url) as resp:
            return await resp.json()
""",
        # backoff `on_predicate` retries on a result, and a mounted urllib3 `Retry` is configuration.
        """
import backoff, requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[503])))
@backoff.on_predicate(backoff.constant, lambda body: body["state"] == "pending", interval=5, max_time=300)
def job_state(url):
    r = session.get(url)
    r.raise_for_status()
    return r.json()
""",
        # A worker loop that logs and moves on to the next job is not a retry.
        """
import logging, requests
def worker(queue, session: requests.Session):
    while True:
        job = queue.get()
        try:
            session.post(job.url, json=job.payload).raise_for_status()
        except Exception:
            logging.exception("job failed")
""",
    ]

    INVALID = [
        Invalid(
            """
import requests
from tenacity import retry, stop_after_attempt
@retry(stop=stop_after_attempt(5))  # flagged
def fetch(url):
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    return r.json()
""",
            message="`@retry` without `retry=` retries every exception, including 4xx errors and bugs such as `TypeError`",
        ),
        Invalid(
            """
import httpx
import tenacity as t
@t.retry(retry=t.retry_if_exception_type(Exception), stop=t.stop_after_attempt(3))  # flagged
async def fetch(client: httpx.AsyncClient, url):
    return (await client.get(url)).json()
""",
            message="`Exception` retries every error, including bugs such as `TypeError`",
        ),
        Invalid(
            """
import requests as rq
from backoff import on_exception, expo
@on_exception(expo, rq.RequestException, max_tries=5)  # flagged
def fetch(url):
    r = rq.get(url, timeout=10)
    r.raise_for_status()
    return r.json()
""",
            message="`rq.RequestException` also retries 4xx errors raised by `raise_for_status()`, which fail the same way on every attempt",
        ),
        Invalid(
            """
import time, requests
class Client:
    def __init__(self):
        self.session = requests.Session()

    def get(self, path):
        for attempt in range(3):
            try:
                r = self.session.get("https://api.example.com" + path, timeout=10)
                r.raise_for_status()
                return r.json()
            except Exception:  # flagged
                time.sleep(2 ** attempt)
        raise RuntimeError(path)
""",
        ),
        Invalid(
            """
import asyncio, httpx
async def fetch(client: httpx.AsyncClient, url):
    while True:
        try:
            r = await client.get(url)
            r.raise_for_status()
            return r.json()
        except:  # flagged
            await asyncio.sleep(1)
""",
        ),
        Invalid(
            """
import httpx, stamina
@stamina.retry(on=httpx.HTTPError, attempts=3)  # flagged
def fetch(client: httpx.Client, url):
    r = client.get(url)
    r.raise_for_status()
    return r.json()
""",
        ),
        Invalid(
            """
import asyncio, aiohttp
async def fetch(url):
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        for attempt in range(4):
            try:
                async with session.get(url) as resp:
                    return await resp.json()
            except aiohttp.ClientError:  # flagged
                await asyncio.sleep(2 ** attempt)
""",
        ),
        Invalid(
            """
import openai
from tenacity import retry, retry_if_exception_type, stop_after_attempt
client = openai.OpenAI(max_retries=0)
@retry(retry=retry_if_exception_type(openai.APIError), stop=stop_after_attempt(3))  # flagged
def complete(prompt):
    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])
""",
            message="`openai.APIError` also retries 4xx errors such as `BadRequestError` and `AuthenticationError`, which fail the same way on every attempt",
        ),
        Invalid(
            """
import requests
from tenacity import Retrying, stop_after_attempt
def fetch(url):
    for attempt in Retrying(stop=stop_after_attempt(3)):  # flagged
        with attempt:
            r = requests.get(url)
            r.raise_for_status()
            return r.json()
""",
        ),
        Invalid(
            """
import time, requests
def fetch(url, retries=3):
    try:
        r = requests.get(url, timeout=5)
        r.raise_for_status()
        return r.json()
    except requests.HTTPError:  # flagged
        if retries == 0:
            raise
        time.sleep(1)
        return fetch(url, retries - 1)
""",
        ),
        Invalid(
            """
import httpx, stamina
async def fetch(client: httpx.AsyncClient, url):
    async for attempt in stamina.retry_context(on=Exception, attempts=3):  # flagged
        with attempt:
            r = await client.get(url)
            r.raise_for_status()
            return r.json()
""",
            message="`Exception` retries every error, including 4xx errors and bugs such as `TypeError`",
        ),
        Invalid(
            """
import requests
from retrying import retry
@retry(stop_max_attempt_number=3)  # flagged
def fetch(url):
    return requests.get(url).json()
""",
            message="`@retry` without `retry_on_exception=` retries every exception, including bugs such as `TypeError`",
        ),
    ]

    def check(self) -> Iterator[Report]:
        reported: set[cst.CSTNode] = set()
        for scope in self.model.retry_scopes:
            if scope.kind in ("mounted", "client"):
                continue
            for path in scope.paths:
                report = self._path(scope, path)
                if report is not None and report.node not in reported:
                    reported.add(report.node)
                    yield report
        # Bare decorators (`@retry`, `@tenacity.retry`) retry every exception.
        for config in retry_configs(self.model):
            bare = config.call is None and config.function is not None
            if not bare or config.name not in ("tenacity.retry", "retrying.retry"):
                continue
            if not sends_requests(self.model, config.function):
                continue
            node = report_node(config)
            if node not in reported:
                reported.add(node)
                keyword = "retry=" if config.library == "tenacity" else "retry_on_exception="
                yield self.report(
                    node,
                    f"`{config_label(self.model, config)}` without `{keyword}` retries every exception, "
                    f"{self._including(config.function, RetryPath())}",
                )

    # --- one retry path ------------------------------------------------------

    def _path(self, scope: RetryScope, path: RetryPath) -> Report | None:
        if not path.exceptions or path.status_filtered:
            return None
        if scope.kind in ("loop", "recursion"):
            if path.handler is None or handler_filters(self.model, path.handler):
                return None
            if isinstance(scope.node, (cst.For, cst.While)) and not exits_on_success(
                self.model, scope.node, [http.node for http in scope.http_calls]
            ):
                return None
            container: cst.CSTNode = path.handler.try_node.body
        else:
            if self._excludes(path):
                return None
            container = scope.node.body if isinstance(scope.node, cst.For) else scope.node
        broad = [name for name in path.exceptions if name in lib.BROAD_BUILTINS or name == "*"]
        if broad:
            if not sends_requests(self.model, container):
                return None
            return self._builtin(scope, path, broad[0], container)
        for name in path.exceptions:
            if name in lib.BROAD_LIBRARY_BASES:
                family = self._family(name)
                if family is not None and self._raises_status_errors(family, container, path):
                    node = self._node_for(path, name)
                    message = (
                        f"`{self.model.code(node)}` also retries {_STATUS_SOURCES[family]}, "
                        "which fail the same way on every attempt"
                    )
                    return self.report(node, message, self._suggestion(node, family))
        return None

    def _excludes(self, path: RetryPath) -> bool:
        """`retry_if_not_exception_type(...)`: the author listed what not to retry."""
        decision = path.decision
        if isinstance(decision, cst.Call):
            name = (self.model.callee(decision) or "").rsplit(".", 1)[-1]
            return name in ("retry_if_not_exception_type", "retry_unless_exception_type")
        return False

    def _builtin(self, scope: RetryScope, path: RetryPath, name: str, container: cst.CSTNode) -> Report:
        libraries = sorted(
            {http.library for http in self.model.http_calls_in(container)}
            | {client.library for _, client in self.model.self_retrying_calls_in(container)}
        )
        library = libraries[0] if len(libraries) == 1 else None
        including = self._including(container, path)
        decision = path.decision
        if path.handler is None and isinstance(decision, cst.Call) and decision is scope.config:
            # No `retry=` / `retry_on_exception=` at all.
            keyword = "retry=" if scope.library == "tenacity" else "retry_on_exception="
            callee = self.model.code(decision.func)
            label = f"@{callee}" if scope.kind == "decorator" else f"{callee}(...)"
            fix = self._tenacity_suggestion(decision, library) if scope.library == "tenacity" else None
            return self.report(
                decision.func,
                f"`{label}` without `{keyword}` retries every exception, {including}",
                fix,
            )
        if name == "*":
            assert path.handler is not None
            return self.report(
                path.handler.node,
                f"Bare `except:` retries every error, {including}",
            )
        node = self._node_for(path, name)
        return self.report(
            node,
            f"`{self.model.code(node)}` retries every error, {including}",
            self._suggestion(node, library) if library else None,
        )

    def _including(self, container: cst.CSTNode, path: RetryPath) -> str:
        """What else a catch-all retries: 4xx errors when the code raises them, bugs always."""
        sdk = any(client.library in _STATUS_SOURCES for _, client in self.model.self_retrying_calls_in(container))
        if sdk or any(
            self._raises_status_errors(family, container, path) for family in ("requests", "httpx", "aiohttp", "urllib")
        ):
            return "including 4xx errors and bugs such as `TypeError`"
        return "including bugs such as `TypeError`"

    def _node_for(self, path: RetryPath, name: str) -> cst.CSTNode:
        """The expression naming the exception `name` in the trigger (or the trigger itself)."""
        if path.handler is not None:
            for node in path.handler.type_nodes:
                if lib.canonical(self.model.qualname(node) or dotted_name(node) or "") == name:
                    return node
            return path.handler.type_nodes[0] if path.handler.type_nodes else path.handler.node
        decision = path.decision
        assert decision is not None
        for node in self.model.subtree(decision):
            if isinstance(node, (cst.Name, cst.Attribute)) and lib.canonical(
                self.model.qualname(node) or dotted_name(node) or ""
            ) == name:
                parent = self.model.parent(node)
                if isinstance(parent, cst.Attribute) and parent.value is node:
                    continue  # `requests` in `requests.HTTPError`
                return node
        if isinstance(decision, cst.Call) and decision.args:
            return decision.args[0].value
        return decision

    # --- which families raise status errors here ------------------------------

    @staticmethod
    def _family(name: str) -> str | None:
        head = name.split(".")[0]
        if head in _STATUS_SOURCES:
            return head
        return None

    def _raises_status_errors(self, family: str, container: cst.CSTNode, path: RetryPath) -> bool:
        if family in ("openai", "anthropic", "google"):
            if family == "openai" and not self._openai_v1():
                return False
            return not self._handled_inside(container, path, family)
        libraries = _FAMILY_LIBRARIES[family]
        http_calls = [http for http in self.model.http_calls_in(container) if http.library in (*libraries, "unknown")]
        if not http_calls:
            return False
        if family == "urllib":
            return True
        for call in self.model.calls_in(container):
            func = call.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "raise_for_status"
                and not call.args
                and self._unguarded(call, container, path)
            ):
                return True
        if family == "aiohttp":
            for http in http_calls:
                if self._true(http.keyword("raise_for_status")):
                    return True
                client = self.model.clients.get(http.receiver or "")
                if client is not None and self._true(keyword_value(client.constructor, "raise_for_status")):
                    return True
        return False

    def _true(self, value: cst.BaseExpression | None) -> bool:
        return value is not None and self.model.const_value(value) is True

    def _unguarded(self, call: cst.Call, container: cst.CSTNode, path: RetryPath) -> bool:
        """Not under a status check, not inside an inner `try` that handles it."""
        own = path.handler.try_node if path.handler is not None else None
        for ancestor in self.model.ancestors(call):
            if ancestor is container or isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                break
            if isinstance(ancestor, cst.If) and status_condition(self.model, ancestor.test) is not None:
                return False
            if isinstance(ancestor, cst.Try) and ancestor is not own and ancestor.handlers and self.model.is_within(
                call, ancestor.body
            ):
                return False
        return True

    def _handled_inside(self, container: cst.CSTNode, path: RetryPath, family: str) -> bool:
        """An inner `try` that catches the family's status errors (and decides what to re-raise)."""
        own = path.handler.try_node if path.handler is not None else None
        for handler in self.model.handlers:
            if handler.try_node is own or not self.model.is_within(handler.try_node, container):
                continue
            if any(name.startswith(family + ".") for name in handler.types):
                return True
        return False

    def _openai_v1(self) -> bool:
        """The module uses openai >= 1.0 (client classes, the module client, new exception names), not the legacy API."""
        names = (
            {lib.canonical(target) for target in self.model.imports.values()}
            | {self.model.callee(call) or "" for call in self.model.calls}
            | {self.model.qualname(attribute) or "" for attribute in self.model.attributes}
        )
        if any(name.startswith(_LEGACY_OPENAI) for name in names):
            return False
        if names & _OPENAI_V1_NAMES:
            return True
        return any(
            name.split(".")[1] in lib.OPENAI_MODULE_RESOURCES for name in names if name.startswith("openai.")
        )

    # --- suggestions ------------------------------------------------------------

    def _narrow(self, library: str) -> list[str] | None:
        names = lib.TRANSIENT_EXCEPTIONS.get(library)
        if not names:
            return None
        return [self.model.local_name(name) or name for name in names]

    def _suggestion(self, node: cst.CSTNode, library: str | None) -> Fix | None:
        if library is None or library == "urllib":
            return None
        names = self._narrow(library)
        if names is None:
            return None
        parent = self.model.parent(node)
        if isinstance(parent, cst.Element):
            container = self.model.parent(parent)
            present = {
                self.model.code(element.value)
                for element in getattr(container, "elements", ())
                if element is not parent
            }
            names = [name for name in names if name not in present] or names
            text = ", ".join(names)
        elif len(names) == 1:
            text = names[0]
        else:
            text = f"({', '.join(names)})"
        return self.fix(
            f"Retry {names_text(names)} instead",
            Applicability.DISPLAY,
            self.replace(node, text),
        )

    def _tenacity_suggestion(self, call: cst.Call, library: str | None) -> Fix | None:
        names = self._narrow(library) if library else None
        spelled = import_name_edit(self.model, "tenacity", "retry_if_exception_type")
        if names is None or spelled is None:
            return None
        function, import_edit = spelled
        argument = names[0] if len(names) == 1 else f"({', '.join(names)})"
        edits = [add_keyword(self.model, call, f"retry={function}({argument})")]
        if import_edit is not None:
            edits.insert(0, import_edit)
        return self.fix(
            f"Retry only {names_text(names)}",
            Applicability.DISPLAY,
            *edits,
        )
