"""Findings as LSP diagnostics, and the textDocument/diagnostic (pull) handler.

Each diagnostic carries the finding's fix in `data` (edits already in the
client's position encoding) and the document version it was computed for, so
a code action can use it without linting again while the text is unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from errlint.linter.findings import FileResult, Finding, Fix
from errlint.lsp.positions import LineIndex
from errlint.rules import rules_by_code

if TYPE_CHECKING:
    from errlint.lsp.server import ErrlintServer

SOURCE = "errlint"
SYNTAX_ERROR = "ERR900"
UNUSED_SUPPRESSION = "ERR901"
SERVER_CANCELLED = -32802  # LSPErrorCodes.ServerCancelled
PULL_ATTEMPTS = 3

_SEVERITY = {SYNTAX_ERROR: types.DiagnosticSeverity.Error}


def build_diagnostics(result: FileResult, index: LineIndex, encoding: str, version: int | None) -> list[types.Diagnostic]:
    diagnostics = [to_diagnostic(finding, index, encoding, version) for finding in result.findings]
    # Why the file was not (fully) checked, at its top: an error, or a notice of errlint's own limit.
    if result.error:
        diagnostics.insert(0, _file_note(f"errlint could not check this file: {result.error}", types.DiagnosticSeverity.Warning))
    if result.notice:
        diagnostics.insert(0, _file_note(f"errlint: {result.notice}", types.DiagnosticSeverity.Information))
    return diagnostics


def _file_note(message: str, severity: types.DiagnosticSeverity) -> types.Diagnostic:
    start = types.Position(line=0, character=0)
    return types.Diagnostic(range=types.Range(start=start, end=start), message=message, severity=severity, source=SOURCE)


def to_diagnostic(finding: Finding, index: LineIndex, encoding: str, version: int | None) -> types.Diagnostic:
    rule = rules_by_code().get(finding.code)
    tags = [types.DiagnosticTag.Unnecessary] if finding.code == UNUSED_SUPPRESSION else None
    return types.Diagnostic(
        range=index.engine_range_to_lsp(finding.start, finding.end, encoding),
        message=finding.message,
        severity=_SEVERITY.get(finding.code, types.DiagnosticSeverity.Warning),
        code=finding.code,
        code_description=types.CodeDescription(href=rule.docs_url()) if rule is not None else None,
        source=SOURCE,
        tags=tags,
        data={"version": version, "fix": fix_data(finding.fix, index, encoding)},
    )


def fix_data(fix: Fix | None, index: LineIndex, encoding: str) -> dict[str, Any] | None:
    if fix is None or not fix.edits:
        return None
    return {
        "title": fix.title,
        "applicability": fix.applicability.value,
        "edits": [{"range": range_json(edit.range), "newText": edit.new_text} for edit in minimal_edits(fix, index, encoding)],
    }


def minimal_edits(fix: Fix, index: LineIndex, encoding: str) -> list[types.TextEdit]:
    """The fix's edits as TextEdits, trimmed to the text that really changes.

    Rules replace whole nodes; trimming the unchanged head and tail keeps a
    quick fix to the lines it actually changes (and keeps cursors and marks
    elsewhere in the node where they are).
    """
    edits = []
    for edit in fix.edits:
        start = index.engine_offset(edit.start)
        end = max(start, index.engine_offset(edit.end))
        start, end, content = trim(index.text, start, end, edit.content)
        edits.append(types.TextEdit(range=index.lsp_range(start, end, encoding), new_text=content))
    return edits


def trim(text: str, start: int, end: int, content: str) -> tuple[int, int, str]:
    """Narrow the replacement of text[start:end] by `content` to the lines that differ.

    Only whole unchanged lines are trimmed from either end, so an edit within
    one line keeps the rule's own boundaries (and reads naturally).
    """
    old = text[start:end]
    head = 0
    limit = min(len(old), len(content))
    while head < limit and old[head] == content[head]:
        head += 1
    head = max(old.rfind("\n", 0, head), old.rfind("\r", 0, head)) + 1
    tail = 0
    limit = min(len(old), len(content)) - head
    while tail < limit and old[len(old) - 1 - tail] == content[len(content) - 1 - tail]:
        tail += 1
    kept = old[len(old) - tail :]
    breaks = [i for i in (kept.find("\r"), kept.find("\n")) if i >= 0]
    tail = tail - min(breaks) if breaks else 0
    # Never split a "\r\n" pair: LSP cannot address the point between them.
    while head and text[start + head - 1] == "\r" and start + head < len(text) and text[start + head] == "\n":
        head -= 1
    while tail and text[end - tail] == "\n" and end - tail > 0 and text[end - tail - 1] == "\r":
        tail -= 1
    return start + head, end - tail, content[head : len(content) - tail]


def range_json(range_: types.Range) -> dict[str, Any]:
    return {
        "start": {"line": range_.start.line, "character": range_.start.character},
        "end": {"line": range_.end.line, "character": range_.end.character},
    }


# --- handler -------------------------------------------------------------------


async def document_diagnostic(ls: ErrlintServer, params: types.DocumentDiagnosticParams):
    uri = params.text_document.uri
    for _ in range(PULL_ATTEMPTS):
        document = ls.documents.get(uri)
        if document is None or not document.is_python:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        analysis = await ls.analyzer.analysis_for(uri)
        if analysis is None:
            continue
        if not ls.analyzer.is_current(analysis):
            continue  # the text changed while linting: lint the new text
        ls.report_notes(analysis)
        if params.previous_result_id is not None and params.previous_result_id == analysis.result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=analysis.result_id)
        return types.RelatedFullDocumentDiagnosticReport(items=list(analysis.diagnostics), result_id=analysis.result_id)
    raise JsonRpcException(
        message="the document kept changing while it was linted",
        code=SERVER_CANCELLED,
        data={"retriggerRequest": True},
    )
