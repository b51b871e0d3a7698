"""Suppression comments as a user writes them, checked through the CLI's concise output."""

from __future__ import annotations

import pytest

from .helpers import ERR101_LINE, ERR101_MESSAGE, write

HEADER = "from urllib3 import Retry\n"
BARE_MESSAGE = "`# errlint: ignore` without codes silences nothing; name them: `# errlint: ignore[ERR101]`"


def lint(errlint, project, body: str, *flags: str) -> list[str]:
    write(project / "a.py", HEADER + body)
    result = errlint("--select", "ERR101,ERR900,ERR901", *flags, "--output-format", "concise", "--quiet", "a.py")
    assert "Traceback" not in result.err
    return result.out.splitlines()


def err101(line: int, col: int = 24) -> str:
    return f"a.py:{line}:{col}: ERR101 {ERR101_MESSAGE}"


def test_unsuppressed_baseline(errlint, project):
    assert lint(errlint, project, ERR101_LINE + "\n") == [err101(2)]


@pytest.mark.parametrize(
    "comment",
    [
        "# errlint: ignore[ERR101]",
        "# noqa: ERR101",
        "# NOQA:ERR101",
        "#errlint:ignore[err101]",
        "# errlint: ignore[ERR102, ERR101]",
        "# errlint: ignore[ERR1]",
        "# noqa: E501, ERR101",
        "# type: ignore  # errlint: ignore[ERR101]",
    ],
)
def test_comment_on_the_same_line(errlint, project, comment):
    assert lint(errlint, project, f"{ERR101_LINE}  {comment}\n") == []


@pytest.mark.parametrize("comment", ["# errlint: ignore[ERR101]", "# noqa: ERR101"])
def test_comment_alone_on_the_line_above(errlint, project, comment):
    assert lint(errlint, project, f"{comment}\n{ERR101_LINE}\n") == []


def test_comment_two_lines_above_does_not_count(errlint, project):
    assert lint(errlint, project, f"# errlint: ignore[ERR101]\n\n{ERR101_LINE}\n") == [
        "a.py:2:1: ERR901 Unused suppression for `ERR101`",
        err101(4),
    ]


def test_comment_after_code_on_the_line_above_does_not_count(errlint, project):
    body = f"x = 1  # errlint: ignore[ERR101]\n{ERR101_LINE}\n"

    assert lint(errlint, project, body, "--extend-select", "ERR901") == [
        "a.py:2:8: ERR901 Unused suppression for `ERR101`",
        err101(3),
    ]


def test_multi_line_statement_with_the_comment_on_its_last_line(errlint, project):
    body = "retry = Retry(\n    total=3,\n    status_forcelist=[401, 404, 429],\n)  # errlint: ignore[ERR101]\n"

    assert lint(errlint, project, body) == []


def test_multi_line_statement_unsuppressed_points_at_the_argument(errlint, project):
    body = "retry = Retry(\n    total=3,\n    status_forcelist=[401, 404, 429],\n)\n"

    assert lint(errlint, project, body) == [err101(4, col=5)]


def test_other_codes_do_not_suppress(errlint, project):
    assert lint(errlint, project, f"{ERR101_LINE}  # errlint: ignore[ERR102]\n") == [err101(2)]
    assert lint(errlint, project, f"{ERR101_LINE}  # noqa: E501\n") == [err101(2)]


def test_a_longer_code_does_not_suppress_its_prefix(errlint, project):
    assert lint(errlint, project, f"{ERR101_LINE}  # errlint: ignore[ERR1011]\n") == [
        err101(2),
        "a.py:2:59: ERR901 Unused suppression for `ERR1011`",
    ]


def test_bare_ignore_is_refused_with_a_finding(errlint, project):
    assert lint(errlint, project, f"{ERR101_LINE}  # errlint: ignore\n") == [
        err101(2),
        f"a.py:2:59: ERR901 {BARE_MESSAGE}",
    ]


def test_bare_ignore_is_reported_without_selecting_err901(errlint, project):
    write(project / "a.py", HEADER + f"{ERR101_LINE}  # errlint: ignore\n")

    result = errlint("--output-format", "concise", "a.py")

    assert f"a.py:2:59: ERR901 {BARE_MESSAGE}" in result.out.splitlines()


@pytest.mark.parametrize(
    "body",
    [
        f'{ERR101_LINE}; note = "# noqa: ERR101"\n',
        f"{ERR101_LINE}; note = '# errlint: ignore[ERR101]'\n",
        f'{ERR101_LINE}; note = f"{{1}} # noqa: ERR101"\n',
    ],
    ids=["double-quoted", "single-quoted", "f-string"],
)
def test_suppression_text_inside_a_string_is_not_a_comment(errlint, project, body):
    assert lint(errlint, project, body) == [err101(2)]


def test_suppression_text_inside_a_triple_quoted_string_is_not_a_comment(errlint, project):
    body = f'DOC = """\n# errlint: ignore[ERR101]\n"""\n{ERR101_LINE}\n'

    assert lint(errlint, project, body) == [err101(5)]


def test_unused_suppression_only_when_err901_is_asked_for(errlint, project):
    body = "x = 1  # errlint: ignore[ERR101]\n"
    write(project / "a.py", HEADER + body)

    default = errlint("--output-format", "concise", "--quiet", "a.py")
    assert (default.code, default.out) == (0, "")

    extended = errlint("--extend-select", "ERR901", "--output-format", "concise", "--quiet", "a.py")
    assert extended.out.splitlines() == ["a.py:2:8: ERR901 Unused suppression for `ERR101`"]
    assert extended.code == 1


def test_unused_suppression_names_only_the_unused_codes(errlint, project):
    body = f"{ERR101_LINE}  # errlint: ignore[ERR101, ERR1099]\n"

    assert lint(errlint, project, body, "--extend-select", "ERR901") == [
        "a.py:2:59: ERR901 Unused suppression for `ERR1099`"
    ]


def test_suppression_for_a_rule_that_did_not_run_is_not_unused(errlint, project):
    # ERR102 is not selected in this run; the comment may still be needed in a full run.
    body = "x = 1  # errlint: ignore[ERR102]\n"

    assert lint(errlint, project, body, "--extend-select", "ERR901") == []


def test_noqa_for_other_tools_is_never_reported_as_unused(errlint, project):
    body = "x = 1  # noqa: E501\n"

    assert lint(errlint, project, body, "--extend-select", "ERR901") == []


def test_suppressed_syntax_error_still_reported(errlint, project):
    # A file that does not parse has no statements to attach a comment to.
    write(project / "a.py", "import requests\ndef f(:  # errlint: ignore[ERR900]\n")

    result = errlint("--select", "ERR900", "--output-format", "concise", "--quiet", "a.py")

    assert result.out.splitlines() == ["a.py:2:7: ERR900 SyntaxError: invalid syntax"]


@pytest.mark.parametrize("comment", ["# noqa", "# NOQA", "#noqa"])
def test_a_bare_noqa_belongs_to_other_linters(errlint, project, comment):
    """It neither silences errlint nor is reported as a bare suppression (ERR901)."""
    write(project / "a.py", f"from urllib3 import Retry\n{ERR101_LINE}  {comment}\n")

    result = errlint("--select", "ERR101,ERR901", "--output-format", "concise", "a.py")

    assert [line.split()[1] for line in result.out.splitlines()[:-1]] == ["ERR101"]
