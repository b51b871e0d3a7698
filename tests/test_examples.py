"""The bundled examples: the exact report errlint gives on them is reviewed like code.

Regenerate after an intended change with:
    ERRLINT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_examples.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "examples" / "expected.txt"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "errlint", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_examples_report_matches_the_reviewed_snapshot():
    result = _run("examples/", "--output-format", "concise", "--no-cache", "-q")
    assert result.returncode == 1, result.stderr
    if os.environ.get("ERRLINT_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == SNAPSHOT.read_text(encoding="utf-8")


def test_the_correct_client_has_no_findings():
    result = _run("examples/acme_client/good_client.py", "--no-cache")
    assert result.returncode == 0, result.stdout
    assert "All checks passed" in result.stdout


def test_every_default_rule_family_shows_up_in_the_examples():
    codes = {line.split()[1][:4] for line in SNAPSHOT.read_text(encoding="utf-8").splitlines()}
    assert {"ERR1", "ERR2", "ERR3", "ERR4"} <= codes
