"""Finding the parts of a file that send the same request again.

A retry scope is a decorated function (tenacity, backoff, stamina, retrying,
google-api-core), a `for attempt in Retrying(...)` block, a hand-written loop
that goes round again after an error or a bad status, a function that calls
itself from an error branch, or a client with retries built in (a session
with a mounted urllib3 `Retry`, an aiohttp-retry `RetryClient`).

Each scope lists its *paths*: the ways it goes round again, with the
exceptions and statuses that take each path. Hand loops are read by walking
the loop body once per group of statuses (see `_Walker`), so
`if r.status_code == 200: return r` followed by a sleep is understood as
"every other status is retried".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

import libcst as cst

from errlint.linter import libraries as lib
from errlint.linter.model import (
    Handler,
    HttpCall,
    dotted_name,
    keyword_value,
    node_types,
    positional_args,
    strip_await,
    walk_nodes,
)
from errlint.linter.status import ALL_STATUSES, status_condition

if TYPE_CHECKING:
    from errlint.linter.model import Model

# Conditions that bound a loop (counters, deadlines) rather than filter what is retried.
_BOUND_WORDS = re.compile(
    r"attempt|retr|tries|try|count|max|limit|deadline|time|elapsed|budget|remaining|left|tries|^[ijkn]$|^n_|_n$",
    re.I,
)
_ATTEMPT_TARGET = re.compile(r"attempt|retr|tries|^try|^_+$|^i$|^n$", re.I)
_MAX_STATES = 48


@dataclass(eq=False)
class RetryPath:
    """One way a scope goes round again.

    `statuses` are retried on the status alone; `gated_statuses` only when
    another condition (a machine code, a flag) also holds. Exception paths
    list the caught `exceptions`; `status_filtered` says whether the path
    looked at the status before retrying.
    """

    statuses: frozenset[int] = frozenset()
    gated_statuses: frozenset[int] = frozenset()
    exceptions: tuple[str, ...] = ()
    decision: cst.CSTNode | None = None
    handler: Handler | None = None
    statements: tuple[cst.CSTNode, ...] = ()
    status_filtered: bool = False

    @property
    def on_exception(self) -> bool:
        return bool(self.exceptions)


@dataclass(eq=False)
class RetryScope:
    kind: str  # decorator | iterator | loop | recursion | mounted | client
    library: str  # tenacity, backoff, stamina, retrying, google, urllib3, aiohttp_retry or "hand"
    node: cst.CSTNode  # the function, loop or configuration call
    config: cst.Call | None  # decorator call, Retrying(...), Retry(...), RetryClient(...)
    http_calls: list[HttpCall]
    paths: list[RetryPath] = field(default_factory=list)
    # Where the configuration appears in the source (the decorator, the `for` header...).
    anchor: cst.CSTNode | None = None

    @property
    def body(self) -> cst.CSTNode:
        return self.node

    @property
    def retried_statuses(self) -> frozenset[int]:
        return frozenset().union(*(path.statuses for path in self.paths)) if self.paths else frozenset()

    @property
    def writes(self) -> list[HttpCall]:
        return [call for call in self.http_calls if call.method in lib.WRITE_METHODS]


def find_retry_scopes(model: "Model") -> list[RetryScope]:
    scopes: list[RetryScope] = []
    for info in model.functions.values():
        for name, decorator in info.decorators:
            library = lib.RETRY_DECORATORS.get(name)
            if library is not None:
                call = decorator.decorator if isinstance(decorator.decorator, cst.Call) else None
                scopes.append(
                    RetryScope(
                        "decorator",
                        library,
                        info.node,
                        call,
                        model.http_calls_in(info.node),
                        anchor=decorator,
                    )
                )
    for loop in model.loops:
        scope = _iterator_scope(model, loop) or _loop_scope(model, loop)
        if scope is not None:
            scopes.append(scope)
    scopes.extend(_recursion_scopes(model))
    scopes.extend(_client_scopes(model))
    for scope in scopes:
        if scope.kind in ("decorator", "iterator") and scope.config is not None:
            scope.paths = library_paths(model, scope)
    return scopes


# --- library configured scopes ---------------------------------------------


def _iterator_scope(model: "Model", loop: cst.For | cst.While) -> RetryScope | None:
    if not isinstance(loop, cst.For):
        return None
    iterator = strip_await(loop.iter)
    if isinstance(iterator, (cst.Name, cst.Attribute)):
        iterator = model.resolve(iterator)
    if not isinstance(iterator, cst.Call):
        return None
    library = lib.RETRY_ITERATORS.get(model.callee(iterator) or "")
    if library is None:
        return None
    return RetryScope("iterator", library, loop, iterator, model.http_calls_in(loop.body), anchor=loop.iter)


def library_paths(model: "Model", scope: RetryScope) -> list[RetryPath]:
    """What a retry library's configuration retries on."""
    call = scope.config
    assert call is not None
    name = model.callee(call) or ""
    if scope.library == "tenacity":
        retry = keyword_value(call, "retry")
        if retry is None:
            return [RetryPath(exceptions=("Exception",), decision=call)]
        return _tenacity_condition(model, retry)
    if scope.library == "backoff":
        positional = positional_args(call)
        if name.endswith("on_predicate"):
            predicate = keyword_value(call, "predicate") or (positional[1] if len(positional) > 1 else None)
            return _predicate_paths(model, predicate, result=True)
        exceptions = keyword_value(call, "exception") or (positional[1] if len(positional) > 1 else None)
        path = RetryPath(exceptions=exception_names(model, exceptions), decision=exceptions or call)
        giveup = keyword_value(call, "giveup")
        if giveup is not None:
            path.status_filtered = True
            gives_up = _predicate_statuses(model, giveup)
            if gives_up is not None:
                # A giveup predicate decides per error; what it lets through is
                # retried only when the error is of the caught type, so gated.
                path.gated_statuses = ALL_STATUSES - gives_up
        return [path]
    if scope.library == "stamina":
        on = keyword_value(call, "on") or (positional_args(call)[0] if positional_args(call) else None)
        names = exception_names(model, on)
        if names == ("?",) and on is not None:
            return _predicate_paths(model, on, result=False)
        return [RetryPath(exceptions=names, decision=on or call)]
    if scope.library == "retrying":
        paths = []
        on_exception = keyword_value(call, "retry_on_exception")
        on_result = keyword_value(call, "retry_on_result")
        if on_result is not None:
            paths.extend(_predicate_paths(model, on_result, result=True))
        if on_exception is not None:
            paths.extend(_predicate_paths(model, on_exception, result=False))
        elif on_result is None:
            paths.append(RetryPath(exceptions=("Exception",), decision=call))
        return paths
    if scope.library == "google":
        predicate = keyword_value(call, "predicate")
        if predicate is None:
            return [RetryPath(exceptions=("google.api_core.exceptions.transient",), decision=call, status_filtered=True)]
        return _predicate_paths(model, predicate, result=False)
    return []


