"""Re-parsing an edited document without re-parsing all of it.

An editor re-lints a file on every keystroke, and parsing with libcst is the
largest single cost of a lint (about 100 ms for 1,000 lines). A keystroke
changes one top-level statement, so `ReusingParser` cuts the text into
top-level *chunks* and parses only the chunks whose text it has not seen in
the previous version; the others keep their libcst nodes. libcst nodes are
immutable, so a tree assembled from old and new statements is as good as a
fresh one, and what was derived from a statement alone (its walk in the
model, its generated positions: `NodeMemo`) stays valid while it is reused.

* `ast` (C speed) finds where each top-level statement ends. A chunk runs
  from the end of the previous statement to the end of its own, so the
  comments and blank lines above a statement belong to it. Indented comment
  lines after a block stay with the block, as libcst puts them in its footer.
  Statements sharing a line (`a = 1; b = 2`) share a chunk.
* A chunk parsed on its own is a module: its leading comments land in the
  module header instead of the statement's `leading_lines`, so they are
  moved there. The first chunk keeps its header (it is the file's header).
* Every chunk must agree with the file on indentation and line endings, and
  generate its own text again; anything unusual (a chunk that does not parse
  alone, mixed indentation or newlines, text `ast` rejects) falls back to
  parsing the whole text, which also gives the user libcst's own syntax error.

The assembled module generates exactly the source text (a test checks this on
the standard library), which is what fixes and positions rely on.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import libcst as cst

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_INDENTED_COMMENT_OR_BLANK = re.compile(r"(?:[ \t\f]+#[^\r\n]*|[ \t\f]*)(?:\r\n|\r|\n)?$")


class NodeMemo:
    """Results computed for nodes, kept from one lint of a document to the next.

    Keyed by node identity: the statements an edit did not touch are the same
    libcst nodes in the next version, so what was derived from them alone
    (their walk, their generated positions) still holds. Each entry holds its
    node, so an id cannot be reused by another node meanwhile; an entry that
    one lint did not use is dropped at the next.
    """

    def __init__(self) -> None:
        self._previous: dict[int, tuple[cst.CSTNode, object]] = {}
        self._current: dict[int, tuple[cst.CSTNode, object]] = {}

    def next_version(self) -> None:
        self._previous, self._current = self._current, {}

    def get(self, node: cst.CSTNode) -> Any:
        key = id(node)
        entry = self._current.get(key) or self._previous.get(key)
        if entry is None or entry[0] is not node:
            return None
        self._current[key] = entry
        return entry[1]

    def put(self, node: cst.CSTNode, value: object) -> None:
        self._current[id(node)] = (node, value)


@dataclass(frozen=True)
class _Chunk:
    """One chunk parsed on its own, ready to be placed in a module."""

    header: tuple[cst.EmptyLine, ...]  # the file's header (first chunk only)
    statements: tuple[cst.BaseStatement, ...]
    footer: tuple[cst.EmptyLine, ...]  # the file's footer (last chunk only)
    # Comment lines after a simple statement, which the whole file's parse puts
    # above the next statement: they are moved there when assembling.
    carry: tuple[cst.EmptyLine, ...]
    newline: str
    indent: str | None  # the default indentation it was parsed with, None without blocks
    encoding: str
    has_trailing_newline: bool


class ReusingParser:
    """Parses successive versions of one document, reusing unchanged statements.

    `parse_whole` parses the whole text when reuse is not possible (and gives
    the user libcst's syntax error); it must raise as `libcst.parse_module` does.
    """

    def __init__(self, parse_whole: Callable[[str], cst.Module] = cst.parse_module) -> None:
        self._parse_whole = parse_whole
        # (place, chunk text) -> chunks parsed from that text in the previous version.
        self._known: dict[tuple[str, str], list[_Chunk]] = {}
        self.tree: ast.Module | None = None  # the `ast` of the last text, for positions
        self.generated = NodeMemo()  # positions' generated chunks (see positions.py)
        self.walked = NodeMemo()  # the model's walk of each top-level statement (see model.py)
        self.reused = 0  # statements taken from the previous version by the last parse

    def parse(self, source: str) -> cst.Module:
        self.tree = None
        self.reused = 0
        self.generated.next_version()
        self.walked.next_version()
        known, self._known = self._known, {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes, etc.
                self.tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return self._parse_whole(source)
        texts = _chunks(source, self.tree)
        parsed = self._parse_chunks(texts, known) if texts else None
        module = _assemble(parsed) if parsed else None
        if module is None:
            self._known = {}
            self.reused = 0
            return self._parse_whole(source)
        return module

    def _parse_chunks(self, texts: list[str], known: dict[tuple[str, str], list[_Chunk]]) -> list[_Chunk] | None:
        chunks = []
        for index, text in enumerate(texts):
            place = "first" if index == 0 else "last" if index == len(texts) - 1 else "middle"
            reusable = known.get((place, text))
            if reusable:
                chunk = reusable.pop()
                self.reused += len(chunk.statements)
            else:
                chunk = _parse_chunk(text, place)
                if chunk is None:
                    return None
            chunks.append(chunk)
            self._known.setdefault((place, text), []).append(chunk)
        return chunks


def _parse_chunk(text: str, place: str) -> _Chunk | None:
    try:
        module = cst.parse_module(text)
        # libcst does not always round-trip a module that ends in a comment
        # shallower than the block above it; the whole file's parse does.
        if module.code != text:
            return None
    except (cst.ParserSyntaxError, RecursionError):
        return None
    header, statements, footer = tuple(module.header), tuple(module.body), tuple(module.footer)
    if place != "first" and statements:
        statements = _with_leading(statements, header)
        header = ()
    elif place != "first":
        header, footer = (), header + footer  # comments after the file's last statement
    carry: tuple[cst.EmptyLine, ...] = ()
    if place != "last" and statements:
        carry, footer = footer, ()
    has_block = any(type(statement) is not cst.SimpleStatementLine for statement in statements)
    return _Chunk(
        header,
        statements,
        footer,
        carry,
        module.default_newline,
        module.default_indent if has_block else None,
        module.encoding,
        module.has_trailing_newline,
    )


def _assemble(chunks: list[_Chunk]) -> cst.Module | None:
    """The module made of `chunks`, if they agree on newlines and indentation."""
    newline = chunks[0].newline
    indent = next((chunk.indent for chunk in chunks if chunk.indent is not None), "    ")
    body: list[cst.BaseStatement] = []
    carried: tuple[cst.EmptyLine, ...] = ()
    for chunk in chunks:
        # A block stores its indentation only when it differs from the module's
        # default, so a chunk with blocks must have been parsed with the file's.
        if chunk.newline != newline or chunk.indent not in (None, indent):
            return None
        if carried and chunk.statements:
            body.extend(_with_leading(chunk.statements, carried))
            carried = ()
        else:
            body.extend(chunk.statements)
        carried += chunk.carry
    return cst.Module(
        body=body,
        header=chunks[0].header,
        footer=carried + chunks[-1].footer,
        encoding=chunks[0].encoding,
        default_indent=indent,
        default_newline=newline,
        has_trailing_newline=chunks[-1].has_trailing_newline,
    )


def _chunks(source: str, tree: ast.Module) -> list[str]:
    """The text of each top-level chunk, in order; they concatenate to `source`."""
    lines = _LINE.findall(source)
    if "".join(lines) != source:  # form feeds, lone carriage returns...: be safe
        return []
    ends: list[int] = []  # 1-based last line of each chunk
    for statement in tree.body:
        first_line = min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", ()))])
        end = statement.end_lineno or statement.lineno
        if ends and first_line <= ends[-1]:
            ends[-1] = max(ends[-1], end)  # shares a line with the previous statement
            continue
        # Indented comments (and blank lines between them) after a block are in
        # the block's footer, so they stay in the block's chunk. (After a simple
        # statement they belong to the next one: see `_Chunk.carry`.)
        line = end
        while line < len(lines) and _INDENTED_COMMENT_OR_BLANK.fullmatch(lines[line]):
            line += 1
            if lines[line - 1].lstrip(" \t\f")[:1] == "#":
                end = line
        ends.append(end)
    if not ends:
        return []
    chunks = []
    start = 0
    for end in ends:
        chunks.append("".join(lines[start:end]))
        start = end
    if start < len(lines):
        chunks.append("".join(lines[start:]))  # comments and blank lines after the last statement
    return chunks


def _with_leading(
    statements: tuple[cst.BaseStatement, ...] | list[cst.BaseStatement], header: tuple[cst.EmptyLine, ...] | list
) -> tuple[cst.BaseStatement, ...]:
    if not header:
        return tuple(statements)
    first, *rest = statements
    moved = first.with_changes(leading_lines=(*header, *first.leading_lines))
    return (moved, *rest)


