"""The per-statement positions (positions.py) against libcst's PositionProvider.

For every node of every source here, FastPositions must either give exactly
PositionProvider's range or say it cannot (None); the nodes rules report
(anything the model walks) must never need the fallback, except in files
that `ast` cannot parse.
"""

from __future__ import annotations

import random
import sys
import warnings
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from errlint.linter.config import Settings
from errlint.linter.model import Model
from errlint.linter.positions import FastPositions

ROOT = Path(__file__).resolve().parent.parent

# Nodes the fast path may leave to the fallback: the module itself, and
# whitespace and comments (leading lines, block headers and footers) that no
# rule reports.
MAY_FALL_BACK = (
    cst.Module, cst.EmptyLine, cst.TrailingWhitespace, cst.Newline, cst.Comment,
    cst.SimpleWhitespace,
)


def _all_nodes(module: cst.Module) -> tuple[list[cst.CSTNode], dict[int, cst.CSTNode]]:
    """Every node (formatting included) and its parent, through libcst's own children."""
    nodes: list[cst.CSTNode] = []
    parents: dict[int, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        nodes.append(node)
        for child in node.children:
            parents[id(child)] = node
            stack.append(child)
    return nodes, parents


def check(source: str, *, expect_fast: bool = True) -> int:
    """Compare every node; returns how many the fast path answered."""
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes, parents = _all_nodes(module)
    fast = FastPositions(module, source, lambda node: parents.get(id(node)))
    if expect_fast:
        assert fast.ok, "the statements should pair with ast's"
    answered = 0
    for node in nodes:
        got = fast.range_of(node)
        if got is None:
            if fast.ok:
                assert isinstance(node, MAY_FALL_BACK), f"no fast position for {node!r}"
            continue
        answered += 1
        assert got == expected[node], (type(node).__name__, module.code_for_node(node), got, expected[node])
    return answered


# --- hand-written sources ----------------------------------------------------

DECORATORS = '''\
import functools


@functools.lru_cache(
    maxsize=None,
)
# a comment between decorators
@  staticmethod   # odd spacing
@retry(stop=stop_after_attempt(3),
       wait=wait_exponential(multiplier=1, max=10))

# and a blank line before the def
def fetch(url: str, *args, timeout: float = 5.0, **kwargs) -> "Response":
    """Docstring."""
    return requests.get(url, *args, timeout=timeout, **kwargs)


class Client(Base,
             metaclass=Meta):
    @property
    def session(self):
        return self._session

    @decorator
    async def get(self, url):
        async with self.session.get(url) as response:
            async for chunk in response.content:
                yield chunk
        await asyncio.sleep(random.uniform(0, 1))
'''

CONTROL_FLOW = '''\
if a:
    x = 1
# comment before elif
elif b and \\
        c:
    x = 2

  # oddly indented comment
elif (d or
      e):
    x = 3
else:
    x = 4

if a: x = 1; y = 2;
elif b: pass
else: z = (1,
           2)

for i in range(10):
    if i: continue
    else:
        break
else:
    done()

while True:
    try:
        call()
    except (ValueError,
            TypeError) as error:
        log(error)
    except Exception:
        raise
    else:
        pass
    finally:
        cleanup()
        # footer comment of finally
    # footer comment of try
else:
    never()

try: risky()
except: pass
else: fine()
finally: done()

with open(a) as f, open(b) as g:
    pass
with (
    open(a) as f,
    open(b) as g,
):
    pass
async def main():
    async with session as s: pass
    async for item in stream(): consume(item)
def nested():
    def inner():
        def innermost():
            return lambda x, *, y=1: (x, y)
        return innermost
    return inner
'''

MATCH = '''\
match command.split():
    case [action]:
        run(action)
    case [action, obj] if obj in objects:
        run(action, obj)

    # comment before a case
    case Point(x=0, y=0) | {"key": _, **rest}:
        pass
    case (
        1
        | 2
    ):
        pass
    case _: fallback()
'''

EXPRESSIONS = '''\
x = [i * 2 for i in range(10) if i % 2]
y = {k: v for k, v in items.items()}
z = {a for a in b}
g = (n for n in range(3))
w = (yield_ := compute())
f = lambda a, b=2, *c, d, **e: a + b
s = f"value={value!r:>{width}} {nested(f'{inner}')}"
t = """multi
line string starting at column 0
"""; u = call(t)
v = ("implicit"
     "concatenation")
result = obj.method(a)[0].attr(b=1)(c)
result = \\
    call(
        arg,  # comment inside brackets
        other,
    )
del x, y[0]
assert x, \\
    "message"
raise ValueError("bad") from error
global name
numbers = 1_000 + 0x1F + 1e10 + 3j
sliced = a[1:2, ::3, ...]
unpacked = [*a, *b]; merged = {**c, **d}
cond = a if b else c
chained = 1 < x <= 2 is not None
star, *rest = values
aug += 1
ann: int = 3
only_ann: "str"
from package.module import (name1,
                            name2 as alias)
import os.path as osp, sys
print(x, end="")  # comment
'''

NON_ASCII = '''\
# -*- coding: utf-8 -*-
café = "naïve résumé"; r = requests.get(café, timeout=1)
emoji = "😀😀"; call(emoji, x="日本語")
if "ünïcode" in text: response = session.post(url, data="ß")
def größe(länge):
    """Größe 😀."""
    return requests.get(f"{länge}😀", timeout=länge)
'''

TABS = "if a:\n\tif b:\n\t\tx = call(1)\n\telse:\n\t\ty = call('\\t')\nfor i in x:\n  while y:\n        z = 1\n  w = 2\n"

NO_TRAILING_NEWLINE = "import requests\nif a:\n    requests.get(url)"
NO_TRAILING_NEWLINE_SUITE = "import requests\nif a: requests.get(url)"
COMMENT_LAST = "x = 1\n# last comment, no newline"
TRY_STAR = (
    "try:\n    call()\nexcept* ValueError as group:\n    handle(group)\nexcept* TypeError:\n    pass\n"
    "try: call()\nexcept* ValueError: pass\nelse: other()\nfinally:\n    done()\n"
)
CLAUSES = '''\
if a:
    pass
else:  # header comment

    # comments and blank lines before the first statement
    @decorator
    def f():
        pass
try:
    pass

        # deeper comment
finally:
    # leading comment
    if x:
        for y in z:
            while w: call(w)
            else: call(y)
# trailing comment, dedented
class Empty: ...
'''
FORM_FEED = "x = 1\n\x0c\ndef f():\n    return call(x)\n"
ESCAPES = 'pattern = "\\d+"\nresult = re.match(pattern, text)\n'
DEEP = "".join("    " * depth + f"if x{depth}:\n" for depth in range(20)) + "    " * 20 + "call(x)\n"


@pytest.mark.parametrize(
    "source",
    [
        DECORATORS,
        CONTROL_FLOW,
        CLAUSES,
        EXPRESSIONS,
        NON_ASCII,
        TABS,
        NO_TRAILING_NEWLINE,
        NO_TRAILING_NEWLINE_SUITE,
        COMMENT_LAST,
        FORM_FEED,
        ESCAPES,
        DEEP,
        "",
        "# only a comment\n",
        "\n\n\n",
        "x = 1",
    ],
    ids=lambda source: source[:20],
)
def test_hand_written(source):
    check(source)


@pytest.mark.skipif(sys.version_info < (3, 10), reason="match needs Python 3.10")
def test_match():
    check(MATCH)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="except* needs Python 3.11")
