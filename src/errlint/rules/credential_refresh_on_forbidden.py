"""ERR204: refreshing credentials and retrying on 403, which only a 401 warrants."""

from __future__ import annotations

import re
from typing import Iterator, Sequence

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.model import dotted_name, walk_nodes
from errlint.linter.rule import Invalid, Report, Rule
from errlint.linter.scopes import handler_retry_loop
from errlint.linter.status import status_condition

FORBIDDEN = 403
_REFRESH_CALL = re.compile(
    r"refresh|re_?auth|re_?login|^login|log_?in$|authenticate|renew|"
    r"(new|get|fetch|obtain|rotate|request|issue|mint|create)_?(access_?|auth_?|bearer_?)?(token|credentials?)|"
    r"(new|fetch|rotate|renew|issue)_?api_?key",
    re.I,
)
_CREDENTIAL_NAME = re.compile(r"token|credential|api_?key|bearer|secret|^auth$|_auth$|authorization", re.I)
_BOUND_NAME = re.compile(r"attempt|retr|tries|count|^[ijn]$|max|limit|deadline", re.I)


class CredentialRefreshOnForbidden(Rule):
    """
    ## What it does
    Flags a credential refreshed and the request re-sent after a 403. Flags code that refreshes or re-creates a credential when a request
    answers 403 and then sends the request again: `continue` in a retry loop,
    a second call, a recursive call or a raise inside a retry decorator.

    ## Why is this bad?
    401 and 403 mean different things. A 401 says the server does not know
    who you are (missing, expired or invalid credential): refreshing the token
    and retrying once is right. A 403 says the identity is known but lacks
    permission (scope, plan, balance, organisation): a fresh token for the
    same identity gets the same 403, so the refresh-and-retry only adds load
    and latency before the real error, and can hammer the token endpoint.
    Titan's error docs spell it out: 401 `UNAUTHORIZED` is "missing or invalid
    credentials", 403 `FORBIDDEN` means "identity is present but the token
    lacks scopes for the route"; RFC 9110 says that after a 403 "the client
    SHOULD NOT automatically repeat the request with the same credentials".

    Only code that refreshes *on the 403 path* and then re-sends is flagged;
    `if status == 403 and code == "token_expired"` (a machine code says the
    token expired) is left alone.

    ## Example
    ```python
    for attempt in range(2):
        r = session.get(url)
        if r.status_code in (401, 403):
            refresh_token(session)
            continue
        r.raise_for_status()
        return r.json()
    ```

    ## Use instead
    ```python
    for attempt in range(2):
        r = session.get(url)
        if r.status_code == 401:
            refresh_token(session)
            continue
        r.raise_for_status()  # a 403 surfaces as a permission error
        return r.json()
    ```

    ## Fix safety
    No fix: how to report a missing permission is the caller's decision.

    ## References
    - Titan errors (https://webscraping.titannet.io/docs/api-reference/errors): 401 `UNAUTHORIZED` =
      "Missing or invalid credentials (no user identity)"; 403 `FORBIDDEN` = "Identity is present but the
      token lacks scopes for the route."
    - MDN, 403 Forbidden (https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/403): for a 403,
      "authenticating or re-authenticating makes no difference".
    - RFC 9110 §15.5.4: 403 Forbidden — "the server understood the request but refuses to fulfill it";
      re-authenticating "might" help only if the credentials were the problem, which 401 signals.
    """

    code = "ERR204"
    name = "credential-refresh-on-forbidden"

    VALID = [
        # 401 -> refresh -> retry once.
        """
import requests

def fetch(session: requests.Session, url, refresh_token):
    for attempt in range(2):
        r = session.get(url)
        if r.status_code == 401:
            refresh_token(session)
            continue
        r.raise_for_status()
        return r.json()
""",
        # 401 and 403 share a branch, but only 401 refreshes.
        """
import requests

def fetch(self, url):
    for attempt in range(2):
        r = self.session.get(url)
        if r.status_code in (401, 403):
            if r.status_code == 401:
                self.refresh_token()
                continue
            raise PermissionError(r.json()["error"]["message"])
        return r.json()
""",
        # A 403 whose machine code says the token expired.
        """
import time, requests

def fetch(session: requests.Session, url, auth):
    for attempt in range(3):
        r = session.get(url)
        if r.status_code == 403 and r.json().get("error", {}).get("code") == "token_expired":
            auth.refresh()
            continue
        r.raise_for_status()
        return r.json()
""",
        # 403 drops the cached token but gives up instead of retrying.
        """
import httpx

class Api:
    def __init__(self):
        self.client = httpx.Client(base_url="https://api.example.com")
        self.token = None

    def get(self, path):
        r = self.client.get(path, headers={"Authorization": f"Bearer {self.token}"})
        if r.status_code == 403:
            self.token = None
            raise PermissionError(path)
        return r.json()
""",
        # aiohttp: refresh on 401 in a while loop.
        """
import aiohttp

async def fetch(session: aiohttp.ClientSession, url, auth):
    tries = 0
    while tries < 2:
        tries += 1
        async with session.get(url, headers=auth.headers()) as resp:
            if resp.status == 401:
                await auth.refresh()
                continue
            return await resp.json()
""",
        # urllib.request: 401 only.
        """
import json, urllib.error, urllib.request

def fetch(url, tokens):
    for attempt in range(2):
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {tokens.current()}"})
        try:
            with urllib.request.urlopen(req) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as e:
            if e.code == 401:
                tokens.refresh()
                continue
            raise
""",
        # Pagination: `continue` moves to the next page, nothing is re-sent.
        """
import requests

def export(session: requests.Session, ids, refresh_token):
    rows = []
    for item_id in ids:
        r = session.get(f"https://api.example.com/items/{item_id}")
        if r.status_code == 403:
            refresh_token()
            continue
        rows.append(r.json())
    return rows
""",
        # An SDK's 401 error refreshes the key.
        """
import openai

def complete(messages, vault):
    client = openai.OpenAI(api_key=vault.get_api_key())
    for attempt in range(2):
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except openai.AuthenticationError:
            client = openai.OpenAI(api_key=vault.rotate_api_key())
""",
    ]

    INVALID = [
        Invalid(
            """
import requests

class Client:
    def __init__(self):
        self.session = requests.Session()

    def fetch(self, url):
        for attempt in range(3):
            r = self.session.get(url)
            if r.status_code in (401, 403):  # flagged
                self._refresh_token()
                continue
            r.raise_for_status()
            return r.json()
""",
            message=(
                "This branch refreshes the credential and retries on 403, which fails again: a 403 means the "
                "identity is known but lacks permission, so refresh only on 401"
            ),
        ),
        Invalid(
            """
import httpx

class Api:
    def __init__(self):
        self.client = httpx.AsyncClient(base_url="https://api.example.com")

    async def get(self, path):
        for attempt in range(2):
            resp = await self.client.get(path, headers={"Authorization": f"Bearer {self.token}"})
            if resp.status_code == 403:  # flagged
                self.token = await self._fetch_token()
                continue
            resp.raise_for_status()
            return resp.json()
"""
        ),
        Invalid(
            """
import aiohttp

async def fetch(session: aiohttp.ClientSession, url, auth):
    while True:
        async with session.get(url, headers=auth.headers()) as resp:
            if resp.status in (401, 403):  # flagged
                await auth.login()
                continue
            return await resp.json()
"""
        ),
        Invalid(
            """
import json, urllib.error, urllib.request

def fetch(url, tokens):
    for attempt in range(3):
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {tokens.current()}"})
        try:
            with urllib.request.urlopen(req) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as e:
            if e.code == 403:  # flagged
                tokens.refresh()
                continue
            raise
"""
        ),
        Invalid(
            """
import requests

def fetch(session: requests.Session, url, new_token):
    r = session.get(url)
    if r.status_code == 403:  # flagged
        session.headers["Authorization"] = f"Bearer {new_token()}"
        r = session.get(url)
    r.raise_for_status()
    return r.json()
"""
        ),
        Invalid(
            """
import httpx
from http import HTTPStatus

class Api:
    def __init__(self, auth):
        self.auth = auth
        self.client = httpx.Client()

    def fetch(self, url):
        r = self.client.get(url, headers=self.auth.headers())
        if r.status_code == HTTPStatus.FORBIDDEN:  # flagged
            self.auth.refresh()
            return self.fetch(url)
        return r.json()
"""
        ),
        Invalid(
            """
import openai

def complete(messages, vault):
    client = openai.OpenAI(api_key=vault.get_api_key())
    for attempt in range(3):
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except openai.PermissionDeniedError:  # flagged
            client = openai.OpenAI(api_key=vault.rotate_api_key())
"""
        ),
        Invalid(
            """
import requests
from tenacity import retry, stop_after_attempt

class TokenExpired(Exception):
    pass

@retry(stop=stop_after_attempt(3))
def fetch(url, auth):
    r = requests.get(url, headers=auth.headers())
    if r.status_code == 403:  # flagged
        auth.renew()
        raise TokenExpired(url)
    r.raise_for_status()
    return r.json()
"""
        ),
        Invalid(
            """
import requests as rq

def fetch(url, creds):
    for attempt in range(3):
        try:
            r = rq.get(url, headers={"Authorization": creds.bearer()})
            r.raise_for_status()
            return r.json()
        except rq.HTTPError as e:
            if e.response.status_code in (401, 403):  # flagged
                creds.token = creds.issuer.issue_token()
                continue
            raise
"""
        ),
    ]

    def check(self) -> Iterator[Report]:
        for if_node in self.model.ifs:
            condition = status_condition(self.model, if_node.test)
            if condition is None or FORBIDDEN not in condition.certain:
                continue
            if self._refreshes_then_resends(if_node, list(if_node.body.body)):
                yield self.report(if_node.test, self._message())
        for handler in self.model.handlers:
            for name, node in zip(handler.types, handler.type_nodes):
                if lib.EXCEPTION_STATUS.get(name) != FORBIDDEN:
                    continue
                body = list(handler.node.body.body)
                events = self._events(body, handler.node)
                if "refresh" not in events:
                    continue
                after = events[events.index("refresh") :]
                if "send" in after or "continue" in after or handler_retry_loop(self.model, handler) is not None:
                    yield self.report(node, self._message())

    def _message(self) -> str:
        return (
            "This branch refreshes the credential and retries on 403, which fails again: a 403 means the "
            "identity is known but lacks permission, so refresh only on 401"
        )

    # --- following the 403 path -----------------------------------------------------

    def _refreshes_then_resends(self, if_node: cst.If, body: Sequence[cst.CSTNode]) -> bool:
        events = self._events(body, if_node)
        if "refresh" not in events:
            return False
        after = events[events.index("refresh") + 1 :]
        if "send" in after:
            return True
        loop = self._enclosing_loop(if_node)
        if "continue" in after:
            return loop is not None and self._is_retry_loop(loop)
        if "raise" in after:
            function = self.model.enclosing_function(if_node)
            return any(
                scope.kind == "decorator" and scope.node is function for scope in self.model.retry_scopes
            )
        if "exit" in after or "continue" in events:
            return False
        # Falls off the end of the branch: goes round again when it is the retry loop's last word.
        return loop is not None and self._is_retry_loop(loop) and self._last_in_loop(if_node, loop)

    def _events(self, statements: Sequence[cst.CSTNode], owner: cst.CSTNode) -> list[str]:
        """What happens along the 403 path, in order: refresh, send, continue, raise, exit."""
        events: list[str] = []
        function = self.model.enclosing_function(owner)
        for statement in statements:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    events.extend(self._small_events(small, function))
                    if events and events[-1] in ("continue", "raise", "exit"):
                        return events
            elif isinstance(statement, cst.If):
                condition = status_condition(self.model, statement.test)
                if condition is not None:
                    if FORBIDDEN in condition.certain:
                        branch = list(statement.body.body)
                    elif FORBIDDEN not in condition.any:
                        orelse = statement.orelse
                        branch = [orelse] if isinstance(orelse, cst.If) else (list(orelse.body.body) if orelse else [])
                    else:
                        return events + ["exit"]  # depends on something else: not a plain 403 path
                    events.extend(self._events(branch, owner))
                    if events and events[-1] in ("continue", "raise", "exit"):
                        return events
                elif self._is_bound(statement.test):
                    events.extend(e for e in self._events(list(statement.body.body), owner) if e in ("refresh", "send"))
                else:
                    return events + ["exit"]  # gated on something else (a machine code, a flag)
            elif isinstance(statement, (cst.With, cst.Try)):
                events.extend(self._events(list(statement.body.body), owner))
                if events and events[-1] in ("continue", "raise", "exit"):
                    return events
        return events

    def _small_events(self, small: cst.BaseSmallStatement, function: cst.FunctionDef | None) -> list[str]:
        events = []
        if self._refreshes(small):
            events.append("refresh")  # a call in the same statement fetches the token, not the resource
        elif self._sends(small, function):
            events.append("send")
        if isinstance(small, cst.Continue):
            events.append("continue")
        elif isinstance(small, cst.Raise):
            events.append("raise")
        elif isinstance(small, (cst.Return, cst.Break)):
            events.append("exit")
        return events

    def _refreshes(self, node: cst.CSTNode) -> bool:
        for child in self.model.subtree(node, into_functions=False):
            if isinstance(child, cst.Call):
                name = dotted_name(child.func) or ""
                if name and _REFRESH_CALL.search(name.rsplit(".", 1)[-1]):
                    return True
            elif isinstance(child, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
                targets = (
                    [t.target for t in child.targets] if isinstance(child, cst.Assign) else [child.target]
                )
                for target in targets:
                    if self._credential_target(target) and child.value is not None and _calls(child.value):
                        return True
        return False

    def _credential_target(self, target: cst.BaseExpression) -> bool:
        if isinstance(target, cst.Subscript):
            key = target.slice[0].slice if len(target.slice) == 1 else None
            value = self.model.const_value(key.value) if isinstance(key, cst.Index) else None
            return isinstance(value, str) and _CREDENTIAL_NAME.search(value) is not None
        name = dotted_name(target) or ""
        return bool(name) and _CREDENTIAL_NAME.search(name.rsplit(".", 1)[-1]) is not None

    def _sends(self, node: cst.CSTNode, function: cst.FunctionDef | None) -> bool:
        for child in self.model.subtree(node, into_functions=False):
            if not isinstance(child, cst.Call):
                continue
            if self.model.http_call(child) is not None or self.model.self_retrying_client(child) is not None:
                return True
            target = self.model.called_function(child)
            if target is not None and function is not None and target.node is function:
                return True
        return False

    def _enclosing_loop(self, node: cst.CSTNode) -> cst.For | cst.While | None:
        loop = self.model.enclosing(node, (cst.For, cst.While, cst.FunctionDef, cst.Lambda))
        return loop if isinstance(loop, (cst.For, cst.While)) else None

    def _is_retry_loop(self, loop: cst.For | cst.While) -> bool:
        return any(scope.kind == "loop" and scope.node is loop for scope in self.model.retry_scopes)

    def _last_in_loop(self, node: cst.CSTNode, loop: cst.For | cst.While) -> bool:
        """Nothing after `node` (or the statements around it) in the loop body."""
        current: cst.CSTNode = node
        for ancestor in self.model.ancestors(node):
            if isinstance(ancestor, cst.IndentedBlock):
                if ancestor.body and ancestor.body[-1] is not current:
                    return False
            if ancestor is loop:
                return True
            current = ancestor
        return False

    def _is_bound(self, test: cst.BaseExpression) -> bool:
        names = [node.value for node in self.model.subtree(test, into_functions=False) if isinstance(node, cst.Name)]
        return bool(names) and all(_BOUND_NAME.search(name) for name in names)


def _calls(node: cst.CSTNode) -> bool:
    return any(isinstance(child, (cst.Call, cst.Await)) for child in walk_nodes(node, into_functions=False))


