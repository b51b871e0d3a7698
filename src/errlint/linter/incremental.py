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


_LONE_CONTINUATION = re.compile(r"^[ \t\f]*\\\r?\n", re.M)


class ReusingParser:
    """Parses successive versions of one document, reusing unchanged statements.

    `parse_whole` parses the whole text when reuse is not possible (and gives
    the user libcst's syntax error); it must raise as `libcst.parse_module` does.
    """

    def __init__(self, parse_whole: Callable[[str], cst.Module] = cst.parse_module) -> None:
        self._parse_whole = parse_whole
        # What the previous version's parse made of each text: top-level chunks
        # by (place, text), class members by ("member", text), class headers by
        # (place, "class header", text).
        self._known: dict[tuple[str, ...], list[_Chunk]] = {}
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
        # A line that is only a `\` continuation joins two statements that the
        # pieces would parse apart (libcst refuses the joined text).
        pieces = None if _LONE_CONTINUATION.search(source) else _pieces(source, self.tree)
        parsed = self._parse_chunks(pieces, known) if pieces else None
        module = _assemble(parsed) if parsed else None
        if module is None:
            self._known = {}
            self.reused = 0
            return self._parse_whole(source)
        return module

    def _parse_chunks(self, pieces: list[_Piece], known: dict[tuple[str, ...], list[_Chunk]]) -> list[_Chunk] | None:
        chunks = []
        for index, piece in enumerate(pieces):
            place = "first" if index == 0 else "last" if index == len(pieces) - 1 else "middle"
            reusable = known.get((place, piece.text))
            if reusable:
                chunk = reusable.pop()
                self.reused += len(chunk.statements)
            else:
                chunk = self._parse_class(piece, place, known) if piece.split_class is not None else None
                chunk = chunk or _parse_chunk(piece.text, place)
                if chunk is None:
                    return None
            chunks.append(chunk)
            self._known.setdefault((place, piece.text), []).append(chunk)
        return chunks

    # --- one class, member by member -------------------------------------------

    def _parse_class(
        self, piece: _Piece, place: str, known: dict[tuple[str, ...], list[_Chunk]]
    ) -> _Chunk | None:
        """A class chunk parsed as its header and its members, reusing unchanged members.

        An API client is often one class of many methods: an edit in one
        method must not re-parse all of them. Each member is parsed inside a
        stand-in `class _:` at its own indentation, which gives the same nodes
        as the whole file's parse; anything unusual returns None, and the
        class is parsed whole.
        """
        split = _split_class(piece)
        if split is None:
            return None
        header_text, member_texts, indent = split
        members_newline = _newline_of(header_text)
        members: list[cst.BaseStatement] = []
        carried: tuple[cst.EmptyLine, ...] = ()
        for text in member_texts:
            key = ("member", text)
            reusable = known.get(key)
            if reusable:
                member = reusable.pop()
                self.reused += len(member.statements)
            else:
                member = _parse_member(text, indent)
                if member is None or member.newline != members_newline:
                    return None
            self._known.setdefault(key, []).append(member)
            members.extend(_with_leading(member.statements, carried) if carried else member.statements)
            carried = member.carry
        key = (place, "class header", header_text)
        reusable = known.get(key)
        header = reusable.pop() if reusable else _parse_chunk(header_text + indent + "pass" + _newline_of(header_text), place)
        if header is None or len(header.statements) != 1 or header.carry or header.footer or header.newline != members_newline:
            return None
        self._known.setdefault(key, []).append(header)
        definition = header.statements[0]
        block = definition.body
        if type(definition) is not cst.ClassDef or type(block) is not cst.IndentedBlock:
            return None
        whole = definition.with_changes(body=block.with_changes(body=members, footer=carried))
        last = member_texts[-1]
        return _Chunk(header.header, (whole,), (), (), header.newline, indent, header.encoding, last.endswith(("\n", "\r")))


def _parse_alone(text: str) -> cst.Module | None:
    """`text` parsed as a module of its own, if it parses and generates `text` again."""
    try:
        module = cst.parse_module(text)
        # Generating the code recurses as deep as the tree: inside the guard too.
        if _ends_in_comment(text) and module.code != text:
            return None
    except Exception:  # noqa: BLE001 - whatever it is, the whole parse reports it properly
        return None
    return module


def _parse_chunk(text: str, place: str) -> _Chunk | None:
    module = _parse_alone(text)
    if module is None:
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


@dataclass(frozen=True)
class _Piece:
    """A chunk's text, and the class it holds when it is one class that can be split."""

    text: str
    lines: list[str]  # the text's lines
    split_class: ast.ClassDef | None = None
    first_line: int = 1  # of the chunk in the file, 1-based


