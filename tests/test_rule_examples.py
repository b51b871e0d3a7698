"""Every rule's VALID and INVALID examples, run as tests.

INVALID examples mark each line that must be flagged with `# flagged`; the
rule must flag exactly those lines. VALID examples must produce no finding of
the rule. Examples that state a fixed result are checked by applying the
rule's fixes (safe and unsafe) and comparing the text.
"""

from __future__ import annotations

import textwrap

import pytest

from errlint.linter.config import settings_from_table
from errlint.linter.engine import lint_source, select_rules
from errlint.linter.rule import FLAG_MARKER, Invalid, Valid
from errlint.rules import all_rules, known_codes


def _cases(kind: str):
    for rule in all_rules():
        examples = rule.VALID if kind == "valid" else rule.INVALID
        for index, example in enumerate(examples):
            yield pytest.param(rule, example, id=f"{rule.code}-{kind}-{index}")


def _run(rule, source: str, settings_table):
    # The rule runs beside the configured rule set, as it does for users
    # (ERR901 needs the findings other rules would have produced).
    settings = settings_from_table(dict(settings_table), None, known_codes=known_codes())
    rules = select_rules(settings)
    return lint_source(source, "example.py", settings, rules=rules if rule in rules else [*rules, rule])


def _source(example) -> str:
    return textwrap.dedent(example.code if isinstance(example, (Valid, Invalid)) else example).lstrip("\n")


@pytest.mark.parametrize(("rule", "example"), list(_cases("valid")))
def test_valid_example_is_not_flagged(rule, example):
    settings = example.settings if isinstance(example, Valid) else {}
    result = _run(rule, _source(example), settings)
    assert result.error is None
    assert [(f.start.line, f.message) for f in result.findings if f.code == rule.code] == []


@pytest.mark.parametrize(("rule", "example"), list(_cases("invalid")))
def test_invalid_example_flags_marked_lines(rule, example):
    source = _source(example)
    expected = [n for n, line in enumerate(source.splitlines(), 1) if line.rstrip().endswith(FLAG_MARKER)]
    assert expected, "an INVALID example must mark at least one line with '# flagged'"
    result = _run(rule, source, example.settings)
    assert result.error is None
    flagged = sorted({f.start.line for f in result.findings if f.code == rule.code})
    assert flagged == expected
    if example.message is not None:
        first = next(f for f in result.findings if f.code == rule.code)
        assert first.message == example.message


def test_every_rule_has_enough_examples_and_docs():
    for rule in all_rules():
        sections = rule.sections()
        for section in ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety"):
            assert sections.get(section), f"{rule.code} lacks a '{section}' section"
        assert len(rule.VALID) >= 8, f"{rule.code} has {len(rule.VALID)} VALID examples"
        assert len(rule.INVALID) >= 8, f"{rule.code} has {len(rule.INVALID)} INVALID examples"


def _fixed_cases():
    for rule in all_rules():
        for index, example in enumerate(rule.INVALID):
            if example.fixed is not None:
                yield pytest.param(rule, example, id=f"{rule.code}-fixed-{index}")


@pytest.mark.parametrize(("rule", "example"), list(_fixed_cases()))
def test_fix_produces_the_stated_source(rule, example):
    from errlint.linter.fixes import fix_source

    settings = settings_from_table(dict(example.settings), None, known_codes=known_codes())
    outcome = fix_source(_source(example), "example.py", settings, unsafe=True, rules=[rule])
    assert outcome.rejected == []
    assert outcome.source == textwrap.dedent(example.fixed).lstrip("\n")
    # Fixing again changes nothing.
    again = fix_source(outcome.source, "example.py", settings, unsafe=True, rules=[rule])
    assert again.source == outcome.source


def test_rules_that_offer_fixes_show_them_in_examples():
    from errlint.linter.findings import FixAvailability

    for rule in all_rules():
        has_fixed_example = any(example.fixed is not None for example in rule.INVALID)
        if rule.fix_availability is FixAvailability.NONE:
            assert not has_fixed_example, f"{rule.code} declares no fix but an example has `fixed=`"
