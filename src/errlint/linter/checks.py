"""What happens to one response: is its status checked, is its body parsed.

Rules that ask "could an error response reach this point unnoticed?"
(ERR302 body-before-status-check, ERR305 download-without-status-check) share
`unchecked_at`: a response is checked when its library or client raises on
error statuses (`urlopen`, an aiohttp `raise_for_status=True` session or
request, a requests `hooks=`/httpx `event_hooks=` client), or when, earlier in
the same function, the code calls `raise_for_status()`, reads the status
(`.status_code`, `.status`, `.ok`, `.is_success`...) outside a log call, or
hands the response to a helper. Being generous about what counts as a check is
deliberate: a missed finding is cheaper than one on correct code.

Also here: which expressions parse a response body (`r.json()`,
`await resp.json()`, `json.loads(r.text)`) and the order of two nodes.
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING

import libcst as cst

from errlint.linter.model import (
    HttpCall,
    child_nodes,
    dotted_name,
    keyword_value,
    positional_args,
    strip_await,
)

if TYPE_CHECKING:
    from errlint.linter.model import Model

# Response attributes whose reading counts as looking at the status.
STATUS_READS = frozenset(
    {
        "status_code", "status", "ok", "is_success", "is_error", "is_client_error",
        "is_server_error", "raise_for_status", "getcode", "code",
    }
)
# Calls whose arguments are only shown, never judged: reading the status there is not a check.
_DISPLAY_CALLS = re.compile(r"^(print|debug|info|warning|warn|error|exception|critical|log|echo|write|secho)$")
# Calls that receive a response without checking it.
_NON_CHECKING_CALLS = frozenset({"print", "len", "str", "repr", "type", "id", "isinstance", "vars", "dir", "bool"})
_JSON_LOADS = frozenset({"json.loads", "json.load", "orjson.loads", "ujson.loads", "simplejson.loads", "ujson.load"})
_BODY_ATTRS = frozenset({"text", "content", "data"})
_BODY_METHODS = frozenset({"text", "read", "aread"})

_check_index: "weakref.WeakKeyDictionary[Model, dict[tuple[cst.CSTNode | None, str], list[cst.CSTNode]]]" = (
    weakref.WeakKeyDictionary()
)


# --- responses -----------------------------------------------------------------


def response_of(model: "Model", expr: cst.BaseExpression) -> tuple[HttpCall, str | None] | None:
    """The HTTP call whose response `expr` is, and the name it is bound to (None for the call itself)."""
    expr = strip_await(expr)
    http = model.response_call(expr)
    if http is None:
        return None
    return http, (None if isinstance(expr, cst.Call) else dotted_name(expr))


def parsed_response(model: "Model", expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """The response expression whose body `expr` parses: `r.json()`, `await resp.json()`, `json.loads(r.text)`."""
    expr = strip_await(expr)
    if not isinstance(expr, cst.Call):
        return None
    func = expr.func
    if isinstance(func, cst.Attribute) and func.attr.value == "json":
        return strip_await(func.value)
    if model.callee(expr) in _JSON_LOADS:
        args = positional_args(expr)
        if not args:
            return None
        source = strip_await(args[0])
        if isinstance(source, cst.Attribute) and source.attr.value in _BODY_ATTRS:
            return strip_await(source.value)
        if (
            isinstance(source, cst.Call)
            and isinstance(source.func, cst.Attribute)
            and source.func.attr.value in _BODY_METHODS
            and not source.args
        ):
            return strip_await(source.func.value)
    return None


def body_parse(model: "Model", expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """The parse call `expr` is, or the single parse a local name `expr` is bound to."""
    if parsed_response(model, expr) is not None:
        return strip_await(expr)
    if isinstance(expr, cst.Name):
        values = model.assigned_values(expr)
        if len(values) == 1 and model.enclosing_function(values[0]) is model.enclosing_function(expr):
            if parsed_response(model, values[0]) is not None:
                return strip_await(values[0])
    return None


def certain_library(model: "Model", http: HttpCall) -> str | None:
    """The library of a call when it is known, not guessed from a receiver's name."""
    if http.receiver is None:
        return http.library
    func = http.node.func
    if isinstance(func, cst.Attribute) and model.client_for(func.value) is not None:
        return http.library
    return None


# --- status checks -------------------------------------------------------------


