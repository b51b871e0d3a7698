"""Helpers shared by the retry-policy rules (ERR102, ERR103, ERR108, ERR110).

Not a rule module (the leading underscore keeps it out of the catalog): it
enumerates retry-library configurations, including bare decorators that the
model's retry scopes carry without a configuration call, and builds the small
keyword-adding edits the fixes need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from errlint.linter.findings import Edit
from errlint.linter.model import (
    Handler,
    child_nodes,
    dotted_name,
    keyword_arg,
    positional_args,
)

if TYPE_CHECKING:
    from errlint.linter.model import Model

# Retry-library entry points whose keywords configure what is retried and for how long.
CONFIG_NAMES: dict[str, str] = {
    "tenacity.retry": "tenacity",
    "tenacity.Retrying": "tenacity",
    "tenacity.AsyncRetrying": "tenacity",
    "backoff.on_exception": "backoff",
    "backoff.on_predicate": "backoff",
    "retrying.retry": "retrying",
    "retrying.Retrying": "retrying",
}

# SDK and library modules whose presence makes a retry decorator HTTP-related.
_API_MODULES = ("openai", "anthropic", "stripe", "boto3", "botocore", "google")

# Names that bound a hand-written loop: counters, deadlines, stop flags.
_DECISION_CALL = re.compile(r"^(can|should|is|may|must)_|retryable|^(allow|accept)", re.I)
BOUND_NAMES = re.compile(
    r"attempt|retr|tries|try|count|max|limit|deadline|time|elapsed|budget|remaining|left|expire|until|"
    r"stop|running|shutdown|closed|cancel|is_set|alive|exhaust|give_?up|^[ijkn]$|^n_|_n$",
    re.I,
)
_CLOCKS = frozenset(
    {"time.time", "time.monotonic", "time.perf_counter", "time.monotonic_ns", "time.time_ns",
     "datetime.datetime.now", "datetime.datetime.utcnow", "loop.time"}
)


@dataclass(frozen=True)
class RetryConfig:
    """One use of a retry library: a decorator (called or bare) or a `Retrying(...)` construction."""

    library: str  # tenacity | backoff | retrying
    name: str  # canonical callee, e.g. "tenacity.retry"
    node: cst.BaseExpression  # the call, or the bare decorator expression
    call: cst.Call | None  # None for a bare `@retry`
    function: cst.FunctionDef | None  # the decorated function

    @property
    def opaque(self) -> bool:
        """Configured through `**kwargs` or positional arguments errlint cannot read."""
        if self.call is None:
            return False
        if any(arg.star for arg in self.call.args):
            return True
        allowed = 2 if self.library == "backoff" else 0
        return len(positional_args(self.call)) > allowed


def retry_configs(model: "Model") -> list[RetryConfig]:
    # Several rules ask; the configurations are found once per model (kept with the module node).
    return list(model.cached("retry configs", model.module, lambda: _find_retry_configs(model)))


def _find_retry_configs(model: "Model") -> list[RetryConfig]:
    found: list[RetryConfig] = []
    seen: set[cst.CSTNode] = set()
    for info in model.functions.values():
        for name, decorator in info.decorators:
            library = CONFIG_NAMES.get(name)
            if library is None:
                continue
            expr = decorator.decorator
            call = expr if isinstance(expr, cst.Call) else None
            found.append(RetryConfig(library, name, expr, call, info.node))
            seen.add(expr)
    for call in model.calls:
        if call in seen:
            continue
        name = model.callee(call) or ""
        library = CONFIG_NAMES.get(name)
        if library is not None:
            found.append(RetryConfig(library, name, call, call, None))
    return found


def config_label(model: "Model", config: RetryConfig) -> str:
    """`@retry`, `@backoff.on_exception` or `Retrying(...)`, as written."""
    func = config.call.func if config.call is not None else config.node
    text = model.code(func)
    return f"@{text}" if config.function is not None else f"{text}(...)"


def report_node(config: RetryConfig) -> cst.CSTNode:
    """A narrow node for a configuration: the callee of the call, or the bare decorator."""
    return config.call.func if config.call is not None else config.node


def sends_requests(model: "Model", container: cst.CSTNode | None) -> bool:
    """Does the container send HTTP requests (directly, through same-module helpers or SDK clients)?"""
    return container is not None and bool(model.http_calls_in(container) or model.self_retrying_calls_in(container))


def http_related(model: "Model", container: cst.CSTNode | None) -> bool:
    """Does the code look like it talks to an HTTP API (requests in the container, or API libraries imported)?"""
    return sends_requests(model, container) or bool(model.http_libraries_imported) or model.imports_any(_API_MODULES)


def names_text(names: list[str]) -> str:
    """`a`, `a` and `b`, `a`, `b` and `c`."""
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def add_keyword(model: "Model", expr: cst.BaseExpression, text: str) -> Edit:
    """An edit that adds the keyword argument `text` to a call, or calls a bare decorator with it."""
    if isinstance(expr, cst.Call) and expr.args:
        _, end = model.range_of(expr.args[-1])
        return Edit(end, end, f", {text}")
    if isinstance(expr, cst.Call):
        start, end = model.range_of(expr)
        return Edit(start, end, f"{model.code(expr.func).strip()}({text})")
    start, end = model.range_of(expr)
    return Edit(start, end, f"{model.code(expr).strip()}({text})")


def import_name_edit(model: "Model", module: str, name: str) -> tuple[str, Edit | None] | None:
    """How to refer to `module.name`, and the edit that imports it when it is not imported yet.

    Uses an existing spelling (`t.stop_after_attempt`, `stop_after_attempt`)
    when there is one, else extends a module-level `from module import ...`.
    None when neither is possible.
    """
    spelled = model.local_name(f"{module}.{name}")
    if spelled is not None:
        return spelled, None
    for statement in model.module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and not small.relative
                and dotted_name(small.module) == module
                and not isinstance(small.names, cst.ImportStar)
                and small.names
            ):
                _, end = model.range_of(small.names[-1])
                return name, Edit(end, end, f", {name}")
    return None


def has_keyword(call: cst.Call | None, *names: str) -> bool:
    return call is not None and any(keyword_arg(call, name) is not None for name in names)


# --- hand-written loops ---------------------------------------------------------




def mentions_bound(model: "Model", expr: cst.CSTNode, counters: frozenset[str] = frozenset()) -> bool:
    """Does a test mention a counter, a deadline, a clock or a stop flag?

    Names of called functions do not count: `should_retry(e)` decides per
    error (a filter), `attempt >= max_retries` counts.
    """
    stack: list[cst.CSTNode] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call):
            if model.callee(node) in _CLOCKS or dotted_name(node.func) in _CLOCKS:
                return True
            if isinstance(node.func, cst.Name) and node.func.value == "len":
                return True
            if _DECISION_CALL.search((dotted_name(node.func) or "").rsplit(".", 1)[-1]):
                # `handler.can_retry(state=retry_state, error=e)` decides per
                # error, whatever its arguments are called.
                continue
            if isinstance(node.func, cst.Attribute):
                stack.append(node.func.value)  # `self.retries.left()`: the receiver still counts
            stack.extend(arg.value for arg in node.args)
            continue
        if isinstance(node, cst.Name) and (BOUND_NAMES.search(node.value) or node.value in counters):
            return True
        if isinstance(node, cst.Attribute) and BOUND_NAMES.search(node.attr.value):
            return True
        stack.extend(child_nodes(node))
    return False


def loop_is_bounded(model: "Model", loop: cst.For | cst.While) -> bool:
    """A counter, deadline or stop flag checked in the loop's test or body."""
    counters = frozenset(
        name
        for node in model.subtree(loop.body)
        if isinstance(node, cst.AugAssign) and (name := dotted_name(node.target))
    )
    if isinstance(loop, cst.While) and mentions_bound(model, loop.test, counters):
        return True
    for node in model.subtree(loop.body):
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        test = node.test if isinstance(node, (cst.If, cst.While, cst.Assert, cst.IfExp)) else None
        if test is not None and (mentions_bound(model, test, counters) or _helper_counts(model, test)):
            return True
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "next":
            return True  # `sleep(next(delays))`: a finite schedule ends the loop
    return False


