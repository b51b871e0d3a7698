"""Rendering results for people and machines: full, concise, json, sarif, github.

Every format shows the same findings in the same (sorted) order. Files that
could not be linted are reported too: as `error:` lines in text formats, as
`errors` in JSON, and as tool execution notifications in SARIF.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Sequence

from errlint import __version__
from errlint.linter.findings import Applicability, FileResult, Finding
from errlint.linter.fingerprints import FINGERPRINT_KEY, fingerprints, relative_path
from errlint.rules import all_rules, rules_by_code

FORMATS = ("full", "concise", "json", "sarif", "github")
INFORMATION_URI = "https://github.com/errlint/errlint"

ReadLines = Callable[[str], Sequence[str]]


def _findings(results: Iterable[FileResult]) -> list[Finding]:
    return sorted((f for result in results for f in result.findings), key=lambda f: f.sort_key)


def _errors(results: Iterable[FileResult]) -> list[FileResult]:
    return [result for result in results if result.error]


def _notices(results: Iterable[FileResult]) -> list[FileResult]:
    return [result for result in results if result.notice]


# ANSI styles for a terminal: bold locations, red codes, blue gutters, red carets, cyan fixes.
BOLD, RED, BLUE, CYAN, RESET = "\033[1m", "\033[1;31m", "\033[34m", "\033[36m", "\033[0m"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{RESET}" if color and text else text


def render(
    format_name: str,
    results: list[FileResult],
    read_lines: ReadLines,
    show_fixes: bool = True,
    color: bool = False,
    root: Path | None = None,
) -> str:
    renderer = {
        "full": lambda: render_full(results, read_lines, show_fixes, color),
        "concise": lambda: render_concise(results, color),
        "json": lambda: render_json(results),
        "sarif": lambda: render_sarif(results, read_lines, root or Path.cwd()),
        "github": lambda: render_github(results),
    }[format_name]
    return renderer()


def _headline(finding: Finding, color: bool) -> str:
    where = _paint(f"{finding.path}:{finding.start.line}:{finding.start.column + 1}:", BOLD, color)
    return f"{where} {_paint(finding.code, RED, color)} {finding.message}"


def render_concise(results: list[FileResult], color: bool = False) -> str:
    lines = [_headline(f, color) for f in _findings(results)]
    lines += [f"{r.path}: error: {r.error}" for r in _errors(results)]
    lines += [f"{r.path}: notice: {r.notice}" for r in _notices(results)]
    return "".join(line + "\n" for line in lines)


def render_full(results: list[FileResult], read_lines: ReadLines, show_fixes: bool = True, color: bool = False) -> str:
    blocks = []
    for finding in _findings(results):
        lines = read_lines(finding.path)
        block = [_headline(finding, color)]
        if 0 < finding.start.line <= len(lines):
            text = lines[finding.start.line - 1].rstrip("\r\n")
            number = str(finding.start.line)
            gutter = " " * len(number)
            start = finding.start.column
            end = finding.end.column if finding.end.line == finding.start.line else len(text)
            width = max(1, min(end, len(text)) - start)
            block += [
                _paint(f"{gutter} |", BLUE, color),
                f"{_paint(f'{number} |', BLUE, color)} {text.expandtabs(1)}",
                f"{_paint(f'{gutter} |', BLUE, color)} {' ' * start}{_paint('^' * width, RED, color)}",
            ]
        if show_fixes and finding.fix is not None:
            label = {
                Applicability.SAFE: "fix",
                Applicability.UNSAFE: "unsafe fix",
                Applicability.DISPLAY: "suggestion",
            }[finding.fix.applicability]
            block.append(_paint(f"  = {label}: {finding.fix.title}", CYAN, color))
            if finding.fix.applicability is Applicability.DISPLAY:
                # One-line suggestions are shown in full; longer ones live in
                # the JSON output and the editor's code action.
                for edit in finding.fix.edits:
                    content = edit.content.strip()
                    if content and "\n" not in content and len(content) <= 100:
                        block.append(f"      {content}")
        blocks.append("\n".join(block))
    for result in _errors(results):
        blocks.append(f"{result.path}: error: {result.error}")
    for result in _notices(results):
        blocks.append(f"{result.path}: notice: {result.notice}")
    return "".join(block + "\n\n" for block in blocks)


def finding_as_dict(finding: Finding) -> dict:
    rule = rules_by_code().get(finding.code)
    fix = None
    if finding.fix is not None:
        fix = {
            "title": finding.fix.title,
            "applicability": finding.fix.applicability.value,
            "edits": [
                {
                    "content": edit.content,
                    "location": {"row": edit.start.line, "column": edit.start.column + 1},
                    "end_location": {"row": edit.end.line, "column": edit.end.column + 1},
                }
                for edit in finding.fix.edits
            ],
        }
    return {
        "code": finding.code,
        "name": rule.name if rule else None,
        "message": finding.message,
        "filename": finding.path,
        "location": {"row": finding.start.line, "column": finding.start.column + 1},
        "end_location": {"row": finding.end.line, "column": finding.end.column + 1},
        "fix": fix,
        "url": rule.docs_url() if rule else None,
    }


def render_json(results: list[FileResult]) -> str:
    payload = {
        "findings": [finding_as_dict(f) for f in _findings(results)],
        "errors": [{"filename": r.path, "message": r.error} for r in _errors(results)],
        "notices": [{"filename": r.path, "message": r.notice} for r in _notices(results)],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


ROOT_BASE_ID = "PROJECTROOT"


def _artifact(path: str, root: Path) -> dict:
    """A SARIF artifactLocation: relative to the project root (uriBaseId) when inside it."""
    from urllib.parse import quote

    relative = relative_path(path, root)
    if Path(relative).is_absolute():
        return {"uri": Path(relative).as_uri()}
    if relative.startswith(".."):
        return {"uri": Path(os.path.abspath(path)).as_uri()}
    return {"uri": quote(relative), "uriBaseId": ROOT_BASE_ID}


def render_sarif(results: list[FileResult], read_lines: ReadLines | None = None, root: Path | None = None) -> str:
    root = Path(os.path.abspath(root or Path.cwd()))
    prints = fingerprints(_findings(results), read_lines or (lambda path: []), root)
    rules = list(all_rules())
    index = {rule.code: position for position, rule in enumerate(rules)}
    sarif_rules = []
    for rule in rules:
        docs = rule.docs()
        sarif_rules.append(
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary()},
                "fullDescription": {"text": docs},
                "help": {"text": docs, "markdown": docs},
                "helpUri": rule.docs_url(),
                "defaultConfiguration": {"level": "error", "enabled": rule.default_enabled},
                "properties": {"fixAvailability": rule.fix_availability.value},
            }
        )
    sarif_results = []
    for finding in _findings(results):
        entry: dict = {
            "ruleId": finding.code,
            "level": "error",
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(finding.path, root),
                        "region": {
                            "startLine": finding.start.line,
                            "startColumn": finding.start.column + 1,
                            "endLine": finding.end.line,
                            "endColumn": finding.end.column + 1,
                        },
                    }
                }
            ],
            "partialFingerprints": {FINGERPRINT_KEY: prints[finding]},
        }
        if finding.code in index:
            entry["ruleIndex"] = index[finding.code]
        if finding.fix is not None and finding.fix.edits and finding.fix.applicability is not Applicability.DISPLAY:
            entry["fixes"] = [
                {
                    "description": {"text": finding.fix.title},
                    "artifactChanges": [
                        {
                            "artifactLocation": _artifact(finding.path, root),
                            "replacements": [
                                {
                                    "deletedRegion": {
                                        "startLine": edit.start.line,
                                        "startColumn": edit.start.column + 1,
                                        "endLine": edit.end.line,
                                        "endColumn": edit.end.column + 1,
                                    },
                                    "insertedContent": {"text": edit.content},
                                }
                                for edit in finding.fix.edits
                            ],
                        }
                    ],
                }
            ]
        sarif_results.append(entry)
    notifications = [
        {
            "level": level,
            "message": {"text": text},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(result.path, root)}}],
        }
        for level, results_of, attribute in (("error", _errors, "error"), ("note", _notices, "notice"))
        for result in results_of(results)
        for text in [getattr(result, attribute)]
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "errlint",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": sarif_rules,
                    }
                },
                "automationDetails": {"id": "errlint/"},
                "originalUriBaseIds": {ROOT_BASE_ID: {"uri": root.as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}
                ],
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _github_escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(results: list[FileResult]) -> str:
    lines = []
    for f in _findings(results):
        properties = ",".join(
            [
                f"title={_github_escape(f'errlint ({f.code})', True)}",
                f"file={_github_escape(f.path, True)}",
                f"line={f.start.line}",
                f"col={f.start.column + 1}",
                f"endLine={f.end.line}",
                f"endColumn={f.end.column + 1}",
            ]
        )
        lines.append(f"::error {properties}::{_github_escape(f'{f.code} {f.message}')}")
    for r in _errors(results):
        lines.append(f"::error title=errlint,file={_github_escape(r.path, True)}::{_github_escape(r.error or '')}")
    for r in _notices(results):
        lines.append(f"::notice title=errlint,file={_github_escape(r.path, True)}::{_github_escape(r.notice or '')}")
    return "".join(line + "\n" for line in lines)


def render_statistics(results: list[FileResult]) -> str:
    counts = Counter(f.code for f in _findings(results))
    known = rules_by_code()
    def fixable(applicability: Applicability) -> Counter[str]:
        return Counter(
            f.code for f in _findings(results) if f.fix is not None and f.fix.edits and f.fix.applicability is applicability
        )

    safe, unsafe = fixable(Applicability.SAFE), fixable(Applicability.UNSAFE)
    width = max((len(str(n)) for n in counts.values()), default=1)
    lines = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        name = known[code].name if code in known else ""
        marker = "[*]" if safe[code] else "[-]" if unsafe[code] else "   "
        lines.append(f"{count:>{width}}  {code}  {marker} {name}")
    if safe or unsafe:
        lines.append("[*] fixable with `--fix`; [-] only with `--fix --unsafe-fixes`")
    return "".join(line + "\n" for line in lines)


def summary_line(
    findings: int,
    files_with_errors: int,
    fixed: int = 0,
    fixable: int = 0,
    not_analysed: int = 0,
    not_written: int = 0,
    unsafe_fixable: int = 0,
) -> str:
    parts = []
    if fixed:
        parts.append(f"Fixed {fixed} finding{'s' if fixed != 1 else ''}")
    if findings:
        parts.append(f"{findings} remaining" if fixed else f"Found {findings} finding{'s' if findings != 1 else ''}")
    elif not files_with_errors and not not_written:
        parts.append("All checks passed" if not fixed else "no findings remaining")
    if files_with_errors:
        parts.append(f"{files_with_errors} file{'s' if files_with_errors != 1 else ''} could not be linted")
    if not_written:
        parts.append(f"{not_written} file{'s' if not_written != 1 else ''} could not be written")
    if not_analysed:
        parts.append(f"{not_analysed} file{'s' if not_analysed != 1 else ''} not analysed (see the notice)")
    text = "; ".join(parts) + "."
    if fixable and not fixed:
        text += f"\n[*] {fixable} fixable with `--fix`."
    if unsafe_fixable and not fixed:
        hidden = f"{unsafe_fixable} hidden fix{'es' if unsafe_fixable != 1 else ''}"
        text += f"\n{hidden} can be enabled with `--unsafe-fixes`."
    return text
