"""What the ERR4xx rules share: where a request carries its idempotency key,
where a key value comes from, and whether a retry scope re-sends a request
the server may already have applied.

Not a rule module (the leading underscore keeps it out of the catalog).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.model import (
    Model,
    child_nodes,
    dotted_name,
    keyword_value,
    positional_args,
    strip_await,
)
from errlint.linter.model import (
    walk_nodes as walk,
)
from errlint.linter.scopes import RetryScope

HEADER_ARGUMENTS = ("headers",)
BODY_ARGUMENTS = ("json", "data", "content", "body", "fields")
# Arguments that never change what operation a request performs.
_NOT_PAYLOAD = frozenset(
    {"headers", "timeout", "auth", "verify", "cert", "proxies", "proxy", "allow_redirects",
     "follow_redirects", "stream", "ssl", "retry_options", "raise_for_status", "cookies", "extensions"}
)
# Statuses a server sends for requests it refused without processing them.
UNPROCESSED_STATUSES = frozenset({425, 429})

# Words in a POST endpoint or function name that mean the request reads.
_READ_WORDS = frozenset(
    {
        "graphql", "search", "query", "queries", "find", "lookup", "count", "explain", "validate",
        "mget", "msearch", "batchget", "get", "list", "fetch", "read", "embeddings", "embedding",
        "completions", "completion", "moderations", "tokenize", "token", "rerank", "predict",
        "infer", "inference", "classify", "estimate", "preview", "quote", "check", "verify",
    }
)
_WRITE_WORDS = frozenset(
    {
        "create", "submit", "send", "charge", "pay", "payment", "payments", "place", "add", "insert",
        "update", "patch", "cancel", "refund", "transfer", "book", "publish", "enqueue", "trigger",
        "start", "make", "new", "register", "upload", "write", "save", "put", "set", "post", "order",
        "orders", "mutation", "generate", "delete", "remove",
    }
)
_ATTEMPT_TARGET = re.compile(r"attempt|retr|tries|^try|^_+$", re.I)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_ITEM_SOURCES = frozenset({"pop", "popleft", "get_nowait", "next", "__next__", "receive", "recv"})
# Conditions that only count attempts or time.
_BOUND_NAME = re.compile(
    r"attempt|retr|tries|try|count|max|limit|deadline|time|elapsed|budget|remaining|left|depth|^[ijkn]$|^n_|_n$", re.I
)


def normalize(name: str) -> str:
    return re.sub(r"[-_\s]", "", name).lower()


def words(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)}


@dataclass(eq=False)
class Entry:
    """One key/value of a headers mapping or request body."""

    key: str
    value: cst.BaseExpression
    # The same-module call that produced the mapping, when it came from a helper's return.
    via: cst.Call | None = None

    @property
    def anchor(self) -> cst.CSTNode:
        return self.via if self.via is not None else self.value


@dataclass(eq=False)
class Carrier:
    kind: str  # "header" | "field"
    name: str
    value: cst.BaseExpression
    anchor: cst.CSTNode
    session: bool = False  # set on the client, not on the call


@dataclass(eq=False)
class CallCarriers:
    carriers: list[Carrier]
    headers_known: bool  # every header the call sends is known
    body_known: bool  # every body field is known


@dataclass(eq=False)
class Mint:
    """A freshly generated key value: `uuid4()`, `secrets.token_hex()`, `time.time()`."""

    node: cst.CSTNode  # the minting call, or the same-module call that mints
    assign: cst.CSTNode | None  # the assignment the value went through, innermost first
    name: str | None  # the name it was bound to


class Idempotency:
    def __init__(self, model: Model) -> None:
        self.model = model
        settings = model.settings
        self.header_names = settings.idempotency_header_names | lib.IDEMPOTENCY_HEADERS
        self.field_names = frozenset(normalize(f) for f in settings.idempotency_fields) | lib.IDEMPOTENCY_FIELDS
        self.header_label = settings.idempotency_headers[0] if settings.idempotency_headers else "Idempotency-Key"
        self._mentions: bool | None = None

    # --- carriers --------------------------------------------------------------

    def is_header(self, name: str) -> bool:
        return name.lower() in self.header_names

    def is_field(self, name: str) -> bool:
        return normalize(name) in self.field_names

    def label(self, carrier: Carrier, article: bool = True) -> str:
        if carrier.kind == "header":
            return f"`{carrier.name}`"
        return f"the `{carrier.name}` field" if article else f"`{carrier.name}` field"

    @property
    def module_mentions_keys(self) -> bool:
        """Does the file mention an idempotency carrier anywhere (a string, a name)?"""
        if self._mentions is None:
            text = self.model.file_text.lower()
            flat = normalize(text)
            self._mentions = (
                "idempoten" in text
                or any(name in text for name in self.header_names)
                or any(name in flat for name in self.field_names)
            )
        return self._mentions

    def of_call(self, http) -> CallCarriers:
        call: cst.Call = http.node
        star = any(arg.star == "**" for arg in call.args)
        headers_expr = keyword_value(call, "headers")
        body_exprs = [keyword_value(call, name) for name in BODY_ARGUMENTS]
        extra_headers: list[Entry] = []
        if http.library == "urllib.request":
            request = self._urllib_request(call)
            if request is None:
                return CallCarriers([], False, False)
            if isinstance(request, cst.Call):
                args = positional_args(request)
                headers_expr = keyword_value(request, "headers") or (args[2] if len(args) > 2 else None)
                body_exprs = [keyword_value(request, "data") or (args[1] if len(args) > 1 else None)]
                name = self._bound_name(request)
                if name:
                    extra_headers = self._add_header_calls(name, request)
        headers, headers_known = (
            self.entries(headers_expr, call) if headers_expr is not None else ([], True)
        )
        body: list[Entry] = []
        body_known = True
        for expr in body_exprs:
            if expr is None:
                continue
            found, known = self.entries(expr, call, nested=True)
            body.extend(found)
            body_known = body_known and known
        header_names, field_names = self._profile_carriers(http)
        carriers = [
            Carrier("header", e.key, e.value, e.anchor)
            for e in [*headers, *extra_headers]
            if self.is_header(e.key) or e.key.lower() in header_names
        ]
        carriers += [
            Carrier("field", e.key, e.value, e.anchor)
            for e in body
            if self.is_field(e.key) or normalize(e.key) in field_names
        ]
        if http.receiver:
            carriers += self.session_carriers(http.receiver)
        return CallCarriers(carriers, headers_known and not star, body_known and not star)

    def _profile_carriers(self, http) -> tuple[frozenset[str], frozenset[str]]:
        """The idempotency header and body field an API profile declares for this call."""
        profile_for = getattr(self.model, "profile_for", None)
        profile = profile_for(http) if profile_for is not None else None
        header = getattr(profile, "idempotency_header", None)
        body_field = getattr(profile, "idempotency_field", None)
        return (
            frozenset({header.lower()}) if header else frozenset(),
            frozenset({normalize(body_field.rsplit(".", 1)[-1])}) if body_field else frozenset(),
        )

    def session_carriers(self, receiver: str) -> list[Carrier]:
        """Idempotency headers set on a client object, sent with every request it makes."""
        model = self.model
        entries: list[Entry] = []
        client = model.clients.get(receiver)
        if client is not None:
            headers = keyword_value(client.constructor, "headers")
            if headers is not None:
                entries += self.entries(headers, client.constructor)[0]
        target = f"{receiver}.headers"
        for call in model.method_calls_on(target):
            entries += self._mutation_entries(call)
        for assign, node in model.assignments_to(target):
            if isinstance(node, cst.Subscript):
                key = self._subscript_key(node)
                if key is not None:
                    entries.append(Entry(key, assign.value))
            else:
                entries += self.entries(assign.value, assign)[0]
        return [Carrier("header", e.key, e.value, e.anchor, session=True) for e in entries if self.is_header(e.key)]

    def entries(
        self, expr: cst.BaseExpression | None, at: cst.CSTNode, nested: bool = False, depth: int = 0,
        via: cst.Call | None = None,
    ) -> tuple[list[Entry], bool]:
        """The key/value pairs of a mapping expression, and whether they are all known."""
        model = self.model
        if expr is None or depth > 5:
            return [], False
        expr = strip_await(expr)
        if isinstance(expr, cst.Dict):
            found: list[Entry] = []
            known = True
            for element in expr.elements:
                if isinstance(element, cst.StarredDictElement):
                    more, ok = self.entries(element.value, at, nested, depth + 1, via)
                    found += more
                    known = known and ok
                    continue
                key = model.const_value(element.key)
                if not isinstance(key, str):
                    known = False
                    continue
                found.append(Entry(key, element.value, via))
                if nested and isinstance(element.value, (cst.Dict, cst.Call, cst.Name)):
                    more, _ = self.entries(element.value, at, nested, depth + 1, via)
                    found += more
            return found, known
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
            left, ok_left = self.entries(expr.left, at, nested, depth + 1, via)
            right, ok_right = self.entries(expr.right, at, nested, depth + 1, via)
            return left + right, ok_left and ok_right
        if isinstance(expr, cst.Call):
            return self._call_entries(expr, at, nested, depth, via)
        if isinstance(expr, (cst.Name, cst.Attribute)) and dotted_name(expr):
            if isinstance(expr, cst.Name) and self.is_parameter(expr.value, expr):
                return [], False
            values = model.assigned_values(expr, at)
            if not values:
                return [], False
            found, known = [], True
            for value in values:
                if value is expr:
                    continue
                more, ok = self.entries(value, value, nested, depth + 1, via)
                found += more
                known = known and ok
            key = dotted_name(expr)
            found += self._mutations_of(key, expr)  # type: ignore[arg-type]
            return found, known
        return [], False

    def _call_entries(self, call: cst.Call, at, nested: bool, depth: int, via) -> tuple[list[Entry], bool]:
        model = self.model
        name = model.callee(call) or (call.func.value if isinstance(call.func, cst.Name) else "")
        if name == "dict":
            found: list[Entry] = []
            known = True
            for arg in call.args:
                if arg.keyword is not None:
                    found.append(Entry(arg.keyword.value, arg.value, via))
                elif arg.star:
                    known = False
                else:
                    more, ok = self.entries(arg.value, at, nested, depth + 1, via)
                    found += more
                    known = known and ok
            return found, known
        if name in ("json.dumps", "urllib.parse.urlencode", "copy.copy", "copy.deepcopy"):
            args = positional_args(call)
            return self.entries(args[0] if args else None, at, nested, depth + 1, via)
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("encode", "copy"):
            return self.entries(func.value, at, nested, depth + 1, via)
        target = model.called_function(call)
        if target is not None:
            returns = [r for r in _returns(target.node) if r.value is not None]
            if len(returns) == 1:
                return self.entries(returns[0].value, returns[0], nested, depth + 1, via or call)
        return [], False

    def _mutations_of(self, key: str, near: cst.CSTNode) -> list[Entry]:
        """`h["Idempotency-Key"] = k`, `h.update({...})`, `h.setdefault(...)` on the same name."""
        model = self.model
        scope = model.binding_scope(near, key)
        found: list[Entry] = []
        for assign, node in model.assignments_to(key):
            if isinstance(node, cst.Subscript) and model.binding_scope(assign, key) is scope:
                subscript_key = self._subscript_key(node)
                if subscript_key is not None:
                    found.append(Entry(subscript_key, assign.value))
        for call in model.method_calls_on(key):
            if model.binding_scope(call, key) is scope:
                found += self._mutation_entries(call)
        return found

    def _mutation_entries(self, call: cst.Call) -> list[Entry]:
        func = call.func
        assert isinstance(func, cst.Attribute)
        args = positional_args(call)
        if func.attr.value == "update":
            found = []
            for arg in call.args:
                if arg.keyword is not None:
                    found.append(Entry(arg.keyword.value, arg.value))
            if args:
                found += self.entries(args[0], call)[0]
            return found
        if func.attr.value == "setdefault" and len(args) == 2:
            key = self.model.const_value(args[0])
            if isinstance(key, str):
                return [Entry(key, args[1])]
        return []

    def _subscript_key(self, node: cst.Subscript) -> str | None:
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return None
        key = self.model.const_value(node.slice[0].slice.value)
        return key if isinstance(key, str) else None

    def _urllib_request(self, call: cst.Call) -> cst.BaseExpression | None:
        args = positional_args(call)
        if not args:
            return None
        request = self.model.resolve(args[0])
        if isinstance(request, cst.Call) and self.model.callee(request) == "urllib.request.Request":
            return request
        if isinstance(request, (cst.SimpleString, cst.FormattedString)):
            return request
        return None

    def _bound_name(self, call: cst.Call) -> str | None:
        parent = self.model.parent(call)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            return dotted_name(parent.targets[0].target)
        return None

    def _add_header_calls(self, name: str, near: cst.CSTNode) -> list[Entry]:
        found = []
        for call in self.model.method_calls_on(name):
            func = call.func
            if (
                func.attr.value in ("add_header", "add_unredirected_header")
                and self.model.enclosing_function(call) is self.model.enclosing_function(near)
            ):
                args = positional_args(call)
                key = self.model.const_value(args[0]) if args else None
                if isinstance(key, str) and len(args) > 1:
                    found.append(Entry(key, args[1]))
        return found

    # --- names and values --------------------------------------------------------

    def parameters(self, function: cst.FunctionDef | None) -> set[str]:
        if function is None:
            return set()
        params = function.params
        names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                names.add(star.name.value)
        return names

    def is_parameter(self, name: str, at: cst.CSTNode) -> bool:
        return name in self.parameters(self.model.enclosing_function(at))

    def mint(self, expr: cst.BaseExpression, at: cst.CSTNode | None = None, depth: int = 0) -> Mint | None:
        """The call that generates a fresh value for `expr`, followed through names and helpers."""
        model = self.model
        if depth > 5:
            return None
        expr = strip_await(expr)
        at = at if at is not None else expr
        if isinstance(expr, cst.Call):
            name = model.callee(expr) or ""
            if name in lib.KEY_MINTING_FUNCTIONS or any(name.startswith(p) for p in lib.KEY_MINTING_PREFIXES):
                return Mint(expr, None, None)
            target = model.called_function(expr)
            if target is not None:
                returns = [r for r in _returns(target.node) if r.value is not None]
                if len(returns) == 1 and self.mint(returns[0].value, returns[0], depth + 1) is not None:
                    return Mint(expr, None, None)
                return None
            parts: list[cst.BaseExpression] = [arg.value for arg in expr.args]
            if isinstance(expr.func, cst.Attribute) and not dotted_name(expr.func):
                parts.append(expr.func.value)  # `uuid.uuid4().hex.upper()`
            return self._first_mint(parts, at, depth)
        if isinstance(expr, (cst.Name, cst.Attribute)) and dotted_name(expr):
            key = dotted_name(expr)
            assert key is not None
            if isinstance(expr, cst.Name) and self.is_parameter(key, at):
                return None
            values = model.assigned_values(expr, at)
            if len(values) != 1:
                return None
            found = self.mint(values[0], values[0], depth + 1)
            if found is None:
                return None
            if found.assign is not None:
                return found
            statement = model.enclosing(values[0], (cst.Assign, cst.AnnAssign, cst.WithItem))
            return Mint(found.node, statement, key)
        if isinstance(expr, cst.Attribute):
            return self.mint(expr.value, at, depth + 1)
        if isinstance(expr, cst.FormattedString):
            return self._first_mint(
                [part.expression for part in expr.parts if isinstance(part, cst.FormattedStringExpression)], at, depth
            )
        if isinstance(expr, cst.BinaryOperation):
            return self._first_mint([expr.left, expr.right], at, depth)
        if isinstance(expr, cst.Subscript):
            return self.mint(expr.value, at, depth + 1)
        return None

    def _first_mint(self, parts, at, depth) -> Mint | None:
        for part in parts:
            found = self.mint(part, at, depth + 1)
            if found is not None:
                return found
        return None

    def literal_key(self, expr: cst.BaseExpression) -> str | None:
        """A key that is a fixed string (a literal or a module constant)."""
        value = self.model.const_value(expr)
        if isinstance(value, str):
            return value or None
        if isinstance(expr, cst.FormattedString) and all(
            isinstance(part, cst.FormattedStringText) for part in expr.parts
        ):
            return "".join(part.value for part in expr.parts) or None  # type: ignore[union-attr]
        return None

    # --- what a request sends ------------------------------------------------------

    def payload_names(self, call: cst.Call) -> set[str]:
        """Names the request's URL and body depend on, through local assignments."""
        model = self.model
        function = model.enclosing_function(call)
        pending = [arg.value for arg in call.args if not (arg.keyword and arg.keyword.value in _NOT_PAYLOAD)]
        names: set[str] = set()
        seen: set[str] = set()
        for _ in range(4):
            next_pending: list[cst.BaseExpression] = []
            for expr in pending:
                for node in self.model.subtree(expr):
                    if isinstance(node, cst.Name) and not _is_attribute_name(model, node):
                        names.add(node.value)
                        if node.value in seen:
                            continue
                        seen.add(node.value)
                        for value in model._assignments.get((function, node.value), []):
                            next_pending.append(value)
            pending = next_pending
            if not pending:
                break
        return names

    def payload_varies(self, call: cst.Call) -> bool:
        """Does the request's URL or body change from call to call (parameters, loop items)?"""
        names = self.payload_names(call)
        function = self.model.enclosing_function(call)
        params = self.parameters(function) - {"self", "cls"}
        if names & params:
            return True
        return any(names & loop_targets(loop) for loop in self.item_loops_around(call, function))

    def item_loops_around(self, node: cst.CSTNode, stop: cst.CSTNode | None) -> list[cst.For]:
        """`for item in items:` loops around `node` (inside `stop`) that are not retry loops."""
        model = self.model
        retry_loops = {scope.node for scope in model.retry_scopes if scope.kind in ("loop", "iterator")}
        loops = []
        for ancestor in model.ancestors(node):
            if ancestor is stop or isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                break
            if isinstance(ancestor, cst.For) and ancestor not in retry_loops:
                target = dotted_name(ancestor.target) if isinstance(ancestor.target, cst.Name) else None
                if not (target and _ATTEMPT_TARGET.search(target)):
                    loops.append(ancestor)
        return loops

    def iterates_items(self, loop: cst.For | cst.While, call: cst.Call, key: cst.BaseExpression | None) -> bool:
        """Does a loop the model took for a retry loop send a different item on each pass?"""
        model = self.model
        changing: set[str] = set()
        if isinstance(loop, cst.For):
            if not _counts_attempts(model, loop):
                return True
            target = dotted_name(loop.target) if isinstance(loop.target, cst.Name) else None
            if not (target and _ATTEMPT_TARGET.search(target)):
                changing |= loop_targets(loop)
        for assign in model.nodes_in(loop.body, model.assigns):
            value = assign.value
            if value is None:
                continue
            source = {n.value for n in self.model.subtree(value) if isinstance(n, cst.Name)}
            from_item = bool(source & changing) or any(_takes_item(n) for n in self.model.subtree(value))
            if from_item:
                targets = assign.targets if isinstance(assign, cst.Assign) else [assign]
                for t in targets:
                    name = dotted_name(t.target)
                    if name:
                        changing.add(name)
        if not changing:
            return False
        used = self.payload_names(call)
        if key is not None:
            used |= {n.value for n in self.model.subtree(key) if isinstance(n, cst.Name)}
        return bool(used & changing)

    # --- retry scopes --------------------------------------------------------------

    def resends_after_processing(self, scope: RetryScope) -> bool | None:
        """True when a path re-sends after a response or failure that the server may have
        processed (5xx, read timeouts, broad errors); False when every path follows only
        429/connect failures; None when the retry condition cannot be read (statuses retried
        only when a body code or flag also says so, opaque predicates)."""
        if not scope.paths:
            return None
        unknown = False
        for path in scope.paths:
            if path.statuses - UNPROCESSED_STATUSES:
                return True
            if path.exceptions and not path.status_filtered:
                if self._gated(scope, path):
                    unknown = True
                    continue
                names = tuple(lib.canonical(name) for name in path.exceptions)
                if all(name in lib.CONNECT_ONLY_EXCEPTIONS for name in names):
                    continue
                if "?" in names:
                    unknown = True
                    continue
                return True
            if not path.statuses:
                unknown = True
        return None if unknown else False

    def _gated(self, scope: RetryScope, path) -> bool:
        """Does an exception path go round again only when some other condition holds
        (`if "rate limit" in str(e)`), beyond attempt counters?"""
        tests = [s.test for s in path.statements if isinstance(s, cst.If)]
        if scope.kind == "recursion" and path.handler is not None and scope.anchor is not None:
            for ancestor in self.model.ancestors(scope.anchor):
                if ancestor is path.handler.node:
                    break
                if isinstance(ancestor, cst.If):
                    tests.append(ancestor.test)
        return any(not _is_bound_check(test) for test in tests)

    def describe_scope(self, scope: RetryScope) -> str:
        model = self.model
        if scope.kind == "decorator" and isinstance(scope.node, cst.FunctionDef):
            decorator = scope.anchor.decorator if isinstance(scope.anchor, cst.Decorator) else None
            target = decorator.func if isinstance(decorator, cst.Call) else decorator
            name = model.code(target) if target is not None else "retry"
            return f"`@{name}` on `{model.functions[scope.node].qualified}`"
        if scope.kind == "iterator" and scope.config is not None:
            return f"the `{model.code(scope.config.func)}` block"
        function = model.enclosing_function(scope.node) if scope.kind == "loop" else scope.node
        where = f" in `{model.functions[function].qualified}`" if isinstance(function, cst.FunctionDef) and function in model.functions else ""
        if scope.kind == "recursion":
            return f"the recursive retry{where}"
        if scope.kind == "client":
            return "`RetryClient`"
        return f"the retry loop{where}"

    def call_label(self, http) -> str:
        func = self.model.code(http.node.func)
        if http.method_from_argument and http.method:
            return f'`{func}("{http.method}")`'
        return f"`{func}()`"

    def reads_only(self, http) -> bool:
        """A POST that reads: GraphQL queries, search/query endpoints, token requests."""
        url_words: set[str] = set()
        for text in self.strings_in(http.url, http.node):
            path = text.split("://", 1)[-1]
            url_words |= words(path)
        if url_words & _READ_WORDS:
            if "graphql" in url_words and self._graphql_mutation(http):
                return False
            return True
        if url_words & _WRITE_WORDS:
            return False
        body = keyword_value(http.node, "json")
        if body is not None:
            keys = {e.key for e in self.entries(body, http.node)[0]}
            if "query" in keys and not self._graphql_mutation(http):
                return True
        names = words(http.function.name.value) if http.function is not None else set()
        return bool(names & _READ_WORDS) and not names & _WRITE_WORDS

    def _graphql_mutation(self, http) -> bool:
        body = keyword_value(http.node, "json")
        for entry in self.entries(body, http.node)[0] if body is not None else []:
            if entry.key == "query":
                for text in self.strings_in(entry.value, entry.value):
                    if text.lstrip().startswith("mutation"):
                        return True
        return False

    def strings_in(self, expr: cst.BaseExpression | None, at: cst.CSTNode, depth: int = 0) -> Iterator[str]:
        """String fragments an expression is built from, through names."""
        if expr is None or depth > 4:
            return
        for node in self.model.subtree(expr):
            if isinstance(node, cst.SimpleString):
                value = self.model.const_value(node)
                if isinstance(value, str):
                    yield value
            elif isinstance(node, cst.FormattedStringText):
                yield node.value
            elif isinstance(node, cst.Name) and not _is_attribute_name(self.model, node):
                values = self.model.assigned_values(node, at)
                if len(values) == 1 and values[0] is not node:
                    yield from self.strings_in(values[0], values[0], depth + 1)


