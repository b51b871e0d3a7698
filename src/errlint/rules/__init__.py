"""The rule catalog: one module per rule, found by import (no registration list to keep in sync)."""

from __future__ import annotations

import functools
import importlib
import pkgutil

from errlint.linter.rule import Rule


@functools.cache
def all_rules() -> tuple[type[Rule], ...]:
    rules: list[type[Rule]] = []
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        rules.extend(
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.__module__ == module.__name__
        )
    return tuple(sorted(rules, key=lambda rule: rule.code))


@functools.cache
def rules_by_code() -> dict[str, type[Rule]]:
    return {rule.code: rule for rule in all_rules()}


def known_codes() -> tuple[str, ...]:
    return tuple(rules_by_code())
