"""textDocument/hover: a rule's documentation.

On a code inside a suppression comment (`# errlint: ignore[ERR101]`,
`# noqa: ERR101`) and anywhere inside an errlint diagnostic, the hover shows
the rule's docs: the same Markdown as `errlint rule CODE`, with a link.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lsprotocol import types

from errlint.linter.suppressions import parse_suppressions
from errlint.rules import rules_by_code

if TYPE_CHECKING:
    from errlint.lsp.server import ErrlintServer

_CODE = re.compile(r"[A-Za-z]+[0-9]*")


async def hover(ls: ErrlintServer, params: types.HoverParams) -> types.Hover | None:
    document = ls.documents.get(params.text_document.uri)
    if document is None or not document.is_python:
        return None
    index = document.index
    offset = index.from_lsp(params.position, ls.encoding)
    line, column = index.line_column(offset)
    found = code_in_suppression(index.line(line), column)
    if found is not None:
        code, start, end = found
        line_start = index.line_start(line)
        return types.Hover(
            contents=rule_docs([code], ls.client.hover_markdown),
            range=index.lsp_range(line_start + start, line_start + end, ls.encoding),
        )
    analysis = ls.analyzer.current(document.uri) or await ls.analyzer.analysis_for(document.uri)
    if analysis is None or not ls.analyzer.is_current(analysis):
        return None
    findings = [
        finding
        for finding in analysis.result.findings
        if analysis.index.engine_offset(finding.start) <= offset <= analysis.index.engine_offset(finding.end)
    ]
    if not findings:
        return None
    codes = list(dict.fromkeys(finding.code for finding in findings))
    first = findings[0]
    return types.Hover(
        contents=rule_docs(codes, ls.client.hover_markdown),
        range=analysis.index.engine_range_to_lsp(first.start, first.end, ls.encoding),
    )


def code_in_suppression(line: str, column: int) -> tuple[str, int, int] | None:
    """The rule code (or prefix) under `column` in a suppression comment, with its span."""
    if "errlint" not in line and "noqa" not in line:
        return None
    for suppression in parse_suppressions(line):
        if not suppression.column <= column <= suppression.end_column:
            continue
        comment = line[suppression.column : suppression.end_column]
        head = re.match(r"#\s*(errlint\s*:\s*ignore|noqa\s*:)", comment, re.I)
        skip = head.end() if head else 0
        for match in _CODE.finditer(comment, skip):
            start, end = suppression.column + match.start(), suppression.column + match.end()
            if suppression.kind == "noqa" and not match.group().upper().startswith("ERR"):
                continue  # another tool's code in a shared `# noqa`
            if start <= column <= end:
                return match.group().upper(), start, end
    return None


def rule_docs(codes: list[str], markdown: bool) -> types.MarkupContent:
    rules = rules_by_code()
    parts: list[str] = []
    for code in codes:
        rule = rules.get(code)
        if rule is not None:
            if markdown:
                parts.append(f"**{code}** `{rule.name}`\n\n{rule.docs()}\n\n[Rule documentation]({rule.docs_url()})")
            else:
                parts.append(f"{code} ({rule.name})\n\n{rule.docs()}\n\n{rule.docs_url()}")
            continue
        matching = [rules[known] for known in sorted(rules) if known.startswith(code)]
        if matching:
            listing = "\n".join(f"- {'**' + r.code + '**' if markdown else r.code} {r.name}: {r.summary()}" for r in matching)
            parts.append(f"`{code}` selects {len(matching)} rule(s):\n\n{listing}" if markdown else f"{code} selects:\n{listing}")
        else:
            parts.append(f"`{code}` is not an errlint rule code." if markdown else f"{code} is not an errlint rule code.")
    separator = "\n\n---\n\n" if markdown else "\n\n"
    return types.MarkupContent(
        kind=types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText,
        value=separator.join(parts),
    )
