"""What the CLI tests share: sample sources, their expected findings, and two ways to run errlint.

`run_inprocess` calls `errlint.cli.main` (fast; lets a test patch internals);
`run_subprocess` starts `python -m errlint` (the real process: exit status,
crashes, stdin, tracebacks). Both return the same `Result`.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pytest

from errlint.cli import main

# The rule examples the suite leans on (see src/errlint/rules/retry_permanent_status.py).
ERR101_SOURCE = "from urllib3 import Retry\nretry = Retry(total=3, status_forcelist=[401, 404, 429])\n"
ERR101_LINE = "retry = Retry(total=3, status_forcelist=[401, 404, 429])"
ERR101_MESSAGE = "`status_forcelist` retries 401 and 404, which fail the same way on every attempt"
# 1-based columns of `status_forcelist=[401, 404, 429]` on ERR101_LINE.
ERR101_COL, ERR101_END_COL = 24, 56
CLEAN_SOURCE = "import requests\n\n\ndef fetch(url):\n    return requests.get(url, timeout=5)\n"
SYNTAX_ERROR_SOURCE = "import requests\ndef fetch(url:\n    return requests.get(url)\n"

# Environment variables that change what errlint prints; tests start without them.
ERRLINT_ENV = ("ERRLINT_OUTPUT_FORMAT", "ERRLINT_CACHE_DIR", "ERRLINT_NO_PREFILTER")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def concise(path: str, line: int = 2, col: int = ERR101_COL) -> str:
    return f"{path}:{line}:{col}: ERR101 {ERR101_MESSAGE}"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def run_inprocess(
    args: Sequence[str],
    cwd: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stdin: bytes | None = None,
) -> Result:
    monkeypatch.chdir(cwd)
    for name in ERRLINT_ENV:
        monkeypatch.delenv(name, raising=False)
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    capsys.readouterr()
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as exit_:  # argparse: usage errors, --version, --help
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def run_subprocess(
    args: Sequence[str],
    cwd: Path,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Result:
    environment = {k: v for k, v in os.environ.items() if k not in ERRLINT_ENV}
    environment.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-m", "errlint", *map(str, args)],
        cwd=cwd,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=environment,
        timeout=timeout,
    )
    return Result(
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )
