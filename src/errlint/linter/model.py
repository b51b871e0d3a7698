"""The per-file model of HTTP knowledge that every rule reads.

One libcst traversal collects the nodes rules care about and the parent of
every node; resolution afterwards turns them into facts: which names are HTTP
clients and responses, which calls send requests (library, method, receiver),
which exception handlers exist, and (in `scopes.py`) which parts of the code
retry. Positions are computed lazily, only for files that have findings,
because libcst's position metadata costs about as much as parsing.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TypeVar

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from errlint.linter import libraries as lib
from errlint.linter.findings import Position
from errlint.linter.positions import FastPositions, last_part

if TYPE_CHECKING:
    from errlint.linter.config import Settings
    from errlint.linter.incremental import NodeMemo, ReusingParser
    from errlint.linter.profiles import Profile

N = TypeVar("N", bound=cst.CSTNode)
T = TypeVar("T")
FunctionNode = cst.FunctionDef
LoopNode = (cst.For, cst.While)


class Unknown:
    """The value of an expression that cannot be computed statically."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


@dataclass(eq=False)
class HttpCall:
    """A call that sends an HTTP request."""

    node: cst.Call
    library: str
    method: str | None  # upper-case, None when dynamic
    receiver: str | None  # dotted name of the client object, None for module functions
    function: cst.FunctionDef | None  # enclosing function

    def keyword(self, name: str) -> cst.BaseExpression | None:
        return keyword_value(self.node, name)

    @property
    def url(self) -> cst.BaseExpression | None:
        url = self.keyword("url")
        if url is not None:
            return url
        positional = [arg.value for arg in self.node.args if arg.keyword is None and not arg.star]
        index = 1 if self.method_from_argument else 0
        return positional[index] if len(positional) > index else None

    @property
    def method_from_argument(self) -> bool:
        name = self.node.func.attr.value if isinstance(self.node.func, cst.Attribute) else ""
        return name in ("request", "stream", "urlopen") and self.library != "urllib.request"


@dataclass(eq=False)
class Client:
    """A name bound to an HTTP client object (session, client, pool manager, SDK client)."""

    key: str
    library: str
    constructor: cst.Call
    self_retrying: bool = False


@dataclass(eq=False)
class Handler:
    """One `except` clause with the canonical names of what it catches."""

    node: cst.ExceptHandler
    try_node: cst.Try
    types: tuple[str, ...]  # ("*",) for a bare except
    type_nodes: tuple[cst.BaseExpression, ...]
    name: str | None


@dataclass(eq=False)
class FunctionInfo:
    node: cst.FunctionDef
    qualified: str  # "Class.method" or "func"
    class_node: cst.ClassDef | None
    decorators: tuple[tuple[str, cst.Decorator], ...]  # (canonical name, node)
    calls: list[cst.Call] = field(default_factory=list)


