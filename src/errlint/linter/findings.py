"""The values that flow out of the linter: findings, fixes and per-file results.

Everything here is a frozen dataclass so results can cross process boundaries
(parallel linting, the result cache) and be compared in tests.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class FixAvailability(enum.Enum):
    """Whether a rule can offer a fix: declared per rule, shown in `errlint rule`."""

    ALWAYS = "always"
    SOMETIMES = "sometimes"
    NONE = "none"


class Applicability(enum.Enum):
    """How much a fix can be trusted.

    SAFE fixes keep behaviour and are applied by `--fix`; UNSAFE fixes change
    behaviour on purpose and need `--unsafe-fixes`; DISPLAY fixes are
    suggestions that are shown but never applied.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY = "display-only"


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based line and 0-based column counted in Unicode code points."""

    line: int
    column: int


@dataclass(frozen=True)
class Edit:
    """Replace the text between two positions (end exclusive) with `content`."""

    start: Position
    end: Position
    content: str


@dataclass(frozen=True)
class Fix:
    title: str
    applicability: Applicability
    edits: tuple[Edit, ...] = ()

    @property
    def is_applicable_automatically(self) -> bool:
        return self.applicability is not Applicability.DISPLAY and bool(self.edits)


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    path: str
    start: Position
    end: Position
    fix: Fix | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.path, self.start, self.code, self.message)


@dataclass(frozen=True)
class FileResult:
    """What linting one file produced.

    `error` is a one-line, user-facing reason the file could not be linted
    (unreadable, not text, too deeply nested...). Syntax errors are not errors
    here: they are ERR900 findings, so they show up like any other finding.
    """

    path: str
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    # Filled in by fix runs: how many findings were fixed, the unified diff,
    # and fixes dropped because their result would not parse.
    fixed_count: int = 0
    diff: str | None = field(default=None, compare=False)
    rejected_fixes: tuple[str, ...] = ()