def _helper_counts(model: "Model", test: cst.CSTNode) -> bool:
    """`if error_retry(): continue` where the same-module helper checks a counter or deadline."""
    for node in model.subtree(test):
        if not isinstance(node, cst.Call):
            continue
        helper = model.called_function(node)
        if helper is None:
            continue
        for inner in model.walk(helper.node.body, into_functions=False):
            if isinstance(inner, (cst.If, cst.While)) and mentions_bound(model, inner.test):
                return True
    return False


_NORETURN = frozenset({"sys.exit", "exit", "quit", "os._exit", "os.abort", "pytest.fail", "pytest.skip"})


def terminates(model: "Model", node: cst.CSTNode) -> bool:
    """A `raise`, `return` or `break`, or a call that never returns (`sys.exit(1)`, `self.fail(...)`, `raise_error(...)`)."""
    if isinstance(node, (cst.Raise, cst.Return, cst.Break)):
        return True
    if isinstance(node, cst.Expr):
        node = node.value
    if isinstance(node, cst.Call):
        name = model.callee(node) or dotted_name(node.func) or ""
        last = name.rsplit(".", 1)[-1]
        return name in _NORETURN or last in ("fail", "die", "abort") or last.startswith("raise_")
    return False


def handler_goes_round(handler: Handler) -> bool:
    """The handler can fall through to the next attempt (no unconditional raise/return/break)."""
    for statement in handler.node.body.body:
        if isinstance(statement, cst.SimpleStatementLine) and any(
            isinstance(small, (cst.Raise, cst.Return, cst.Break)) for small in statement.body
        ):
            return False
    return True


