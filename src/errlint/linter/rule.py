"""The contract every rule implements, and the example types that test it.

A rule is one class in one module under `errlint.rules`: its docstring is its
user documentation (sections `## What it does`, `## Why is this bad?`,
`## Example`, `## Use instead`, `## Fix safety`, `## References`), its
`VALID`/`INVALID` examples are its tests, and `check()` yields reports built
from the shared `Model`. In INVALID examples, every line that must be flagged
ends with the comment `# flagged`.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Mapping

import libcst as cst

from errlint.linter.findings import Applicability, Edit, Fix, FixAvailability, Position
from errlint.linter.model import Model

REQUIRED_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety")
FLAG_MARKER = "# flagged"
DOCS_URL = "https://github.com/errlint/errlint/blob/main/docs/rules.md#{anchor}"


@dataclass(frozen=True)
class Valid:
    code: str
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Invalid:
    code: str
    # The source after applying this rule's fixes (safe and unsafe), when it has one.
    fixed: str | None = None
    # The exact message expected on the first flagged line, when given.
    message: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    node: cst.CSTNode
    message: str
    fix: Fix | None = None


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    fix_availability: ClassVar[FixAvailability] = FixAvailability.NONE
    # Rules off by default must be chosen with `select`/`extend-select`.
    default_enabled: ClassVar[bool] = True
    # Skip files whose text contains none of these words (before parsing).
    needs_text: ClassVar[tuple[str, ...]] = ()
    VALID: ClassVar[list[Valid | str]] = []
    INVALID: ClassVar[list[Invalid]] = []

    def __init__(self, model: Model) -> None:
        self.model = model
        self.settings = model.settings

    def check(self) -> Iterator[Report]:
        raise NotImplementedError

    # --- building reports and fixes -----------------------------------------

    def report(self, node: cst.CSTNode, message: str, fix: Fix | None = None) -> Report:
        return Report(node, message, fix)

    def replace(self, node: cst.CSTNode, new: cst.CSTNode | str) -> Edit:
        start, end = self.model.range_of(node)
        text = new if isinstance(new, str) else self.model.code(new)
        return Edit(start, end, text)

    def delete_argument(self, call: cst.Call, argument: cst.Arg) -> Edit:
        """Remove one argument with its separating comma."""
        index = next(i for i, arg in enumerate(call.args) if arg is argument)
        start, end = self.model.range_of(argument)
        if index + 1 < len(call.args):
            end = self.model.range_of(call.args[index + 1])[0]
        elif index > 0:
            # From the end of the previous argument (its range includes any
            # parentheses around its value, the value's range does not).
            start = self.model.range_of(call.args[index - 1])[1]
        return Edit(start, end, "")

    def insert_line_before(self, statement: cst.CSTNode, text: str) -> Edit:
        """Insert `text` as a new line above `statement` (and its decorators), at its indentation."""
        start, _ = self.model.range_of(statement)
        decorators = getattr(statement, "decorators", ())
        if decorators:
            # A definition's range starts at `def`/`class`, below its decorators.
            start = Position(self.model.range_of(decorators[0])[0].line, start.column)
        line_start = Position(start.line, 0)
        indent = self.model.indentation_of_line(start.line, start.column)
        newline = self.model.module.default_newline
        return Edit(line_start, line_start, f"{indent}{text}{newline}")

    def fix(self, title: str, applicability: Applicability, *edits: Edit) -> Fix:
        return Fix(title, applicability, tuple(edits))

    # --- documentation -------------------------------------------------------

    @classmethod
    def docs(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def sections(cls) -> dict[str, str]:
        sections: dict[str, str] = {}
        current = None
        for line in cls.docs().splitlines():
            heading = re.match(r"^##\s+(.*?)\s*$", line)
            if heading:
                current = heading.group(1)
                sections[current] = ""
            elif current is not None:
                sections[current] += line + "\n"
        return {name: text.strip() for name, text in sections.items()}

    @classmethod
    def summary(cls) -> str:
        """The first sentence of "What it does", for listings and SARIF shortDescription."""
        text = " ".join(cls.sections().get("What it does", "").split())
        match = re.match(r"(.+?[.!?])(\s|$)", text)
        return match.group(1) if match else text

    @classmethod
    def docs_url(cls) -> str:
        return DOCS_URL.format(anchor=f"{cls.code.lower()}-{cls.name}")