def _tenacity_condition(model: "Model", expr: cst.BaseExpression) -> list[RetryPath]:
    expr = model.resolve(expr)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
        return _tenacity_condition(model, expr.left) + _tenacity_condition(model, expr.right)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitAnd):
        paths = _tenacity_condition(model, expr.left) + _tenacity_condition(model, expr.right)
        for path in paths:
            path.gated_statuses = path.gated_statuses | path.statuses
            path.statuses = frozenset()
            path.status_filtered = True
        return paths
    if not isinstance(expr, cst.Call):
        return _predicate_paths(model, expr, result=False)
    name = (model.callee(expr) or "").rsplit(".", 1)[-1]
    args = positional_args(expr)
    if name == "retry_if_exception_type":
        target = args[0] if args else keyword_value(expr, "exception_types")
        return [RetryPath(exceptions=exception_names(model, target) if target else ("Exception",), decision=expr)]
    if name in ("retry_if_not_exception_type", "retry_unless_exception_type"):
        return [RetryPath(exceptions=("Exception",), decision=expr)]
    if name == "retry_if_exception":
        return _predicate_paths(model, args[0] if args else keyword_value(expr, "predicate"), result=False)
    if name in ("retry_if_result", "retry_unless_result"):
        predicate = args[0] if args else keyword_value(expr, "predicate")
        paths = _predicate_paths(model, predicate, result=True)
        if name == "retry_unless_result":
            for path in paths:
                path.statuses = ALL_STATUSES - path.statuses - path.gated_statuses
        return paths
    if name in ("retry_any",):
        return [path for arg in args for path in _tenacity_condition(model, arg)]
    if name in ("retry_all",):
        paths = [path for arg in args for path in _tenacity_condition(model, arg)]
        for path in paths:
            path.gated_statuses, path.statuses = path.gated_statuses | path.statuses, frozenset()
        return paths
    return [RetryPath(decision=expr, status_filtered=True)]


def _predicate_paths(model: "Model", predicate: cst.BaseExpression | None, result: bool) -> list[RetryPath]:
    """Paths for a retry predicate (a lambda or same-module function of the error or response)."""
    if predicate is None:
        return [RetryPath(decision=None)] if result else [RetryPath(exceptions=("Exception",))]
    statuses = _predicate_statuses(model, predicate)
    exceptions = () if result else ("Exception",)
    if statuses is None:
        return [RetryPath(exceptions=exceptions, decision=predicate, status_filtered=not result)]
    condition_node = _predicate_body(model, predicate) or predicate
    return [RetryPath(statuses=statuses, exceptions=exceptions, decision=condition_node, status_filtered=True)]


def _predicate_body(model: "Model", predicate: cst.BaseExpression) -> cst.BaseExpression | None:
    if isinstance(predicate, cst.Lambda):
        return predicate.body
    if isinstance(predicate, cst.Name):
        function = model.function_named(predicate.value)
        if function is not None:
            returns = [
                node.value
                for node in _simple_statements(function.node.body)
                if isinstance(node, cst.Return) and node.value is not None
            ]
            if len(returns) == 1:
                return returns[0]
    return None


def _predicate_statuses(model: "Model", predicate: cst.BaseExpression) -> frozenset[int] | None:
    body = _predicate_body(model, predicate)
    if body is None:
        return None
    condition = status_condition(model, body)
    return condition.certain if condition is not None else None


def exception_names(model: "Model", expr: cst.BaseExpression | None) -> tuple[str, ...]:
    if expr is None:
        return ("Exception",)
    expr = model.resolve(expr)
    if isinstance(expr, (cst.Tuple, cst.List)):
        names: list[str] = []
        for element in expr.elements:
            names.extend(exception_names(model, element.value))
        return tuple(names)
    if isinstance(expr, (cst.Name, cst.Attribute)):
        return (lib.canonical(model.qualname(expr) or dotted_name(expr) or "?"),)
    return ("?",)


# --- clients with retries built in -------------------------------------------


