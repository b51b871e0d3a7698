"""The exit-code contract (0 clean, 1 findings, 2 usage/config/internal error) and `errlint rule`."""

from __future__ import annotations

import json

import pytest

from errlint import __version__
from errlint.rules import all_rules, rules_by_code

from .helpers import ERR101_SOURCE, concise, write


def test_clean_exits_0(errlint, project):
    write(project / "a.py", "import requests\nrequests.get('https://example.com', timeout=5)\n")

    assert errlint("--select", "ERR101", "a.py").code == 0


def test_findings_exit_1(errlint, project):
    write(project / "a.py", ERR101_SOURCE)

    assert errlint("--select", "ERR101", "a.py").code == 1


def test_exit_zero_keeps_the_report_but_exits_0(errlint, project):
    write(project / "a.py", ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--exit-zero", "--output-format", "concise", "a.py")

    assert result.code == 0
    assert result.out.splitlines() == [concise("a.py"), "Found 1 finding."]


def test_a_syntax_error_is_a_finding_exit_1(errlint, project):
    write(project / "a.py", "import requests\ndef f(:\n")

    result = errlint("--select", "ERR101,ERR900", "--output-format", "concise", "a.py")

    assert result.code == 1
    assert result.out.splitlines()[0] == "a.py:2:7: ERR900 SyntaxError: invalid syntax"


def test_a_missing_path_is_a_usage_error(errlint, project):
    write(project / "a.py", ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--output-format", "concise", "a.py", "nope.py")

    assert (result.code, result.out) == (2, "")
    assert result.err_lines == ["errlint: error: nope.py: no such file or directory"]


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [("--selct", "--select"), ("--unsafe-fix", "--unsafe-fixes"), ("--outputformat", "--output-format")],
)
def test_misspelt_options_are_refused_with_a_suggestion(errlint, project, typed, suggestion):
    result = errlint(typed, "ERR101", ".")

    assert result.code == 2
    assert result.err_lines[-1] == f"errlint: error: unrecognized arguments: {typed} (did you mean `{suggestion}`?)"


def test_abbreviated_options_are_refused_and_nothing_is_written(errlint, project):
    path = write(project / "a.py", 'from urllib3.util.retry import Retry\nr = Retry(method_whitelist=["GET"])\n')

    result = errlint("--fix-o", "a.py")

    assert result.code == 2
    assert result.err_lines[-1].startswith("errlint: error: unrecognized arguments: --fix-o")
    assert "method_whitelist" in path.read_text()


def test_help_shows_the_commands_selectors_and_exit_codes(errlint, project):
    result = errlint("--help")

    assert result.code == 0
    for line in (
        "  errlint [check] [PATHS]   lint (the default command; `check` is what the pre-commit hook runs)",
        "selectors: rule codes or prefixes, comma-separated (ERR101, ERR1, ALL for every rule).",
        "  0  no findings (notices, such as a file errlint's parser cannot read, do not count)",
        "  2  usage or configuration error, a path that does not exist, or an internal error",
    ):
        assert line in result.out.splitlines()


def test_fix_summary_wording(errlint, project):
    write(project / "a.py", 'from urllib3.util.retry import Retry\nr = Retry(method_whitelist=[1], status_forcelist=[401])\n')

    result = errlint("--fix", "--select", "ERR101,ERR109", "--output-format", "concise", "a.py")

    assert result.out.splitlines()[-1] == "Fixed 1 finding; 1 remaining."


@pytest.mark.parametrize(
    ("flags", "env", "colored"),
    [
        ((), {}, False),  # captured output is no terminal
        (("--color", "always"), {}, True),
        ((), {"FORCE_COLOR": "1"}, True),
        ((), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        (("--color", "always"), {"NO_COLOR": "1"}, True),
        (("--color", "never"), {"FORCE_COLOR": "1"}, False),
    ],
)
def test_color(errlint, project, monkeypatch, flags, env, colored):
    write(project / "a.py", ERR101_SOURCE)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    result = errlint("--select", "ERR101", "--output-format", "concise", *flags, "a.py")

    expected = concise("a.py")
    if colored:
        where, code, rest = expected.split(" ", 2)
        expected = f"\x1b[1m{where}\x1b[0m \x1b[1;31m{code}\x1b[0m {rest}"
    assert result.out.splitlines()[0] == expected


def test_show_settings_and_show_files(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nignore = ["ERR106"]\n')
    write(project / "src" / "a.py", ERR101_SOURCE)
    write(project / "src" / "b.py", "x = 1\n")

    settings = errlint("--show-settings", "src")
    files = errlint("--show-files", "src")

    assert settings.code == files.code == 0
    assert settings.out.splitlines()[:2] == [f"config file: {project / 'pyproject.toml'}", f"project root: {project}"]
    assert "ignore: ('ERR106',)" in settings.out.splitlines()
    assert files.out.splitlines() == ["src/a.py", "src/b.py"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "errlint: error: unrecognized arguments: --bogus"),
        (["--select", "NOPE1"], "errlint: error: --select: unknown rule code `NOPE1`"),
        (["--ignore", "ERR101,XYZ"], "errlint: error: --ignore: unknown rule code `XYZ`"),
        (["--extend-select", "ERR9999"], "errlint: error: --extend-select: unknown rule code `ERR9999`"),
        (["--jobs", "0"], "errlint: error: --jobs must be at least 1"),
        (["--jobs", "many"], "errlint: error: argument --jobs/-j: invalid int value: 'many'"),
        (["--config", "missing.toml"], "errlint: error: missing.toml: config file not found"),
        (["-", "a.py"], "errlint: error: `-` (stdin) cannot be combined with other paths"),
    ],
)
def test_usage_errors_exit_2_with_one_line(errlint, project, args, message):
    write(project / "a.py", ERR101_SOURCE)

    result = errlint(*args, "a.py") if args[0] != "-" else errlint(*args)

    assert result.code == 2
    assert result.err_lines == [message]
    assert result.out == ""


def test_unknown_output_format_exits_2_and_names_the_choices(errlint, project):
    write(project / "a.py", ERR101_SOURCE)

    result = errlint("--output-format", "xml", "a.py")

    assert result.code == 2
    [line] = result.err_lines
    assert line.startswith("errlint: error: argument --output-format: invalid choice: 'xml'")
    assert "'sarif'" in line


def test_unknown_output_format_in_the_environment_exits_2(errlint, project):
    write(project / "a.py", ERR101_SOURCE)

    result = errlint.subprocess("a.py", env={"ERRLINT_OUTPUT_FORMAT": "xml"})

    assert result.code == 2
    assert result.err_lines == ["errlint: error: ERRLINT_OUTPUT_FORMAT: unknown format `xml`"]


def test_a_crashing_rule_exits_2_names_the_rule_and_the_run_goes_on(errlint, project, monkeypatch):
    write(project / "a.py", ERR101_SOURCE)
    write(project / "b.py", "import requests\ndef f(:\n")
    rule = rules_by_code()["ERR101"]

    def explode(self):
        raise ValueError("boom")
        yield  # pragma: no cover

    monkeypatch.setattr(rule, "check", explode)

    result = errlint("--select", "ERR101,ERR900", "--output-format", "concise", "--no-cache", "--jobs", "1", ".")

    assert result.code == 2
    assert result.out.splitlines()[0] == "b.py:2:7: ERR900 SyntaxError: invalid syntax"
    [error] = [line for line in result.out.splitlines() if line.startswith("a.py")]
    assert error.startswith("a.py: error: internal error in ERR101 (ValueError: boom at ")
    assert error.endswith("please report it")
    assert "Traceback" not in result.out + result.err


def test_version(errlint):
    result = errlint("--version")

    assert (result.code, result.out.strip()) == (0, f"errlint {__version__}")


# --- errlint rule --------------------------------------------------------------------


def test_rule_prints_the_documentation_sections(errlint):
    result = errlint("rule", "ERR101")

    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "# ERR101 retry-permanent-status"
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        assert section in lines, section
    assert "status_forcelist" in result.out


def test_rule_accepts_the_name_and_lower_case_codes(errlint):
    by_code = errlint("rule", "ERR101").out

    assert errlint("rule", "retry-permanent-status").out == by_code
    assert errlint("rule", "err101").out == by_code


def test_rule_json(errlint):
    result = errlint("rule", "ERR101", "--output-format", "json")

    data = json.loads(result.out)
    assert (data["code"], data["name"]) == ("ERR101", "retry-permanent-status")
    assert "## Why is this bad?" in data["explanation"]


def test_rule_all_lists_every_rule_with_name_and_summary(errlint):
    result = errlint("rule", "--all")

    assert result.code == 0
    lines = result.out.splitlines()
    for rule in all_rules():
        [line] = [line for line in lines if line.startswith(rule.code)]
        assert f" {rule.name} " in line, line
        assert line.endswith(rule.summary()), line
        assert rule.summary(), rule.code
    listed = [line.split()[0].rstrip("*") for line in lines if line.startswith("ERR")]
    assert listed == sorted(listed) == [rule.code for rule in all_rules()]


def test_rule_unknown_exits_2(errlint):
    result = errlint("rule", "NOPE")

    assert result.code == 2
    assert result.err_lines == ["errlint: error: unknown rule `NOPE` (see `errlint rule --all`)"]
    assert result.out == ""


def test_rule_without_a_code_exits_2(errlint):
    result = errlint("rule")

    assert result.code == 2
    assert result.err_lines == ["errlint: error: give a rule code (e.g. ERR101) or --all"]


def test_check_subcommand_is_the_same_as_no_subcommand(errlint, project):
    write(project / "a.py", ERR101_SOURCE)

    plain = errlint("--select", "ERR101", "a.py")
    check = errlint("check", "--select", "ERR101", "a.py")

    assert (plain.code, plain.out) == (check.code, check.out) == (1, plain.out)