def handler_filters(model: "Model", handler: Handler) -> bool:
    """The handler decides per error: an `if` that is not a counter check leads out of it,
    or leads round again (`if is_rate_limit(e): continue`) before an unconditional `raise`."""
    top_level_exit = any(
        isinstance(statement, cst.SimpleStatementLine) and any(terminates(model, small) for small in statement.body)
        for statement in handler.node.body.body
    )
    for node in model.subtree(handler.node.body):
        if (
            top_level_exit
            and isinstance(node, cst.If)
            and not mentions_bound(model, node.test)
            and any(isinstance(inner, cst.Continue) for inner in model.subtree(node.body))
        ):
            return True
        if isinstance(node, cst.If) and not mentions_bound(model, node.test):
            if any(terminates(model, inner) for inner in model.subtree(node) if inner is not node.test):
                return True
    return False


def exits_on_success(model: "Model", loop: cst.For | cst.While, requests: list[cst.Call]) -> bool:
    """A `return`/`break` after the request, outside any `except`: success leaves the loop.

    Tells a retry loop from a worker or polling loop, where success goes round too.
    """
    if not requests:
        return False
    inside = [call for call in requests if model.is_within(call, loop)]
    first = None
    for call in inside:
        if first is None or model.before(call, first):
            first = call
    for node in model.walk(loop.body, into_functions=False):
        if not isinstance(node, (cst.Return, cst.Break)):
            continue
        if first is not None and not (model.before(first, node) or model.is_within(first, node)):
            continue
        if isinstance(node, cst.Break) and model.enclosing(node, (cst.For, cst.While)) is not loop:
            continue
        handler = model.enclosing(node, cst.ExceptHandler)
        if handler is not None and model.is_within(handler, loop):
            continue
        return True
    return False
