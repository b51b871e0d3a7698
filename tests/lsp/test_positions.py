"""Position conversion and edit trimming, checked against Python's own codecs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types

from errlint.linter.findings import Position
from errlint.lsp.diagnostics import trim
from errlint.lsp.positions import (
    UTF8,
    UTF16,
    UTF32,
    LineIndex,
    code_units,
    column_from_units,
)

ENCODINGS = [UTF8, UTF16, UTF32]
LINE = 'x = "é😀ü"; y = 1'


def _units(text: str, encoding: str) -> int:
    return {
        UTF8: lambda: len(text.encode("utf-8")),
        UTF16: lambda: len(text.encode("utf-16-le")) // 2,
        UTF32: lambda: len(text),
    }[encoding]()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_column_round_trip_on_a_non_ascii_line(encoding):
    for column in range(len(LINE) + 1):
        units = code_units(LINE[:column], encoding)
        assert units == _units(LINE[:column], encoding)
        assert column_from_units(LINE, units, encoding) == column


def test_known_offsets_of_a_closing_quote():
    # The closing quote of x="😀" is at 7 (UTF-8), 5 (UTF-16), 4 (UTF-32).
    line = 'x="😀"'
    assert [code_units(line[:4], e) for e in ENCODINGS] == [7, 5, 4]


def test_positions_inside_a_character_move_to_its_start():
    assert column_from_units("😀x", 1, UTF16) == 0
    assert column_from_units("é", 1, UTF8) == 0
    assert column_from_units("abc", 99, UTF16) == 3


def test_line_breaks_are_lsp_line_breaks_only():
    text = "a\r\nb\rc\nd\u2028e\x0cf"
    index = LineIndex(text)
    assert index.line_count == 4
    assert [index.line(n) for n in range(4)] == ["a", "b", "c", "d\u2028e\x0cf"]
    assert index.line_break(0) == "\r\n"
    # An offset between \r and \n is the end of that line.
    assert index.line_column(2) == (0, 1)


def test_positions_past_the_end_are_clamped():
    index = LineIndex("ab\ncd")
    assert index.from_lsp(types.Position(line=0, character=50), UTF16) == 2
    assert index.from_lsp(types.Position(line=9, character=0), UTF16) == 5
    assert index.engine_offset(Position(9, 0)) == 5
    assert index.to_lsp(5, UTF16) == types.Position(line=1, character=2)


_texts = st.lists(
    st.sampled_from(["a", " ", "é", "😀", "\u2028", "\n", "\r\n", "\r", "中", "\t", "#"]), max_size=40
).map("".join)


@given(_texts, st.data())
def test_offsets_round_trip_through_every_encoding(text, data):
    index = LineIndex(text)
    offset = data.draw(st.integers(0, len(text)))
    if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n":
        offset -= 1  # not addressable in LSP
    lines = re.split(r"\r\n|\r|\n", text)
    for encoding in ENCODINGS:
        position = index.to_lsp(offset, encoding)
        line_text = lines[position.line]
        line, column = index.line_column(offset)
        assert position.character == _units(line_text[:column], encoding)
        assert index.from_lsp(position, encoding) == offset


@pytest.mark.parametrize(
    ("text", "start", "end", "content", "expected"),
    [
        # One line: the rule's own boundaries are kept.
        ("x = [401, 429]\n", 4, 14, "[429]", (4, 14, "[429]")),
        # Unchanged whole lines at both ends are trimmed away.
        ("a(\n  b=1,\n  c=2,\n)\n", 0, 19, "a(\n  b=1,\n  d=2,\n)\n", (10, 16, "  d=2,")),
        # CRLF pairs are never split.
        ("a\r\nb\r\n", 0, 6, "a\r\nc\r\n", (3, 4, "c")),
    ],
)
def test_trim_keeps_edits_to_the_lines_that_change(text, start, end, content, expected):
    assert trim(text, start, end, content) == expected
    new_start, new_end, new_content = expected
    assert text[:new_start] + new_content + text[new_end:] == text[:start] + content + text[end:]


@given(_texts, _texts, st.data())
def test_trim_never_changes_the_result(text, content, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    new_start, new_end, new_content = trim(text, start, end, content)
    assert start <= new_start <= new_end <= end
    assert text[:new_start] + new_content + text[new_end:] == text[:start] + content + text[end:]
