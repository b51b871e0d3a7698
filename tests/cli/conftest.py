"""Fixtures for the CLI tests: a project folder and the two runners (see helpers.py).

    def test_x(project, errlint):
        (project / "a.py").write_text(ERR101_SOURCE)
        result = errlint("--select", "ERR101", "a.py")       # in-process
        result = errlint.subprocess("a.py")                    # real process
"""

from __future__ import annotations

from pathlib import Path

import pytest

from errlint.linter.config import find_config_file

from .helpers import Result, run_inprocess, run_subprocess


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    # A config file above the temporary folder would change every result.
    stray = find_config_file(root)
    if stray is not None:
        pytest.skip(f"a config file above the test folder changes the results: {stray}")
    return root


class Errlint:
    def __init__(self, cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.cwd = cwd
        self._capsys = capsys
        self._monkeypatch = monkeypatch

    def __call__(self, *args: object, cwd: Path | None = None, stdin: bytes | None = None) -> Result:
        return run_inprocess(
            [str(a) for a in args], cwd or self.cwd, self._capsys, self._monkeypatch, stdin=stdin
        )

    def subprocess(
        self,
        *args: object,
        cwd: Path | None = None,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> Result:
        return run_subprocess([str(a) for a in args], cwd or self.cwd, stdin=stdin, env=env, timeout=timeout)


@pytest.fixture
def errlint(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Errlint:
    return Errlint(project, capsys, monkeypatch)
