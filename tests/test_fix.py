"""`--fix`, `--diff`, `--unsafe-fixes`, `--fix-only`: what users see and what lands on disk."""

from __future__ import annotations

import stat
import textwrap
from pathlib import Path
from typing import Iterator

import libcst as cst
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from errlint.cli import main
from errlint.linter.config import Settings
from errlint.linter.findings import Applicability, Edit, Position
from errlint.linter.fixes import fix_source
from errlint.linter.rule import Report, Rule
from errlint.rules import all_rules

# ERR109's rename is safe; ERR106's tenacity wait change is unsafe.
SAFE_BEFORE = "from urllib3 import Retry\nretry = Retry(total=3, method_whitelist=['GET'])\n"
SAFE_AFTER = "from urllib3 import Retry\nretry = Retry(total=3, allowed_methods=['GET'])\n"
UNSAFE_BEFORE = textwrap.dedent(
    """\
    import requests
    from tenacity import retry, stop_after_attempt, wait_exponential

    @retry(stop=stop_after_attempt(5), wait=wait_exponential(multiplier=1, max=30))
    def fetch(url):
        r = requests.get(url)
        r.raise_for_status()
        return r.json()
    """
)
UNSAFE_AFTER = UNSAFE_BEFORE.replace(
    "from tenacity import retry, stop_after_attempt, wait_exponential",
    "from tenacity import retry, stop_after_attempt, wait_exponential, wait_random_exponential",
).replace("wait=wait_exponential(", "wait=wait_random_exponential(")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.errlint]\n", encoding="utf-8")
    return tmp_path


def run(*args: str) -> int:
    return main([*args, "--no-cache"])


def test_fix_applies_safe_fixes_and_exits_0_when_nothing_remains(project, capsys):
    path = project / "client.py"
    path.write_text(SAFE_BEFORE, encoding="utf-8")
    assert run("--fix", "--select", "ERR109", "client.py") == 0
    assert path.read_text(encoding="utf-8") == SAFE_AFTER
    assert "Fixed 1 finding" in capsys.readouterr().out


def test_fix_exits_1_while_findings_remain(project, capsys):
    path = project / "client.py"
    path.write_text(SAFE_BEFORE.replace("total=3,", "total=3, status_forcelist=[404],"), encoding="utf-8")
    assert run("--fix", "--select", "ERR101,ERR109", "client.py") == 1
    out = capsys.readouterr().out
    assert "allowed_methods" in path.read_text(encoding="utf-8")
    assert "Fixed 1 finding" in out and "Fixed 1 finding; 1 remaining." in out
    assert "ERR101" in out


def test_unsafe_fixes_need_the_flag(project):
    path = project / "client.py"
    path.write_text(UNSAFE_BEFORE, encoding="utf-8")
    assert run("--fix", "--select", "ERR106", "client.py") == 1
    assert path.read_text(encoding="utf-8") == UNSAFE_BEFORE
    assert run("--fix", "--unsafe-fixes", "--select", "ERR106", "client.py") == 0
    assert path.read_text(encoding="utf-8") == UNSAFE_AFTER


def test_diff_prints_changes_and_writes_nothing(project, capsys):
    path = project / "client.py"
    path.write_text(SAFE_BEFORE, encoding="utf-8")
    assert run("--diff", "--select", "ERR109", "client.py") == 1
    out = capsys.readouterr().out
    assert "--- a/client.py" in out and "+++ b/client.py" in out
    assert "-retry = Retry(total=3, method_whitelist=['GET'])" in out
    assert "+retry = Retry(total=3, allowed_methods=['GET'])" in out
    assert path.read_text(encoding="utf-8") == SAFE_BEFORE


def test_diff_exits_0_when_there_is_nothing_to_fix(project, capsys):
    (project / "client.py").write_text(SAFE_AFTER, encoding="utf-8")
    assert run("--diff", "--select", "ERR109", "client.py") == 0
    assert capsys.readouterr().out == ""


def test_fix_only_reports_nothing_and_exits_0(project, capsys):
    path = project / "client.py"
    path.write_text(SAFE_BEFORE.replace("total=3,", "total=3, status_forcelist=[404],"), encoding="utf-8")
    assert run("--fix-only", "--select", "ERR101,ERR109", "client.py") == 0
    out = capsys.readouterr().out
    assert "ERR101" not in out.split("Fixed")[0]
    assert "allowed_methods" in path.read_text(encoding="utf-8")


def test_second_fix_run_changes_nothing(project, capsys):
    path = project / "client.py"
    path.write_text(UNSAFE_BEFORE, encoding="utf-8")
    run("--fix", "--unsafe-fixes", "client.py")
    first = path.read_bytes()
    capsys.readouterr()
    run("--fix", "--unsafe-fixes", "client.py")
    assert path.read_bytes() == first
    assert "Fixed" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        pytest.param(
            "# -*- coding: latin-1 -*-\n# caf\xe9\n" + SAFE_BEFORE,
            "# -*- coding: latin-1 -*-\n# caf\xe9\n" + SAFE_AFTER,
            id="latin-1",
        ),
        pytest.param("\ufeff" + SAFE_BEFORE, "\ufeff" + SAFE_AFTER, id="bom"),
        pytest.param(SAFE_BEFORE.replace("\n", "\r\n"), SAFE_AFTER.replace("\n", "\r\n"), id="crlf"),
    ],
)
def test_fix_keeps_encoding_bom_and_line_endings(project, encoded, expected):
    path = project / "client.py"
    encoding = "latin-1" if "latin-1" in encoded else "utf-8"
    path.write_bytes(encoded.encode(encoding))
    run("--fix", "--select", "ERR109", "client.py")
    assert path.read_bytes() == expected.encode(encoding)


