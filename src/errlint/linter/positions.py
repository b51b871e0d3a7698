"""Node positions without code-generating the whole module.

libcst's `PositionProvider` finds positions by regenerating the entire module
in Python, which costs about twice the parse. Rules only ask for the positions
of a few nodes, so this module generates only the statement around each of
them and places it in the file using `ast` (which parses at C speed):

* The file is cut into *chunks*: a simple statement line, or the header of a
  compound statement or clause (`def ...:` with its decorators, `elif ...:`,
  `except ...:`, `else:`, `case ...:`; an inline body such as `if x: pass`
  belongs to the header). Every chunk starts at the beginning of a line.
* `ast.parse` and a walk over both trees pair every libcst statement with its
  ast statement, which gives each chunk's absolute line. Clauses without an
  ast position (`else`, `finally`, `case`) are placed just above their body.
* A chunk is generated with libcst's own position-recording codegen state,
  seeded with the indentation of its enclosing blocks, so the generated text
  is the file's text and columns need no adjustment; lines are shifted by the
  chunk's first line. Bodies are replaced by a stub (and `elif`/`else`/
  `except`/`finally`/`case` clauses removed) so only the header is generated.
* The generated text is compared with the source lines it claims to be;
  any disagreement, an unknown node, a statement the pairing cannot match or
  source that `ast` rejects makes `range_of` return None, and the caller falls
  back to `PositionProvider`.

The ranges are those of `PositionProvider`: syntactic, 1-based lines and
0-based columns in code points.
"""

from __future__ import annotations

import ast
import copy
import re
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import CodePosition, CodeRange

if TYPE_CHECKING:
    from errlint.linter.incremental import NodeMemo

try:
    from libcst.metadata.position_provider import PositionProvidingCodegenState
except ImportError:  # pragma: no cover - another libcst: always fall back
    PositionProvidingCodegenState = None  # type: ignore[assignment,misc]

NEWLINE_RE = re.compile(r"\r\n?|\n")  # the line breaks libcst (and Python) count

# ast class names per libcst small statement.
_SMALL_KINDS = {
    cst.Expr: "Expr",
    cst.Assign: "Assign",
    cst.AnnAssign: "AnnAssign",
    cst.AugAssign: "AugAssign",
    cst.Return: "Return",
    cst.Raise: "Raise",
    cst.Assert: "Assert",
    cst.Del: "Delete",
    cst.Pass: "Pass",
    cst.Break: "Break",
    cst.Continue: "Continue",
    cst.Import: "Import",
    cst.ImportFrom: "ImportFrom",
    cst.Global: "Global",
    cst.Nonlocal: "Nonlocal",
}
if hasattr(cst, "TypeAlias"):
    _SMALL_KINDS[cst.TypeAlias] = "TypeAlias"

# ast class names per libcst compound statement: (synchronous, asynchronous).
_COMPOUND_KINDS: dict[type, tuple[str, str | None]] = {
    cst.If: ("If", None),
    cst.For: ("For", "AsyncFor"),
    cst.While: ("While", None),
    cst.With: ("With", "AsyncWith"),
    cst.Try: ("Try", None),
    cst.FunctionDef: ("FunctionDef", "AsyncFunctionDef"),
    cst.ClassDef: ("ClassDef", None),
    cst.Match: ("Match", None),
}
_TRY_STAR = getattr(cst, "TryStar", None)
_EXCEPT_STAR = getattr(cst, "ExceptStarHandler", None)
if _TRY_STAR is not None:
    _COMPOUND_KINDS[_TRY_STAR] = ("TryStar", None)

_HANDLER_KINDS = tuple(k for k in (cst.ExceptHandler, _EXCEPT_STAR) if k is not None)
_CLAUSE_KINDS = (cst.Else, cst.Finally, cst.MatchCase, *_HANDLER_KINDS)
# Nodes that start a chunk.
_ROOT_KINDS = frozenset({cst.SimpleStatementLine, *_COMPOUND_KINDS, *_CLAUSE_KINDS})
# Fields that hold what follows a header; the first present one ends the statement.
_TAIL_FIELDS = ("finalbody", "orelse", "handlers", "cases", "body")


class _Unsure(Exception):
    """Some assumption does not hold for this node: use PositionProvider."""


class _Chunk:
    __slots__ = ("computed", "key", "shift")

    def __init__(self, computed: dict[cst.CSTNode, CodeRange], shift: int, key: cst.CSTNode) -> None:
        self.computed = computed  # ranges relative to the chunk (its first line is 1)
        self.shift = shift  # add to a chunk line to get the file line
        self.key = key  # the copy of the root node that was generated

    def get(self, node: cst.CSTNode) -> CodeRange:
        found = self.computed.get(node)
        if found is None:
            raise _Unsure
        return found


