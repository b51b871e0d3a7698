"""ERR110: a retry around a client that already retries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.findings import Applicability, Fix, FixAvailability
from errlint.linter.model import (
    Client,
    keyword_arg,
    keyword_value,
    positional_args,
    strip_await,
)
from errlint.linter.rule import Invalid, Report, Rule
from errlint.linter.scopes import RetryScope, exception_names, mounted_scopes_of
from errlint.rules._retry_policy import (
    add_keyword,
    exits_on_success,
    handler_goes_round,
    retry_configs,
)

_ANY = frozenset({"Exception", "BaseException", "*"})
# Statuses the SDKs retry on their own (openai, anthropic: 408, 409, 429 and 5xx).
_SDK_STATUSES = frozenset({408, 409, 429, *range(500, 600)})
_ATTEMPT_TARGET = re.compile(r"attempt|retr|tries|^try|^_+$", re.I)


@dataclass(frozen=True)
class Inner:
    """A client that retries on its own, as used by one call inside an outer retry."""

    call: cst.Call  # the request inside the outer retry
    kind: str  # openai, anthropic, stripe, boto3, urllib3 (mounted Retry), httpx (transport), aiohttp_retry
    reason: str  # why it retries, for the message
    retried: frozenset[str]
    statuses: frozenset[int]
    fix: Fix | None


@dataclass(frozen=True)
class Trigger:
    """What the outer retry goes round on."""

    exceptions: frozenset[str]
    statuses: frozenset[int]


class StackedRetries(Rule):
    """
    ## What it does
    Flags a retry around a client that already retries on its own. Flags a retry (a decorator, a `Retrying` block, a hand-written loop or
    recursion) around a client that already retries on its own and has not
    been told to stop: openai and anthropic clients (`max_retries` defaults
    to 2), a stripe client with `max_network_retries`, boto3 clients, a
    requests session with a mounted urllib3 `Retry`, an httpx client whose
    `HTTPTransport(retries=N)` retries connection errors, an aiohttp-retry
    `RetryClient`. Only outer retries that fire on what the inner layer
    already retried are flagged.

    ## Why is this bad?
    Attempts multiply: three outer attempts around a client that makes three
    of its own send up to nine requests, and the backoff schedules add up, so
    a 429 storm is answered with more traffic and a failing call takes minutes
    to report. Each layer also believes it owns the rate-limit budget ("Retry
    429 only after the advertised retry window").

    An outer loop that retries a different condition (a business-level poll,
    a model answer that failed validation) and clients created with
    `max_retries=0` are not flagged.

    ## Example
    ```python
    client = OpenAI()

    @retry(retry=retry_if_exception_type(openai.RateLimitError), stop=stop_after_attempt(5))
    def complete(prompt):
        return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])
    ```

    ## Use instead
    ```python
    client = OpenAI(max_retries=0)

    @retry(retry=retry_if_exception_type(openai.RateLimitError), stop=stop_after_attempt(5))
    def complete(prompt):
        return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])
    ```

    ## Fix safety
    A display-only suggestion sets the inner client's retries to zero
    (`max_retries=0`, `max_network_retries=0`, `HTTPTransport(retries=0)`, an
    adapter without `Retry`). It is never applied automatically: other code
    may share the client and rely on its retries; removing the outer retry
    instead is just as valid.

    ## References
    - Library fact: openai and anthropic clients retry connection errors, 408, 409, 429 and 5xx twice by default
      (`max_retries=2`).
    - Library fact: httpx `HTTPTransport(retries=N)` retries connect errors only.
    - Katalo errors (https://docs.katalo.ai/docs/api/errors): "Retry 429 only after the advertised
      retry window."
    """

    code = "ERR110"
    name = "stacked-retries"
    fix_availability = FixAvailability.SUGGESTION

    VALID = [
        # The SDK's own retries are turned off.
        """
import openai
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential
client = openai.OpenAI(max_retries=0)
@retry(retry=retry_if_exception_type(openai.RateLimitError), wait=wait_random_exponential(max=60), stop=stop_after_attempt(6))
def complete(prompt):
    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])
