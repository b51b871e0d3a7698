"""`# errlint: ignore[ERR101, ERR102]` and `# noqa: ERR101` comments.

A comment silences matching findings on its line; a comment alone on a line
also covers the line below it. For a statement spanning several lines, a
comment on any of its lines counts. A bare `# errlint: ignore` without codes is refused with a finding,
because silencing everything hides the next real problem too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from errlint.linter.source import python_lines

_ERRLINT = re.compile(r"#\s*errlint\s*:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.I)
_NOQA = re.compile(r"#\s*noqa\s*:\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)", re.I)
_CODE = re.compile(r"^[A-Z]+[0-9]*$")


@dataclass
class Suppression:
    line: int
    column: int
    end_column: int
    codes: tuple[str, ...]
    kind: str  # "errlint" or "noqa"
    own_line: bool = False  # a comment alone on its line also covers the next line
    used: set[str] = field(default_factory=set)

    def covers(self, lines: range) -> bool:
        return self.line in lines or (self.own_line and self.line + 1 in lines)

    @property
    def bare(self) -> bool:
        return not self.codes


def parse_suppressions(source: str) -> list[Suppression]:
    """Suppression comments with their 1-based line, found without parsing Python."""
    lowered = source.lower()
    if "errlint" not in lowered and "noqa" not in lowered:
        return []
    found: list[Suppression] = []
    for number, line in enumerate(python_lines(source), start=1):
        if "#" not in line:
            continue
        comment_start = _comment_start(line)
        if comment_start is None:
            continue
        comment = line[comment_start:]
        own_line = not line[:comment_start].strip()
        for match in _ERRLINT.finditer(comment):
            raw = match.group("codes")
            codes = tuple(code.strip().upper() for code in raw.split(",") if code.strip()) if raw else ()
            found.append(
                Suppression(number, comment_start + match.start(), comment_start + match.end(), codes, "errlint", own_line)
            )
        for match in _NOQA.finditer(comment):
            codes = tuple(code.strip().upper() for code in match.group("codes").split(","))
            codes = tuple(code for code in codes if code.startswith("ERR"))
            if codes:
                found.append(
                    Suppression(number, comment_start + match.start(), comment_start + match.end(), codes, "noqa", own_line)
                )
    return found


def _comment_start(line: str) -> int | None:
    """Index of the `#` that starts a comment, skipping `#` inside string literals."""
    quote: str | None = None
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if line.startswith(quote, index):
                index += len(quote)
                quote = None
                continue
        elif char in "'\"":
            quote = line[index : index + 3] if line[index : index + 3] in ('"""', "'''") else char
            index += len(quote)
            continue
        elif char == "#":
            return index
        index += 1
    return None


def is_suppressed(suppressions: list[Suppression], code: str, lines: range) -> bool:
    """Is `code` silenced by a comment on one of the statement's `lines` or alone on the line above?"""
    for suppression in suppressions:
        if suppression.covers(lines) and not suppression.bare:
            for listed in suppression.codes:
                if code.startswith(listed):
                    suppression.used.add(listed)
                    return True
    return False
