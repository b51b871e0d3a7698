"""Which HTTP statuses make a condition true.

`status_condition(model, expr)` evaluates a condition such as
`r.status_code >= 500 and r.status_code != 501` or `not resp.ok` for every
status from 100 to 599 with three-valued logic: a status is *certain* when
the condition holds on the status alone, *possible* when it also depends on
something else (a machine code, a flag), so rules can tell "retries every
4xx" from "retries a 403 only when the code says rate limit".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from errlint.linter.model import UNKNOWN, dotted_name, strip_await, walk_nodes

if TYPE_CHECKING:
    from errlint.linter.model import Model

ALL_STATUSES = frozenset(range(100, 600))
SUCCESS = frozenset(range(200, 300))

_STATUS_ATTRS = frozenset({"status_code", "status", "code", "status_int", "http_status"})
_STATUS_NAMES = re.compile(r"^(status(_code)?|code|http_status|resp_status|response_status|sc)$", re.I)
# `.ok`-style response properties and the statuses for which each is true.
_PROPERTIES = {
    "ok": frozenset(range(100, 400)),
    "is_success": SUCCESS,
    "is_error": frozenset(range(400, 600)),
    "is_client_error": frozenset(range(400, 500)),
    "is_server_error": frozenset(range(500, 600)),
    "is_redirect": frozenset(range(300, 400)),
}
_RESPONSE_NAMES = re.compile(r"^(r|res|resp|response|rsp|reply|result|.*_resp(onse)?|resp(onse)?_.*)$", re.I)


@dataclass(frozen=True)
class StatusCondition:
    certain: frozenset[int]
    possible: frozenset[int]

    @property
    def any(self) -> frozenset[int]:
        return self.certain | self.possible


def status_condition(model: "Model", expr: cst.BaseExpression) -> StatusCondition | None:
    """The statuses for which `expr` holds, or None when it does not look at a status."""
    return _cached(model, expr, _Evaluator)


def _cached(model: "Model", expr: cst.BaseExpression, kind: type["_Evaluator"]) -> StatusCondition | None:
    # Several rules ask about the same conditions; answers are kept per model.
    cache = model.__dict__.setdefault("_status_conditions", {})
    key = (id(expr), kind)
    if key not in cache:
        cache[key] = _evaluate(kind(model), expr)
    return cache[key]


def _evaluate(evaluator: "_Evaluator", expr: cst.BaseExpression) -> StatusCondition | None:
    """Evaluate once per interval between the condition's breakpoints, not once per status.

    A condition's truth can only change at the numbers it mentions (and the
    century boundaries `.ok`-style properties and `// 100` use), so every
    status in an interval between two breakpoints gets the same answer.
    """
    if not evaluator.mentions_status(expr):
        return None
    points = sorted({100, 600} | {p for p in evaluator.breakpoints(expr) if 100 < p < 600})
    certain: set[int] = set()
    possible: set[int] = set()
    for start, stop in zip(points, points[1:]):
        value = evaluator.truth(expr, start)
        if value is True:
            certain.update(range(start, stop))
        elif value is None:
            possible.update(range(start, stop))
    return StatusCondition(frozenset(certain), frozenset(possible))


def is_status_expression(model: "Model", expr: cst.BaseExpression) -> bool:
    return _Evaluator(model).status_operand(expr)


def describe(statuses: frozenset[int] | set[int], limit: int = 6) -> str:
    """Statuses as message text: `401 and 404`, `500-599`, `every 4xx except 408, 425 and 429`."""
    ordered = sorted(statuses)
    if not ordered:
        return "no status"
    parts: list[str] = []
    for century in range(100, 600, 100):
        block = [status for status in ordered if century <= status < century + 100]
        if len(block) > 50 and len(block) < 100:
            missing = [status for status in range(century, century + 100) if status not in block]
            parts.append(f"every {century // 100}xx except {_join([str(s) for s in missing])}")
        elif block:
            parts.extend(_runs(block))
    # Numbers that are no HTTP status (a typo such as 4290) are still named.
    parts.extend(str(status) for status in ordered if not 100 <= status < 600)
    if not parts:
        return "no status"
    if len(parts) > limit:
        parts = parts[:limit] + ["more"]
    return _join(parts)


def _runs(ordered: list[int]) -> list[str]:
    runs: list[tuple[int, int]] = []
    for status in ordered:
        if runs and status == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], status)
        else:
            runs.append((status, status))
    parts: list[str] = []
    for first, last in runs:
        if first == last:
            parts.append(str(first))
        elif last == first + 1:
            parts.extend([str(first), str(last)])
        else:
            parts.append(f"{first}-{last}")
    return parts


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


class _Evaluator:
    def __init__(self, model: "Model") -> None:
        self.model = model

    def status_operand(self, expr: cst.BaseExpression) -> bool:
        expr = strip_await(expr)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "int" and expr.args:
            return self.status_operand(expr.args[0].value)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.FloorDivide):
            return self.status_operand(expr.left)
        if isinstance(expr, cst.Attribute):
            return expr.attr.value in _STATUS_ATTRS
        if isinstance(expr, cst.Name):
            if _STATUS_NAMES.match(expr.value):
                return True
            resolved = self.model.resolve(expr)
            return resolved is not expr and isinstance(resolved, cst.Attribute) and resolved.attr.value in _STATUS_ATTRS
        # Body fields such as `data["code"]` are machine codes, not HTTP statuses.
        return False

    def property_set(self, expr: cst.BaseExpression) -> frozenset[int] | None:
        if isinstance(expr, cst.Attribute) and expr.attr.value in _PROPERTIES:
            receiver = dotted_name(expr.value) or ""
            last = receiver.rsplit(".", 1)[-1]
            if self.model.response_call(expr.value) is not None or _RESPONSE_NAMES.match(last):
                return _PROPERTIES[expr.attr.value]
        return None

    def mentions_status(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Comparison):
            operands = [expr.left, *(target.comparator for target in expr.comparisons)]
            return any(self.status_operand(operand) for operand in operands) and any(
                self._status_values(operand) is not None for operand in operands
            )
        if isinstance(expr, cst.BooleanOperation):
            return self.mentions_status(expr.left) or self.mentions_status(expr.right)
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
            return self.mentions_status(expr.expression)
        return self.property_set(expr) is not None

    def breakpoints(self, expr: cst.BaseExpression) -> set[int]:
        """Statuses where the truth of `expr` may change."""
        points = {200, 300, 400, 500}  # where `.ok`, `is_success`, `is_error`... change
        for node in walk_nodes(expr):
            if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.FloorDivide):
                divisor = self.model.const_value(node.right)
                if isinstance(divisor, int) and 0 < divisor <= 600:
                    points.update(range(0, 601, divisor))
            if not isinstance(node, cst.Comparison):
                continue
            for operand in (node.left, *(target.comparator for target in node.comparisons)):
                value = self._status_values(operand)
                if isinstance(value, int):
                    points.update((value, value + 1))
                elif isinstance(value, range) and value.step == 1:
                    points.update((value.start, value.stop))
                elif value is not None:
                    for item in value:  # type: ignore[union-attr]
                        points.update((item, item + 1))
        return points

    def _status_values(self, expr: cst.BaseExpression) -> object | None:
        value = self.model.const_value(expr)
        if isinstance(value, bool):
            return None
        if isinstance(value, int) and 1 <= value <= 999:
            return value
        if isinstance(value, (tuple, frozenset, set, range, list)) and value and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            return value
        return None

    def truth(self, expr: cst.BaseExpression, status: int) -> bool | None:
        if isinstance(expr, cst.BooleanOperation):
            left = self.truth(expr.left, status)
            if isinstance(expr.operator, cst.And):
                if left is False:
                    return False
                right = self.truth(expr.right, status)
                if right is False:
                    return False
                return True if left is True and right is True else None
            if left is True:
                return True
            right = self.truth(expr.right, status)
            if right is True:
                return True
            return False if left is False and right is False else None
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
            inner = self.truth(expr.expression, status)
            return None if inner is None else not inner
        if isinstance(expr, cst.Comparison):
            return self._compare(expr, status)
        properties = self.property_set(expr)
        if properties is not None:
            return status in properties
        return None

    def _operand(self, expr: cst.BaseExpression, status: int) -> object:
        expr = strip_await(expr)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.FloorDivide):
            divisor = self.model.const_value(expr.right)
            if self.status_operand(expr.left) and isinstance(divisor, int) and divisor:
                return status // divisor
        if self.status_operand(expr):
            return status
        value = self._status_values(expr)
        return UNKNOWN if value is None else value

    def _compare(self, expr: cst.Comparison, status: int) -> bool | None:
        left = self._operand(expr.left, status)
        result: bool | None = True
        for target in expr.comparisons:
            right = self._operand(target.comparator, status)
            outcome = _apply(target.operator, left, right)
            if outcome is False:
                return False
            if outcome is None:
                result = None
            left = right
        return result


def _apply(operator: cst.BaseCompOp, left: object, right: object) -> bool | None:
    if left is UNKNOWN or right is UNKNOWN:
        return None
    try:
        if isinstance(operator, cst.Equal):
            return left == right
        if isinstance(operator, cst.NotEqual):
            return left != right
        if isinstance(operator, cst.LessThan):
            return left < right  # type: ignore[operator]
        if isinstance(operator, cst.LessThanEqual):
            return left <= right  # type: ignore[operator]
        if isinstance(operator, cst.GreaterThan):
            return left > right  # type: ignore[operator]
        if isinstance(operator, cst.GreaterThanEqual):
            return left >= right  # type: ignore[operator]
        if isinstance(operator, cst.In):
            return left in right  # type: ignore[operator]
        if isinstance(operator, cst.NotIn):
            return left not in right  # type: ignore[operator]
    except TypeError:
        return None
    return None



def status_condition_past_guards(model: "Model", expr: cst.BaseExpression) -> StatusCondition | None:
    """`status_condition` with type guards taken as true.

    In `isinstance(e, httpx.HTTPStatusError) and e.response.status_code >= 500`
    the guard only makes the status readable, so 500-599 are *certain*, not
    "only when something else holds". Guards: `isinstance(...)`,
    `hasattr(...)`, `x is not None`.
    """
    return _cached(model, expr, _PastGuards)


class _PastGuards(_Evaluator):
    def truth(self, expr: cst.BaseExpression, status: int) -> bool | None:
        if _is_type_guard(expr) or self._is_budget(expr):
            return True
        return super().truth(expr, status)

    def _is_budget(self, expr: cst.BaseExpression) -> bool:
        """A retry budget test (`retries`, `attempt < max_attempts`) that never looks at the status."""
        if isinstance(expr, cst.Name):
            return bool(_BUDGET.search(expr.value))
        if isinstance(expr, cst.Comparison):
            operands = [expr.left, *(target.comparator for target in expr.comparisons)]
            if any(self.status_operand(operand) for operand in operands):
                return False
            names = [dotted_name(operand) for operand in operands]
            return any(name and _BUDGET.search(name.rsplit(".", 1)[-1]) for name in names)
        return False


_BUDGET = re.compile(r"attempt|retr|tries|remaining|budget|deadline", re.I)


def _is_type_guard(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name):
        return expr.func.value in ("isinstance", "hasattr")
    if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
        target = expr.comparisons[0]
        return (
            isinstance(target.operator, cst.IsNot)
            and isinstance(target.comparator, cst.Name)
            and target.comparator.value == "None"
        )
    return False