def _client_scopes(model: "Model") -> list[RetryScope]:
    scopes = []
    for call in model.calls:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "mount":
            session = dotted_name(func.value)
            args = positional_args(call)
            adapter = keyword_value(call, "adapter") or (args[1] if len(args) > 1 else None)
            retry = _adapter_retry(model, adapter)
            if session and retry is not None:
                calls = [http for http in model.http_calls if http.receiver == session]
                scopes.append(RetryScope("mounted", "urllib3", call, retry, calls, _mounted_paths(model, retry), anchor=retry))
        name = model.callee(call)
        if name == "aiohttp_retry.RetryClient":
            options = keyword_value(call, "retry_options")
            options = model.resolve(options) if options is not None else None
            key = _bound_name(model, call)
            calls = [http for http in model.http_calls if key and http.receiver == key]
            config = options if isinstance(options, cst.Call) else call
            scopes.append(RetryScope("client", "aiohttp_retry", call, config, calls, _aiohttp_retry_paths(model, options), anchor=config))
    return scopes


def _bound_name(model: "Model", call: cst.Call) -> str | None:
    parent = model.parent(call)
    if isinstance(parent, cst.Await):
        parent = model.parent(parent)
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
        return dotted_name(parent.targets[0].target)
    if isinstance(parent, cst.WithItem) and parent.asname is not None:
        return dotted_name(parent.asname.name)
    return None


def _adapter_retry(model: "Model", adapter: cst.BaseExpression | None) -> cst.Call | None:
    if adapter is None:
        return None
    adapter = model.resolve(adapter)
    if not isinstance(adapter, cst.Call) or model.callee(adapter) != lib.HTTP_ADAPTER:
        return None
    retries = keyword_value(adapter, "max_retries")
    if retries is None:
        return None
    retries = model.resolve(retries)
    if isinstance(retries, cst.Call) and model.callee(retries) == lib.URLLIB3_RETRY:
        return retries
    return None


def _mounted_paths(model: "Model", retry: cst.Call) -> list[RetryPath]:
    forcelist = keyword_value(retry, "status_forcelist")
    statuses = model.int_set(forcelist) if forcelist is not None else frozenset()
    paths = [RetryPath(exceptions=("urllib3.exceptions.NewConnectionError",), decision=retry, status_filtered=True)]
    if statuses:
        paths.append(RetryPath(statuses=statuses, decision=forcelist))
    return paths


def _aiohttp_retry_paths(model: "Model", options: cst.BaseExpression | None) -> list[RetryPath]:
    paths = [RetryPath(exceptions=("aiohttp.ClientError",), decision=options, status_filtered=True)]
    statuses: set[int] = set()
    if isinstance(options, cst.Call):
        listed = model.int_set(keyword_value(options, "statuses"))
        statuses |= listed or set()
        server_errors = keyword_value(options, "retry_all_server_errors")
        if server_errors is None or model.const_value(server_errors) is not False:
            statuses |= set(range(500, 600))
    else:
        statuses |= set(range(500, 600))
    paths.append(RetryPath(statuses=frozenset(statuses), decision=options))
    return paths


# --- hand-written loops --------------------------------------------------------


def _loop_scope(model: "Model", loop: cst.For | cst.While) -> RetryScope | None:
    http_calls = model.http_calls_in(loop.body)
    if not http_calls:
        return None
    if isinstance(loop, cst.For) and not _is_attempt_loop(model, loop, http_calls):
        return None
    if isinstance(loop, cst.While) and _takes_next_item(model, loop):
        return None
    paths = _Walker(model, loop).retry_paths()
    if not paths:
        return None
    return RetryScope("loop", "hand", loop, None, http_calls, paths, anchor=loop)


_NEXT_ITEM_METHODS = frozenset({"pop", "popleft", "popitem", "get_nowait", "pop_front"})


def _takes_next_item(model: "Model", loop: cst.While) -> bool:
    """`while targets: target = targets.pop(0)` works through a queue: each round sends a new request.

    An error there skips to the next item (`continue`); it does not retry.
    """
    for small in model.walk(loop.body, into_functions=False):
        if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
            value = strip_await(small.value)
            if not isinstance(value, cst.Call) or model.enclosing(small, (cst.For, cst.While)) is not loop:
                continue
            func = value.func
            if isinstance(func, cst.Name) and func.value == "next":
                return True
            if isinstance(func, cst.Attribute) and (
                func.attr.value in _NEXT_ITEM_METHODS
                or (func.attr.value == "get" and "queue" in (dotted_name(func.value) or "").lower())
            ):
                return True
    return False


def _is_attempt_loop(model: "Model", loop: cst.For, http_calls: list[HttpCall]) -> bool:
    target = dotted_name(loop.target) if isinstance(loop.target, cst.Name) else None
    iterator = loop.iter
    counted = isinstance(iterator, cst.Call) and (
        (isinstance(iterator.func, cst.Name) and iterator.func.value == "range")
        or (model.callee(iterator) or "") in ("itertools.count", "itertools.repeat")
    )
    if not counted and not (target and _ATTEMPT_TARGET.search(target)):
        return False
    if target and not _ATTEMPT_TARGET.search(target):
        # `for page in range(...)` that sends `page` is pagination, not a retry.
        for http in http_calls:
            if model.is_within(http.node, loop) and _mentions_name(http.node, target, skip={"timeout"}):
                return False
        # `for index in range(0, len(pending), size): batch = pending[index:index + size]`
        # walks a collection: each round sends different data.
        if isinstance(iterator, cst.Call) and any(
            isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "len"
            for node in model.walk(iterator)
        ):
            return False
        if any(
            isinstance(node, cst.Subscript)
            and any(isinstance(inner, cst.Name) and inner.value == target for inner in model.walk(node.slice[0]) if node.slice)
            for node in model.walk(loop.body, into_functions=False)
        ):
            return False
    return True