def _counts_attempts(model: Model, loop: cst.For) -> bool:
    """`for attempt in ...`, `for _ in range(3)`, `for _ in range(max_retries)`; not `for _ in range(count)`."""
    target = dotted_name(loop.target) if isinstance(loop.target, cst.Name) else None
    if target and re.search(r"attempt|retr|tries|^try", target, re.I):
        return True
    iterator = loop.iter
    if not isinstance(iterator, cst.Call):
        return False
    args = positional_args(iterator)
    if not args:
        return (model.callee(iterator) or "") in ("itertools.count", "itertools.repeat")
    bound = args[1] if len(args) > 1 else args[0]
    value = model.const_value(bound)
    if isinstance(value, int):
        return value <= 20
    names = [n.value for n in model.subtree(bound) if isinstance(n, cst.Name)] + [
        n.attr.value for n in model.subtree(bound) if isinstance(n, cst.Attribute)
    ]
    return any(re.search(r"attempt|retr|tries|try|max|limit", name, re.I) for name in names)


def _takes_item(node: cst.CSTNode) -> bool:
    """`queue.pop()`, `next(it)`, `queue.get()`, `rng.random()`: a call that gives a new value each pass."""
    if not isinstance(node, cst.Call):
        return False
    dotted = dotted_name(node.func) or ""
    if re.search(r"(^|\.)(rng|random|rand|faker?|_?random_?\w*)\.", dotted + "."):
        return True
    name = dotted.rsplit(".", 1)[-1]
    if name == "get":
        return not positional_args(node) and isinstance(node.func, cst.Attribute)
    return name in _ITEM_SOURCES


