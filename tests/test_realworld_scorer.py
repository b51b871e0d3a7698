"""The real-world scorer on a slice written for the project (tests/fixtures/realworld),
so the benchmark that every accuracy claim rests on cannot silently break."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "fixtures" / "realworld"
REPO = "errlint-tests/sample-sdk"
BEFORE = 'from urllib3.util.retry import Retry\n\nRETRY = Retry(total=3, method_whitelist=["GET"])\n'
AFTER = 'from urllib3.util.retry import Retry\n\nRETRY = Retry(total=3, allowed_methods=["GET"])\n'


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=folder, check=True,
        capture_output=True, text=True,
    ).stdout.strip()


def _mirror_with_one_fix(tmp_path: Path) -> tuple[Path, dict]:
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q")
    (work / "retrying.py").write_text(BEFORE)
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "before")
    before = _git(work, "rev-parse", "HEAD")
    (work / "retrying.py").write_text(AFTER)
    _git(work, "commit", "-qam", "fix")
    after = _git(work, "rev-parse", "HEAD")
    mirrors = tmp_path / "mirrors"
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(mirrors / "errlint-tests+sample-sdk" / "repo"))
    fix = {"repo": REPO, "fix_commit": after, "before_commit": before, "path": "retrying.py", "lines": [3],
           "code": "ERR109", "family": "retry", "reason": "removed keyword", "source": "test"}
    return mirrors, fix


def test_scorer_counts_found_missed_flagged_and_fixed(tmp_path):
    mirrors, fix = _mirror_with_one_fix(tmp_path)
    fixes = tmp_path / "fixes.jsonl"
    fixes.write_text(json.dumps(fix) + "\n")
    results = tmp_path / "results.json"

    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "realworld" / "score.py"), "--labels", str(SLICE / "labels"),
         "--corpus", str(SLICE / "corpus"), "--mirrors", str(mirrors), "--fixes", str(fixes),
         "--json", str(results), "--missed"],
        capture_output=True, text=True, check=True,
    )

    half = json.loads(results.read_text())
    (key,) = [k for k in half if k.startswith("default/") and k.endswith("/all")]
    tally = half[key]
    assert (tally["tp"], tally["tp_found"], tally["traps"], tally["traps_flagged"]) == (4, 3, 2, 0)
    assert (tally["fixes"], tally["fixes_detected"], tally["fixes_clean_after"]) == (1, 1, 1)
    assert tally["missed"] == [f"{REPO}:sample_sdk/client.py:53 ERR302"]
    lines = completed.stdout.splitlines()
    assert lines[0] == "6 sightings (4 TP, 2 traps); 6/6 (100%) found reading whole files; 1/4 (25%) of TPs reach HTTP through a layer"
    assert lines[1].startswith("realworld (default rules) — ")
    assert "recall 3/4 (75%), traps flagged 0/2 (0%), fixes detected 1/1 (100%)" in lines[1]
