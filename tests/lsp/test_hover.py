"""Hover shows a rule's docs on suppression comments and on diagnostics."""

from __future__ import annotations

from lsp_helpers import to_position
from lsprotocol import types

from errlint.rules import rules_by_code

RETRY = "from urllib3.util.retry import Retry\n"
ERR101_LINE = "retry = Retry(total=3, backoff_factor=1, status_forcelist=[401, 404, 429])"


def _assert_err101_docs(hover: types.Hover | None) -> None:
    assert hover is not None
    assert hover.contents.kind == types.MarkupKind.Markdown
    rule = rules_by_code()["ERR101"]
    assert "**ERR101** `retry-permanent-status`" in hover.contents.value
    assert rule.docs() in hover.contents.value
    assert rule.docs_url() in hover.contents.value


async def test_hover_on_a_code_in_a_suppression_comment(editor):
    line = "other = 1  # errlint: ignore[ERR102, ERR101]"
    uri = editor.open("client.py", RETRY + line + "\n")
    column = line.index("ERR101") + 3
    hover = await editor.hover(uri, 1, column)
    _assert_err101_docs(hover)
    start = line.index("ERR101")
    assert hover.range == types.Range(
        start=to_position(editor.texts[uri], 1, start, editor.encoding),
        end=to_position(editor.texts[uri], 1, start + len("ERR101"), editor.encoding),
    )


async def test_hover_on_a_noqa_code_after_non_ascii_text(editor):
    line = 'x = "😀 é"  # noqa: E501, ERR101'
    uri = editor.open("client.py", line + "\n")
    _assert_err101_docs(await editor.hover(uri, 0, line.index("ERR101")))
    assert await editor.hover(uri, 0, line.index("E501")) is None


async def test_hover_on_a_prefix_lists_the_rules_it_selects(editor):
    line = "x = 1  # errlint: ignore[ERR1]"
    uri = editor.open("client.py", line + "\n")
    hover = await editor.hover(uri, 0, line.index("ERR1") + 1)
    assert "ERR101" in hover.contents.value and "retry-permanent-status" in hover.contents.value


async def test_hover_on_a_diagnostic(editor):
    uri = editor.open("client.py", RETRY + ERR101_LINE + "\n")
    [diagnostic] = [d for d in await editor.diagnostics(uri) if d.code == "ERR101"]
    hover = await editor.hover(uri, 1, ERR101_LINE.index("404"))
    _assert_err101_docs(hover)
    assert hover.range == diagnostic.range


async def test_no_hover_elsewhere(editor):
    uri = editor.open("client.py", RETRY + ERR101_LINE + "\n")
    await editor.diagnostics(uri)
    assert await editor.hover(uri, 0, 2) is None
    assert await editor.hover(uri, 40, 0) is None