def _mentions_name(call: cst.Call, name: str, skip: set[str]) -> bool:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in skip:
            continue
        if any(isinstance(node, cst.Name) and node.value == name for node in walk_nodes(arg.value)):
            return True
    return False




@dataclass
class _State:
    certain: frozenset[int]
    gated: frozenset[int]
    decision: cst.CSTNode | None
    statements: tuple[cst.CSTNode, ...]
    filtered: bool = False


class _Walker:
    """Follows a loop body to see which statuses reach the next iteration."""

    def __init__(self, model: "Model", loop: cst.For | cst.While) -> None:
        self.model = model
        self.loop = loop
        self.target = dotted_name(loop.target) if isinstance(loop, cst.For) else None

    def retry_paths(self) -> list[RetryPath]:
        paths: list[RetryPath] = []
        start = _State(ALL_STATUSES, frozenset(), None, ())
        for state in self._finish(self.walk(self.loop.body.body, [start])):
            # A path that success takes too is the loop's normal iteration
            # (pagination, polling), not a retry.
            if 200 in state.certain or (not state.certain and 200 in state.gated):
                continue
            if state.certain or state.gated:
                paths.append(
                    RetryPath(state.certain, state.gated, (), state.decision, None, state.statements, True)
                )
        for try_node in self.model.nodes_in(self.loop.body, self.model.tries):
            if not self._inside_this_loop(try_node) or not self.model.http_calls_in(try_node.body):
                continue
            for handler in (h for h in self.model.handlers if h.try_node is try_node):
                start = _State(ALL_STATUSES, frozenset(), None, ())
                outcomes = self.walk(handler.node.body.body, [start])
                # Falling out of the handler continues after the `try`, which may still return.
                falling = [state for kind, state in outcomes if kind == "fall"]
                outcomes = [o for o in outcomes if o[0] != "fall"] + self._continue_after(try_node, falling)
                states = self._finish(outcomes)
                for state in states:
                    filtered = state.decision is not None
                    paths.append(
                        RetryPath(
                            state.certain if filtered else frozenset(),
                            state.gated if filtered else frozenset(),
                            handler.types,
                            state.decision or handler.node,
                            handler,
                            state.statements,
                            filtered,
                        )
                    )
        return paths

    def _continue_after(self, node: cst.CSTNode, states: list[_State]) -> list[tuple[str, _State]]:
        """Run `states` through the statements that follow `node`, block by block, up to the loop body's end."""
        done: list[tuple[str, _State]] = []
        current = node
        while states:
            block = self.model.parent(current)
            while block is not None and not isinstance(block, cst.IndentedBlock):
                if block is self.loop:
                    return done + [("fall", state) for state in states]
                current, block = block, self.model.parent(block)
            if block is None:
                break
            siblings = list(block.body)
            index = next((i for i, statement in enumerate(siblings) if statement is current), len(siblings))
            outcomes = self.walk(siblings[index + 1 :], states)
            done += [outcome for outcome in outcomes if outcome[0] != "fall"]
            states = [state for kind, state in outcomes if kind == "fall"]
            owner = self.model.parent(block)
            if owner is self.loop or owner is None:
                break
            if isinstance(owner, (cst.For, cst.While)):
                break  # an inner loop: its end goes round that loop, not this one
            current = owner
        return done + [("fall", state) for state in states]

    def _inside_this_loop(self, node: cst.CSTNode) -> bool:
        for ancestor in self.model.ancestors(node):
            if ancestor is self.loop:
                return True
            if isinstance(ancestor, (cst.For, cst.While)):
                return False
        return False

    def _finish(self, outcomes: list[tuple[str, _State]]) -> list[_State]:
        """States that reach the next iteration: `continue`, or falling off the end."""
        again = [state for kind, state in outcomes if kind == "retry"]
        falling = [state for kind, state in outcomes if kind == "fall"]
        if isinstance(self.loop, cst.While):
            condition = status_condition(self.model, self.loop.test)
            if condition is not None:
                falling = [
                    _State(
                        state.certain & condition.certain,
                        (state.gated & condition.any) | (state.certain & condition.possible),
                        self.loop.test,
                        state.statements,
                    )
                    for state in falling
                ]
        return [state for state in again + falling if state.certain or state.gated]

    def walk(self, statements, states: list[_State]) -> list[tuple[str, _State]]:
        """Run `states` through `statements`; return (outcome, state) pairs."""
        done: list[tuple[str, _State]] = []
        live = states
        for statement in statements:
            if not live:
                break
            next_live: list[_State] = []
            for state in live:
                for kind, result in self._statement(statement, state):
                    if kind == "fall":
                        next_live.append(result)
                    else:
                        done.append((kind, result))
            live = next_live[:_MAX_STATES]
        done.extend(("fall", state) for state in live)
        return done

    def _statement(self, statement: cst.CSTNode, state: _State) -> list[tuple[str, _State]]:
        seen = _State(state.certain, state.gated, state.decision, state.statements + (statement,), state.filtered)
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Return, cst.Raise, cst.Break)):
                    return [("exit", seen)]
                if isinstance(small, cst.Continue):
                    return [("retry", seen)]
            return [("fall", seen)]
        if isinstance(statement, cst.If):
            return self._if(statement, state)
        if isinstance(statement, cst.Try):
            outcomes = self.walk(statement.body.body, [seen])
            if statement.orelse is not None:
                falling = [s for kind, s in outcomes if kind == "fall"]
                outcomes = [o for o in outcomes if o[0] != "fall"] + self.walk(statement.orelse.body.body, falling)
            return outcomes
        if isinstance(statement, (cst.With,)):
            return self.walk(statement.body.body, [seen])
        return [("fall", seen)]

    def _if(self, statement: cst.If, state: _State) -> list[tuple[str, _State]]:
        condition = status_condition(self.model, statement.test)
        orelse = statement.orelse
        else_body = (
            [orelse]
            if isinstance(orelse, cst.If)
            else (orelse.body.body if orelse is not None else [])
        )
        if condition is None:
            if self._is_bound(statement.test):
                true_state = false_state = state
            else:
                true_state = false_state = _State(frozenset(), state.gated | state.certain, state.decision, state.statements)
            outcomes = self.walk(statement.body.body, [_copy(true_state, statement)])
            outcomes += self.walk(else_body, [_copy(false_state, statement)]) if else_body else [("fall", false_state)]
            return outcomes
        true_state = _State(
            state.certain & condition.certain,
            (state.gated & condition.any) | (state.certain & condition.possible),
            statement,
            state.statements + (statement,),
        )
        false_state = _State(
            state.certain - condition.any,
            (state.gated - condition.certain) | (state.certain & condition.possible),
            statement,
            state.statements + (statement,),
        )
        outcomes = self.walk(statement.body.body, [true_state])
        outcomes += self.walk(else_body, [false_state]) if else_body else [("fall", false_state)]
        return [(kind, s) for kind, s in outcomes if s.certain or s.gated]

    def _is_bound(self, test: cst.BaseExpression) -> bool:
        # The same test is met once per path state reaching it: answer once.
        return self.model.cached(f"bounds the loop on {self.target}", test, lambda: self._bounds(test))

    def _bounds(self, test: cst.BaseExpression) -> bool:
        names = [node for node in self.model.subtree(test) if isinstance(node, cst.Name)]
        if any(isinstance(node, (cst.SimpleString, cst.Subscript)) for node in self.model.subtree(test)):
            return False
        return any(
            (self.target and name.value == self.target) or _BOUND_WORDS.search(name.value) for name in names
        )