def test_try_star():
    check(TRY_STAR)


@pytest.mark.parametrize("source", [DECORATORS, CONTROL_FLOW, EXPRESSIONS, NON_ASCII])
@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_other_newlines(source, newline):
    check(source.replace("\n", newline))


def test_mixed_newlines():
    check("x = 1\r\nif a:\n    y = call(2)\r\n    z = 3\rw = 4\n")


def test_custom_indents():
    check("def f():\n  if a:\n        x = 1\n  else:\n   y = call()\nclass C:\n\tdef g(self):\n\t    return 1\n")


def test_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check(ESCAPES + 'other = "\\q"\n')


def test_syntax_ast_rejects_falls_back():
    # libcst parses newer syntax than some Pythons: then every node falls back.
    source = "type Alias = list[int]\ndef f[T](x: T) -> T:\n    return call(x)\n"
    if sys.version_info >= (3, 12):
        check(source)
        return
    module = cst.parse_module(source)
    _, parents = _all_nodes(module)
    fast = FastPositions(module, source, lambda node: parents.get(id(node)))
    assert not fast.ok
    assert fast.range_of(module.body[1]) is None


def test_wrong_source_falls_back():
    # The text does not match the tree (a stale or altered source): unsure.
    module = cst.parse_module("x = call(1)\ny = call(2)\n")
    fast = FastPositions(module, "x = call(1)\ny = call(22)\n", lambda node: None)
    assert fast.range_of(module.body[1]) is None
    assert fast.range_of(module.body[0]) is not None


