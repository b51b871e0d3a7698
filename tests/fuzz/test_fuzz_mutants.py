"""Mutants of the rule examples: real HTTP client code, broken in the ways editing
and generated code break it. For each: no internal error, no ERR900 on text
CPython accepts, the editor's incremental parse agrees with the CLI's,
and fixes (unsafe ones too) are never rejected nor produce a file that no
longer parses."""

from __future__ import annotations

import random

from errlint.linter.config import Settings
from errlint.linter.engine import lint_source
from errlint.linter.fixes import fix_source
from errlint.linter.incremental import ReusingParser

from .conftest import LONG_RUN
from .helpers import TRIED, example_sources, python_accepts

SOURCES = example_sources()
SETTINGS = Settings(select=("ERR",))


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [""]


MUTATIONS = {
    "delete a line": lambda text, n, _: "".join(l for i, l in enumerate(_lines(text)) if i != n % len(_lines(text))),
    "duplicate a line": lambda text, n, _: "".join(
        l * (2 if i == n % len(_lines(text)) else 1) for i, l in enumerate(_lines(text))
    ),
    "indent with tabs": lambda text, n, _: text.replace("    ", "\t"),
    "CRLF line ends": lambda text, n, _: text.replace("\r\n", "\n").replace("\n", "\r\n"),
    "a long or-chain": lambda text, n, _: text + "x = " + " or ".join(["a"] * (1000 + n % 9000)) + "\n",
    "a lone continuation line": lambda text, n, _: _insert_top_level(text, n, "\\\n"),
    "a parenthesised annotated target": lambda text, n, _: text + "(x): int = 1\n",
    "many adjacent strings": lambda text, n, _: text + "s = (" + ' "s"' * (100 + n % 5000) + ")\n",
    "insert characters": lambda text, n, chars: text[: n % (len(text) + 1)] + chars + text[n % (len(text) + 1) :],
    "delete characters": lambda text, n, chars: text[: n % (len(text) + 1)] + text[n % (len(text) + 1) + len(chars) :],
    "a different status": lambda text, n, _: text.replace("429", str(100 + n % 500), 1),
    "POST for GET": lambda text, n, _: text.replace("GET", "POST").replace(".get(", ".post("),
    "no final newline": lambda text, n, _: text.rstrip("\n"),
    "a trailing continuation": lambda text, n, _: text.rstrip("\n") + " \\\n",
}


def _insert_top_level(text: str, n: int, line: str) -> str:
    """`line` inserted before a top-level statement, preferring one that follows a
    block (where the editor's parse cuts the text); else before a new last one."""
    lines = _lines(text)
    after_block = [i for i, l in enumerate(lines) if l[:1].isalpha() and i and lines[i - 1][:1] in " \t"]
    if not after_block:
        lines, after_block = [*lines, "x = 1\n"], [len(lines)]
    at = after_block[n % len(after_block)]
    return "".join(lines[:at] + [line] + lines[at:])


def check_one(text: str, previous: str) -> None:
    result = lint_source(text, "mutant.py", SETTINGS)
    assert result.error is None or not result.error.startswith("internal error"), result.error
    syntax_errors = [f for f in result.findings if f.code == "ERR900"]
    accepted = python_accepts(text)
    # Never a false syntax error. (The converse is not promised: libcst accepts
    # a few texts CPython refuses, such as some mixed line endings, and errlint
    # does not run CPython's parser on every file to find them.)
    if syntax_errors:
        assert not accepted, f"ERR900 on valid Python: {syntax_errors[0].message}"

    # The editor lints successive versions with one parser that reuses what did not change.
    editor = ReusingParser()
    lint_source(previous, "mutant.py", SETTINGS, reuse=editor)
    assert lint_source(text, "mutant.py", SETTINGS, reuse=editor) == result

    outcome = fix_source(text, "mutant.py", SETTINGS, unsafe=True)
    if accepted:
        # A rule's fix for valid code must give valid code: the fixer drops
        # one that does not, but the rule is wrong.
        assert not outcome.rejected, f"fix rejected: {outcome.rejected[0][1]}"
        assert python_accepts(outcome.source), "a fix broke a file that parsed"


def test_mutants_of_the_rule_examples():
    rng = random.Random(None if LONG_RUN else 20261203)
    names = sorted(MUTATIONS)
    for _ in range(LONG_RUN or 600):
        source = rng.choice(SOURCES)
        text = source
        for _ in range(rng.randint(1, 3)):
            chars = "".join(rng.choice("()[]{}:=,.\"'#\\ \n\tabc0123456789") for _ in range(rng.randint(1, 6)))
            text = MUTATIONS[rng.choice(names)](text, rng.randrange(100_000), chars)
        TRIED["mutants"] += 1
        check_one(text, source)