""",
        # A business-level retry: the model answer failed validation, not the request.
        """
import json
from anthropic import Anthropic
client = Anthropic()
def extract(text):
    for attempt in range(3):
        message = client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=[{"role": "user", "content": text}])
        try:
            return json.loads(message.content[0].text)
        except json.JSONDecodeError:
            continue
    raise ValueError("no valid JSON")
""",
        # Polling a batch job until it completes.
        """
import time
from openai import OpenAI
client = OpenAI()
def wait_for(batch_id):
    while True:
        batch = client.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "expired"):
            return batch
        time.sleep(30)
""",
        # `with_options(max_retries=0)` on the retried call.
        """
import openai
import tenacity as t
class Bot:
    def __init__(self):
        self.client = openai.AsyncOpenAI()

    @t.retry(retry=t.retry_if_exception_type(openai.APIConnectionError), stop=t.stop_after_attempt(4))
    async def ask(self, prompt):
        return await self.client.with_options(max_retries=0).chat.completions.create(model="gpt-4o", messages=[])
""",
        # A session without a mounted Retry.
        """
import time, requests
session = requests.Session()
def fetch(url):
    for attempt in range(3):
        try:
            r = session.get(url, timeout=10)
            r.raise_for_status()
            return r.json()
        except requests.ConnectionError:
            time.sleep(2 ** attempt)
    raise RuntimeError(url)
""",
        # `HTTPTransport(retries=N)` retries connection errors only; the outer retry is on 503.
        """
import time, httpx
client = httpx.Client(transport=httpx.HTTPTransport(retries=3))
def fetch(url):
    for attempt in range(3):
        r = client.get(url)
        if r.status_code == 503:
            time.sleep(2 ** attempt)
            continue
        return r
    return r
""",
        # A stripe client keeps its default of no network retries.
        """
import stripe, backoff
client = stripe.StripeClient("sk_test_123")
@backoff.on_exception(backoff.expo, stripe.APIConnectionError, max_tries=3)
def create_customer(email):
    return client.customers.create(params={"email": email})
""",
        # A mounted Retry that retries nothing.
        """
import requests, backoff
from requests.adapters import HTTPAdapter
from urllib3 import Retry
session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=0)))
@backoff.on_exception(backoff.expo, requests.ConnectionError, max_tries=3)
def fetch(url):
    return session.get(url).json()
""",
        # The retry is on a result check, not on errors the client retried.
        """
from openai import OpenAI
from tenacity import retry, retry_if_result, stop_after_attempt
client = OpenAI()
@retry(retry=retry_if_result(lambda text: not text.strip()), stop=stop_after_attempt(3))
def summarize(doc):
    return client.responses.create(model="gpt-4o", input=doc).output_text
""",
    ]

    INVALID = [
        Invalid(
            """
import openai
from tenacity import retry, retry_if_exception_type, stop_after_attempt
client = openai.OpenAI()
@retry(retry=retry_if_exception_type(openai.RateLimitError), stop=stop_after_attempt(5))
def complete(prompt):
    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])  # flagged
""",
            message="`client.chat.completions.create` already retries (`openai.OpenAI` defaults to `max_retries=2`), so the retry around it multiplies the attempts",
        ),
        Invalid(
            """
import time
import anthropic
class Summarizer:
    def __init__(self):
        self.client = anthropic.Anthropic(max_retries=4)

    def run(self, text):
        for attempt in range(3):
            try:
                return self.client.messages.create(model="claude-sonnet-4-5", max_tokens=512, messages=[])  # flagged
            except anthropic.APIStatusError:
                time.sleep(2 ** attempt)
        raise RuntimeError("gave up")
""",
            message="`self.client.messages.create` already retries (`anthropic.Anthropic(max_retries=4)`), so the retry around it multiplies the attempts",
        ),
        Invalid(
            """
import asyncio
from openai import AsyncOpenAI, APIConnectionError
from backoff import on_exception, expo
client = AsyncOpenAI()
@on_exception(expo, APIConnectionError, max_tries=4)
async def embed(text):
    return await client.embeddings.create(model="text-embedding-3-small", input=text)  # flagged
