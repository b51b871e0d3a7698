"""textDocument/codeAction, codeAction/resolve and the errlint.showSuggestion command.

For each errlint diagnostic under the cursor:
- "errlint (ERRxxx): <fix title>": the rule's SAFE or UNSAFE fix, as a quick
  fix that edits only what the fix changes;
- a DISPLAY-only suggestion is offered but never applied: an action that only
  shows the suggested change in a message;
- "Ignore ERRxxx for this line": adds `# errlint: ignore[ERRxxx]`, or adds the
  code to an `# errlint: ignore[...]` comment already on that line.
And for the document, `source.fixAll.errlint`: every SAFE fix, through the
same `fix_source` as `errlint --fix` (computed lazily via codeAction/resolve
when the client supports it).
"""

from __future__ import annotations

import functools
import io
import tokenize
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from lsprotocol import types

from errlint.linter.findings import Applicability
from errlint.linter.fixes import fix_source
from errlint.linter.suppressions import parse_suppressions
from errlint.lsp.analysis import Analysis
from errlint.lsp.diagnostics import SOURCE, SYNTAX_ERROR, UNUSED_SUPPRESSION, trim
from errlint.lsp.documents import Document

if TYPE_CHECKING:
    from errlint.lsp.server import ErrlintServer

FIX_ALL_KIND = "source.fixAll.errlint"
FIX_ALL_TITLE = "errlint: Fix all auto-fixable problems"
SHOW_SUGGESTION = "errlint.showSuggestion"
KINDS = [types.CodeActionKind.QuickFix, FIX_ALL_KIND]


def wants(only: Iterable[str] | None, kind: str) -> bool:
    """Does a request for kinds `only` (None: any) cover `kind`? Kinds are dotted prefixes."""
    if only is None:
        return True
    kind = _value(kind)
    return any(prefix == "" or kind == prefix or kind.startswith(prefix + ".") for prefix in map(_value, only))


def _value(kind: Any) -> str:
    return str(getattr(kind, "value", kind))


# --- handlers ----------------------------------------------------------------------


async def code_action(ls: ErrlintServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    document = ls.documents.get(params.text_document.uri)
    if document is None or not document.is_python:
        return None
    only = params.context.only
    actions: list[types.CodeAction] = []
    analysis = ls.analyzer.current(document.uri)
    if wants(only, types.CodeActionKind.QuickFix):
        diagnostics = [d for d in params.context.diagnostics if d.source == SOURCE and d.code is not None]
        if analysis is None and (not diagnostics or any(not _is_fresh(d, document) for d in diagnostics)):
            analysis = await ls.analyzer.analysis_for(document.uri)
            if analysis is not None and not ls.analyzer.is_current(analysis):
                analysis = None
        if not diagnostics and analysis is not None:
            # Clients that send no diagnostics in the context still get actions for what is under the cursor.
            diagnostics = [d for d in analysis.diagnostics if d.code is not None and _touches(d.range, params.range)]
        current = [pair for d in diagnostics if (pair := _current(document, d, analysis)) is not None]
        for diagnostic, fix in current:
            action = fix_action(ls, document, diagnostic, fix)
            if action is not None:
                actions.append(action)
        seen: set[tuple[str, int]] = set()
        for diagnostic, _ in current:
            key = (str(diagnostic.code), diagnostic.range.start.line)
            if key not in seen:
                seen.add(key)
                action = ignore_action(ls, document, diagnostic)
                if action is not None:
                    actions.append(action)
    if only is not None and wants(only, FIX_ALL_KIND) or only is None and _has_safe_fix(analysis):
        action = await fix_all_action(ls, document)
        if action is not None:
            actions.append(action)
    return actions


def _is_fresh(diagnostic: types.Diagnostic, document: Document) -> bool:
    data = diagnostic.data
    return isinstance(data, Mapping) and data.get("version") == document.version


def _current(
    document: Document, diagnostic: types.Diagnostic, analysis: Analysis | None
) -> tuple[types.Diagnostic, Mapping | None] | None:
    """The diagnostic as it stands in the current text, with its fix; None if it is gone.

    A diagnostic computed for the current version carries its fix. An older one
    (the user typed since) is matched to the current analysis: same code and
    range, else same code and message nearest to where it was.
    """
    if _is_fresh(diagnostic, document):
        return diagnostic, _fix_in(diagnostic)
    if analysis is None:
        return None
    same_code = [c for c in analysis.diagnostics if c.code == diagnostic.code]
    exact = [c for c in same_code if c.range == diagnostic.range]
    if exact:
        return exact[0], _fix_in(exact[0])
    similar = [c for c in same_code if c.message == diagnostic.message]
    if not similar:
        return None
    nearest = min(similar, key=lambda c: abs(c.range.start.line - diagnostic.range.start.line))
    return nearest, _fix_in(nearest)


def _fix_in(diagnostic: types.Diagnostic) -> Mapping | None:
    data = diagnostic.data
    fix = data.get("fix") if isinstance(data, Mapping) else None
    return fix if isinstance(fix, Mapping) else None


async def resolve_code_action(ls: ErrlintServer, action: types.CodeAction) -> types.CodeAction:
    data = action.data if isinstance(action.data, Mapping) else {}
    if data.get("action") == "fixAll" and action.edit is None:
        document = ls.documents.get(str(data.get("uri")))
        if document is not None:
            action.edit = await fix_all_edit(ls, document) or _workspace_edit(ls, document, [])
    return action


def show_suggestion(ls, *arguments: Any) -> None:  # no annotation on `ls`: pygls resolves the hints at run time
    message = str(arguments[0]) if arguments else "errlint: no suggestion to show"
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=message))