def raises_on_error_status(model: "Model", http: HttpCall) -> bool | None:
    """Whether a 4xx/5xx from this call raises without the caller checking: True, False, or None when unknowable."""
    if http.library == "urllib.request":
        return True
    if _raising_keywords(model, http.node):
        return True
    if http.receiver is None:
        return False if http.library in ("requests", "httpx", "urllib3", "aiohttp") else None
    func = http.node.func
    client = model.client_for(func.value) if isinstance(func, cst.Attribute) else None
    if _module_configures_hooks(model):
        return True
    if client is None:
        return None  # a receiver guessed from its name: its setup is elsewhere
    if model.parent(client.constructor) is None:
        # A parameter annotated with a client class: configured by the caller.
        # aiohttp sessions are often created with `raise_for_status=True`.
        return None if client.library in ("aiohttp", "aiohttp_retry") else False
    return _raising_keywords(model, client.constructor)


def _raising_keywords(model: "Model", call: cst.Call) -> bool:
    raising = keyword_value(call, "raise_for_status")
    if raising is not None and model.const_value(raising) not in (False, None):
        return True
    return keyword_value(call, "hooks") is not None or keyword_value(call, "event_hooks") is not None


def _module_configures_hooks(model: "Model") -> bool:
    return model.cached(
        "configures hooks",
        model.module,
        lambda: any(attribute.attr.value in ("hooks", "event_hooks") for attribute in model.attributes),
    )


def status_checked_before(model: "Model", name: str, node: cst.CSTNode) -> bool:
    """Something looks at the status of the response bound to `name` before `node`, in its function."""
    function = model.enclosing_function(node)
    for check in _checks(model).get((function, name), ()):
        if precedes(model, check, node) or _guards_conditional(model, check, node):
            return True
    return False


def unchecked_at(model: "Model", http: HttpCall, name: str | None, node: cst.CSTNode) -> bool:
    """An error response from `http` can reach `node` with nothing having noticed its status."""
    if raises_on_error_status(model, http) is not False:
        return False
    return name is None or not status_checked_before(model, name, node)


def _checks(model: "Model") -> dict[tuple[cst.CSTNode | None, str], list[cst.CSTNode]]:
    index = _check_index.get(model)
    if index is not None:
        return index
    index = {}
    for attribute in model.attributes:
        if attribute.attr.value not in STATUS_READS:
            continue
        name = dotted_name(attribute.value)
        if name and not _only_displayed(model, attribute):
            index.setdefault((_scope(model, attribute), name), []).append(attribute)
    for call in model.calls:
        callee = dotted_name(call.func) or ""
        last = callee.rsplit(".", 1)[-1]
        if last in _NON_CHECKING_CALLS or _DISPLAY_CALLS.match(last) or model.callee(call) in _JSON_LOADS:
            continue
        for arg in call.args:
            name = dotted_name(arg.value)
            if name:
                index.setdefault((_scope(model, call), name), []).append(call)
    _check_index[model] = index
    return index


def _scope(model: "Model", node: cst.CSTNode) -> cst.CSTNode | None:
    """The function a node runs in; lambdas and nested classes count as their own scope."""
    return model.enclosing(node, (cst.FunctionDef, cst.Lambda))


def _only_displayed(model: "Model", node: cst.CSTNode) -> bool:
    """`node` is an argument of a print/log call or part of an f-string."""
    for ancestor in model.ancestors(node):
        if isinstance(ancestor, cst.FormattedString):
            return True
        if isinstance(ancestor, cst.Call):
            name = (dotted_name(ancestor.func) or "").rsplit(".", 1)[-1]
            return bool(_DISPLAY_CALLS.match(name))
        if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            return False
    return False


def _guards_conditional(model: "Model", check: cst.CSTNode, node: cst.CSTNode) -> bool:
    """`x if <check> else y` evaluates the check before `x`, though it is written after."""
    for ancestor in model.ancestors(node):
        if isinstance(ancestor, cst.IfExp) and model.is_within(check, ancestor.test):
            return True
        if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            return False
    return False


# --- order --------------------------------------------------------------------------


def precedes(model: "Model", first: cst.CSTNode, second: cst.CSTNode) -> bool:
    """`first` is written before `second` and does not contain it."""
    chain_a = [first, *model.ancestors(first)][::-1]
    chain_b = [second, *model.ancestors(second)][::-1]
    depth = 0
    while depth < min(len(chain_a), len(chain_b)) and chain_a[depth] is chain_b[depth]:
        depth += 1
    if depth == 0 or depth >= len(chain_a) or depth >= len(chain_b):
        return False
    children = child_nodes(chain_a[depth - 1])
    index_a = next((i for i, child in enumerate(children) if child is chain_a[depth]), -1)
    index_b = next((i for i, child in enumerate(children) if child is chain_b[depth]), -1)
    return 0 <= index_a < index_b