def _is_bound_check(test: cst.BaseExpression) -> bool:
    nodes = list(walk(test))
    if any(isinstance(n, (cst.SimpleString, cst.FormattedString, cst.Subscript, cst.Call)) for n in nodes):
        return False
    names = [n.value for n in nodes if isinstance(n, cst.Name) and n.value not in ("None", "True", "False")]
    return bool(names) and all(_BOUND_NAME.search(name) for name in names)


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def loop_targets(loop: cst.For) -> set[str]:
    return {n.value for n in walk(loop.target) if isinstance(n, cst.Name)}


def names_assigned_in(model: Model, container: cst.CSTNode) -> set[str]:
    """Every name bound inside `container` (assignments, loop targets, `with ... as`, `except ... as`)."""
    names: set[str] = set()
    for node in model.subtree(container):
        targets: list[cst.CSTNode] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            targets = [node.target]
        elif isinstance(node, (cst.For, cst.CompFor)):
            targets = [node.target]
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            targets = [node.asname.name]
        elif isinstance(node, cst.NamedExpr):
            targets = [node.target]
        elif isinstance(node, cst.ExceptHandler) and node.name is not None:
            targets = [node.name.name]
        for target in targets:
            names |= {n.value for n in model.subtree(target) if isinstance(n, cst.Name)}
    return names


def free_names(model: Model, expr: cst.CSTNode) -> set[str]:
    return {n.value for n in model.subtree(expr) if isinstance(n, cst.Name) and not _is_attribute_name(model, n)}


def _is_attribute_name(model: Model, node: cst.Name) -> bool:
    parent = model.parent(node)
    if isinstance(parent, cst.Attribute) and parent.attr is node:
        return True
    if isinstance(parent, cst.Arg) and parent.keyword is node:
        return True
    return False




def _returns(function: cst.FunctionDef) -> list[cst.Return]:
    found: list[cst.Return] = []
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        if isinstance(node, cst.Return):
            found.append(node)
        stack.extend(child_nodes(node))
    return found
