"""The install path the README gives works: `python -m build` makes a wheel that
installs into a fresh virtual environment and lints examples/ as documented."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_built_wheel_installs_into_a_fresh_venv_and_runs(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True, timeout=600,
    )
    (wheel,) = (tmp_path / "dist").glob("errlint-*-py3-none-any.whl")
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True, timeout=600)

    result = subprocess.run(
        [str(tmp_path / "venv" / "bin" / "errlint"), "--no-cache", "-q", "--output-format", "concise", "examples/"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )

    assert result.returncode == 1, result.stderr
    assert result.stdout == (ROOT / "examples" / "expected.txt").read_text()
