"""What each output format shows: exact lines, carets, fields, and a SARIF file that validates."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from errlint import __version__
from errlint.rules import all_rules

from .helpers import (
    ERR101_COL,
    ERR101_END_COL,
    ERR101_LINE,
    ERR101_MESSAGE,
    ERR101_SOURCE,
    concise,
    write,
)

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "sarif-schema-2.1.0.json"


@pytest.fixture
def one_finding(project: Path) -> Path:
    return write(project / "a.py", ERR101_SOURCE)


# --- full ----------------------------------------------------------------------------


def test_full_shows_the_line_a_caret_under_the_exact_columns_and_the_suggestion(errlint, one_finding):
    result = errlint("--select", "ERR101", "a.py")

    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[:4] == [
        concise("a.py"),
        "  |",
        f"2 | {ERR101_LINE}",
        "  | " + " " * (ERR101_COL - 1) + "^" * (ERR101_END_COL - ERR101_COL),
    ]
    # The caret sits under `status_forcelist=[401, 404, 429]`, nothing more.
    caret_line = lines[3][len("  | ") :]
    underlined = ERR101_LINE[caret_line.index("^") : len(caret_line)]
    assert underlined == "status_forcelist=[401, 404, 429]"
    # A display-only fix is a suggestion, with the replacement text under it.
    assert lines[4].startswith("  = suggestion: ")
    assert lines[5] == "      [429]"
    assert lines[6:] == ["", "Found 1 finding."]
    assert result.err == ""


def test_full_caret_counts_code_points_after_non_ascii_text_and_tabs(errlint, project):
    write(project / "a.py", 'from urllib3 import Retry\nx = "héllo→";\tretry = Retry(status_forcelist=[404])\n')

    result = errlint("--select", "ERR101", "--output-format", "full", "a.py")

    lines = result.out.splitlines()
    start = 'x = "héllo→";\tretry = Retry('.__len__()
    assert lines[0].startswith(f"a.py:2:{start + 1}: ERR101 ")
    shown, caret = lines[2][len("2 | ") :], lines[3][len("  | ") :]
    assert caret == " " * start + "^" * len("status_forcelist=[404]")
    assert shown[caret.index("^") :].startswith("status_forcelist=[404]")


def test_full_shows_the_source_line_of_a_crlf_file_without_carriage_returns(errlint, project):
    write(project / "a.py", ERR101_SOURCE.replace("\n", "\r\n"))

    result = errlint("--select", "ERR101", "a.py")

    assert result.out.splitlines()[2] == f"2 | {ERR101_LINE}"
    assert "\r" not in result.out


def test_full_reports_files_that_could_not_be_linted_after_the_findings(errlint, one_finding, project):
    write(project / "z.py", b"import requests\x00\n")

    result = errlint("--select", "ERR101", ".")

    assert result.code == 1
    assert result.out.index(concise("a.py")) < result.out.index("z.py: error: skipped: contains null bytes")
    assert result.out.splitlines()[-1] == "Found 1 finding; 1 file could not be linted."


# --- concise -------------------------------------------------------------------------


def test_concise_is_one_line_per_finding_sorted_by_file_and_position(errlint, project):
    write(project / "b.py", ERR101_SOURCE)
    write(project / "a.py", "from urllib3 import Retry\n\n\n" + ERR101_LINE + "\n" + ERR101_LINE + "\n")

    result = errlint("--select", "ERR101", "--output-format", "concise", ".")

    assert result.out.splitlines() == [
        concise("a.py", line=4),
        concise("a.py", line=5),
        concise("b.py"),
        "Found 3 findings.",
    ]


def test_clean_run_says_so(errlint, project):
    write(project / "a.py", "import requests\n")

    result = errlint("--output-format", "concise", "a.py")

    assert (result.code, result.out) == (0, "All checks passed.\n")


# --- json ----------------------------------------------------------------------------


def test_json_carries_every_field_with_1_based_columns(errlint, one_finding):
    result = errlint("--select", "ERR101", "--output-format", "json", "a.py")

    assert result.code == 1
    payload = json.loads(result.out)  # nothing but the JSON document on stdout
    assert payload["errors"] == []
    [finding] = payload["findings"]
    assert finding["code"] == "ERR101"
    assert finding["name"] == "retry-permanent-status"
    assert finding["message"] == ERR101_MESSAGE
    assert finding["filename"] == "a.py"
    assert finding["location"] == {"row": 2, "column": ERR101_COL}
    assert finding["end_location"] == {"row": 2, "column": ERR101_END_COL}
    assert finding["url"].startswith("https://") and "err101" in finding["url"]
    fix = finding["fix"]
    assert fix["applicability"] == "display-only"
    assert fix["title"]
    [edit] = fix["edits"]
    assert edit["content"] == "[429]"
    # The edit replaces exactly the list literal.
    assert ERR101_LINE[edit["location"]["column"] - 1 : edit["end_location"]["column"] - 1] == "[401, 404, 429]"


def test_json_lists_files_that_could_not_be_linted_under_errors(errlint, project):
    write(project / "bin.py", b"\x00\x01")

    result = errlint("--output-format", "json", ".")

    assert result.code == 1
    assert json.loads(result.out) == {
        "findings": [],
        "errors": [{"filename": "bin.py", "message": "skipped: contains null bytes (binary file?)"}],
        "notices": [],
    }


def test_notices_in_every_format_leave_the_exit_code_alone(errlint, project):
    write(project / "a.py", "import requests\n(x): int = 1\n")
    notice = "not analysed: errlint's parser cannot read this valid Python (line 2, column 1)"

    as_json = errlint("--output-format", "json", "a.py")
    as_github = errlint("--output-format", "github", "a.py")
    as_sarif = errlint("--output-format", "sarif", "a.py")

    assert json.loads(as_json.out)["notices"] == [{"filename": "a.py", "message": notice}]
    assert as_github.out == f"::notice title=errlint,file=a.py::{notice}\n"
    (run,) = json.loads(as_sarif.out)["runs"]
    (notification,) = run["invocations"][0]["toolExecutionNotifications"]
    assert (notification["level"], notification["message"]["text"]) == ("note", notice)
    assert (as_json.code, as_github.code, as_sarif.code) == (0, 0, 0)


def test_json_output_has_no_summary_line_even_without_quiet(errlint, one_finding):
    result = errlint("--select", "ERR101", "--output-format", "json", "a.py")

    json.loads(result.out)
    assert "Found" not in result.out + result.err


# --- sarif ---------------------------------------------------------------------------


def _validate_sarif(text: str) -> dict:
    document = json.loads(text)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema, cls=jsonschema.Draft4Validator)
    return document


def test_sarif_validates_against_the_2_1_0_schema_and_locates_the_finding(errlint, one_finding):
    result = errlint("--select", "ERR101", "--output-format", "sarif", "a.py")

    assert result.code == 1
    document = _validate_sarif(result.out)
    assert document["version"] == "2.1.0"
    [run] = document["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("errlint", __version__)
    [entry] = run["results"]
    assert entry["ruleId"] == "ERR101"
    assert entry["message"]["text"] == ERR101_MESSAGE
    assert driver["rules"][entry["ruleIndex"]]["id"] == "ERR101"
    location = entry["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "a.py"
    assert location["region"] == {"startLine": 2, "startColumn": ERR101_COL, "endLine": 2, "endColumn": ERR101_END_COL}
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_carries_every_rule_with_its_documentation(errlint, one_finding):
    result = errlint("--output-format", "sarif", "a.py")

    driver = _validate_sarif(result.out)["runs"][0]["tool"]["driver"]
    assert [rule["id"] for rule in driver["rules"]] == [rule.code for rule in all_rules()]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"], rule["id"]
        assert "## Why is this bad?" in rule["fullDescription"]["text"], rule["id"]
        assert "## Why is this bad?" in rule["help"]["markdown"], rule["id"]
        assert rule["helpUri"].startswith("https://"), rule["id"]


def test_sarif_reports_unlintable_files_as_tool_notifications(errlint, one_finding, project):
    write(project / "bin.py", b"\x00")

    result = errlint("--select", "ERR101", "--output-format", "sarif", ".")

    run = _validate_sarif(result.out)["runs"][0]
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["message"]["text"] == "skipped: contains null bytes (binary file?)"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bin.py"
    assert len(run["results"]) == 1


def test_sarif_uri_of_a_path_with_spaces_is_percent_encoded(errlint, project):
    write(project / "my dir" / "a b.py", ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--output-format", "sarif", ".")

    run = _validate_sarif(result.out)["runs"][0]
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20dir/a%20b.py"


# --- github --------------------------------------------------------------------------


def test_github_annotation_line(errlint, one_finding):
    result = errlint("--select", "ERR101", "--output-format", "github", "a.py")

    assert result.code == 1
    assert result.out == (
        f"::error title=errlint (ERR101),file=a.py,line=2,col={ERR101_COL},endLine=2,"
        f"endColumn={ERR101_END_COL}::ERR101 {ERR101_MESSAGE}\n"
    )


def test_github_escapes_commas_and_colons_in_file_names(errlint, project):
    write(project / "a,b:c.py", ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--output-format", "github", ".")

    assert result.out.startswith("::error title=errlint (ERR101),file=a%2Cb%3Ac.py,line=2,")


def test_github_reports_unlintable_files(errlint, project):
    write(project / "bin.py", b"\x00")

    result = errlint("--output-format", "github", ".")

    assert result.out == "::error title=errlint,file=bin.py::skipped: contains null bytes (binary file?)\n"


# --- where the report goes, and how much of it -------------------------------------


@pytest.mark.parametrize("output_format", ["concise", "full"])
def test_output_file_gets_the_report_and_the_summary_goes_to_stderr(errlint, one_finding, project, output_format):
    result = errlint("--select", "ERR101", "--output-format", output_format, "--output-file", "out/report.txt", "a.py")

    assert result.code == 1
    assert result.out == ""
    report = (project / "out" / "report.txt").read_text(encoding="utf-8")
    assert report.splitlines()[0] == concise("a.py")
    assert "Found" not in report
    assert result.err == "Found 1 finding.\n"


def test_output_file_with_json_is_exactly_the_document(errlint, one_finding, project):
    result = errlint("--select", "ERR101", "--output-format", "json", "-o", "report.json", "a.py")

    assert (result.code, result.out, result.err) == (1, "", "")
    assert json.loads((project / "report.json").read_text(encoding="utf-8"))["findings"][0]["code"] == "ERR101"


def test_output_file_that_cannot_be_written_is_a_usage_error(errlint, one_finding, project):
    write(project / "taken", "a file, not a folder")

    result = errlint("--select", "ERR101", "--output-file", "taken/report.txt", "a.py")

    assert result.code == 2
    [line] = result.err_lines
    assert line.startswith("errlint: error: taken/report.txt: cannot write output")


def test_statistics_count_findings_per_rule(errlint, project):
    write(project / "a.py", ERR101_SOURCE)
    write(project / "b.py", ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--statistics", ".")

    assert result.code == 1
    assert result.out.splitlines() == ["2  ERR101      retry-permanent-status", "Found 2 findings."]


def test_quiet_prints_findings_without_the_summary(errlint, one_finding):
    result = errlint("--select", "ERR101", "--output-format", "concise", "--quiet", "a.py")

    assert (result.code, result.out, result.err) == (1, concise("a.py") + "\n", "")


def test_quiet_clean_run_prints_nothing(errlint, project):
    write(project / "a.py", "import requests\n")

    result = errlint("-q", "a.py")

    assert (result.code, result.out, result.err) == (0, "", "")


def test_output_format_from_the_environment_and_the_flag_wins(errlint, one_finding, monkeypatch):
    result = errlint.subprocess("--select", "ERR101", "a.py", env={"ERRLINT_OUTPUT_FORMAT": "github"})
    assert result.out.startswith("::error title=errlint (ERR101),")

    result = errlint.subprocess(
        "--select", "ERR101", "--output-format", "concise", "a.py", env={"ERRLINT_OUTPUT_FORMAT": "github"}
    )
    assert result.out.splitlines()[0] == concise("a.py")


UNSAFE_ONLY = 'import requests\ndef f(u):\n    r = requests.get(u)\n    return r.json()["x"]\n'
SAFE = 'from urllib3.util.retry import Retry\nr = Retry(method_whitelist=["GET"], backoff_factor=1)\n'


def test_the_summary_counts_fixes_hidden_behind_unsafe_fixes(errlint, project):
    write(project / "a.py", UNSAFE_ONLY)
    write(project / "b.py", SAFE)

    result = errlint("--output-format", "concise", ".")

    assert result.out.splitlines()[-3:] == [
        "Found 2 findings.",
        "[*] 1 fixable with `--fix`.",
        "1 hidden fix can be enabled with `--unsafe-fixes`.",
    ]


def test_statistics_marks_safe_and_unsafe_only_fixes_apart(errlint, project):
    write(project / "a.py", UNSAFE_ONLY)
    write(project / "b.py", SAFE)

    result = errlint("--statistics", ".")

    assert result.out.splitlines()[:3] == [
        "1  ERR109  [*] retry-config-misuse",
        "1  ERR302  [-] body-before-status-check",
        "[*] fixable with `--fix`; [-] only with `--fix --unsafe-fixes`",
    ]
