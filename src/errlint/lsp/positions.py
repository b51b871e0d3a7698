"""Converting between the engine's positions and LSP positions.

The engine counts lines from 1 and columns in Unicode code points. LSP counts
both from 0, and counts columns in the code units of the position encoding
agreed at initialisation (UTF-16 unless the client offers another in
`general.positionEncodings`). Lines end at `\\n`, `\\r\\n` or `\\r` only, as in
LSP and in Python's tokenizer (never at form feeds or U+2028, which
`str.splitlines` would split on).
"""

from __future__ import annotations

import bisect
import re
from typing import Iterable

from lsprotocol import types

from errlint.linter.findings import Position

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"
ENCODINGS = (UTF8, UTF16, UTF32)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def negotiate_encoding(offered: Iterable[str] | None) -> str:
    """The encoding to use: the first one the client offers that we know, else UTF-16."""
    for encoding in offered or ():
        if str(encoding) in ENCODINGS:
            return str(encoding)
    return UTF16


def code_units(text: str, encoding: str) -> int:
    """Length of `text` in code units of `encoding`."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def column_from_units(line: str, units: int, encoding: str) -> int:
    """The code-point column for `units` code units into `line` (clamped to the line).

    A position that falls inside a character (half of a surrogate pair, or in
    the middle of a UTF-8 sequence) moves to the start of that character.
    """
    if units <= 0:
        return 0
    if encoding == UTF32 or line.isascii():
        return min(units, len(line))
    counted = 0
    for index, char in enumerate(line):
        width = _width(char, encoding)
        if counted + width > units:
            return index
        counted += width
    return len(line)


def _width(char: str, encoding: str) -> int:
    code = ord(char)
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    if encoding == UTF16:
        return 2 if code > 0xFFFF else 1
    return 1


class LineIndex:
    """Line starts of one text, for turning positions into offsets and back."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0, *(match.end() for match in _LINE_BREAK.finditer(text))]
        # End of each line's content (before its line break).
        self._ends = [match.start() for match in _LINE_BREAK.finditer(text)] + [len(text)]

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line(self, number: int) -> str:
        """The text of 0-based line `number`, without its line break ('' past the end)."""
        if not 0 <= number < len(self._starts):
            return ""
        return self.text[self._starts[number] : self._ends[number]]

    def line_start(self, number: int) -> int:
        number = max(0, min(number, len(self._starts) - 1))
        return self._starts[number]

    def line_end(self, number: int) -> int:
        """Offset of the end of line `number`'s content (where its line break starts)."""
        number = max(0, min(number, len(self._ends) - 1))
        return self._ends[number]

    def line_break(self, number: int) -> str:
        if not 0 <= number < len(self._starts) - 1:
            return ""
        return self.text[self._ends[number] : self._starts[number + 1]]

    # --- code points ---------------------------------------------------------

    def offset(self, line: int, column: int) -> int:
        """Offset of a 0-based line and code-point column, clamped into the text."""
        if line < 0:
            return 0
        if line >= len(self._starts):
            return len(self.text)
        start = self._starts[line]
        return start + max(0, min(column, self._ends[line] - start))

    def line_column(self, offset: int) -> tuple[int, int]:
        """0-based line and code-point column of an offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._starts, offset) - 1
        # An offset between '\r' and '\n' belongs to the end of the line.
        return line, min(offset, self._ends[line]) - self._starts[line]

    # --- engine positions ----------------------------------------------------

    def engine_offset(self, position: Position) -> int:
        return self.offset(position.line - 1, position.column)

    def engine_position(self, offset: int) -> Position:
        line, column = self.line_column(offset)
        return Position(line + 1, column)

    # --- LSP positions -------------------------------------------------------

    def to_lsp(self, offset: int, encoding: str) -> types.Position:
        line, column = self.line_column(offset)
        return types.Position(line=line, character=code_units(self.line(line)[:column], encoding))

    def from_lsp(self, position: types.Position, encoding: str) -> int:
        """Offset of an LSP position; past the end of a line means its end, past the last line the text's end."""
        if position.line < 0:
            return 0
        if position.line >= len(self._starts):
            return len(self.text)
        column = column_from_units(self.line(position.line), position.character, encoding)
        return self._starts[position.line] + column

    def lsp_range(self, start: int, end: int, encoding: str) -> types.Range:
        return types.Range(start=self.to_lsp(start, encoding), end=self.to_lsp(end, encoding))

    def engine_range_to_lsp(self, start: Position, end: Position, encoding: str) -> types.Range:
        return self.lsp_range(self.engine_offset(start), self.engine_offset(end), encoding)

    def range_offsets(self, range_: types.Range, encoding: str) -> tuple[int, int]:
        start = self.from_lsp(range_.start, encoding)
        end = self.from_lsp(range_.end, encoding)
        return (start, end) if start <= end else (end, start)