# Child fields in source order. libcst declares most node fields in source
# order already; these are moved so that a definition's decorators come
# before its body and an `except` clause's type before its block.
_FIRST_FIELDS = ("decorators",)
_LAST_FIELDS = ("body", "handlers", "orelse", "finalbody")
# Whitespace, comments and punctuation: half of all nodes, never asked about
# by a rule (suppression comments are read from the tokens instead).
_FORMATTING_FIELDS = frozenset(
    {
        "leading_lines", "lines_after_decorators", "header", "footer", "trailing_whitespace",
        "lpar", "rpar", "lbracket", "rbracket", "lbrace", "rbrace", "comma", "semicolon", "colon",
        "dot", "equal", "newline", "first_line", "empty_lines", "indent", "last_line",
    }
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    names = _CHILD_FIELDS.get(kind)
    if names is None:
        declared = [
            f.name
            for f in dataclasses.fields(kind)
            if f.name not in _FORMATTING_FIELDS and not f.name.startswith("whitespace")
        ]
        if kind is cst.IfExp:
            names = ("body", "test", "orelse")
        else:
            first = [name for name in _FIRST_FIELDS if name in declared]
            last = [name for name in _LAST_FIELDS if name in declared]
            names = tuple(first + [n for n in declared if n not in first and n not in last] + last)
        _CHILD_FIELDS[kind] = names
    return names


# Field values that are not nodes. Checking the exact type is much cheaper than
# isinstance() against CSTNode, an abstract base class.
_LEAF_TYPES = frozenset({str, type(None), bool, int, cst.MaybeSentinel})
_SEQUENCE_TYPES = frozenset({tuple, list})


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """A node's children in source order, without libcst's copying `children` property."""
    found: list[cst.CSTNode] = []
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        kind = type(value)
        if kind in _LEAF_TYPES:
            continue
        if kind in _SEQUENCE_TYPES:
            found.extend(item for item in value if type(item) not in _LEAF_TYPES)
        else:
            found.append(value)
    return found


_SCOPE_NODES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
# Exact-type sets: isinstance() against a libcst class goes through ABCMeta,
# several times slower than a set lookup on type(), and these run per node.
SCOPE_TYPES = frozenset(_SCOPE_NODES)


def walk_nodes(node: cst.CSTNode, into_functions: bool = True) -> Iterator[cst.CSTNode]:
    """`node` and everything below it in source order, without libcst's copying traversal.

    With `into_functions=False`, nested functions, lambdas and classes (and
    everything inside them) are skipped: what runs *here*, not later.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        below = child_nodes(current)
        if not into_functions:
            below = [child for child in below if type(child) not in SCOPE_TYPES]
        stack.extend(reversed(below))


class _Collector:
    """Records parents, children and the node kinds rules ask about, in one walk.

    libcst's own `visit` rebuilds every node it passes (it is written for
    transformers), which costs more than parsing; walking the dataclass
    fields directly costs a third of that.
    """

    def __init__(self) -> None:
        # Keyed by id(): libcst nodes hash through a Python-level __hash__,
        # which alone cost a tenth of the walk. Every node stays alive with
        # the module, so ids are stable and unique for the model's lifetime.
        self.parents: dict[int, cst.CSTNode] = {}
        self.children: dict[int, list[cst.CSTNode]] = {}
        self.order: dict[int, int] = {}
        self.imports: dict[str, str] = {}
        self.calls: list[cst.Call] = []
        self.comparisons: list[cst.Comparison] = []
        self.functions: list[cst.FunctionDef] = []
        self.classes: list[cst.ClassDef] = []
        self.loops: list[cst.For | cst.While] = []
        self.tries: list[cst.Try] = []
        self.ifs: list[cst.If] = []
        self.assigns: list[cst.Assign | cst.AnnAssign] = []
        self.with_items: list[cst.WithItem] = []
        self.subscripts: list[cst.Subscript] = []
        self.attributes: list[cst.Attribute] = []
        self.returns: list[cst.Return] = []
        self.lambdas: list[cst.Lambda] = []
        self.strings: list[cst.SimpleString] = []
        self.conditional_expressions: list[cst.IfExp] = []

    _BUCKETS = (
        "calls", "attributes", "comparisons", "subscripts", "assigns", "ifs", "functions", "classes",
        "loops", "tries", "with_items", "returns", "lambdas", "strings", "conditional_expressions",
    )

    def walk_module(self, module: cst.Module, memo: NodeMemo | None) -> None:
        """`walk(module)`, taking the walk of each top-level statement from `memo` when it has it.

        In an editor most statements are the same nodes as in the previous
        version (see incremental.py); copying their recorded walk into place
        costs a fraction of walking them again.
        """
        if memo is None:
            self.walk(module)
            return
        self.order[id(module)] = 0
        statements = child_nodes(module)
        if statements:
            self.children[id(module)] = statements
        for statement in statements:
            self._walk_remembered(statement, module, memo)

    def _walk_remembered(self, statement: cst.CSTNode, parent: cst.CSTNode, memo: NodeMemo) -> None:
        walked = memo.get(statement)
        if walked is None and type(statement) is cst.ClassDef and type(statement.body) is cst.IndentedBlock:
            # A class is new after any edit inside it, but most of its members
            # are not: walk its header, then each member through the memo.
            self.walk(statement, but_not=statement.body)
            self.parents[id(statement)] = parent
            block = statement.body
            self.order[id(block)] = len(self.order)
            self.parents[id(block)] = statement
            members = child_nodes(block)
            if members:
                self.children[id(block)] = members
            for member in members:
                self._walk_remembered(member, block, memo)
            return
        if walked is None:
            walked = _Collector()
            walked.walk(statement)
            memo.put(statement, walked)
        self._append(walked)
        self.parents[id(statement)] = parent

    def _append(self, other: _Collector) -> None:
        """Add the walk of a subtree that comes next in source order."""
        start = len(self.order)
        self.order.update(zip(other.order, range(start, start + len(other.order))))
        self.parents.update(other.parents)
        self.children.update(other.children)
        self.imports.update(other.imports)
        for name in self._BUCKETS:
            getattr(self, name).extend(getattr(other, name))

    def walk(self, root: cst.CSTNode, but_not: cst.CSTNode | None = None) -> None:
        """Walk `root` and everything below it (except the subtree `but_not`, whose parent is recorded)."""
        buckets = {
            cst.Call: self.calls,
            cst.Attribute: self.attributes,
            cst.Comparison: self.comparisons,
            cst.Subscript: self.subscripts,
            cst.Assign: self.assigns,
            cst.AnnAssign: self.assigns,
            cst.If: self.ifs,
            cst.FunctionDef: self.functions,
            cst.ClassDef: self.classes,
            cst.For: self.loops,
            cst.While: self.loops,
            cst.Try: self.tries,
            cst.WithItem: self.with_items,
            cst.Return: self.returns,
            cst.Lambda: self.lambdas,
            cst.SimpleString: self.strings,
            cst.IfExp: self.conditional_expressions,
        }
        parents, children, order = self.parents, self.children, self.order
        stack = [root]
        while stack:
            node = stack.pop()
            order[id(node)] = len(order)
            kind = type(node)
            bucket = buckets.get(kind)
            if bucket is not None:
                bucket.append(node)
            elif kind is cst.Import or kind is cst.ImportFrom:
                self._record_import(node)
            below = child_nodes(node)
            if below:
                children[id(node)] = below
                for child in below:
                    parents[id(child)] = node
                stack.extend(reversed(below) if but_not is None else [c for c in reversed(below) if c is not but_not])

    def _record_import(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                dotted = dotted_name(alias.name)
                if alias.asname is not None:
                    self.imports[dotted_name(alias.asname.name)] = dotted
                else:
                    top = dotted.split(".")[0]
                    self.imports[top] = top
        elif node.module is not None and not node.relative and not isinstance(node.names, cst.ImportStar):
            module = dotted_name(node.module)
            for alias in node.names:
                imported = dotted_name(alias.name)
                local = dotted_name(alias.asname.name) if alias.asname else imported
                self.imports[local] = f"{module}.{imported}"


class Model:
    """Everything rules know about one file. Build with `Model.build`."""

    def __init__(
        self, module: cst.Module, path: str, settings: "Settings", reuse: ReusingParser | None = None
    ) -> None:
        self.module = module
        self.path = path
        self.settings = settings
        self.reuse = reuse  # an editor's document: what its previous version's lint left (incremental.py)
        self._qualnames: dict[int, tuple[cst.CSTNode, str | None]] = {}
        self._enclosing_functions: dict[int, tuple[cst.CSTNode, cst.FunctionDef | None]] = {}
        collector = _Collector()
        collector.walk_module(module, reuse.walked if reuse is not None else None)
        self.parents = collector.parents
        self._children = collector.children
        self._order = collector.order
        self.returns = collector.returns
        self.lambdas = collector.lambdas
        self.strings = collector.strings
        self.conditional_expressions = collector.conditional_expressions
        self.imports = collector.imports
        self.calls = collector.calls
        self.comparisons = collector.comparisons
        self.loops = collector.loops
        self.tries = collector.tries
        self.ifs = collector.ifs
        self.assigns = collector.assigns
        self.with_items = collector.with_items
        self.subscripts = collector.subscripts
        self.attributes = collector.attributes
        self.classes = collector.classes
        self.functions: dict[cst.FunctionDef, FunctionInfo] = {
            node: self._function_info(node) for node in collector.functions
        }
        for call in self.calls:
            function = self.enclosing_function(call)
            if function is not None:
                self.functions[function].calls.append(call)
        self._assignments = self._index_assignments()
        self.clients: dict[str, Client] = {}
        self._find_clients()
        self.http_calls: list[HttpCall] = [
            http for http in map(self._as_http_call, self.calls) if http is not None
        ]
        self._http_by_node = {http.node: http for http in self.http_calls}
        self.responses: dict[tuple[cst.CSTNode | None, str], HttpCall] = {}
        self._find_responses()
        self.handlers: list[Handler] = [
            self._handler(try_node, handler)
            for try_node in self.tries
            for handler in try_node.handlers
        ]
        self.retry_configs: list[cst.Call] = [
            call
            for call in self.calls
            if self.callee(call) == lib.URLLIB3_RETRY or self.callee(call) in lib.AIOHTTP_RETRY_OPTIONS
        ]
        self._positions: dict[cst.CSTNode, CodeRange] | None = None
        from errlint.linter.scopes import find_retry_scopes  # needs a built model

        self.retry_scopes = find_retry_scopes(self)

    # --- names ---------------------------------------------------------------

    def qualname(self, expr: cst.BaseExpression | None) -> str | None:
        """The canonical dotted name an expression refers to, through imports."""
        if expr is None:
            return None
        # Rules ask about the same names many times. The entry keeps `expr`
        # alive, so its id cannot be reused by another node meanwhile.
        cached = self._qualnames.get(id(expr))
        if cached is not None and cached[0] is expr:
            return cached[1]
        name = self._qualname(expr)
        self._qualnames[id(expr)] = (expr, name)
        return name

    def _qualname(self, expr: cst.BaseExpression) -> str | None:
        dotted = dotted_name(expr)
        if not dotted:
            return None
        head, _, rest = dotted.partition(".")
        if head not in self.imports:
            return None
        resolved = self.imports[head] + ("." + rest if rest else "")
        return lib.canonical(resolved)

    def callee(self, call: cst.Call) -> str | None:
        return self.qualname(call.func)

    def imports_any(self, modules: Iterable[str]) -> bool:
        wanted = tuple(modules)
        return any(
            lib.canonical(target).split(".")[0] in wanted or lib.canonical(target) in wanted
            for target in self.imports.values()
        )

    @functools.cached_property
    def http_libraries_imported(self) -> frozenset[str]:
        found = set()
        for target in self.imports.values():
            name = lib.canonical(target)
            for library in lib.HTTP_LIBRARIES:
                if name == library or name.startswith(library + "."):
                    found.add(library)
        return frozenset(found)

    # --- tree navigation -----------------------------------------------------

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(id(node))

    def children(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """Direct children in source order (use instead of libcst's slow `node.children`)."""
        return self._children.get(id(node), [])

    def walk(self, node: cst.CSTNode, into_functions: bool = True) -> Iterator[cst.CSTNode]:
        """`node` and every node below it, in source order (use instead of `node.visit(...)`)."""
        stack = [node]
        children = self._children
        while stack:
            current = stack.pop()
            yield current
            if not into_functions and current is not node and type(current) in SCOPE_TYPES:
                continue
            below = children.get(id(current))
            if below:
                stack.extend(reversed(below))

    def before(self, first: cst.CSTNode, second: cst.CSTNode) -> bool:
        """Does `first` start before `second` in the source?"""
        return self._order.get(id(first), -1) < self._order.get(id(second), -1)

    def contains(self, node: cst.CSTNode) -> bool:
        """Is `node` part of this file's tree (rather than built by a rule)?"""
        return id(node) in self._order

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parents.get(id(node))
        while current is not None:
            yield current
            current = self.parents.get(id(current))

    def enclosing(self, node: cst.CSTNode, kinds: type[N] | tuple[type, ...]) -> N | None:
        wanted = node_types(kinds)
        parents = self.parents
        current = parents.get(id(node))
        while current is not None:
            if type(current) in wanted:
                return current  # type: ignore[return-value]
            current = parents.get(id(current))
        return None

    def enclosing_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        # Asked tens of thousands of times per file, mostly about the same nodes.
        known = self._enclosing_functions.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        parents = self.parents
        current = parents.get(id(node))
        while current is not None and type(current) is not cst.FunctionDef:
            current = parents.get(id(current))
        self._enclosing_functions[id(node)] = (node, current)  # holds `node`: its id stays its own
        return current

    def enclosing_statement(self, node: cst.CSTNode) -> cst.CSTNode:
        """The simple statement line or compound statement a node belongs to."""
        current: cst.CSTNode = node
        for ancestor in self.ancestors(node):
            if type(ancestor) in STATEMENT_TYPES:
                return ancestor
            current = ancestor
        return current

    def is_within(self, node: cst.CSTNode, container: cst.CSTNode) -> bool:
        return self._inside(node, container, crossing_scopes=True)

    def same_function(self, node: cst.CSTNode, container: cst.CSTNode) -> bool:
        """`node` lies in `container` without crossing into a nested function or lambda."""
        return self._inside(node, container, crossing_scopes=False)

    def _inside(self, node: cst.CSTNode, container: cst.CSTNode, crossing_scopes: bool) -> bool:
        if node is container:
            return True
        parents = self.parents
        current = parents.get(id(node))
        while current is not None:
            if current is container:
                return True
            if not crossing_scopes and type(current) in SCOPE_TYPES:
                return False
            current = parents.get(id(current))
        return False

    def nodes_in(self, container: cst.CSTNode, candidates: Iterable[N]) -> list[N]:
        return [node for node in candidates if self.same_function(node, container)]

    # --- positions -----------------------------------------------------------

    def range_of(self, node: cst.CSTNode) -> tuple[Position, Position]:
        code_range = None
        if self._positions is None:
            # Generates only the statement around `node` (see positions.py);
            # None when unsure, and then libcst's whole-module positions.
            code_range = self._fast_positions.range_of(node)
            if code_range is None:
                wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
                self._positions = wrapper.resolve(PositionProvider)  # type: ignore[assignment]
        if code_range is None:
            code_range = self._positions[node]  # type: ignore[index]
        return (
            Position(code_range.start.line, code_range.start.column),
            Position(code_range.end.line, code_range.end.column),
        )

    @functools.cached_property
    def _fast_positions(self) -> FastPositions:
        # A function of the parents index, not the bound `self.parent`: the
        # model keeps the positions, which must not keep the model (a cycle
        # would hold every model until the garbage collector's next full pass).
        parents = self.parents
        parent = lambda node: parents.get(id(node))  # noqa: E731
        # An editor's document also brings its `ast` and last lint's chunks (see incremental.py).
        reuse = self.reuse if getattr(self, "source", None) is not None else None
        if reuse is None:
            return FastPositions(self.module, self.file_text, parent)
        return FastPositions(self.module, self.file_text, parent, reuse.tree, reuse.generated)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    # --- values --------------------------------------------------------------

    def _index_assignments(self) -> dict[tuple[cst.CSTNode | None, str], list[cst.BaseExpression]]:
        index: dict[tuple[cst.CSTNode | None, str], list[cst.BaseExpression]] = {}
        for assign in self.assigns:
            value = assign.value
            if value is None:
                continue
            targets = (
                [target.target for target in assign.targets]
                if isinstance(assign, cst.Assign)
                else [assign.target]
            )
            for target in targets:
                key = dotted_name(target)
                if key:
                    index.setdefault((self.binding_scope(assign, key), key), []).append(value)
        for item in self.with_items:
            if item.asname is not None:
                key = dotted_name(item.asname.name)
                if key:
                    index.setdefault((self.binding_scope(item, key), key), []).append(item.item)
        return index

    def binding_scope(self, node: cst.CSTNode, key: str) -> cst.CSTNode | None:
        """Where a name binds: the class for `self.x`, the function for locals, None for globals."""
        if key.startswith(("self.", "cls.")):
            return self.enclosing(node, cst.ClassDef)
        return self.enclosing_function(node)

    def assigned_values(self, expr: cst.BaseExpression, at: cst.CSTNode | None = None) -> list[cst.BaseExpression]:
        """Expressions assigned to the name `expr`, searched from the innermost scope out."""
        key = dotted_name(expr)
        if not key:
            return []
        anchor = at if at is not None else expr
        if key.startswith(("self.", "cls.")):
            return self._assignments.get((self.enclosing(anchor, cst.ClassDef), key), [])
        scope: cst.CSTNode | None = self.enclosing_function(anchor)
        while True:
            values = self._assignments.get((scope, key))
            if values:
                return values
            if scope is None:
                return []
            scope = self.enclosing_function(scope)

    def resolve(self, expr: cst.BaseExpression, at: cst.CSTNode | None = None, depth: int = 0) -> cst.BaseExpression:
        """Follow a name to the single value bound to it (or a same-module function's return)."""
        if depth > 4:
            return expr
        expr = strip_await(expr)
        if isinstance(expr, (cst.Name, cst.Attribute)):
            values = self.assigned_values(expr, at)
            if len(values) == 1 and values[0] is not expr:
                return self.resolve(values[0], values[0], depth + 1)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name):
            function = self.function_named(expr.func.value)
            if function is not None:
                returned = [
                    ret.value
                    for ret in self._returns(function.node)
                    if ret.value is not None
                ]
                if len(returned) == 1:
                    return self.resolve(returned[0], returned[0], depth + 1)
        return expr

    def _returns(self, function: cst.FunctionDef) -> list[cst.Return]:
        return [ret for ret in self.returns if self.same_function(ret, function)]

    def const_value(self, expr: cst.BaseExpression | None, depth: int = 0) -> object:
        """Evaluate literals, containers, `range()`, HTTPStatus members and module constants."""
        if expr is None or depth > 6:
            return UNKNOWN
        if type(expr) is cst.Integer:
            return int(expr.value.replace("_", ""), 0)
        if type(expr) is cst.SimpleString:
            try:
                return expr.evaluated_value
            except Exception:  # noqa: BLE001 - byte strings with odd escapes
                return UNKNOWN
        if type(expr) is cst.ConcatenatedString:
            value = expr.evaluated_value
            return value if value is not None else UNKNOWN
        if type(expr) is cst.Name:
            if expr.value in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[expr.value]
        if type(expr) is cst.UnaryOperation and type(expr.operator) is cst.Minus:
            inner = self.const_value(expr.expression, depth + 1)
            return -inner if isinstance(inner, int) else UNKNOWN
        if type(expr) in (cst.List, cst.Tuple, cst.Set):
            items: list[object] = []
            for element in expr.elements:
                value = self.const_value(element.value, depth + 1)
                if type(element) is cst.StarredElement:
                    if isinstance(value, (list, tuple, set, frozenset, range)):
                        items.extend(value)
                        continue
                    return UNKNOWN
                items.append(value)
            return frozenset(items) if type(expr) is cst.Set else tuple(items)
        if type(expr) is cst.Call:
            name = self.callee(expr) or (expr.func.value if isinstance(expr.func, cst.Name) else None)
            args = [self.const_value(arg.value, depth + 1) for arg in expr.args]
            if name == "range" and 1 <= len(args) <= 3 and all(isinstance(a, int) for a in args):
                return range(*args)  # type: ignore[arg-type]
            if name in ("set", "frozenset", "tuple", "list") and len(args) == 1:
                value = args[0]
                if isinstance(value, (list, tuple, set, frozenset, range)):
                    return frozenset(value) if "set" in name else tuple(value)
            return UNKNOWN
        if type(expr) is cst.BinaryOperation:
            left = self.const_value(expr.left, depth + 1)
            right = self.const_value(expr.right, depth + 1)
            if isinstance(left, (set, frozenset, range, tuple)) and isinstance(right, (set, frozenset, range, tuple)):
                if type(expr.operator) is cst.BitOr:
                    return frozenset(left) | frozenset(right)
                if type(expr.operator) is cst.Add and not isinstance(left, (set, frozenset)):
                    return tuple(left) + tuple(right)
                if type(expr.operator) is cst.Subtract:
                    return frozenset(left) - frozenset(right)
            if isinstance(left, int) and isinstance(right, int):
                if type(expr.operator) is cst.Add:
                    return left + right
                if type(expr.operator) is cst.Multiply:
                    return left * right
                if type(expr.operator) is cst.Power and right < 64:
                    return left**right
            return UNKNOWN
        name = self.qualname(expr) if type(expr) in (cst.Name, cst.Attribute) else None
        if name:
            status = _http_status_value(name)
            if status is not None:
                return status
        if type(expr) in (cst.Name, cst.Attribute):
            resolved = self.resolve(expr)
            if resolved is not expr:
                return self.const_value(resolved, depth + 1)
        return UNKNOWN

    def int_set(self, expr: cst.BaseExpression | None) -> frozenset[int] | None:
        value = self.const_value(expr)
        if isinstance(value, int) and not isinstance(value, bool):
            return frozenset({value})
        if isinstance(value, (tuple, list, set, frozenset, range)) and all(
            isinstance(item, int) for item in value
        ):
            return frozenset(value)
        return None

    # --- functions -----------------------------------------------------------

    def _function_info(self, node: cst.FunctionDef) -> FunctionInfo:
        class_node = self.parent(self.parent(node)) if self.parent(node) else None
        owner = class_node if isinstance(class_node, cst.ClassDef) else None
        qualified = f"{owner.name.value}.{node.name.value}" if owner else node.name.value
        decorators = []
        for decorator in node.decorators:
            target = decorator.decorator
            target = target.func if isinstance(target, cst.Call) else target
            decorators.append((self.qualname(target) or dotted_name(target) or "", decorator))
        return FunctionInfo(node, qualified, owner, tuple(decorators))

    def function_named(self, name: str, near: cst.CSTNode | None = None) -> FunctionInfo | None:
        """A same-module function by bare name, preferring methods of `near`'s class."""
        matches = self._functions_by_name.get(name, [])
        if near is not None:
            owner = self.enclosing(near, cst.ClassDef)
            same_class = [info for info in matches if info.class_node is owner]
            if same_class:
                return same_class[0]
        return matches[0] if len(matches) == 1 else None

    @functools.cached_property
    def _functions_by_name(self) -> dict[str, list[FunctionInfo]]:
        index: dict[str, list[FunctionInfo]] = {}
        for info in self.functions.values():
            index.setdefault(info.node.name.value, []).append(info)
        return index

    def called_function(self, call: cst.Call) -> FunctionInfo | None:
        """The same-module function or method (`self.m()`) a call invokes, if any."""
        func = call.func
        if type(func) is cst.Name:
            return self.function_named(func.value)
        if (
            type(func) is cst.Attribute
            and type(func.value) is cst.Name
            and func.value.value in ("self", "cls", "super")
        ):
            return self.function_named(func.attr.value, near=call)
        return None

    def http_calls_in(self, container: cst.CSTNode, depth: int = 3) -> list[HttpCall]:
        """HTTP calls inside `container`, following same-module calls a few levels deep."""
        return [self._http_by_node[call] for call in self.calls_in(container, depth) if call in self._http_by_node]

    def _calls_within(self, container: cst.CSTNode) -> list[cst.Call]:
        function = self.enclosing_function(container)
        pool = self.functions[function].calls if function is not None else self.calls
        return [call for call in pool if self.is_within(call, container)]

    def http_call(self, node: cst.CSTNode) -> HttpCall | None:
        return self._http_by_node.get(strip_await(node))  # type: ignore[arg-type]

    def calls_in(self, container: cst.CSTNode, depth: int = 3) -> list[cst.Call]:
        """Every call inside `container`, following same-module calls a few levels deep."""
        # Asked about the same loops and functions by many rules: computed once.
        return list(self.cached(f"calls in, depth {depth}", container, lambda: self._calls_in(container, depth)))

    def _calls_in(self, container: cst.CSTNode, depth: int) -> tuple[cst.Call, ...]:
        found: list[cst.Call] = []
        self._collect_calls(container, depth, found, set())
        return tuple(found)

    def _collect_calls(self, container: cst.CSTNode, depth: int, found: list[cst.Call], seen: set) -> None:
        if container in seen:
            return
        seen.add(container)
        calls = (
            self.functions[container].calls
            if isinstance(container, cst.FunctionDef) and container in self.functions
            else self._calls_within(container)
        )
        for call in calls:
            if not self.same_function(call, container):
                continue
            found.append(call)
            if depth > 0:
                target = self.called_function(call)
                if target is not None:
                    self._collect_calls(target.node, depth - 1, found, seen)

    def local_name(self, canonical_name: str) -> str | None:
        """How this module spells a canonical dotted name through its imports (`rq.Timeout`), if it can."""
        best: tuple[int, str] | None = None
        for local, target in self.imports.items():
            target = lib.canonical(target)
            if canonical_name == target:
                return local
            if canonical_name.startswith(target + ".") and (best is None or len(target) > best[0]):
                best = (len(target), local + canonical_name[len(target) :])
        return best[1] if best else None

    # --- clients, requests and responses ------------------------------------

    def _client_library(self, value: cst.BaseExpression) -> tuple[str, cst.Call, bool] | None:
        value = strip_await(value)
        if not isinstance(value, cst.Call):
            return None
        name = self.callee(value)
        if name is None:
            return None
        if name in lib.CLIENT_CLASSES:
            return lib.CLIENT_CLASSES[name], value, False
        if name in lib.SELF_RETRYING_CLIENTS:
            return lib.SELF_RETRYING_CLIENTS[name], value, True
        if name.endswith(".client") and name.startswith("boto3"):
            return "boto3", value, True
        return None

    def _find_clients(self) -> None:
        for (scope, key), values in self._assignments.items():
            for value in values:
                found = self._client_library(value)
                if found is not None:
                    library, constructor, self_retrying = found
                    self.clients[key] = Client(key, library, constructor, self_retrying)
        # Parameters annotated with a client class: `def f(session: requests.Session)`.
        for info in self.functions.values():
            params = info.node.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                if param.annotation is None:
                    continue
                name = self.qualname(param.annotation.annotation)
                if name in lib.CLIENT_CLASSES:
                    key = param.name.value
                    self.clients.setdefault(
                        key,
                        Client(key, lib.CLIENT_CLASSES[name], cst.Call(func=cst.Name(name.split(".")[-1]))),
                    )

    def client_for(self, receiver: cst.BaseExpression) -> Client | None:
        receiver = strip_await(receiver)
        key = dotted_name(receiver)
        if key and key in self.clients:
            return self.clients[key]
        found = self._client_library(receiver)
        if found is not None:
            library, constructor, self_retrying = found
            return Client(self.code(receiver), library, constructor, self_retrying)
        return None

    def self_retrying_client(self, call: cst.Call) -> Client | None:
        """The SDK client with retries built in that `call` goes through.

        `client.chat.completions.create(...)`, `self.s3.put_object(...)`,
        `openai.chat.completions.create(...)` (openai's module client). Such
        calls are not `HttpCall`s. The module client's constructor is not in
        the tree (check `model.contains(constructor)` before editing it).
        """
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value in ("close", "with_options", "copy"):
            return None
        node: cst.BaseExpression = func.value
        while True:
            node = strip_await(node)
            client = self.client_for(node) if isinstance(node, (cst.Name, cst.Attribute, cst.Call)) else None
            if client is not None:
                return client if client.self_retrying else None
            if isinstance(node, cst.Attribute):
                node = node.value
            elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                node = node.func.value
            else:
                break
        parts = (self.callee(call) or "").split(".")
        if len(parts) >= 3 and parts[0] == "openai" and parts[1] in lib.OPENAI_MODULE_RESOURCES:
            return Client("openai", "openai", cst.Call(func=cst.Name("OpenAI")), True)
        return None

    def self_retrying_calls_in(self, container: cst.CSTNode, depth: int = 3) -> list[tuple[cst.Call, Client]]:
        """Calls on SDK clients with built-in retries inside `container` (following same-module calls)."""
        found = []
        for call in self.calls_in(container, depth):
            client = self.cached("self-retrying client", call, lambda: self.self_retrying_client(call))
            if client is not None:
                found.append((call, client))
        return found

    def _as_http_call(self, call: cst.Call) -> HttpCall | None:
        func = call.func
        name = self.callee(call)
        function = self.enclosing_function(call)
        if name in lib.MODULE_REQUEST_FUNCTIONS:
            library = name.rsplit(".", 1)[0]
            method = lib.MODULE_REQUEST_FUNCTIONS[name]
            if method is None and library != "urllib.request":
                method = self._method_argument(call)
            elif library == "urllib.request":
                method = self._urllib_method(call)
            return HttpCall(call, library, method, None, function)
        if not isinstance(func, cst.Attribute):
            return None
        verb = func.attr.value
        if verb not in lib.HTTP_VERBS and verb not in lib.CLIENT_REQUEST_METHODS:
            return None
        client = self.client_for(func.value)
        library: str | None = None
        if client is not None and not client.self_retrying:
            library = client.library
        elif client is None and self._looks_like_http_client(func.value):
            imported = sorted(self.http_libraries_imported)
            library = imported[0] if len(imported) == 1 else "unknown"
        if library is None:
            return None
        if verb in lib.HTTP_VERBS:
            method: str | None = verb.upper()
        elif verb == "send":
            method = None
        else:
            method = self._method_argument(call)
        return HttpCall(call, library, method, dotted_name(strip_await(func.value)), function)

    def _looks_like_http_client(self, receiver: cst.BaseExpression) -> bool:
        """An untyped receiver named like a session or client, in a module that imports an HTTP library."""
        if not self.http_libraries_imported:
            return False
        name = dotted_name(receiver)
        if not name:
            return False
        last = name.rsplit(".", 1)[-1].lower()
        return any(word in last for word in ("session", "client", "http")) and "api" not in last

    def _method_argument(self, call: cst.Call) -> str | None:
        method = keyword_value(call, "method")
        if method is None:
            positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
            method = positional[0] if positional else None
        value = self.const_value(method) if method is not None else UNKNOWN
        return value.upper() if isinstance(value, str) else None

    def _urllib_method(self, call: cst.Call) -> str | None:
        positional = [arg.value for arg in call.args if arg.keyword is None]
        if not positional:
            return None
        request = self.resolve(positional[0])
        if isinstance(request, cst.Call) and self.callee(request) == "urllib.request.Request":
            method = keyword_value(request, "method")
            if method is not None:
                value = self.const_value(method)
                return value.upper() if isinstance(value, str) else None
            return "POST" if keyword_value(request, "data") is not None else "GET"
        if len(positional) > 1 or keyword_value(call, "data") is not None:
            return "POST"
        return "GET"

    def _find_responses(self) -> None:
        for (scope, key), values in self._assignments.items():
            for value in values:
                http = self._http_by_node.get(strip_await(value))  # type: ignore[arg-type]
                if http is not None:
                    self.responses[(scope, key)] = http

    def response_call(self, expr: cst.BaseExpression) -> HttpCall | None:
        """The HTTP call whose response `expr` is (a bound name or the call itself)."""
        expr = strip_await(expr)
        direct = self._http_by_node.get(expr)  # type: ignore[arg-type]
        if direct is not None:
            return direct
        key = dotted_name(expr)
        if not key:
            return None
        scope: cst.CSTNode | None = self.binding_scope(expr, key)
        while True:
            found = self.responses.get((scope, key))
            if found is not None:
                return found
            if scope is None or key.startswith("self."):
                return None
            scope = self.enclosing_function(scope)

    # --- exception handlers --------------------------------------------------

    def _handler(self, try_node: cst.Try, handler: cst.ExceptHandler) -> Handler:
        if handler.type is None:
            return Handler(handler, try_node, ("*",), (), None)
        nodes = (
            tuple(element.value for element in handler.type.elements)
            if isinstance(handler.type, cst.Tuple)
            else (handler.type,)
        )
        types = []
        for node in nodes:
            name = self.qualname(node) or dotted_name(node) or "?"
            types.append(lib.canonical(name))
        name = handler.name.name.value if handler.name and isinstance(handler.name.name, cst.Name) else None
        return Handler(handler, try_node, tuple(types), nodes, name)

    def handlers_around(self, node: cst.CSTNode) -> list[Handler]:
        """Handlers of every `try` whose body contains `node` (innermost first)."""
        result = []
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                break
            if isinstance(ancestor, cst.Try):
                result.extend(h for h in self.handlers if h.try_node is ancestor)
        # `ancestors` reaches the Try through its body, but also through a
        # handler or finally block; only the body counts.
        return [h for h in result if self.is_within(node, h.try_node.body)]

    # --- API profiles (see profiles.py and docs/profiles.md) -----------------

    def profile_for(self, call: "HttpCall | cst.Call | Client") -> "Profile | None":
        """The API profile (built-in or configured) a call or client belongs to, or None.

        HTTP calls match by URL host (literal, f-string prefix, module constant,
        the client's `base_url=`) or client class, else the profile without
        `hosts`/`clients` if one is on; SDK calls (`client.chat.completions.create`)
        and clients match by class.
        """
        from errlint.linter.profiles import profile_for_call, profile_for_client

        if isinstance(call, Client):
            return profile_for_client(self, call)
        return profile_for_call(self, call)

    def profile_for_exception(self, name: str) -> "Profile | None":
        """The profile of the SDK that raises exception `name` (canonical: `openai.RateLimitError`)."""
        from errlint.linter.profiles import profile_for_exception

        return profile_for_exception(self, name)

    def profiles_for_calls(self, calls: Iterable[HttpCall]) -> "tuple[Profile | None, ...]":
        """The distinct profiles of `calls` (None for calls no profile covers)."""
        from errlint.linter.profiles import profiles_for_calls

        return profiles_for_calls(self, calls)

    # --- indexes and source text that rules read often (built on first use) --

    def cached(self, question: str, node: cst.CSTNode, answer: Callable[[], T]) -> T:
        """`answer()` computed once per model for `node`: for facts that several rules or
        paths ask about the same node (`question` names the fact)."""
        key = (question, id(node))
        entry = self._answers.get(key)
        if entry is None or entry[0] is not node:
            # The entry keeps `node` alive, so its id cannot be reused by another node meanwhile.
            entry = self._answers[key] = (node, answer())
        return entry[1]

    @functools.cached_property
    def _answers(self) -> dict[tuple[str, int], tuple[cst.CSTNode, object]]:
        return {}

    @property
    def file_text(self) -> str:
        """The whole file's text (what `module.code` gives), without regenerating it when the parsed text is known."""
        source = getattr(self, "source", None)
        return source if source is not None else self._generated_text

    @functools.cached_property
    def _generated_text(self) -> str:
        return self.module.code

    def method_calls_on(self, name: str) -> list[cst.Call]:
        """Calls of methods on the object a dotted name refers to, in source order:
        `session.headers.update(...)` and `session.headers.setdefault(...)` for `session.headers`."""
        return self._method_calls.get(name, [])

    @functools.cached_property
    def _method_calls(self) -> dict[str, list[cst.Call]]:
        index: dict[str, list[cst.Call]] = {}
        for call in self.calls:
            func = call.func
            if type(func) is cst.Attribute:
                owner = dotted_name(func.value)
                if owner:
                    index.setdefault(owner, []).append(call)
        return index

    def assignments_to(self, name: str) -> list[tuple[cst.Assign, cst.BaseAssignTargetExpression]]:
        """Plain `=` statements that bind a dotted name or one of its items (`name = ...`,
        `name["key"] = ...`), each with the target concerned, in source order."""
        return self._assignments_by_target.get(name, [])

    @functools.cached_property
    def _assignments_by_target(self) -> dict[str, list[tuple[cst.Assign, cst.BaseAssignTargetExpression]]]:
        index: dict[str, list[tuple[cst.Assign, cst.BaseAssignTargetExpression]]] = {}
        for assign in self.assigns:
            if type(assign) is not cst.Assign:
                continue
            for target in assign.targets:
                node = target.target
                name = dotted_name(node.value) if type(node) is cst.Subscript else dotted_name(node)
                if name:
                    index.setdefault(name, []).append((assign, node))
        return index

    def subtree(self, node: cst.CSTNode, into_functions: bool = True) -> Iterator[cst.CSTNode]:
        """What `walk_nodes(node, into_functions)` yields, read from the model's child index
        for this file's nodes (several times faster); nodes built elsewhere are walked."""
        if id(node) not in self._order:
            yield from walk_nodes(node, into_functions)
            return
        children = self._children
        stack = [node]
        while stack:
            current = stack.pop()
            yield current
            below = children.get(id(current))
            if below:
                if not into_functions:
                    below = [child for child in below if type(child) not in SCOPE_TYPES]
                stack.extend(reversed(below))

    def source_index(self, node: cst.CSTNode) -> int:
        """The node's place in source order (a sort key; -1 for nodes not in this file's tree)."""
        return self._order.get(id(node), -1)

    def callers_of(self, function: cst.FunctionDef) -> list[cst.Call]:
        """The calls that `called_function` resolves to `function`, in source order."""
        entry = self._callers.get(id(function))
        return entry[1] if entry is not None and entry[0] is function else []

    @functools.cached_property
    def _callers(self) -> dict[int, tuple[cst.FunctionDef, list[cst.Call]]]:
        # Keyed by id() of the function, whose entry keeps it alive (ids stay unique).
        index: dict[int, tuple[cst.FunctionDef, list[cst.Call]]] = {}
        for call in self.calls:
            target = self.called_function(call)
            if target is not None:
                index.setdefault(id(target.node), (target.node, []))[1].append(call)
        return index

    def indentation_of_line(self, line: int, width: int) -> str:
        """The whitespace a 1-based line starts with as written (tabs kept), else `width` spaces."""
        source = getattr(self, "source", None)
        if source is not None:
            starts = self._fast_positions.line_starts
            if 0 < line <= len(starts):
                written = source[starts[line - 1] : starts[line - 1] + width]
                if len(written) == width and not written.strip():
                    return written
        return " " * width

    def source_text(self, statement: cst.CSTNode) -> str:
        """A statement's text as written in the file: what `code` generates, without generating it.

        Like `code`, it covers the comment lines above the statement, a
        definition's decorators and the comment lines that end its blocks; unlike
        `code`, every line keeps its indentation in the file. Falls back to `code`
        for other nodes, when the parsed text is unknown or positions are unsure.
        """
        source = getattr(self, "source", None)
        if source is None or type(statement) not in STATEMENT_TYPES or self._is_elif(statement):
            return self.code(statement)
        positions = self._fast_positions
        code_range = positions.range_of(statement)
        if code_range is None:
            return self.code(statement)
        first_line = code_range.start.line
        decorators = getattr(statement, "decorators", ())
        if decorators:
            # The statement's own range starts at `def`/`class`, below its decorators.
            decorated = positions.range_of(decorators[0])
            if decorated is None:
                return self.code(statement)
            first_line = decorated.start.line - len(decorators[0].leading_lines)
        first_line -= len(statement.leading_lines)
        last_line = code_range.end.line + _closing_comment_lines(statement)
        starts = positions.line_starts  # ready: range_of succeeded
        stop = starts[last_line] if last_line < len(starts) else len(source)
        return source[starts[first_line - 1] : stop]

    def _is_elif(self, statement: cst.CSTNode) -> bool:
        parent = self.parent(statement)
        return type(parent) is cst.If and parent.orelse is statement



