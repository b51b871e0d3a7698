"""Programs generated from Python's grammar (hypothesmith): whatever valid Python
looks like, errlint neither crashes nor calls it a syntax error, the editor's
parse agrees with the CLI's, and fixes keep it valid. Each program carries a
rule example written in the program's own indentation, so fixes run on it."""

from __future__ import annotations

import hypothesmith
from hypothesis import given
from hypothesis import strategies as st

from .conftest import fuzz_settings
from .helpers import TRIED, example_sources
from .test_fuzz_mutants import check_one

# The generated statements, behind an import that makes errlint look at them.
PREFIX = "import requests\n"
EXAMPLES = example_sources()


def in_the_style_of(program: str, example: str, default_unit: str) -> str:
    """`example` indented with the program's indentation unit, or `default_unit`
    when the program has no indented line."""
    unit = next(
        (line[: len(line) - len(line.lstrip(" \t"))] for line in program.splitlines() if line[:1] in (" ", "\t")),
        default_unit,
    )
    return "\n".join(
        unit * ((len(line) - len(line.lstrip(" "))) // 4) + line.lstrip(" ") for line in example.splitlines()
    ) + "\n"


@fuzz_settings(default_examples=100)
@given(
    program=hypothesmith.from_grammar(),
    example=st.sampled_from(EXAMPLES),
    unit=st.sampled_from(["    ", "\t", "  "]),
    edit_at=st.integers(min_value=0, max_value=10_000),
)
def test_generated_programs(program, example, unit, edit_at):
    text = PREFIX + program.rstrip("\\ \t\r\n") + "\n" + in_the_style_of(program, example, unit)
    TRIED["generated programs"] += 1
    # The editor saw the program before one character was typed into it.
    cut = len(PREFIX) + edit_at % (len(program) + 1)
    check_one(text, text[:cut] + " " + text[cut:])


@fuzz_settings(default_examples=60)
@given(module=hypothesmith.from_node())
def test_generated_syntax_trees(module):
    TRIED["generated syntax trees"] += 1
    text = PREFIX + module
    check_one(text, PREFIX)