# --- fixes ---------------------------------------------------------------------------


def fix_action(
    ls: ErrlintServer, document: Document, diagnostic: types.Diagnostic, fix: Mapping | None
) -> types.CodeAction | None:
    if not fix or not fix.get("edits"):
        return None
    code = str(diagnostic.code)
    title = f"errlint ({code}): {fix.get('title', 'Fix')}"
    edits = [_text_edit(edit) for edit in fix["edits"]]
    applicability = fix.get("applicability")
    if applicability in (Applicability.SAFE.value, Applicability.UNSAFE.value):
        return types.CodeAction(
            title=title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            is_preferred=applicability == Applicability.SAFE.value,
            edit=_workspace_edit(ls, document, edits),
        )
    # A display-only suggestion: never an edit. Choosing it shows the suggested change
    # in a message (a disabled action would be hidden from VS Code's quick fix menu).
    message = f"{code} suggestion, not applied automatically (review it and edit by hand): {fix.get('title', '')}. " + "; ".join(
        _describe_edit(document, edit, ls.encoding) for edit in edits
    )
    return types.CodeAction(
        title=f"{title} (show suggestion)",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        command=types.Command(title="Show the suggested change", command=SHOW_SUGGESTION, arguments=[message]),
    )


def _describe_edit(document: Document, edit: types.TextEdit, encoding: str) -> str:
    start, end = document.index.range_offsets(edit.range, encoding)
    old = document.text[start:end]
    line = edit.range.start.line + 1
    if not old:
        return f"insert `{edit.new_text}` on line {line}"
    if not edit.new_text:
        return f"delete `{old}` on line {line}"
    return f"replace `{old}` with `{edit.new_text}` on line {line}"


def _has_safe_fix(analysis: Analysis | None) -> bool:
    if analysis is None:
        return False
    return any(
        finding.fix is not None
        and finding.fix.edits
        and finding.fix.applicability is Applicability.SAFE
        for finding in analysis.result.findings
    )