""",
        ),
        Invalid(
            """
import openai
import stamina
@stamina.retry(on=openai.APIError, attempts=3)
def complete(prompt):
    return openai.chat.completions.create(model="gpt-4o", messages=[])  # flagged
""",
            message="`openai.chat.completions.create` already retries (`openai`'s module client defaults to `max_retries=2`), so the retry around it multiplies the attempts",
        ),
        Invalid(
            """
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
from tenacity import retry, retry_if_exception_type, stop_after_attempt
session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=Retry(total=5, backoff_factor=1, status_forcelist=[502, 503])))
@retry(retry=retry_if_exception_type(requests.ConnectionError), stop=stop_after_attempt(3))
def fetch(url):
    return session.get(url, timeout=10).json()  # flagged
""",
            message="`session.get` already retries (the `Retry` mounted on `session`), so the retry around it multiplies the attempts",
        ),
        Invalid(
            """
import time, requests
from requests.adapters import HTTPAdapter
from urllib3 import Retry
class Api:
    def __init__(self):
        self.session = requests.Session()
        self.session.mount("https://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[429, 503])))

    def get(self, url):
        for attempt in range(4):
            r = self.session.get(url)  # flagged
            if r.status_code in (429, 503):
                time.sleep(2 ** attempt)
                continue
            return r.json()
        raise RuntimeError(url)
""",
        ),
        Invalid(
            """
import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt
client = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(retries=3))
async def fetch(url):
    async for attempt in AsyncRetrying(retry=retry_if_exception_type(httpx.ConnectError), stop=stop_after_attempt(3)):
        with attempt:
            return (await client.get(url)).json()  # flagged
""",
            message="`client.get` already retries (`httpx.AsyncHTTPTransport(retries=3)` retries failed connections), so the retry around it multiplies the attempts",
        ),
        Invalid(
            """
import asyncio
from aiohttp_retry import RetryClient, ExponentialRetry
async def fetch(url):
    async with RetryClient(retry_options=ExponentialRetry(attempts=3)) as client:
        for attempt in range(3):
            async with client.get(url) as resp:  # flagged
                if resp.status >= 500:
                    await asyncio.sleep(2 ** attempt)
                    continue
                return await resp.json()
        raise RuntimeError(url)
""",
            message="`client.get` already retries (`RetryClient` retries 5xx responses), so the retry around it multiplies the attempts",
        ),
        Invalid(
            """
import boto3, time
from botocore.exceptions import ClientError
s3 = boto3.client("s3")
def upload(path, bucket, key, retries=3):
    try:
        s3.upload_file(path, bucket, key)  # flagged
    except ClientError:
        if retries == 0:
            raise
        time.sleep(1)
        return upload(path, bucket, key, retries - 1)
""",
        ),
        Invalid(
            """
import stripe
from retrying import retry
client = stripe.StripeClient("sk_test_123", max_network_retries=2)
@retry(stop_max_attempt_number=3)
def refund(charge_id):
    return client.refunds.create(params={"charge": charge_id})  # flagged