class _Provider:
    """Stands in for PositionProvider: the codegen state only writes `_computed`."""

    __slots__ = ("_computed",)

    def __init__(self) -> None:
        self._computed: dict[cst.CSTNode, CodeRange] = {}


class FastPositions:
    """Positions of the nodes of one module, the same as PositionProvider's.

    `parent` maps a node to its parent (None when unknown). `range_of` returns
    None whenever it cannot be sure, and the caller must fall back. `tree` is
    the source's `ast`, when the caller has it already; `generated` keeps the
    chunks of an editor's document from one version to the next (most of its
    statements are the same nodes: see incremental.py).
    """

    def __init__(
        self,
        module: cst.Module,
        source: str,
        parent: Callable[[cst.CSTNode], cst.CSTNode | None],
        tree: ast.Module | None = None,
        generated: NodeMemo | None = None,
    ) -> None:
        self.module = module
        self.source = source
        self.parent = parent
        self._tree = tree
        self._generated = generated
        self._anchors: dict[int, ast.AST] = {}  # id(libcst node) -> its ast node
        self._indents: dict[int, tuple[str, ...]] = {}  # id(root) -> indent tokens
        self._elifs: set[int] = set()
        self._chunks: dict[int, _Chunk | None] = {}
        self.line_starts: list[int] = []  # offset in `source` where each line starts
        self.ok = self._prepare()

    # --- public --------------------------------------------------------------

    def range_of(self, node: cst.CSTNode) -> CodeRange | None:
        if not self.ok:
            return None
        try:
            start, end = self._range(node)
        except (_Unsure, RecursionError):
            return None
        except Exception:  # noqa: BLE001 - libcst internals differ: be safe, not fast
            return None
        return CodeRange(start, end)

    # --- pairing libcst statements with ast statements -----------------------

    def _prepare(self) -> bool:
        if PositionProvidingCodegenState is None:
            return False
        source = self.source
        tree = self._tree
        if tree is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes, etc.
                    tree = ast.parse(source)
            except Exception:  # noqa: BLE001 - SyntaxError, ValueError (NUL), RecursionError...
                return False
        self.line_starts = [0]
        self.line_starts.extend(m.end() for m in NEWLINE_RE.finditer(source))
        try:
            return self._pair_block(self.module.body, tree.body, ())
        except Exception:  # noqa: BLE001 - RecursionError, or trees shaped unlike expected
            return False

    def _pair_block(self, statements, nodes: list[ast.stmt], indents: tuple[str, ...]) -> bool:
        index = 0
        for statement in statements:
            kind = type(statement)
            if kind is cst.SimpleStatementLine:
                smalls = statement.body
                if not smalls or not self._pair_smalls(smalls, nodes[index : index + len(smalls)]):
                    return False
                self._anchors[id(statement)] = nodes[index]
                self._indents[id(statement)] = indents
                index += len(smalls)
            else:
                if index >= len(nodes) or not self._pair_compound(statement, nodes[index], indents):
                    return False
                index += 1
        return index == len(nodes)

    def _pair_smalls(self, smalls, nodes: list[ast.stmt]) -> bool:
        if len(smalls) != len(nodes):
            return False
        for small, node in zip(smalls, nodes):
            if _SMALL_KINDS.get(type(small)) != type(node).__name__:
                return False
        return True

    def _pair_suite(self, suite: cst.BaseSuite, nodes: list[ast.stmt], indents: tuple[str, ...]) -> bool:
        if type(suite) is cst.IndentedBlock:
            indent = self.module.default_indent if suite.indent is None else suite.indent
            return bool(suite.body) and self._pair_block(suite.body, nodes, (*indents, indent))
        if type(suite) is cst.SimpleStatementSuite:
            if not suite.body or not self._pair_smalls(suite.body, nodes):
                return False
            self._anchors[id(suite.body[0])] = nodes[0]
            return True
        return False

    def _pair_compound(self, statement: cst.CSTNode, node: ast.stmt, indents: tuple[str, ...]) -> bool:
        kinds = _COMPOUND_KINDS.get(type(statement))
        if kinds is None:
            return False
        is_async = getattr(statement, "asynchronous", None) is not None
        if type(node).__name__ != (kinds[1] if is_async else kinds[0]):
            return False
        self._anchors[id(statement)] = node
        self._indents[id(statement)] = indents
        if type(statement) is cst.Match:
            if len(statement.cases) != len(node.cases) or not statement.cases:
                return False
            indent = self.module.default_indent if statement.indent is None else statement.indent
            for case, ast_case in zip(statement.cases, node.cases):
                self._indents[id(case)] = (*indents, indent)
                if not self._pair_suite(case.body, ast_case.body, (*indents, indent)):
                    return False
            return True
        if not self._pair_suite(statement.body, node.body, indents):
            return False
        handlers = getattr(statement, "handlers", ())
        if len(handlers) != len(getattr(node, "handlers", ())):
            return False
        for handler, ast_handler in zip(handlers, node.handlers if handlers else ()):
            if type(ast_handler) is not ast.ExceptHandler:
                return False
            self._anchors[id(handler)] = ast_handler
            self._indents[id(handler)] = indents
            if not self._pair_suite(handler.body, ast_handler.body, indents):
                return False
        orelse = getattr(statement, "orelse", None)
        ast_orelse = getattr(node, "orelse", [])
        if orelse is None:
            if ast_orelse:
                return False
        elif type(orelse) is cst.If:  # elif
            if len(ast_orelse) != 1 or not self._pair_compound(orelse, ast_orelse[0], indents):
                return False
            self._elifs.add(id(orelse))
        else:
            self._indents[id(orelse)] = indents
            if not ast_orelse or not self._pair_suite(orelse.body, ast_orelse, indents):
                return False
        finalbody = getattr(statement, "finalbody", None)
        ast_final = getattr(node, "finalbody", [])
        if finalbody is None:
            return not ast_final
        self._indents[id(finalbody)] = indents
        return bool(ast_final) and self._pair_suite(finalbody.body, ast_final, indents)

    # --- ranges --------------------------------------------------------------

    def _range(self, node: cst.CSTNode) -> tuple[CodePosition, CodePosition]:
        kind = type(node)
        if kind is cst.IndentedBlock:
            if not node.body:
                raise _Unsure
            return self._range(node.body[0])[0], self._end(node.body[-1])
        if kind in _ROOT_KINDS:
            chunk = self._chunk(node)
            own = chunk.get(chunk.key)
            start = CodePosition(own.start.line + chunk.shift, own.start.column)
            if kind is cst.SimpleStatementLine:
                return start, CodePosition(own.end.line + chunk.shift, own.end.column)
            return start, self._end(node)
        root = self.parent(node)
        while root is not None and type(root) not in _ROOT_KINDS:
            if type(root) is cst.IndentedBlock or type(root) is cst.Module:
                raise _Unsure
            root = self.parent(root)
        if root is None:
            raise _Unsure
        chunk = self._chunk(root)
        found = chunk.get(node)
        shift = chunk.shift
        return (
            CodePosition(found.start.line + shift, found.start.column),
            CodePosition(found.end.line + shift, found.end.column),
        )

    def _end(self, node: cst.CSTNode) -> CodePosition:
        """Where a statement or clause ends: the end of the last small statement in it."""
        while True:
            kind = type(node)
            if kind is cst.SimpleStatementLine:
                chunk = self._chunk(node)
                end = chunk.get(chunk.key).end
                return CodePosition(end.line + chunk.shift, end.column)
            if kind is cst.IndentedBlock:
                if not node.body:
                    raise _Unsure
                node = node.body[-1]
                continue
            if kind not in _ROOT_KINDS:
                raise _Unsure
            tail = last_part(node)
            if tail is None:
                raise _Unsure
            if type(tail) is cst.SimpleStatementSuite:
                chunk = self._chunk(node)  # an inline body is part of its header's chunk
                end = chunk.get(tail).end
                return CodePosition(end.line + chunk.shift, end.column)
            node = tail

    # --- chunks --------------------------------------------------------------

    def _chunk(self, root: cst.CSTNode) -> _Chunk:
        key = id(root)
        if key in self._chunks:
            chunk = self._chunks[key]
        else:
            self._chunks[key] = None  # a failure (or a cycle) stays a failure
            chunk = self._chunks[key] = self._make_chunk(root)
        if chunk is None:
            raise _Unsure
        return chunk

    def _make_chunk(self, root: cst.CSTNode) -> _Chunk | None:
        indents = self._indents.get(id(root))
        if indents is None:
            return None
        generated = self._generated.get(root) if self._generated is not None else None
        if generated is None:
            generated = self._generate(root, indents)
            if generated is None:
                return None
            if self._generated is not None:
                self._generated.put(root, generated)
        copy_of_root, computed, lines = generated
        shift = self._shift(root, copy_of_root, computed, len(lines))
        if shift is None or not self._matches(lines, shift + 1):
            return None
        return _Chunk(computed, shift, copy_of_root)

    def _generate(
        self, root: cst.CSTNode, indents: tuple[str, ...]
    ) -> tuple[cst.CSTNode, dict[cst.CSTNode, CodeRange], list[str]] | None:
        """Codegen of the chunk `root` starts: (the generated copy, ranges in it, its lines)."""
        kind = type(root)
        changes: dict[str, object] = {"leading_lines": ()}
        stub: cst.CSTNode | None = None
        if kind is cst.Match:
            # A match cannot generate without a case: a stub case follows the header.
            stub = cst.MatchCase(pattern=cst.MatchAs(), body=cst.IndentedBlock(body=()))
            changes["cases"] = (stub,)
            changes["footer"] = ()
        elif kind is not cst.SimpleStatementLine:
            body = root.body
            if type(body) is cst.IndentedBlock:
                stub = _replaced(body, body=(), footer=())
                changes["body"] = stub
            for name, empty in (("orelse", None), ("handlers", ()), ("finalbody", None)):
                if hasattr(root, name):
                    changes[name] = empty
            if kind is _TRY_STAR:
                # Nor can `try` ... `except*` without a handler: a stub one follows.
                handler = _EXCEPT_STAR(body=cst.IndentedBlock(body=()), type=cst.Name("E"))
                changes["handlers"] = (handler,)
                stub = stub or handler
        generated = _replaced(root, **changes)

        provider = _Provider()
        state = PositionProvidingCodegenState(
            default_indent=self.module.default_indent,
            default_newline=self.module.default_newline,
            provider=provider,
            indent_tokens=list(indents),
        )
        if id(root) in self._elifs:
            generated._codegen(state, is_elif=True)
        else:
            generated._codegen(state)
        computed = provider._computed
        lines = _split_lines("".join(state.tokens))
        if stub is not None:
            # Only the header is real; the stub starts on the line after it.
            header_lines = computed[stub].start.line - 1
            if header_lines < 1 or header_lines >= len(lines):
                return None
            lines = lines[:header_lines]
        return generated, computed, lines

    def _shift(self, root, generated, computed, header_lines: int) -> int | None:
        """The file line of the chunk's first line, minus one."""
        anchor = self._anchors.get(id(root))
        if anchor is not None:
            return self._shift_from(computed[generated], anchor)
        body = root.body
        if type(body) is cst.SimpleStatementSuite:
            first = body.body[0]
            anchor = self._anchors.get(id(first))
            return None if anchor is None else self._shift_from(computed[first], anchor)
        if type(body) is cst.IndentedBlock and body.body:
            # A clause without a position of its own (else, finally, case): its
            # header lines come right before its first statement's leading lines.
            first = body.body[0]
            first_line = self._chunk(first).shift + 1
            return first_line - len(first.leading_lines) - header_lines - 1
        return None

    def _shift_from(self, generated: CodeRange, anchor: ast.AST) -> int | None:
        shift = anchor.lineno - generated.start.line
        # The column must agree too (ast counts UTF-8 bytes, libcst code points).
        line = anchor.lineno - 1
        if line >= len(self.line_starts):
            return None
        start = self.line_starts[line]
        prefix = self.source[start : start + generated.start.column]
        if len(prefix.encode("utf-8", "surrogatepass")) != anchor.col_offset:
            return None
        return shift

    def _matches(self, lines: list[str], first_line: int) -> bool:
        """Are `lines` the source's lines from `first_line` (1-based) on?"""
        starts = self.line_starts
        first = first_line - 1
        last = first + len(lines)
        if first < 0 or last > len(starts):
            return False
        begin = starts[first]
        end = starts[last] if last < len(starts) else len(self.source)
        text = "".join(lines)
        actual = self.source[begin:end]
        if text == actual:
            return True
        # The file's last line may lack the newline the codegen adds.
        return end == len(self.source) and last == len(starts) and _without_newline(text) == actual


def last_part(node: cst.CSTNode) -> cst.CSTNode | None:
    """What comes last in a compound statement or clause: its `finally`,
    `else` (or `elif`), last handler or case, or else its body."""
    for name in _TAIL_FIELDS:
        tail = getattr(node, name, None)
        if type(tail) is tuple or type(tail) is list:
            tail = tail[-1] if tail else None
        if tail is not None:
            return tail
    return None


def _replaced(node: cst.CSTNode, **changes: object) -> cst.CSTNode:
    """A shallow copy with some fields replaced, without libcst's validation
    (a `try` with its handlers removed would not validate)."""
    new = copy.copy(node)
    for name, value in changes.items():
        object.__setattr__(new, name, value)
    return new


def _split_lines(text: str) -> list[str]:
    lines = []
    start = 0
    for match in NEWLINE_RE.finditer(text):
        lines.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def _without_newline(text: str) -> str | None:
    for newline in ("\r\n", "\n", "\r"):
        if text.endswith(newline):
            return text[: -len(newline)]
    return None
