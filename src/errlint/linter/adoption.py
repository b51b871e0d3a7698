"""Turning errlint on in a codebase that already has findings.

Two ways to accept today's findings and block new ones:

- a baseline file (`--write-baseline FILE`, then `--baseline FILE`): today's
  findings by fingerprint (see fingerprints.py), so they stay accepted when
  code moves or a message is reworded; later runs report only new ones;
- `--add-noqa`: an `# errlint: ignore[CODE]` comment on each finding's line,
  merged into an errlint comment already there, so the acceptance is visible
  where the code is.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from errlint.linter.config import ConfigError
from errlint.linter.findings import Finding
from errlint.linter.source import python_lines

BASELINE_FORMAT = 1
_ERRLINT_IGNORE = re.compile(r"#\s*errlint\s*:\s*ignore\[(?P<codes>[^\]]*)\]", re.I)


# --- baseline -----------------------------------------------------------------


def write_baseline(path: Path, prints: dict[Finding, str], root: Path) -> None:
    from errlint.linter.fingerprints import relative_path

    entries = sorted(
        ({"fingerprint": value, "code": f.code, "path": relative_path(f.path, root)} for f, value in prints.items()),
        key=lambda entry: (entry["path"], entry["code"], entry["fingerprint"]),
    )
    text = json.dumps({"errlint-baseline": BASELINE_FORMAT, "findings": entries}, indent=1) + "\n"
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot write the baseline: {error.strerror or error}") from None


def read_baseline(path: Path) -> set[str]:
    """The fingerprints a baseline file accepts; a missing or malformed file is a one-line error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the baseline: {error.strerror or error}") from None
    except ValueError as error:
        raise ConfigError(f"{path}: not a baseline file (invalid JSON: {error})") from None
    if not isinstance(data, dict) or data.get("errlint-baseline") != BASELINE_FORMAT:
        raise ConfigError(f"{path}: not an errlint baseline (made with `--write-baseline`)")
    entries = data.get("findings")
    if not isinstance(entries, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str) for entry in entries
    ):
        raise ConfigError(f"{path}: `findings` must be a list of objects with a `fingerprint`")
    return {entry["fingerprint"] for entry in entries}


# --- --add-noqa ---------------------------------------------------------------


@dataclass
class NoqaOutcome:
    text: str
    added: int  # comments added or extended
    skipped: list[int]  # lines where a comment would have broken the file


def add_noqa(text: str, findings: list[Finding], newline: str) -> NoqaOutcome:
    """`text` with an `# errlint: ignore[...]` comment for every finding, on the finding's first line."""
    codes_by_line: dict[int, set[str]] = defaultdict(set)
    for finding in findings:
        if finding.code not in ("ERR900",):
            codes_by_line[finding.start.line].add(finding.code)
    lines = python_lines(text, keepends=True)  # not str.splitlines: it also splits at form feeds
    added, skipped = 0, []
    original = _syntax(text)
    if original is None:
        return NoqaOutcome(text, 0, sorted(codes_by_line))
    for number in sorted(codes_by_line):
        if not 0 < number <= len(lines):
            continue
        trial = list(lines)
        trial[number - 1] = _with_codes(lines[number - 1], codes_by_line[number], newline)
        if trial[number - 1] == lines[number - 1]:
            continue
        # A comment at the end of a line inside a string or after a `\` would
        # change the code: keep only edits after which the file parses the same.
        if _syntax("".join(trial)) == original:
            lines, added = trial, added + 1
        else:
            skipped.append(number)
    return NoqaOutcome("".join(lines), added, skipped)


def _with_codes(line: str, codes: set[str], newline: str) -> str:
    body = line.rstrip("\r\n")
    ending = line[len(body) :] or newline
    existing = _ERRLINT_IGNORE.search(body)
    if existing is not None:
        have = {code.strip().upper() for code in existing.group("codes").split(",") if code.strip()}
        if codes <= have:
            return line
        merged = ", ".join(sorted(have | codes))
        return body[: existing.start("codes")] + merged + body[existing.end("codes") :] + ending
    return f"{body}  # errlint: ignore[{', '.join(sorted(codes))}]{ending}"


def _syntax(text: str) -> str | None:
    """The syntax tree as text (comments are not in it), or None when CPython cannot parse `text`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.dump(ast.parse(text))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