""",
        ),
    ]

    def check(self) -> Iterator[Report]:
        reported: set[cst.CSTNode] = set()
        for container, trigger in self._outer_retries():
            for inner in self._inner_clients(container):
                if inner.call.func in reported or not self._overlaps(trigger, inner):
                    continue
                reported.add(inner.call.func)
                yield self.report(
                    inner.call.func,
                    f"`{self.model.code(inner.call.func)}` already retries ({inner.reason}), "
                    "so the retry around it multiplies the attempts",
                    inner.fix,
                )

    # --- outer retries ------------------------------------------------------------

    def _outer_retries(self) -> Iterator[tuple[cst.CSTNode, Trigger]]:
        configs = {config.node: config for config in retry_configs(self.model)}
        for scope in self.model.retry_scopes:
            if scope.kind in ("mounted", "client"):
                continue
            if scope.kind in ("decorator", "iterator"):
                trigger = self._library_trigger(scope, configs)
                if trigger is None:
                    continue
                container = scope.node.body if isinstance(scope.node, cst.For) else scope.node
                yield container, trigger
            else:
                if isinstance(scope.node, (cst.For, cst.While)) and not exits_on_success(
                    self.model, scope.node, [http.node for http in scope.http_calls]
                ):
                    continue  # a worker loop: success goes round too
                for path in scope.paths:
                    if path.handler is not None:
                        yield path.handler.try_node.body, Trigger(frozenset(path.handler.types), frozenset())
                    elif isinstance(scope.node, (cst.For, cst.While)):
                        statuses = path.statuses | path.gated_statuses
                        if 200 not in statuses:  # a poll goes round on success too: a business condition
                            yield scope.node.body, Trigger(frozenset(), statuses)
        yield from self._sdk_loops()
        yield from self._sdk_recursion()

    def _library_trigger(self, scope: RetryScope, configs) -> Trigger | None:
        call = scope.config
        if call is None:
            # A bare `@retry` (tenacity, retrying) retries every exception.
            anchor = scope.anchor.decorator if isinstance(scope.anchor, cst.Decorator) else None
            config = configs.get(anchor)
            return Trigger(frozenset({"Exception"}), frozenset()) if config is not None else None
        if any(arg.star for arg in call.args):
            return None
        if scope.library == "tenacity":
            retry = keyword_value(call, "retry")
            names = self._tenacity_types(retry) if retry is not None else {"Exception"}
        elif scope.library == "backoff":
            if (self.model.callee(call) or "").endswith("on_predicate"):
                return None
            positional = positional_args(call)
            exceptions = keyword_value(call, "exception") or (positional[1] if len(positional) > 1 else None)
            names = set(exception_names(self.model, exceptions)) if exceptions is not None else set()
        elif scope.library == "stamina":
            on = keyword_value(call, "on") or (positional_args(call)[0] if positional_args(call) else None)
            names = set(exception_names(self.model, on)) if on is not None else set()
        elif scope.library == "retrying":
            if keyword_value(call, "retry_on_exception") is None and keyword_value(call, "retry_on_result") is None:
                names = {"Exception"}
            else:
                names = set()
        else:
            return None
        names.discard("?")
        return Trigger(frozenset(names), frozenset()) if names else None

    def _tenacity_types(self, expr: cst.BaseExpression) -> set[str]:
        """Exception types a tenacity `retry=` condition retries on regardless of anything else."""
        expr = self.model.resolve(expr)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
            return self._tenacity_types(expr.left) | self._tenacity_types(expr.right)
        if not isinstance(expr, cst.Call):
            return set()
        name = (self.model.callee(expr) or "").rsplit(".", 1)[-1]
        args = positional_args(expr)
        if name == "retry_if_exception_type":
            target = args[0] if args else keyword_value(expr, "exception_types")
            return set(exception_names(self.model, target)) if target is not None else {"Exception"}
        if name in ("retry_if_not_exception_type", "retry_unless_exception_type"):
            return {"Exception"}
        if name == "retry_any":
            return {found for arg in args for found in self._tenacity_types(arg)}
        return set()

    def _sdk_loops(self) -> Iterator[tuple[cst.CSTNode, Trigger]]:
        """Hand-written loops that retry SDK calls (which are not `HttpCall`s, so not model scopes)."""
        for loop in self.model.loops:
            if isinstance(loop, cst.For) and not self._attempt_loop(loop):
                continue
            for try_node in self.model.nodes_in(loop.body, self.model.tries):
                if self.model.enclosing(try_node, (cst.For, cst.While)) is not loop:
                    continue
                calls = [call for call, _ in self.model.self_retrying_calls_in(try_node.body)]
                if not calls or not exits_on_success(self.model, loop, calls):
                    continue
                for handler in self.model.handlers:
                    if handler.try_node is try_node and handler_goes_round(handler):
                        yield try_node.body, Trigger(frozenset(handler.types), frozenset())

    def _sdk_recursion(self) -> Iterator[tuple[cst.CSTNode, Trigger]]:
        """Functions that call themselves from an `except` around SDK calls."""
        for info in self.model.functions.values():
            for call in info.calls:
                target = self.model.called_function(call)
                if target is None or target.node is not info.node:
                    continue
                except_node = self.model.enclosing(call, cst.ExceptHandler)
                handler = next((h for h in self.model.handlers if h.node is except_node), None)
                if handler is None or not self.model.same_function(handler.node, info.node):
                    continue
                if self.model.self_retrying_calls_in(handler.try_node.body):
                    yield handler.try_node.body, Trigger(frozenset(handler.types), frozenset())

    def _attempt_loop(self, loop: cst.For) -> bool:
        iterator = loop.iter
        counted = isinstance(iterator, cst.Call) and (
            (isinstance(iterator.func, cst.Name) and iterator.func.value == "range")
            or self.model.callee(iterator) in ("itertools.count", "itertools.repeat")
        )
        target = loop.target.value if isinstance(loop.target, cst.Name) else None
        if target is None or not (counted or _ATTEMPT_TARGET.search(target)):
            return False
        if _ATTEMPT_TARGET.search(target):
            return True
        # `for i in range(n)` that sends `i` is iteration over items, not attempts.
        return not any(
            isinstance(node, cst.Name) and node.value == target
            for call, _ in self.model.self_retrying_calls_in(loop.body)
            for arg in call.args
            for node in self.model.subtree(arg.value)
        )

    # --- inner clients -------------------------------------------------------------

    def _inner_clients(self, container: cst.CSTNode) -> Iterator[Inner]:
        for call, client in self.model.self_retrying_calls_in(container):
            inner = self._sdk(call, client)
            if inner is not None:
                yield inner
        for http in self.model.http_calls_in(container):
            inner = self._mounted(http.node, http.receiver) or self._transport(http.node, http.receiver)
            if inner is None:
                inner = self._retry_client(http.node, http.receiver, http.library)
            if inner is not None:
                yield inner

    def _sdk(self, call: cst.Call, client: Client) -> Inner | None:
        kind = client.library
        retried = lib.SELF_RETRIED_EXCEPTIONS.get(kind)
        if retried is None or self._options_off(call):
            return None
        constructor = client.constructor
        in_tree = self.model.contains(constructor)  # (every node in `model.calls` is in the tree)
        if not in_tree:
            # openai's module client: `openai.max_retries = 0` turns it off.
            for assign in self.model.assigns:
                targets = assign.targets if isinstance(assign, cst.Assign) else []
                if any(self.model.qualname(target.target) == "openai.max_retries" for target in targets):
                    return None
            reason = "`openai`'s module client defaults to `max_retries=2`"
            return Inner(call, kind, reason, retried, _SDK_STATUSES, None)
        if any(arg.star for arg in constructor.args):
            return None
        name = self.model.callee(constructor) or self.model.code(constructor.func)
        if kind == "boto3":
            if keyword_value(constructor, "config") is not None:
                return None  # retry settings live in a `Config` errlint does not read
            reason = "botocore retries throttling, 5xx and connection errors"
            return Inner(call, kind, reason, retried, _SDK_STATUSES, None)
        setting = lib.SELF_RETRY_SETTING.get(kind)
        if setting is None:
            return None
        argument = keyword_arg(constructor, setting)
        if argument is None:
            if kind in lib.SELF_RETRY_OPT_IN:
                return None
            reason = f"`{name}` defaults to `{setting}=2`"
        else:
            value = self.model.const_value(argument.value)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                return None
            reason = f"`{name}({setting}={value})`"
        edit = (
            self.replace(argument.value, "0")
            if argument is not None
            else add_keyword(self.model, constructor, f"{setting}=0")
        )
        fix = self.fix(f"Turn off the client's own retries with `{setting}=0`", Applicability.DISPLAY, edit)
        return Inner(call, kind, reason, retried, _SDK_STATUSES, fix)

    def _options_off(self, call: cst.Call) -> bool:
        """`client.with_options(max_retries=0).chat...`: retries turned off for this call."""
        node: cst.BaseExpression = call.func
        while isinstance(node, (cst.Attribute, cst.Call)):
            if isinstance(node, cst.Call):
                if isinstance(node.func, cst.Attribute) and node.func.attr.value == "with_options":
                    value = keyword_value(node, "max_retries")
                    if value is not None:
                        return self.model.const_value(value) == 0
                node = node.func
            else:
                node = node.value
            node = strip_await(node)
        return False

    def _mounted(self, call: cst.Call, receiver: str | None) -> Inner | None:
        if receiver is None:
            return None
        for scope in mounted_scopes_of(self.model, call):
            if scope.config is None:
                continue
            retry = scope.config
            if self._retries_nothing(retry):
                return None
            statuses = frozenset().union(*(path.statuses for path in scope.paths))
            adapter_argument = self._adapter_argument(retry)
            fix = (
                self.fix(
                    "Mount the adapter without retries (`max_retries=0`)",
                    Applicability.DISPLAY,
                    self.replace(adapter_argument.value, "0"),
                )
                if adapter_argument is not None
                else None
            )
            retried = lib.SELF_RETRIED_EXCEPTIONS["urllib3"]
            return Inner(call, "urllib3", f"the `Retry` mounted on `{receiver}`", retried, statuses, fix)
        return None

    def _retries_nothing(self, retry: cst.Call) -> bool:
        positional = positional_args(retry)
        total = keyword_value(retry, "total") or (positional[0] if positional else None)
        return total is not None and self.model.const_value(total) in (0, False)

    def _adapter_argument(self, retry: cst.Call) -> cst.Arg | None:
        parent = self.model.parent(retry)
        if isinstance(parent, cst.Arg) and parent.keyword is not None and parent.keyword.value == "max_retries":
            return parent
        return None

    def _transport(self, call: cst.Call, receiver: str | None) -> Inner | None:
        client = self.model.clients.get(receiver or "")
        if client is None or client.library != "httpx" or not self.model.contains(client.constructor):
            return None
        transport = keyword_value(client.constructor, "transport")
        if transport is None:
            return None
        transport = self.model.resolve(transport)
        if not isinstance(transport, cst.Call) or self.model.callee(transport) not in lib.HTTPX_TRANSPORTS:
            return None
        argument = keyword_arg(transport, "retries")
        if argument is None:
            return None
        value = self.model.const_value(argument.value)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            return None
        name = self.model.callee(transport) or "httpx.HTTPTransport"
        fix = self.fix(
            "Turn off the transport's retries with `retries=0`",
            Applicability.DISPLAY,
            self.replace(argument.value, "0"),
        )
        reason = f"`{name}(retries={value})` retries failed connections"
        return Inner(call, "httpx", reason, lib.SELF_RETRIED_EXCEPTIONS["httpx"], frozenset(), fix)

    def _retry_client(self, call: cst.Call, receiver: str | None, library: str) -> Inner | None:
        if library != "aiohttp_retry":
            return None
        for scope in self.model.retry_scopes:
            if scope.kind == "client" and any(http.node is call for http in scope.http_calls):
                options = scope.config
                if isinstance(options, cst.Call) and options is not scope.node:
                    attempts = keyword_value(options, "attempts")
                    if attempts is not None and self.model.const_value(attempts) in (0, 1):
                        return None
                statuses = frozenset().union(*(path.statuses for path in scope.paths))
                retried = lib.SELF_RETRIED_EXCEPTIONS["aiohttp_retry"]
                return Inner(call, "aiohttp_retry", "`RetryClient` retries 5xx responses", retried, statuses, None)
        return None

    # --- does the outer retry fire on what the inner one retried? ----------------------

    @staticmethod
    def _overlaps(trigger: Trigger, inner: Inner) -> bool:
        if trigger.exceptions & _ANY or trigger.exceptions & inner.retried:
            return True
        # A status path retries a response; SDK clients raise instead of returning one.
        return inner.kind in ("urllib3", "aiohttp_retry") and bool(trigger.statuses & inner.statuses)
