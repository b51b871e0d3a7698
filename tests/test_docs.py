"""Generated documentation must match the rules it is generated from."""

from pathlib import Path

from errlint.docs import main as docs_main
from errlint.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]


def test_readme_table_and_rule_reference_are_up_to_date(capsys):
    status = docs_main(["--check", "--root", str(ROOT)])
    assert status == 0, capsys.readouterr().err


def test_readme_starts_with_the_two_setup_commands():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```")]
    assert block == [
        "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/errlint examples/",
        "bash .ci/run",
    ]
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_rule_cites_where_it_comes_from():
    for rule in all_rules():
        assert rule.sections().get("References"), f"{rule.code} has no References section"


def test_readme_configuration_examples_are_valid_config(tmp_path):
    import re

    from errlint.linter.config import load_settings
    from errlint.rules import known_codes

    blocks = re.findall(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2
    for index, block in enumerate(blocks):
        path = tmp_path / f"example{index}" / "pyproject.toml"
        path.parent.mkdir()
        path.write_text(block, encoding="utf-8")
        settings = load_settings(path, known_codes())  # raises ConfigError on any mistake
        assert settings.source == path


def test_the_docs_generator_explains_itself():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "errlint.docs", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.startswith("usage: python -m errlint.docs [-h] [--write] [--check] [--root ROOT]")


def test_the_readme_example_prints_what_the_readme_shows(tmp_path):
    import re
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme[readme.index("<!-- example:start") : readme.index("<!-- example:end -->")]
    code, shown, use_instead = re.findall(r"```(?:python)?\n(.*?)```", example, re.S)
    command, *expected = shown.splitlines()
    (tmp_path / "client.py").write_text(code, encoding="utf-8")
    # "Use instead" replaces the flagged statement of the same example.
    flagged = next(line for line in code.splitlines() if line.startswith(use_instead.split("(")[0]))
    (tmp_path / "fixed.py").write_text(code.replace(flagged, use_instead.strip()), encoding="utf-8")

    def run(name):
        return subprocess.run(
            [sys.executable, "-m", "errlint", "--no-cache", "--color", "never", name],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )

    assert command == "$ errlint client.py"
    assert run("client.py").stdout.splitlines() == expected
    assert run("fixed.py").stdout == "All checks passed.\n"


def test_every_rule_summary_fits_on_one_line():
    from errlint.rules import all_rules

    assert {rule.code: len(rule.summary()) for rule in all_rules() if len(rule.summary()) >= 100} == {}


def test_rules_whose_fixes_are_only_shown_say_so():
    """ERR105 said "Fix: always" while its fix is a suggestion that --fix never applies."""
    from errlint.linter.findings import FixAvailability
    from errlint.rules import rules_by_code

    rules = rules_by_code()
    assert {code for code, rule in rules.items() if rule.fix_availability is FixAvailability.SUGGESTION} == {
        "ERR101", "ERR102", "ERR105", "ERR110", "ERR401"
    }
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "| `retry-after-unsafe-parse` | on | suggestion only |" in readme