def _copy(state: _State, statement: cst.CSTNode) -> _State:
    return _State(state.certain, state.gated, state.decision, state.statements + (statement,))


# --- recursion -------------------------------------------------------------------


def _recursion_scopes(model: "Model") -> list[RetryScope]:
    scopes = []
    for info in model.functions.values():
        for call in info.calls:
            target = model.called_function(call)
            if target is None or target.node is not info.node:
                continue
            handler = next(
                (h for h in model.handlers if model.same_function(call, h.node) and model.same_function(h.node, info.node)),
                None,
            )
            branch = next(
                (
                    node
                    for node in model.ancestors(call)
                    if isinstance(node, cst.If) and status_condition(model, node.test) is not None
                ),
                None,
            )
            if handler is None and branch is None:
                continue
            http_calls = model.http_calls_in(info.node)
            if not http_calls:
                continue
            if branch is not None:
                condition = status_condition(model, branch.test)
                assert condition is not None
                path = RetryPath(condition.certain, condition.possible, (), branch, None, (branch,), True)
            else:
                assert handler is not None
                path = RetryPath(exceptions=handler.types, decision=handler.node, handler=handler)
            scopes.append(RetryScope("recursion", "hand", info.node, None, http_calls, [path], anchor=call))
            break
    return scopes


def _simple_statements(body: cst.BaseSuite) -> list[cst.BaseSmallStatement]:
    if isinstance(body, cst.SimpleStatementSuite):
        return list(body.body)
    result: list[cst.BaseSmallStatement] = []
    for statement in body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            result.extend(statement.body)
    return result


# --- questions rules ask about a path -------------------------------------------

_CREDENTIAL_REFRESH = re.compile(
    r"refresh|re_?auth|re_?login|login|log_in|authenticate|renew|(new|get|fetch|obtain|rotate)_?(access_?)?token|token",
    re.I,
)


def path_calls(model: "Model", path: RetryPath) -> list[cst.Call]:
    """Calls made on a path before it goes round again (its branch bodies, handler body)."""
    if isinstance(path.decision, cst.If):
        # Only what runs once the status is known, not the request itself.
        index = path.statements.index(path.decision) if path.decision in path.statements else -1
        containers: list[cst.CSTNode] = list(path.statements[index + 1 :])
    else:
        containers = list(path.statements)
    if path.handler is not None:
        containers.append(path.handler.node)
    found: list[cst.Call] = []
    for container in containers:
        for node in model.subtree(container):
            if isinstance(node, cst.Call) and node not in found:
                found.append(node)
    return found


def refreshes_credentials(model: "Model", path: RetryPath) -> bool:
    """Does the path refresh or re-create credentials before retrying?"""
    for call in path_calls(model, path):
        name = dotted_name(call.func) or ""
        if _CREDENTIAL_REFRESH.search(name.rsplit(".", 1)[-1]):
            return True
    return False


