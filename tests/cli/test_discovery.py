"""Which files get linted (.gitignore, excludes, explicit names, stdin), in what order, and the cache."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import ERR101_LINE, ERR101_SOURCE, concise, write

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def linted(result) -> list[str]:
    """The files with a finding (every sample file has exactly one ERR101)."""
    return [line.split(":", 1)[0] for line in result.out.splitlines() if ": ERR101 " in line]


def git_init(folder: Path) -> None:
    subprocess.run(["git", "init", "-q", str(folder)], check=True)


# --- .gitignore ------------------------------------------------------------------------


@needs_git
def test_gitignore_is_honoured_in_a_git_repository(errlint, project):
    git_init(project)
    write(project / ".gitignore", "generated/\n*_pb2.py\n")
    for name in ("app.py", "generated/client.py", "api_pb2.py", "pkg/models_pb2.py", "pkg/views.py"):
        write(project / name, ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--output-format", "concise", ".")

    assert linted(result) == ["app.py", "pkg/views.py"]


@needs_git
def test_nested_gitignore_applies_below_its_folder_only(errlint, project):
    git_init(project)
    write(project / "pkg" / ".gitignore", "local.py\n")
    for name in ("local.py", "pkg/local.py", "pkg/sub/local.py", "pkg/other.py"):
        write(project / name, ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--output-format", "concise", ".")

    assert linted(result) == ["local.py", "pkg/other.py"]


@needs_git
def test_gitignore_above_the_linted_folder_still_applies(errlint, project):
    git_init(project)
    write(project / ".gitignore", "pkg/vendored/\n")
    write(project / "pkg" / "vendored" / "lib.py", ERR101_SOURCE)
    write(project / "pkg" / "own.py", ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--output-format", "concise", "pkg")

    assert linted(result) == ["pkg/own.py"]


@needs_git
def test_no_respect_gitignore(errlint, project):
    git_init(project)
    write(project / ".gitignore", "ignored.py\n")
    write(project / "ignored.py", ERR101_SOURCE)
    write(project / "kept.py", ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--no-respect-gitignore", "--output-format", "concise", ".")

    assert linted(result) == ["ignored.py", "kept.py"]


@needs_git
def test_gitignored_file_named_explicitly(errlint, project):
    git_init(project)
    write(project / ".gitignore", "ignored.py\n")
    write(project / "ignored.py", ERR101_SOURCE)

    named = errlint("--select", "ERR101", "--output-format", "concise", "ignored.py")
    forced = errlint("--select", "ERR101", "--force-exclude", "--output-format", "concise", "ignored.py")

    assert linted(named) == ["ignored.py"]
    assert (forced.code, linted(forced)) == (0, [])


def test_gitignore_outside_a_repository_is_not_read_above_the_linted_folder(errlint, project):
    # Without a .git folder there is no repository top, so parent .gitignore files do not apply.
    write(project / ".gitignore", "pkg/\n")
    write(project / "pkg" / "a.py", ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--output-format", "concise", ".", cwd=project / "pkg")

    assert linted(result) == ["a.py"]


# --- excludes --------------------------------------------------------------------------


def test_default_excludes(errlint, project):
    for name in (".venv/lib/x.py", "build/x.py", "node_modules/x.py", "__pycache__/x.py", "pkg.egg-info/x.py", "ok.py"):
        write(project / name, ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--output-format", "concise", ".")

    assert linted(result) == ["ok.py"]


def test_exclude_patterns_match_names_and_paths(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nextend-exclude = ["migrations", "scripts/*.py", "*_gen.py"]\n')
    for name in ("app/migrations/0001.py", "scripts/run.py", "scripts/tools/deep.py", "models_gen.py", "app/models.py"):
        write(project / name, ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--output-format", "concise", ".")

    # Patterns are fnmatch-style against the path from the config folder: `*` crosses folders.
    assert linted(result) == ["app/models.py"]


def test_excluded_file_named_explicitly_is_linted_unless_force_exclude(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nextend-exclude = ["generated"]\n')
    write(project / "generated" / "client.py", ERR101_SOURCE)

    named = errlint("--select", "ERR101", "--output-format", "concise", "generated/client.py")
    forced = errlint("--select", "ERR101", "--output-format", "concise", "--force-exclude", "generated/client.py")
    folder = errlint("--select", "ERR101", "--output-format", "concise", "--force-exclude", "generated")

    assert linted(named) == ["generated/client.py"]
    assert (forced.code, forced.out) == (0, "All checks passed.\n")
    assert (folder.code, folder.out) == (0, "All checks passed.\n")


def test_excluded_folder_named_explicitly_is_linted(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nextend-exclude = ["examples"]\n')
    write(project / "examples" / "demo.py", ERR101_SOURCE)

    assert linted(errlint("--select", "ERR101", "--output-format", "concise", ".")) == []
    assert linted(errlint("--select", "ERR101", "--output-format", "concise", "examples")) == ["examples/demo.py"]


def test_only_python_files_are_linted_in_folders(errlint, project):
    for name in ("a.py", "b.pyi", "c.pyw", "d.txt", "e.py.bak", "Makefile"):
        write(project / name, ERR101_SOURCE)

    assert linted(errlint("--select", "ERR101", "--output-format", "concise", ".")) == ["a.py", "b.pyi", "c.pyw"]


def test_a_file_named_twice_is_linted_once(errlint, project):
    write(project / "a.py", ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--output-format", "concise", "a.py", ".", "./a.py")

    assert linted(result) == ["a.py"]


# --- stdin -----------------------------------------------------------------------------


def test_stdin_is_reported_under_the_stdin_filename(errlint, project):
    result = errlint.subprocess(
        "--select", "ERR101", "--output-format", "concise", "--stdin-filename", "pkg/client.py", "-",
        stdin=ERR101_SOURCE.encode(),
    )

    assert result.code == 1
    assert result.out.splitlines() == [concise("pkg/client.py"), "Found 1 finding."]


def test_stdin_without_a_filename_is_called_dash(errlint, project):
    result = errlint("--select", "ERR101", "--output-format", "concise", "-", stdin=ERR101_SOURCE.encode())

    assert result.out.splitlines()[0] == concise("-")


def test_stdin_filename_alone_reads_stdin(errlint, project):
    write(project / "other.py", ERR101_SOURCE)  # must not be linted: the text comes from stdin

    result = errlint("--select", "ERR101", "--output-format", "concise", "--stdin-filename", "x.py", stdin=b"import requests\n")

    assert (result.code, result.out) == (0, "All checks passed.\n")


def test_stdin_finds_the_config_from_the_stdin_filename(errlint, project):
    write(project / "strict" / "pyproject.toml", '[tool.errlint]\nignore = ["ERR101"]\n')

    inside = errlint("--select", "ERR101", "--stdin-filename", "strict/x.py", "-", stdin=ERR101_SOURCE.encode())
    outside = errlint("--select", "ERR101", "--stdin-filename", "x.py", "-", stdin=ERR101_SOURCE.encode())

    assert inside.code == 0
    assert outside.code == 1


def test_stdin_per_file_ignores_use_the_stdin_filename(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint.per-file-ignores]\n"tests/*" = ["ERR101"]\n')

    result = errlint("--select", "ERR101", "--stdin-filename", "tests/t.py", "-", stdin=ERR101_SOURCE.encode())

    assert result.code == 0


def test_stdin_full_format_shows_the_piped_text_not_the_file_on_disk(errlint, project):
    # An editor pipes an unsaved buffer under the file's real name.
    write(project / "a.py", "# the saved version\n")
    buffer = "from urllib3 import Retry\n\n" + ERR101_LINE + "\n"

    result = errlint("--select", "ERR101", "--stdin-filename", "a.py", "-", stdin=buffer.encode())

    lines = result.out.splitlines()
    assert lines[0] == concise("a.py", line=3)
    assert lines[2] == f"3 | {ERR101_LINE}"


def test_stdin_with_force_exclude_and_an_excluded_name(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nextend-exclude = ["generated"]\n')

    result = errlint(
        "--select", "ERR101", "--force-exclude", "--stdin-filename", "generated/x.py", "-", stdin=ERR101_SOURCE.encode()
    )

    assert result.code == 0


def test_stdin_binary_is_one_error_line(errlint, project):
    result = errlint.subprocess("--output-format", "concise", "--stdin-filename", "x.py", "-", stdin=b"\x00\x00")

    assert result.code == 1
    assert result.out.splitlines() == [
        "x.py: error: skipped: contains null bytes (binary file?)",
        "1 file could not be linted.",
    ]


# --- order and parallelism -------------------------------------------------------------


# A file with a syntax error has one finding (ERR900); the others one ERR101 per line.
EXPECTED_FINDINGS = sum(1 if index % 7 == 0 else index % 3 + 1 for index in range(40))


def _forty_files(project: Path) -> None:
    for index in range(40):
        lines = ["from urllib3 import Retry"] + [ERR101_LINE] * (index % 3 + 1)
        if index % 7 == 0:
            lines.append("def broken(:")
        write(project / f"pkg{index % 4}" / f"mod_{index:02}.py", "\n".join(lines) + "\n")


@pytest.mark.parametrize("output_format", ["concise", "json"])
def test_output_is_identical_with_one_or_two_jobs(errlint, project, output_format):
    _forty_files(project)
    args = ("--select", "ERR101,ERR900", "--no-cache", "--output-format", output_format, ".")

    serial = errlint.subprocess("--jobs", "1", *args)
    parallel = errlint.subprocess("--jobs", "2", *args)

    assert serial.code == parallel.code == 1
    assert serial.out == parallel.out
    if output_format == "concise":
        paths = [line.split(":")[0] for line in serial.out.splitlines()[:-1]]
        assert paths == sorted(paths)
        assert len(paths) == EXPECTED_FINDINGS
    else:
        assert len(json.loads(serial.out)["findings"]) == EXPECTED_FINDINGS


# --- cache -----------------------------------------------------------------------------


def test_cache_gives_identical_output_and_notices_changed_files(errlint, project):
    _forty_files(project)
    args = ("--select", "ERR101,ERR900", "--output-format", "concise", ".")

    first = errlint(*args)
    assert (project / ".errlint_cache").is_dir()
    second = errlint(*args)
    assert (second.code, second.out) == (first.code, first.out)

    # Same size, new content: the cache is keyed by content, not by size or time.
    target = project / "pkg0" / "mod_04.py"
    original = target.read_text()
    target.write_text(original.replace("401, 404, 429", "429, 500, 503"))
    third = errlint(*args)
    assert [line for line in third.out.splitlines() if line.startswith("pkg0/mod_04.py")] == []
    assert len(third.out.splitlines()) == len(first.out.splitlines()) - 2


def test_cache_is_per_settings(errlint, project):
    write(project / "a.py", ERR101_SOURCE + "x = 1  # errlint: ignore\n")

    with_err101 = errlint("--select", "ERR101", "--output-format", "concise", "a.py")
    with_err901 = errlint("--select", "ERR901", "--output-format", "concise", "a.py")

    assert linted(with_err101) == ["a.py"]
    assert [line.split()[1] for line in with_err901.out.splitlines()[:-1]] == ["ERR901"]


def test_no_cache_writes_no_cache_folder(errlint, project):
    write(project / "a.py", ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--no-cache", "--output-format", "concise", "a.py")

    assert linted(result) == ["a.py"]
    assert not (project / ".errlint_cache").exists()


def test_cache_dir_flag_and_a_damaged_cache(errlint, project):
    write(project / "a.py", ERR101_SOURCE)
    args = ("--select", "ERR101", "--cache-dir", "elsewhere", "--output-format", "concise", "a.py")

    first = errlint(*args)
    caches = list((project / "elsewhere").rglob("*.json"))
    assert caches and not (project / ".errlint_cache").exists()
    for cache in caches:
        cache.write_bytes(b"not a cache")
    second = errlint(*args)

    assert (second.code, second.out) == (first.code, first.out)


def test_cache_does_not_hide_an_unreadable_file_later(errlint, project):
    path = write(project / "a.py", ERR101_SOURCE)
    errlint("--select", "ERR101", "a.py")
    path.unlink()
    path.symlink_to("missing.py")

    result = errlint("--select", "ERR101", "--output-format", "concise", "a.py")

    assert result.out.splitlines()[0] == "a.py: error: skipped: broken symbolic link (to missing.py)"