async def fix_all_action(ls: ErrlintServer, document: Document) -> types.CodeAction | None:
    action = types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL_KIND)
    if ls.client.code_action_resolve:
        action.data = {"action": "fixAll", "uri": document.uri, "version": document.version}
        return action
    action.edit = await fix_all_edit(ls, document)
    return action if action.edit is not None else None


async def fix_all_edit(ls: ErrlintServer, document: Document) -> types.WorkspaceEdit | None:
    """Every SAFE fix for the document's current text, as one minimal edit."""
    analysis = await ls.analyzer.analysis_for(document.uri)
    if analysis is None:
        return None
    text, version = analysis.text, analysis.version
    outcome = await ls.analyzer.run(fix_source, text, analysis.path, analysis.settings)
    if outcome.source == text:
        return None
    start, end, content = trim(text, 0, len(text), outcome.source)
    edit = types.TextEdit(range=analysis.index.lsp_range(start, end, ls.encoding), new_text=content)
    snapshot = Document(document.uri, text, version, document.language_id)
    return _workspace_edit(ls, snapshot, [edit])


# --- ignore comments ---------------------------------------------------------------


def ignore_action(ls: ErrlintServer, document: Document, diagnostic: types.Diagnostic) -> types.CodeAction | None:
    code = str(diagnostic.code)
    if code in (SYNTAX_ERROR, UNUSED_SUPPRESSION):
        return None
    edit = ignore_edit(document, diagnostic.range.start.line, code, ls.encoding)
    if edit is None:
        return None
    return types.CodeAction(
        title=f"Ignore {code} for this line",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=_workspace_edit(ls, document, [edit]),
    )


def ignore_edit(document: Document, line: int, code: str, encoding: str) -> types.TextEdit | None:
    """The edit that silences `code` from the first line at or after `line` that can take a comment."""
    index = document.index
    line = _commentable_line(document.text, line)
    text = index.line(line)
    start = index.line_start(line)
    for suppression in parse_suppressions(text):
        if suppression.kind != "errlint":
            continue
        if any(code.startswith(existing) for existing in suppression.codes):
            return None  # already silenced there
        comment = f"# errlint: ignore[{', '.join((*suppression.codes, code))}]"
        return types.TextEdit(
            range=index.lsp_range(start + suppression.column, start + suppression.end_column, encoding),
            new_text=comment,
        )
    content_end = len(text.rstrip())
    separator = "  " if content_end else ""
    return types.TextEdit(
        range=index.lsp_range(start + content_end, start + len(text), encoding),
        new_text=f"{separator}# errlint: ignore[{code}]",
    )


def _commentable_line(text: str, line: int) -> int:
    lines = commentable_lines(text)
    later = [candidate for candidate in lines if candidate >= line]
    return min(later) if later else line


@functools.lru_cache(maxsize=8)
def commentable_lines(text: str) -> frozenset[int]:
    """0-based lines whose end is outside any string and not continued by a backslash."""
    lines: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type in (tokenize.NEWLINE, tokenize.NL):
                lines.add(token.start[0] - 1)
    except (tokenize.TokenError, SyntaxError):
        pass  # keep the lines found before the error
    return frozenset(lines)


# --- helpers -------------------------------------------------------------------------


def _workspace_edit(ls: ErrlintServer, document: Document, edits: list[types.TextEdit]) -> types.WorkspaceEdit:
    if ls.client.document_changes:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=document.version),
                    edits=list(edits),
                )
            ]
        )
    return types.WorkspaceEdit(changes={document.uri: list(edits)})


def _text_edit(raw: Mapping[str, Any]) -> types.TextEdit:
    range_ = raw["range"]
    return types.TextEdit(
        range=types.Range(
            start=types.Position(line=range_["start"]["line"], character=range_["start"]["character"]),
            end=types.Position(line=range_["end"]["line"], character=range_["end"]["character"]),
        ),
        new_text=raw["newText"],
    )


def _touches(a: types.Range, b: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return (position.line, position.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)