def handler_retry_loop(model: "Model", handler: Handler) -> cst.For | cst.While | None:
    """The attempt loop an `except` clause always sends round again, if any.

    The clause's body never leaves (no `return`, `raise` or `break`), the
    `try` sends a request (HTTP or SDK client call) and the loop counts
    attempts (`for attempt in range(n)`, `while ...`), not items. Covers loops
    around SDK calls, which are not `HttpCall`s and so have no `RetryScope`.
    """
    if any(isinstance(node, (cst.Return, cst.Raise, cst.Break)) for node in model.subtree(handler.node.body)):
        return None
    loop = model.enclosing(handler.try_node, (cst.For, cst.While, cst.FunctionDef, cst.Lambda))
    if not isinstance(loop, (cst.For, cst.While)) or not model.same_function(handler.try_node, loop):
        return None
    http_calls = model.http_calls_in(handler.try_node.body)
    sdk_calls = [call for call, _ in model.self_retrying_calls_in(handler.try_node.body)]
    if not http_calls and not sdk_calls:
        return None
    if isinstance(loop, cst.For):
        target = dotted_name(loop.target) if isinstance(loop.target, cst.Name) else None
        counted = isinstance(loop.iter, cst.Call) and (
            (isinstance(loop.iter.func, cst.Name) and loop.iter.func.value == "range")
            or (model.callee(loop.iter) or "") in ("itertools.count", "itertools.repeat")
        )
        if not counted and not (target and _ATTEMPT_TARGET.search(target)):
            return None
        if target and not _ATTEMPT_TARGET.search(target):
            calls = [http.node for http in http_calls] + sdk_calls
            if any(_mentions_name(call, target, skip={"timeout"}) for call in calls):
                return None
    return loop


# --- waits and server hints on a retry path ---------------------------------------

_HINT_CALL = re.compile(r"retry_?after|rate_?limit_?reset", re.I)
# Calls that transform a wait without deciding it.
_NEUTRAL_WAIT_CALLS = frozenset(
    {"int", "float", "round", "abs", "max", "min", "math.ceil", "math.floor", "timedelta", "datetime.timedelta"}
)
_RANDOM_WORDS = re.compile(r"random|jitter|uniform", re.I)
_CAP_WORDS = re.compile(r"^min$|cap|clamp|clip|bound", re.I)


def retry_hint_names(settings) -> frozenset[str]:
    """Header and body-field names (lower-case) through which a server says when to retry.

    The built-in `libraries.RETRY_HINT_HEADERS` and `RETRY_HINT_FIELDS`, plus
    the `retry-after-headers` and `retry-after-fields` of the API profiles in
    effect: the one place rules ask, so new names need no rule change.
    """
    from errlint.linter.profiles import active_profiles

    names = {*lib.RETRY_HINT_HEADERS, *lib.RETRY_HINT_FIELDS}
    for profile in active_profiles(settings).values():
        names.update(profile.retry_after_header_names, profile.retry_after_field_names)
    return frozenset(names)


def _hint_names(model: "Model") -> frozenset[str]:
    """`retry_hint_names` for the model's settings, worked out once per model (kept with the module node)."""
    return model.cached("retry hint names", model.module, lambda: retry_hint_names(model.settings))


def reads_retry_hint(model: "Model", *nodes: cst.CSTNode | None) -> bool:
    """Does code in `nodes` read a server retry hint (`Retry-After`, `X-RateLimit-Reset`, a body `retry_after`)?

    Follows same-module functions called from, or passed by name in, the
    nodes (a `wait=wait_from_headers` callback, a `self._delay(resp)` helper),
    and calls whose own name says they read one (`parse_retry_after(r)`).
    """
    return _mentions(model, nodes, _hint_names(model), _HINT_CALL)


def consults_server_retry_decision(model: "Model", *nodes: cst.CSTNode | None) -> bool:
    """Does code in `nodes` read a header in which the server says whether to retry (`x-should-retry`)?"""
    return _mentions(model, nodes, frozenset(lib.SERVER_RETRY_DECISION_HEADERS), None)


def _mentions(
    model: "Model",
    nodes: Iterable[cst.CSTNode | None],
    names: frozenset[str],
    call_pattern: re.Pattern[str] | None,
    depth: int = 2,
) -> bool:
    stack = [(node, depth) for node in nodes if node is not None]
    seen: set[cst.CSTNode] = set()
    while stack:
        container, level = stack.pop()
        if container in seen:
            continue
        seen.add(container)
        for node in model.subtree(container):
            if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
                if _string_in(node, names):
                    return True
            elif isinstance(node, cst.Attribute):
                if node.attr.value.lower() in names:
                    return True
            elif isinstance(node, cst.Name):
                # A module constant holding the header name: `r.headers[RETRY_AFTER]`.
                value = model.resolve(node)
                if value is not node and isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
                    if _string_in(value, names):
                        return True
                elif level > 0 and not isinstance(model.parent(node), cst.Call):
                    function = model.function_named(node.value)
                    if function is not None:
                        stack.append((function.node, level - 1))
            elif isinstance(node, cst.Call):
                name = (dotted_name(node.func) or "").rsplit(".", 1)[-1]
                if call_pattern is not None and call_pattern.search(name):
                    return True
                if level > 0:
                    target = model.called_function(node)
                    if target is not None:
                        stack.append((target.node, level - 1))
    return False


def _string_in(node: cst.SimpleString | cst.ConcatenatedString, names: frozenset[str]) -> bool:
    try:
        value = node.evaluated_value
    except Exception:  # noqa: BLE001 - odd byte-string escapes
        return False
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return isinstance(value, str) and value.strip().lower() in names