def _pieces(source: str, tree: ast.Module) -> list[_Piece]:
    """The top-level chunks, in order; their texts concatenate to `source`."""
    lines = _LINE.findall(source)
    if "".join(lines) != source:  # form feeds, lone carriage returns...: be safe
        return []
    ends = _chunk_ends(lines, tree.body)
    if not ends:
        return []
    pieces = []
    start = 0
    for end, node in ends:
        chunk_lines = lines[start:end]
        split = node if type(node) is ast.ClassDef and len(node.body) >= _MIN_MEMBERS_TO_SPLIT else None
        pieces.append(_Piece("".join(chunk_lines), chunk_lines, split, start + 1))
        start = end
    if start < len(lines):  # comments and blank lines after the last statement
        pieces.append(_Piece("".join(lines[start:]), lines[start:]))
    return pieces


def _chunk_ends(
    lines: list[str], statements: list[ast.stmt], offset: int = 0
) -> list[tuple[int, ast.stmt | None]]:
    """Where the chunk of each statement ends (1-based line in `lines`, which
    start at file line `offset + 1`), with the statement (None for several)."""
    ends: list[tuple[int, ast.stmt | None]] = []
    for statement in statements:
        first_line = _first_line(statement) - offset
        end = (statement.end_lineno or statement.lineno) - offset
        if ends and first_line <= ends[-1][0]:
            ends[-1] = (max(ends[-1][0], end), None)  # shares a line with the previous statement
            continue
        # Indented comments (and blank lines between them) after a block are in
        # the block's footer, so they stay in the block's chunk. (After a simple
        # statement they belong to the next one: see `_Chunk.carry`.)
        line = end
        while line < len(lines) and _INDENTED_COMMENT_OR_BLANK.fullmatch(lines[line]):
            line += 1
            if lines[line - 1].lstrip(" \t\f")[:1] == "#":
                end = line
        ends.append((end, statement))
    return ends


def _first_line(statement: ast.stmt) -> int:
    return min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", ()))])


_MIN_MEMBERS_TO_SPLIT = 4
_STAND_IN = "class _:"


def _split_class(piece: _Piece) -> tuple[str, list[str], str] | None:
    """(header text, member texts, member indentation) of a class chunk, if it splits cleanly."""
    node = piece.split_class
    assert node is not None
    lines = piece.lines
    offset = piece.first_line - 1  # file line = chunk line + offset
    first_member = _first_line(node.body[0]) - offset  # 1-based in the chunk
    header_end = first_member - 1
    while header_end > node.lineno - offset and _is_blank_or_comment(lines[header_end - 1]):
        header_end -= 1
    code_line = lines[node.body[0].lineno - offset - 1]
    indent = code_line[: len(code_line) - len(code_line.lstrip(" \t"))]
    if not indent or header_end < node.lineno - offset or node.body[0].lineno - offset <= header_end:
        return None  # an inline body (`class A: pass`) or a header sharing a line with a member
    # Comments shallower than the members could belong to the class or what
    # follows it; whole-file parsing decides that, not this shortcut.
    for line in lines[header_end:]:
        stripped = line.lstrip(" \t")
        if stripped.startswith("#") and not line.startswith(indent):
            return None
    ends = _chunk_ends(lines, node.body, offset)
    if any(statement is None for _, statement in ends) or ends[-1][0] > len(lines):
        return None
    texts = []
    start = header_end
    for end, _ in ends[:-1]:
        texts.append("".join(lines[start:end]))
        start = end
    texts.append("".join(lines[start:]))  # the last member takes the class's closing comments
    return "".join(lines[:header_end]), texts, indent


def _parse_member(text: str, indent: str) -> _Chunk | None:
    """A class member parsed inside a stand-in class: its statements, and the comments after it."""
    module = _parse_alone(_STAND_IN + _newline_of(text) + text)
    if module is None or module.header or module.footer or len(module.body) != 1 or type(module.body[0]) is not cst.ClassDef:
        return None
    block = module.body[0].body
    if type(block) is not cst.IndentedBlock or module.default_indent != indent:
        return None
    return _Chunk((), tuple(block.body), (), tuple(block.footer), module.default_newline, indent, module.encoding, True)


def _ends_in_comment(text: str) -> bool:
    """libcst does not always round-trip a module that ends in a comment
    shallower than the block above it (the whole file's parse does), so such
    chunks are checked by generating them again."""
    last = text.rstrip()
    return "#" in last[last.rfind("\n") + 1 :]


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _newline_of(text: str) -> str:
    for newline in ("\r\n", "\n", "\r"):
        if text.endswith(newline):
            return newline
    return "\n"


def _with_leading(
    statements: tuple[cst.BaseStatement, ...] | list[cst.BaseStatement], header: tuple[cst.EmptyLine, ...] | list
) -> tuple[cst.BaseStatement, ...]:
    if not header:
        return tuple(statements)
    first, *rest = statements
    moved = first.with_changes(leading_lines=(*header, *first.leading_lines))
    return (moved, *rest)


