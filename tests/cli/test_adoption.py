"""Adopting errlint on a codebase with findings: a baseline, `--add-noqa`, and
SARIF that GitHub code scanning can track (issue 17)."""

from __future__ import annotations

import json

import pytest

from .helpers import ERR101_SOURCE, write

SOURCE = "from urllib3 import Retry\nr = Retry(total=3, backoff_factor=1, status_forcelist=[401, 429])\n"
LINE = "r = Retry(total=3, backoff_factor=1, status_forcelist=[401, 429])"


def _codes(result) -> list[str]:
    return [line.split()[1] for line in result.out.splitlines()[:-1]]


def test_a_baseline_accepts_todays_findings_after_code_moves(errlint, project):
    path = write(project / "a.py", SOURCE)
    written = errlint("--write-baseline", "baseline.json", ".")
    assert (written.code, written.out) == (0, "Wrote 1 finding to baseline.json.\n")

    # Code inserted above, and a second copy of the same mistake added below.
    write(path, "import requests\n\n\n" + SOURCE + LINE.replace("r =", "s =") + "\n")
    result = errlint("--baseline", "baseline.json", "--output-format", "concise", ".")

    assert result.out.splitlines() == [
        "a.py:6:38: ERR101 `status_forcelist` retries 401, which fail the same way on every attempt",
        "Found 1 finding (1 more in the baseline).",
    ]
    assert result.code == 1


def test_identical_lines_are_told_apart_by_their_rank(errlint, project):
    write(project / "a.py", SOURCE)
    errlint("--write-baseline", "baseline.json", ".")
    write(project / "a.py", SOURCE + LINE + "\n")

    result = errlint("--baseline", "baseline.json", "--output-format", "concise", ".")

    assert [line.split(":")[1] for line in result.out.splitlines()[:-1]] == ["3"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not a baseline file (invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
        ("[]", "not an errlint baseline (made with `--write-baseline`)"),
        ('{"errlint-baseline": 1, "findings": [1]}', "`findings` must be a list of objects with a `fingerprint`"),
    ],
)
def test_a_broken_baseline_is_one_line_and_exit_2(errlint, project, content, message):
    write(project / "a.py", SOURCE)
    write(project / "baseline.json", content)

    result = errlint("--baseline", "baseline.json", ".")

    assert (result.code, result.err_lines) == (2, [f"errlint: error: baseline.json: {message}"])


def test_a_missing_baseline_is_one_line_and_exit_2(errlint, project):
    write(project / "a.py", SOURCE)

    result = errlint("--baseline", "nope.json", ".")

    assert result.code == 2
    assert result.err_lines == ["errlint: error: nope.json: cannot read the baseline: No such file or directory"]


def test_add_noqa_suppresses_every_finding_and_merges_existing_comments(errlint, project):
    path = write(
        project / "a.py",
        "from urllib3 import Retry\n"
        "r = Retry(total=3, status_forcelist=[401, 429])\n"
        "q = Retry(total=3, backoff_factor=1, status_forcelist=[404])  # errlint: ignore[ERR107]\n",
    )

    added = errlint("--add-noqa", ".")
    again = errlint("--add-noqa", ".")
    after = errlint("--output-format", "concise", ".")

    assert (added.code, added.out) == (0, "Added 2 suppression comments in 1 file.\n")
    assert path.read_text() == (
        "from urllib3 import Retry\n"
        "r = Retry(total=3, status_forcelist=[401, 429])  # errlint: ignore[ERR101, ERR106]\n"
        "q = Retry(total=3, backoff_factor=1, status_forcelist=[404])  # errlint: ignore[ERR101, ERR107]\n"
    )
    assert again.out == "Added 0 suppression comments in 0 files.\n"
    assert (after.code, after.out) == (0, "All checks passed.\n")


def test_add_noqa_never_writes_a_comment_into_a_string(errlint, project):
    text = 'import requests\ndef f(u):\n    r = requests.get(u)\n    return r.json()["x"], """\n"""\n'
    path = write(project / "a.py", text)

    result = errlint("--add-noqa", "a.py")

    assert path.read_text() == text
    assert result.err_lines == ["a.py:4: not suppressed: a comment there would change the code"]


def test_add_noqa_keeps_crlf(errlint, project):
    path = write(project / "a.py", SOURCE.replace("\n", "\r\n").encode())

    errlint("--add-noqa", "a.py")

    assert path.read_bytes() == (
        "from urllib3 import Retry\r\n" + LINE + "  # errlint: ignore[ERR101]\r\n"
    ).encode()


# --- SARIF for code scanning -----------------------------------------------------


def _sarif(result) -> dict:
    (run,) = json.loads(result.out)["runs"]
    return run


def test_sarif_is_relative_to_the_project_root_wherever_it_runs(errlint, project):
    write(project / "pyproject.toml", "[tool.errlint]\n")
    write(project / "src" / "a.py", ERR101_SOURCE)

    from_root = _sarif(errlint("--output-format", "sarif", "src"))
    from_src = _sarif(errlint("--output-format", "sarif", ".", cwd=project / "src"))

    for run in (from_root, from_src):
        assert run["originalUriBaseIds"] == {"PROJECTROOT": {"uri": project.as_uri() + "/"}}
        assert run["automationDetails"] == {"id": "errlint/"}
        location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location == {"uri": "src/a.py", "uriBaseId": "PROJECTROOT"}
    assert [r["partialFingerprints"] for r in from_root["results"]] == [
        r["partialFingerprints"] for r in from_src["results"]
    ]


def test_sarif_fingerprints_survive_moved_lines_and_match_the_baseline(errlint, project):
    path = write(project / "a.py", SOURCE)
    before = _sarif(errlint("--output-format", "sarif", "a.py"))
    write(path, "import requests\n\n" + SOURCE)
    after = _sarif(errlint("--output-format", "sarif", "a.py"))
    errlint("--write-baseline", "baseline.json", "a.py")

    (old,) = before["results"]
    (new,) = after["results"]
    assert old["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert new["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert old["partialFingerprints"] == new["partialFingerprints"]
    baseline = json.loads((project / "baseline.json").read_text())
    assert [entry["fingerprint"] for entry in baseline["findings"]] == [
        new["partialFingerprints"]["errlintFingerprint/v1"]
    ]


def test_add_noqa_counts_lines_as_python_does_with_a_form_feed(errlint, project):
    path = write(project / "a.py", "#\x0c page break\n" + SOURCE)

    errlint("--add-noqa", "a.py")

    assert path.read_text() == "#\x0c page break\n" + SOURCE.replace(LINE, LINE + "  # errlint: ignore[ERR101]")