def mounted_scopes_of(model: "Model", call: cst.Call) -> list[RetryScope]:
    """The `mounted` scopes (a session with a `Retry` mounted) that send `call`, in `retry_scopes` order."""
    # Model-wide, so kept with the module node.
    index = model.cached("mounted scopes by call", model.module, lambda: _mounted_scopes_by_call(model))
    return index.get(id(call), [])


def _mounted_scopes_by_call(model: "Model") -> dict[int, list[RetryScope]]:
    index: dict[int, list[RetryScope]] = {}  # by id() of tree nodes, which live as long as the model
    for scope in model.retry_scopes:
        if scope.kind != "mounted":
            continue
        for http in scope.http_calls:
            scopes = index.setdefault(id(http.node), [])
            if not scopes or scopes[-1] is not scope:
                scopes.append(scope)
    return index


def is_sleep(model: "Model", call: cst.Call) -> bool:
    return model.callee(call) in lib.SLEEP_FUNCTIONS


def path_sleeps(model: "Model", scope: RetryScope, path: RetryPath) -> list[cst.Call]:
    """Sleep calls that run on a hand-written path (loop or recursion) before it goes round again.

    A sleep placed after a `try` whose body returns counts for the handler's
    paths: only failures reach it. A sleep that success reaches too (a poll
    interval) is not on a retry path.
    """
    containers: list[cst.CSTNode]
    if scope.kind == "recursion":
        containers = [path.decision.body] if isinstance(path.decision, (cst.If, cst.ExceptHandler)) else []
    elif scope.kind == "loop":
        statements = path.statements
        if path.decision is not None and path.decision in statements:
            statements = statements[statements.index(path.decision) + 1 :]
        containers = [s for s in statements if isinstance(s, cst.SimpleStatementLine)]
    else:
        return []
    found = [
        node
        for container in containers
        for node in model.subtree(container)
        if isinstance(node, cst.Call) and is_sleep(model, node)
    ]
    if not found and scope.kind == "loop" and path.handler is not None:
        found = _sleeps_after_try(model, scope.node, path.handler)
    return found


def _sleeps_after_try(model: "Model", loop: cst.CSTNode, handler: Handler) -> list[cst.Call]:
    try_node = handler.try_node
    block = model.parent(try_node)
    if not isinstance(block, cst.IndentedBlock) or model.parent(block) is not loop:
        return []
    success = try_node.orelse.body.body if try_node.orelse is not None else try_node.body.body
    if not success or not _ends_with(success[-1], (cst.Return, cst.Break)):
        return []
    if handler.node.body.body and _ends_with(handler.node.body.body[-1], (cst.Continue, cst.Return, cst.Raise, cst.Break)):
        return []
    index = list(block.body).index(try_node)
    return [
        node
        for statement in block.body[index + 1 :]
        if isinstance(statement, cst.SimpleStatementLine)
        for node in model.subtree(statement)
        if isinstance(node, cst.Call) and is_sleep(model, node)
    ]


def _ends_with(statement: cst.CSTNode, kinds: tuple[type, ...]) -> bool:
    if isinstance(statement, cst.With) and isinstance(statement.body, cst.IndentedBlock) and statement.body.body:
        return _ends_with(statement.body.body[-1], kinds)
    return isinstance(statement, cst.SimpleStatementLine) and any(isinstance(s, kinds) for s in statement.body)


@dataclass(frozen=True)
class WaitShape:
    """What a wait (a sleep's argument) is made of.

    `kind`: `constant` (a number, `seconds` set), `exponential` (grows by a
    power or by doubling), `variable` (other arithmetic on counters and
    parameters), `hint` (reads a server hint such as `Retry-After`) or
    `opaque` (calls code errlint cannot see).
    """

    kind: str
    seconds: float | None = None
    random: bool = False
    capped: bool = False


def wait_shape(model: "Model", expr: cst.BaseExpression) -> WaitShape:
    expr = strip_await(expr)
    return model.cached("wait shape", expr, lambda: _wait_shape(model, expr))


def _wait_shape(model: "Model", expr: cst.BaseExpression) -> WaitShape:
    seconds = _number(model, expr)
    if seconds is not None:
        return WaitShape("constant", seconds)
    flags: set[str] = set()
    _wait_parts(model, expr, flags, set(), 0)
    if "hint" in flags:
        return WaitShape("hint")
    random, capped = "random" in flags, "cap" in flags
    if "opaque" in flags:
        return WaitShape("opaque", random=random, capped=capped)
    return WaitShape("exponential" if "power" in flags else "variable", random=random, capped=capped)


def _number(model: "Model", expr: cst.BaseExpression, depth: int = 0) -> float | None:
    if depth > 4:
        return None
    if isinstance(expr, (cst.Integer, cst.Float)):
        return float(expr.evaluated_value)
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = _number(model, expr.expression, depth + 1)
        return -inner if inner is not None else None
    if isinstance(expr, cst.BinaryOperation):
        left, right = _number(model, expr.left, depth + 1), _number(model, expr.right, depth + 1)
        if left is None or right is None:
            return None
        operations = {cst.Add: float.__add__, cst.Subtract: float.__sub__, cst.Multiply: float.__mul__}
        for kind, apply in operations.items():
            if isinstance(expr.operator, kind):
                return apply(left, right)
        if isinstance(expr.operator, cst.Divide) and right:
            return left / right
        return None
    if isinstance(expr, (cst.Name, cst.Attribute)) and not _grows(model, expr):
        value = model.resolve(expr)
        if value is not expr and not isinstance(value, (cst.Name, cst.Attribute)):
            return _number(model, value, depth + 1)
    return None