# --- syntax helpers ----------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _node_types(kinds: tuple[type, ...]) -> frozenset[type]:
    found: set[type] = set()
    pending = list(kinds)
    while pending:
        kind = pending.pop()
        if kind not in found:
            found.add(kind)
            pending.extend(kind.__subclasses__())
    return frozenset(found)


def node_types(kinds: type | tuple[type, ...]) -> frozenset[type]:
    """Every class that is (or derives from) one of `kinds`: test with `type(node) in ...`.

    libcst defines all its node classes on import, so the set is complete.
    """
    return _node_types(kinds if isinstance(kinds, tuple) else (kinds,))


STATEMENT_TYPES = node_types((cst.SimpleStatementLine, cst.BaseCompoundStatement))



def _closing_comment_lines(statement: cst.CSTNode) -> int:
    """How many comment or blank lines close a statement's blocks after its last code line.

    libcst keeps them in the `footer` of the innermost blocks (and of a `match`),
    which `code` generates as part of the statement.
    """
    lines = 0
    node = statement
    while type(node) is not cst.SimpleStatementLine:
        lines += len(getattr(node, "footer", ()))  # a `match` statement's own footer
        part = last_part(node)
        if part is None:
            return lines
        if type(part) is cst.IndentedBlock:
            lines += len(part.footer)
            if not part.body:
                return lines
            node = part.body[-1]
        elif type(part) is cst.SimpleStatementSuite:
            return lines
        else:
            node = part  # an `else`, `finally`, `except` or `case` clause, or an `elif`
    return lines


