"""What the fuzzers share: the rule examples as seeds, and a counter of inputs."""

from __future__ import annotations

import ast
import atexit
import textwrap
import warnings
from collections import Counter

from errlint.linter.rule import Invalid, Valid
from errlint.rules import all_rules

TRIED: Counter[str] = Counter()


@atexit.register
def _report() -> None:
    for name, count in sorted(TRIED.items()):
        print(f"fuzz: {name} tried {count} inputs")


def example_sources() -> list[str]:
    """Every rule's VALID and INVALID example that CPython parses: HTTP code in every shape errlint knows."""
    sources = []
    for rule in all_rules():
        for example in (*rule.VALID, *rule.INVALID):
            text = textwrap.dedent(example.code if isinstance(example, (Valid, Invalid)) else example).lstrip("\n")
            try:
                ast.parse(text)
            except SyntaxError:
                continue
            sources.append(text)
    return sources


def python_accepts(text: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning for generated oddities
        return _python_accepts(text)


def _python_accepts(text: str) -> bool:
    try:
        compile(text.replace("\r\n", "\n").replace("\r", "\n"), "<fuzz>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