def _grows(model: "Model", expr: cst.Name | cst.Attribute) -> bool:
    """Is the name multiplied in place (`delay *= 2`, `delay = delay * 2`) in its scope?"""
    key = dotted_name(expr)
    if not key:
        return False
    scope = model.binding_scope(expr, key) or model.module
    if key in model.cached("multiplied in place", scope, lambda: _multiplied_in_place(model, scope)):
        return True
    for value in model.assigned_values(expr):
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, (cst.Multiply, cst.Power, cst.LeftShift)):
            if any(dotted_name(node) == key for node in model.subtree(value)):
                return True
    return False


_GROWING_ASSIGNMENTS = node_types((cst.MultiplyAssign, cst.PowerAssign, cst.LeftShiftAssign))


def _multiplied_in_place(model: "Model", scope: cst.CSTNode) -> frozenset[str]:
    """Dotted names that `*=`, `**=` or `<<=` change anywhere in `scope` (nested functions too)."""
    return frozenset(
        name
        for node in model.subtree(scope)
        if type(node) is cst.AugAssign
        and type(node.operator) in _GROWING_ASSIGNMENTS
        and (name := dotted_name(node.target))
    )


def _wait_parts(model: "Model", expr: cst.CSTNode, flags: set[str], seen: set, depth: int) -> None:
    if expr in seen or depth > 3:
        return
    seen.add(expr)
    names = _hint_names(model)
    for node in model.subtree(expr):
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)) and _string_in(node, names):
            flags.add("hint")
        elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Power, cst.LeftShift)):
            if _number(model, node.right) is None:
                flags.add("power")
        elif isinstance(node, cst.Call):
            _wait_call(model, node, flags, seen, depth)
        elif isinstance(node, (cst.Name, cst.Attribute)):
            parent = model.parent(node)
            if isinstance(parent, cst.Call) and parent.func is node:
                continue
            if isinstance(parent, cst.Attribute) and parent.value is node:
                continue
            if isinstance(node, cst.Attribute) and node.attr.value.lower() in names:
                flags.add("hint")
                continue
            if _grows(model, node):
                flags.add("power")
            for value in model.assigned_values(node):
                if value is not node:
                    _wait_parts(model, value, flags, seen, depth + 1)


def _wait_call(model: "Model", call: cst.Call, flags: set[str], seen: set, depth: int) -> None:
    name = model.callee(call) or dotted_name(call.func) or ""
    last = name.rsplit(".", 1)[-1]
    if name.startswith(lib.RANDOM_MODULES) or _RANDOM_WORDS.search(last):
        flags.add("random")
    elif _HINT_CALL.search(last):
        flags.add("hint")
    elif name in ("pow", "math.pow"):
        args = positional_args(call)
        if len(args) > 1 and _number(model, args[1]) is None:
            flags.add("power")
    elif name in _NEUTRAL_WAIT_CALLS:
        if _CAP_WORDS.search(last):
            flags.add("cap")
    else:
        target = model.called_function(call)
        if target is None:
            flags.add("opaque")
            return
        if reads_retry_hint(model, target.node):
            flags.add("hint")
        for statement in model.subtree(target.node):
            if isinstance(statement, cst.Return) and statement.value is not None:
                _wait_parts(model, statement.value, flags, seen, depth + 1)


def goes_round_on_success(model: "Model", scope: RetryScope) -> bool:
    """Does a successful (2xx) response also reach the next iteration of a hand loop?

    True for polling and pagination loops: their paths are the loop's normal
    cadence, except where a condition singles out particular error statuses.
    """
    loop = scope.node
    if scope.kind != "loop" or not isinstance(loop, (cst.For, cst.While)):
        return False
    walker = _Walker(model, loop)
    start = _State(ALL_STATUSES, frozenset(), None, ())
    success = frozenset(range(200, 300))
    return any((state.certain | state.gated) & success for state in walker._finish(walker.walk(loop.body.body, [start])))


def singles_out_errors(path: RetryPath) -> bool:
    """The path's condition picks particular error statuses (`== 429`, `in (500, 503)`), not "anything but success"."""
    statuses = path.statuses | path.gated_statuses
    errors = frozenset(range(400, 600))
    return bool(statuses) and statuses <= errors and len(statuses) < len(errors) // 2


_READINESS_WORDS = re.compile(
    r"wait(ing|s)?[ _]+(for|until)|until[ _].*\bready\b|become(s|ing)?[ _]+(ready|available|healthy)|"
    r"\bis[ _]+(up|ready|reachable)\b|\b(not|wasn't|isn't)[ _]+(yet[ _]+)?(ready|reachable|up)\b|to[ _]+start\b",
    re.I,
)


def waits_for_readiness(model: "Model", scope: RetryScope) -> bool:
    """A loop that waits for a service to come up (its code and messages talk about waiting or readiness).

    Such a loop is one client polling on a fixed cadence, not many clients
    retrying a shared API, so a constant sleep there is the right thing.
    """
    if scope.kind != "loop":
        return False
    function = model.enclosing_function(scope.node)
    name = function.name.value if function is not None else ""
    return bool(_READINESS_WORDS.search(model.code(scope.node)) or re.search(r"wait|ready|healthy", name, re.I))