def test_bom():
    check("\ufeffimport requests\nrequests.get(url)\n", expect_fast=False)


# --- the model -----------------------------------------------------------------


def test_model_uses_fast_path_and_matches():
    for source in (DECORATORS, CONTROL_FLOW, EXPRESSIONS, NON_ASCII):
        module = cst.parse_module(source)
        model = Model(module, "x.py", Settings())
        model.source = source  # type: ignore[attr-defined]
        expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        for node in model.walk(module):
            if node is module:
                continue
            start, end = model.range_of(node)
            want = expected[node]
            assert (start.line, start.column, end.line, end.column) == (
                want.start.line, want.start.column, want.end.line, want.end.column,
            ), model.code(node)
        assert model._positions is None, "no node should have needed the fallback"


def test_model_falls_back_for_module_and_without_source():
    source = "import requests\nrequests.get(url)\n"
    model = Model(cst.parse_module(source), "x.py", Settings())  # no `source`: regenerated
    call = model.calls[0]
    assert [tuple(p.__dict__.values()) for p in model.range_of(call)] == [(2, 0), (2, 17)]
    assert model._positions is None
    start, _ = model.range_of(model.module)  # not answered fast: PositionProvider
    assert model._positions is not None
    assert (start.line, start.column) == (1, 0)
    assert [tuple(p.__dict__.values()) for p in model.range_of(call)] == [(2, 0), (2, 17)]


# --- real files ----------------------------------------------------------------


def _python_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.py") if path.is_file())


@pytest.mark.parametrize("path", _python_files(ROOT / "examples"), ids=lambda p: p.name)
def test_examples(path):
    check(path.read_text(encoding="utf-8"))


CORPUS = ROOT / "bench" / ".corpus"
CORPUS_SAMPLE = 25


def _corpus_sample() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    files = _python_files(CORPUS)
    return random.Random(20240601).sample(files, min(CORPUS_SAMPLE, len(files)))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="bench/.corpus not downloaded")
@pytest.mark.parametrize("path", _corpus_sample(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus(path):
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as file:
        source = file.read()
    try:
        cst.parse_module(source)
    except Exception:  # noqa: BLE001 - not our business
        pytest.skip("libcst cannot parse it")
    check(source, expect_fast=False)


# --- generated variations --------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

STATEMENTS = [
    "x = call(a, b=1)",
    "response = requests.get(url, timeout=(3, 10))",
    "value = [i for i in range(3) if i]",
    "a = 1; b = f'{a!r}'",
    "total = (first +\n{i}    second)",
    "total = first + \\\n{i}    second",
    'text = """line\nat column 0\n"""',
    "assert ok, 'é😀'",
    "return call(x)",
    "pass",
    "@decorator(arg)\n{i}def f(a, *, b=lambda: 1):\n{i}{d}return a",
    "class K(Base):\n{i}{d}attr: int = 0",
    "if a: call()\n{i}elif b: other()\n{i}else: last()",
    "try:\n{i}{d}risky()\n{i}except E as e:\n{i}{d}handle(e)\n{i}finally:\n{i}{d}done()",
    "for item in items:\n{i}{d}use(item)\n{i}else:\n{i}{d}empty()",
    "with ctx() as c:\n{i}{d}c.run()",
    "# a comment",
    "",
]


@st.composite
def programs(draw):
    indent = draw(st.sampled_from(["    ", "  ", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    prefix = draw(st.sampled_from(["", "é = 'ü'; ", "s = '😀'; "]))

    def block(depth):
        lines = []
        pad = indent * depth
        for _ in range(draw(st.integers(1, 4))):
            template = draw(st.sampled_from(STATEMENTS))
            text = template.replace("{i}", pad).replace("{d}", indent)
            if depth < 2 and draw(st.booleans()):
                header = draw(st.sampled_from(["if cond:", "def g():", "while x:  # loop", "with a as b:"]))
                lines.append(pad + header)
                lines.extend(block(depth + 1))
            if text or depth == 0:
                lines.append(pad + (prefix if "\n" not in text and text else "") + text)
        if not any(line.strip() and not line.strip().startswith("#") for line in lines):
            lines.append(pad + "pass")
        return lines

    source = "\n".join(block(0)) + draw(st.sampled_from(["\n", ""]))
    return source.replace("\n", newline)


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(programs())
def test_generated(source):
    try:
        cst.parse_module(source)
    except cst.ParserSyntaxError:
        hypothesis.reject()
    check(source)