def test_fix_keeps_permissions_and_leaves_no_temporary_files(project):
    path = project / "client.py"
    path.write_text(SAFE_BEFORE, encoding="utf-8")
    path.chmod(0o751)
    run("--fix", "--select", "ERR109", "client.py")
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert sorted(p.name for p in project.iterdir()) == ["client.py", "pyproject.toml"]


def test_fix_on_stdin_prints_the_fixed_source(project, capsys, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SAFE_BEFORE.encode())))
    assert run("-", "--fix", "--select", "ERR109", "--stdin-filename", "client.py") == 0
    assert capsys.readouterr().out == SAFE_AFTER


# --- the fix engine itself ------------------------------------------------------


class _EditsEveryCall(Rule):
    """Test-only rule: replaces every call named `target` with configurable text."""

    code = "ERR999"
    name = "test-only"
    replacement = "broken("

    def check(self) -> Iterator[Report]:
        for call in self.model.calls:
            if isinstance(call.func, cst.Name) and call.func.value == "target":
                yield self.report(call, "test", self.fix("t", Applicability.SAFE, self.replace(call, self.replacement)))


def test_a_fix_whose_result_would_not_parse_is_dropped_and_reported():
    outcome = fix_source("x = target()\ny = 1\n", "t.py", Settings(), rules=[_EditsEveryCall])
    assert outcome.source == "x = target()\ny = 1\n"
    assert outcome.fixed == []
    assert len(outcome.rejected) == 1 and "would not parse" in outcome.rejected[0][1]


def test_overlapping_fixes_do_not_corrupt_the_file():
    class Outer(_EditsEveryCall):
        code = "ERR998"

        def check(self) -> Iterator[Report]:
            for call in self.model.calls:
                if isinstance(call.func, cst.Name) and call.func.value == "wrap":
                    yield self.report(call, "o", self.fix("o", Applicability.SAFE, self.replace(call, "done()")))

    class Inner(_EditsEveryCall):
        replacement = "fixed()"

    outcome = fix_source("x = wrap(target())\n", "t.py", Settings(), rules=[Outer, Inner])
    cst.parse_module(outcome.source)
    assert outcome.source in ("x = done()\n", "x = wrap(fixed())\n")


def test_edits_on_non_ascii_lines_use_code_point_columns():
    from errlint.linter.fixes import apply_edits

    source = "s = 'héllo'; target()\n"
    edit = Edit(Position(1, 13), Position(1, 21), "done()")
    assert apply_edits(source, [edit]) == "s = 'héllo'; done()\n"


# --- properties over generated variations of every fixable example -------------

FIXABLE = [
    (rule, textwrap.dedent(example.code).lstrip("\n"))
    for rule in all_rules()
    for example in rule.INVALID
    if example.fixed is not None
]


def _vary(source: str, indent: bool, blank_lines: int, comment: bool) -> str:
    lines = source.splitlines()
    if comment:
        lines = [line + "  # note" if line.strip() and not line.rstrip().endswith(("\\", '"""', "'''", "(", "[", "{", ",")) and '"""' not in line and "'''" not in line else line for line in lines]
    text = ("\n" * blank_lines).join(line + "\n" for line in lines) if blank_lines else "\n".join(lines) + "\n"
    if indent:
        text = "def wrapper():\n" + textwrap.indent(text, "    ", lambda line: True).replace("\n    \n", "\n\n")
    return text


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(FIXABLE),
    indent=st.booleans(),
    blank_lines=st.integers(min_value=0, max_value=1),
    comment=st.booleans(),
)
def test_fixing_variations_always_parses_and_is_idempotent(case, indent, blank_lines, comment):
    rule, source = case
    varied = _vary(source, indent, blank_lines, comment)
    try:
        cst.parse_module(varied)
    except cst.ParserSyntaxError:
        return  # the variation itself broke the example (e.g. a comment inside a string)
    first = fix_source(varied, "t.py", Settings(), unsafe=True, rules=[rule])
    cst.parse_module(first.source)
    second = fix_source(first.source, "t.py", Settings(), unsafe=True, rules=[rule])
    assert second.source == first.source
    assert second.fixed == []


def test_a_helper_suggested_for_a_decorated_function_goes_above_its_decorators() -> None:
    """ERR105's suggestion inserts `retry_after_seconds` above the top-level statement;
    between `@retry` and `def`, the helper itself would be decorated."""
    from errlint.linter.engine import lint_source
    from errlint.linter.fixes import apply_edits

    source = textwrap.dedent(
        """\
        import time

        import requests
        from tenacity import retry


        @retry
        def fetch(url):
            response = requests.get(url)
            if response.status_code == 429:
                time.sleep(int(response.headers["Retry-After"]))
            return response
        """
    )
    [finding] = [f for f in lint_source(source, "example.py", Settings()).findings if f.code == "ERR105"]
    suggested = apply_edits(source, finding.fix.edits)
    helper = suggested.index("def retry_after_seconds(")
    assert helper < suggested.index("@retry\ndef fetch(url):")
    assert cst.parse_module(suggested).code == suggested
