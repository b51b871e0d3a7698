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
    SUGGESTION = "suggestion only"  # shown with the finding, never applied by --fix
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
    # Why a file was not analysed when that is errlint's limit, not the file's
    # fault (valid Python its parser cannot read): shown, not a failure.
    notice: str | None = None
    # A digest of the exact bytes that were linted: the result cache's key.
    content_digest: str | None = field(default=None, compare=False)


# The result cache stores results as JSON, never as pickles (a planted pickle
# runs code). Reading is strict: anything unexpected raises ValueError, so a
# damaged entry is a cache miss, never a wrong result.


def result_to_json(result: FileResult) -> dict:
    return {
        "path": result.path,
        "error": result.error,
        "notice": result.notice,
        "findings": [_finding_to_json(finding) for finding in result.findings],
    }


def result_from_json(data: object) -> FileResult:
    data = _expect(data, dict)
    error, notice = data["error"], data["notice"]
    for text in (error, notice):
        if text is not None:
            _expect(text, str)
    return FileResult(
        _expect(data["path"], str),
        tuple(_finding_from_json(item) for item in _expect(data["findings"], list)),
        error=error,
        notice=notice,
    )


def _finding_to_json(finding: Finding) -> list:
    fix = finding.fix
    return [
        finding.code,
        finding.message,
        finding.path,
        [*_position_to_json(finding.start), *_position_to_json(finding.end)],
        None
        if fix is None
        else [
            fix.title,
            fix.applicability.value,
            [[*_position_to_json(e.start), *_position_to_json(e.end), e.content] for e in fix.edits],
        ],
    ]


def _finding_from_json(data: object) -> Finding:
    code, message, path, span, fix = _expect(data, list, 5)
    start_line, start_column, end_line, end_column = _expect(span, list, 4)
    decoded_fix = None
    if fix is not None:
        title, applicability, edits = _expect(fix, list, 3)
        decoded_fix = Fix(
            _expect(title, str),
            Applicability(applicability),
            tuple(_edit_from_json(edit) for edit in _expect(edits, list)),
        )
    return Finding(
        _expect(code, str),
        _expect(message, str),
        _expect(path, str),
        _position(start_line, start_column),
        _position(end_line, end_column),
        decoded_fix,
    )


def _edit_from_json(data: object) -> Edit:
    start_line, start_column, end_line, end_column, content = _expect(data, list, 5)
    return Edit(_position(start_line, start_column), _position(end_line, end_column), _expect(content, str))


def _position_to_json(position: Position) -> tuple[int, int]:
    return position.line, position.column


def _position(line: object, column: object) -> Position:
    return Position(_natural(line), _natural(column))


def _natural(value: object) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"expected a natural number, got {value!r}")
    return value


def _expect(value, kind: type, length: int | None = None):
    if type(value) is not kind or (length is not None and len(value) != length):
        raise ValueError(f"expected {kind.__name__}, got {value!r:.40}")
    return value
