"""Applying fixes to source text: the same code serves `--fix`, `--diff` and the editor.

Fixes are text edits computed by rules from libcst node positions. Applying
them is deliberately conservative: edits that overlap an earlier-chosen edit
wait for the next round, the result must still parse (otherwise the round's
fixes are dropped and reported), and rounds repeat until nothing changes, so
running `--fix` twice changes nothing the second time.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable

import libcst as cst

from errlint.linter.config import Settings
from errlint.linter.findings import (
    Applicability,
    Edit,
    FileResult,
    Finding,
    Fix,
    Position,
)
from errlint.linter.source import python_lines

MAX_ROUNDS = 10


@dataclass
class FixOutcome:
    source: str
    fixed: list[Finding] = field(default_factory=list)
    remaining: FileResult | None = None
    # Fixes whose result did not parse: (finding, reason); they are left unapplied.
    rejected: list[tuple[Finding, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.fixed)


def unified_diff(before: str, after: str, name: str) -> str:
    """What `--diff` prints for one file."""
    return "".join(
        difflib.unified_diff(
            python_lines(before, keepends=True),
            python_lines(after, keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )


def applicable(fix: Fix | None, unsafe: bool) -> bool:
    if fix is None or not fix.is_applicable_automatically:
        return False
    return fix.applicability is Applicability.SAFE or (unsafe and fix.applicability is Applicability.UNSAFE)


def apply_edits(source: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping edits (positions are 1-based lines, code-point columns)."""
    lines = python_lines(source, keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(position: Position) -> int:
        if position.line - 1 >= len(lines):
            return len(source)
        return offsets[position.line - 1] + position.column

    result = source
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        result = result[: offset(edit.start)] + edit.content + result[offset(edit.end) :]
    return result


def choose_non_overlapping(findings: Iterable[Finding], unsafe: bool) -> list[Finding]:
    """Fixable findings whose edits do not touch each other, in source order."""
    chosen: list[Finding] = []
    taken: list[tuple[Position, Position]] = []
    for finding in sorted(findings, key=lambda f: f.sort_key):
        if not applicable(finding.fix, unsafe):
            continue
        spans = [(edit.start, edit.end) for edit in finding.fix.edits]  # type: ignore[union-attr]
        if any(_overlaps(span, other) for span in spans for other in taken):
            continue
        chosen.append(finding)
        taken.extend(spans)
    return chosen


def _overlaps(a: tuple[Position, Position], b: tuple[Position, Position]) -> bool:
    # Touching insertions at the same point also conflict: their order would be arbitrary.
    return a[0] < b[1] and b[0] < a[1] or a[0] == b[0]


def fix_source(source: str, path: str, settings: Settings, unsafe: bool = False, rules=None) -> FixOutcome:
    """Lint, fix and re-lint until stable. Returns the fixed text and what remains."""
    # Every parse goes through the engine's big-stack parser thread: libcst on
    # the main thread's stack crashes the process on deep but valid code.
    from errlint.linter.engine import lint_source, parse_module

    outcome = FixOutcome(source)
    result = lint_source(source, path, settings, rules)
    for _ in range(MAX_ROUNDS):
        chosen = choose_non_overlapping(result.findings, unsafe)
        if not chosen:
            break
        candidate = apply_edits(outcome.source, [edit for f in chosen for edit in f.fix.edits])  # type: ignore[union-attr]
        if candidate == outcome.source:
            break
        try:
            parse_module(candidate)
        except cst.ParserSyntaxError as error:
            # Find the culprit by applying the fixes one at a time.
            candidate, good, bad = _apply_individually(outcome.source, chosen)
            outcome.rejected.extend((finding, f"the fixed code would not parse ({error.message})") for finding in bad)
            if not good:
                break
            chosen = good
        outcome.source = candidate
        outcome.fixed.extend(chosen)
        result = lint_source(outcome.source, path, settings, rules)
    outcome.remaining = result
    return outcome


def _apply_individually(source: str, findings: list[Finding]) -> tuple[str, list[Finding], list[Finding]]:
    from errlint.linter.engine import parse_module

    good: list[Finding] = []
    bad: list[Finding] = []
    for finding in findings:
        trial = apply_edits(source, [edit for f in [*good, finding] for edit in f.fix.edits])  # type: ignore[union-attr]
        try:
            parse_module(trial)
        except cst.ParserSyntaxError:
            bad.append(finding)
        else:
            good.append(finding)
    return apply_edits(source, [edit for f in good for edit in f.fix.edits]), good, bad  # type: ignore[union-attr]