def dotted_name(node: cst.CSTNode | None) -> str | None:
    kind = type(node)  # not isinstance: libcst classes are ABCs, and this runs very often
    if kind is cst.Name:
        return node.value  # type: ignore[union-attr]
    if kind is cst.Attribute:
        base = dotted_name(node.value)  # type: ignore[union-attr]
        return f"{base}.{node.attr.value}" if base else None  # type: ignore[union-attr]
    return None


def strip_await(node: cst.BaseExpression) -> cst.BaseExpression:
    while type(node) is cst.Await:
        node = node.expression  # type: ignore[attr-defined]
    return node


def keyword_value(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional_args(call: cst.Call) -> list[cst.BaseExpression]:
    return [arg.value for arg in call.args if arg.keyword is None and not arg.star]


def string_value(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


_HTTP_STATUS_NAMES: dict[str, int] | None = None


def _http_status_value(qualified: str) -> int | None:
    """`http.HTTPStatus.NOT_FOUND`, `requests.codes.not_found` and friends."""
    global _HTTP_STATUS_NAMES
    if _HTTP_STATUS_NAMES is None:
        import http

        _HTTP_STATUS_NAMES = {status.name.lower(): status.value for status in http.HTTPStatus}
        _HTTP_STATUS_NAMES["too_many"] = 429
        _HTTP_STATUS_NAMES["ok"] = 200
    for prefix in ("http.HTTPStatus.", "requests.codes.", "httpx.codes.", "aiohttp.web.HTTPStatus."):
        if qualified.startswith(prefix):
            return _HTTP_STATUS_NAMES.get(qualified[len(prefix) :].lower())
    return None

