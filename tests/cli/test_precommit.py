"""The pre-commit hook, run for real: `pre-commit try-repo` installs errlint from this repository.

`try-repo` takes a repository's committed files plus changes to tracked files,
so the test copies this working tree (tracked and new files, as git lists
them) into a fresh repository and commits it: what is tested is what is on
disk. pre-commit builds errlint in its own virtualenv with pip (PyPI must be
reachable); PRE_COMMIT_HOME is shared across the module so that happens once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import CLEAN_SOURCE, ERR101_MESSAGE, ERR101_SOURCE, write

REPO = Path(__file__).resolve().parents[2]
HOOKS_FILE = REPO / ".pre-commit-hooks.yaml"

pytestmark = [
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
    pytest.mark.skipif(
        subprocess.run([sys.executable, "-m", "pre_commit", "--version"], capture_output=True).returncode != 0,
        reason="pre-commit is not installed (pip install -e '.[test]')",
    ),
]

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "errlint tests",
    "GIT_AUTHOR_EMAIL": "tests@errlint.invalid",
    "GIT_COMMITTER_NAME": "errlint tests",
    "GIT_COMMITTER_EMAIL": "tests@errlint.invalid",
}


def git(*args: str, cwd: Path) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **GIT_IDENTITY}, check=True
    )
    return completed.stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree as a one-commit repository."""
    copy = tmp_path_factory.mktemp("hook-repo")
    if (REPO / ".git").exists():
        listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO).split("\0")
    else:  # an unpacked source tree: take what the package needs
        listed = [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    git("init", "-q", cwd=copy)
    git("add", "-A", cwd=copy)
    git("commit", "-q", "-m", "errlint under test", cwd=copy)
    return copy


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "user-project"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    return repo


def try_repo(hook_repo: Path, user_repo: Path, home: Path, *files: str) -> subprocess.CompletedProcess[str]:
    git("add", "-A", cwd=user_repo)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ERRLINT_", "PRE_COMMIT"))}
    environment.update(GIT_IDENTITY, PRE_COMMIT_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "errlint", "--files", *files],
        cwd=user_repo,
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
    )


def test_hooks_file_declares_the_errlint_hook():
    text = HOOKS_FILE.read_text(encoding="utf-8")

    assert "- id: errlint\n" in text
    assert "  entry: errlint check --force-exclude\n" in text
    assert "  language: python\n" in text
    assert "  types_or: [python, pyi]\n" in text
    assert "  require_serial: true\n" in text


def test_a_failing_run_over_many_files_prints_one_unambiguous_summary(hook_repo, user_repo, pre_commit_home):
    names = [f"m{i:03}.py" for i in range(120)]  # more files than one pre-commit batch
    for name in names:
        write(user_repo / name, CLEAN_SOURCE)
    write(user_repo / "client.py", ERR101_SOURCE)

    result = try_repo(hook_repo, user_repo, pre_commit_home, "client.py", *names)

    assert result.returncode == 1, result.stdout + result.stderr
    summaries = [line for line in result.stdout.splitlines() if line.startswith(("Found ", "All checks passed"))]
    assert summaries == ["Found 2 findings."]


def test_hook_fails_on_a_finding_passes_on_clean_code_and_skips_excluded_files(hook_repo, user_repo, pre_commit_home):
    write(user_repo / "client.py", ERR101_SOURCE)
    write(user_repo / "clean.py", CLEAN_SOURCE)
    write(user_repo / "build" / "generated.py", ERR101_SOURCE)

    bad = try_repo(hook_repo, user_repo, pre_commit_home, "client.py", "clean.py")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "errlint" in bad.stdout and "Failed" in bad.stdout
    assert f"client.py:2:24: ERR101 {ERR101_MESSAGE}" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr

    good = try_repo(hook_repo, user_repo, pre_commit_home, "clean.py")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout

    # pre-commit names files explicitly; `--force-exclude` keeps build/ (a default exclude) out.
    excluded = try_repo(hook_repo, user_repo, pre_commit_home, "build/generated.py")
    assert excluded.returncode == 0, excluded.stdout + excluded.stderr
    assert "ERR101" not in excluded.stdout
