"""Regression tests for what a hostile user found (issue 11): crashes in the fix
path, a stale or poisoned cache, writes through symbolic links or outside the
linted folders, and workspace code run by the server."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from errlint.linter import runner
from errlint.linter.cache import ResultCache
from errlint.linter.config import Settings

from .helpers import ERR101_SOURCE, concise, write

RENAME_SOURCE = 'from urllib3.util.retry import Retry\nr = Retry(method_whitelist=["GET"])\n'
RENAMED_SOURCE = 'from urllib3.util.retry import Retry\nr = Retry(allowed_methods=["GET"])\n'


def _concise(errlint, *args, cwd=None):
    return errlint("--select", "ERR101", "--output-format", "concise", *args, cwd=cwd)


# --- 1. the fix path parses on the big-stack thread; one crash costs one file ------


def test_fix_on_a_long_or_chain_does_not_crash(errlint, project):
    chain = " or ".join(["a"] * 8000)
    path = write(project / "m.py", f"{RENAME_SOURCE}x = {chain}\n")

    result = errlint.subprocess("--fix", "m.py")

    assert (result.code, result.out.splitlines()[-1]) == (0, "Fixed 1 finding; no findings remaining.")
    assert path.read_text().startswith(RENAMED_SOURCE)


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the patched worker must be inherited")
def test_a_worker_crash_costs_only_the_file_that_caused_it(project, monkeypatch):
    files = [write(project / f"m{i:02}.py", ERR101_SOURCE) for i in range(20)]
    real_lint_path = runner.lint_path

    def crash_on_m07(path, settings, fix=None):
        if path.endswith("m07.py"):
            os.kill(os.getpid(), signal.SIGKILL)  # to the pool, what a crash in native code looks like
        return real_lint_path(path, settings, fix)

    monkeypatch.setattr(runner, "lint_path", crash_on_m07)
    results = runner.lint_files(files, Settings(select=("ERR101",)), jobs=2)

    assert [r.path for r in results] == [str(f) for f in files]
    assert [r.path for r in results if r.error] == [str(files[7])]
    assert results[7].error == f"internal error ({runner.CRASHED}); please report it"
    assert all(len(r.findings) == 1 for i, r in enumerate(results) if i != 7)


# --- 2. the cache stores the digest of the bytes that were linted ------------------


def test_a_file_changed_during_the_run_is_not_cached_with_its_old_digest(project, monkeypatch):
    path = write(project / "a.py", "import requests\n")
    settings = Settings(select=("ERR101",))
    real_lint_path = runner.lint_path

    def edit_then_lint(name, settings, fix=None):
        write(path, ERR101_SOURCE)  # the user saves while errlint runs
        return real_lint_path(name, settings, fix)

    monkeypatch.setattr(runner, "lint_path", edit_then_lint)
    cache = ResultCache(project / ".errlint_cache", settings)
    assert len(runner.lint_files([path], settings, jobs=1, cache=cache)[0].findings) == 1
    monkeypatch.setattr(runner, "lint_path", real_lint_path)

    write(path, "import requests\n")  # reverted
    again = runner.lint_files([path], settings, jobs=1, cache=ResultCache(project / ".errlint_cache", settings))

    assert again[0].findings == ()


# --- 3. the cache is data: damaged or planted entries are misses -------------------


def _cache_file(project: Path) -> Path:
    (cache,) = (project / ".errlint_cache").glob("*/*.json")
    return cache


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:-20] + bytes([data[-20] ^ 0x04]) + data[-19:], id="flipped-bit"),
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: b"\x00" * 64, id="zeros"),
    ],
)
def test_a_damaged_cache_entry_is_a_miss(errlint, project, damage):
    write(project / "a.py", ERR101_SOURCE)
    first = _concise(errlint, "a.py")
    cache = _cache_file(project)
    cache.write_bytes(damage(cache.read_bytes()))

    second = _concise(errlint, "a.py")

    assert (second.code, second.out, second.err) == (first.code, first.out, "")


class _Plant:
    def __reduce__(self):
        return (Path.write_text, (Path(os.environ["ERRLINT_TEST_MARKER"]), "pwned"))


def test_a_planted_pickle_is_never_run(errlint, project, monkeypatch, tmp_path):
    marker = tmp_path / "marker"
    monkeypatch.setenv("ERRLINT_TEST_MARKER", str(marker))
    write(project / "a.py", ERR101_SOURCE)
    first = _concise(errlint, "a.py")
    cache = _cache_file(project)
    cache.write_bytes(pickle.dumps({str(project / "a.py"): _Plant()}))
    cache.with_suffix(".pickle").write_bytes(pickle.dumps(_Plant()))

    second = _concise(errlint, "a.py")

    assert not marker.exists()
    assert (second.code, second.out) == (first.code, first.out)


def test_environment_switches_are_part_of_the_cache_key(errlint, project):
    write(project / "a.py", "x = 1\n")
    errlint.subprocess("a.py")
    errlint.subprocess("a.py", env={"ERRLINT_NO_PREFILTER": "1"})

    assert len(list((project / ".errlint_cache").glob("*/*.json"))) == 2


# --- 4. fixes never cut a link nor write outside the linted folders ---------------


def test_fix_writes_a_link_target_inside_the_tree_and_keeps_the_link(errlint, project):
    target = write(project / "inner.py", RENAME_SOURCE)
    link = project / "link.py"
    link.symlink_to("inner.py")

    result = errlint("--fix", "link.py", "inner.py")

    assert result.code == 0
    assert link.is_symlink() and os.readlink(link) == "inner.py"
    assert target.read_text() == RENAMED_SOURCE


def test_fix_does_not_write_through_a_link_out_of_the_tree(errlint, project, tmp_path):
    outside = write(tmp_path / "outside" / "z.py", RENAME_SOURCE)
    link = project / "link.py"
    link.symlink_to(outside)

    result = errlint("--fix", "link.py")

    assert link.is_symlink() and outside.read_text() == RENAME_SOURCE
    assert f"link.py: fix skipped: it links to {outside}, outside the folders being linted" in result.err_lines
    assert result.code == 1  # the finding is still there


def test_a_linked_folder_out_of_the_tree_is_not_walked(errlint, project, tmp_path):
    outside = write(tmp_path / "outside" / "pkg" / "y.py", RENAME_SOURCE)
    (project / "pkg").symlink_to(outside.parent)
    write(project / "own.py", RENAME_SOURCE)

    result = errlint("--fix", ".")

    assert outside.read_text() == RENAME_SOURCE
    assert (project / "own.py").read_text() == RENAMED_SOURCE
    assert result.out.splitlines()[-1] == "Fixed 1 finding; no findings remaining."


# --- 5. the cache lives at the project root and never follows a link --------------


def test_the_cache_is_made_beside_the_linted_files_not_in_the_working_folder(errlint, project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write(project / "a.py", ERR101_SOURCE)

    result = _concise(errlint, project / "a.py", cwd=elsewhere)

    assert result.out.splitlines()[0] == concise(str(project / "a.py"))
    assert not (elsewhere / ".errlint_cache").exists()
    assert (project / ".errlint_cache").is_dir()


@pytest.mark.parametrize("link", [".errlint_cache", ".errlint_cache/0.1.0"])
def test_a_linked_cache_folder_is_not_written_through(errlint, project, tmp_path, link):
    victim = tmp_path / "victim"
    victim.mkdir()
    (project / link).parent.mkdir(parents=True, exist_ok=True)
    (project / link).symlink_to(victim)
    write(project / "a.py", ERR101_SOURCE)

    first = _concise(errlint, ".")
    second = _concise(errlint, ".")

    assert list(victim.iterdir()) == []
    assert first.out == second.out and first.out.splitlines()[0] == concise("a.py")


# --- 9. the server never imports workspace code -----------------------------------

PLANTED_MODULE = "import pathlib\npathlib.Path({marker!r}).write_text('ran')\n"


@pytest.mark.parametrize("env", [{}, {"PYTHONSAFEPATH": "1"}], ids=["plain", "as-vscode-starts-it"])
def test_the_server_does_not_import_modules_from_the_working_folder(tmp_path, env):
    workspace = tmp_path / "workspace"
    marker = tmp_path / "ran"
    for name in ("lsprotocol.py", "pygls/__init__.py", "libcst/__init__.py"):
        write(workspace / name, PLANTED_MODULE.format(marker=str(marker)))
    if env:  # with PYTHONSAFEPATH (what the extension sets), even a workspace `errlint/` is safe
        write(workspace / "errlint" / "__init__.py", PLANTED_MODULE.format(marker=str(marker)))

    completed = subprocess.run(
        [sys.executable, "-m", "errlint", "lsp"],
        cwd=workspace,
        input=b"",
        capture_output=True,
        timeout=60,
        env={**os.environ, **env},
    )

    assert not marker.exists(), completed.stderr.decode()
    # Input ended without `shutdown`: the protocol's exit code 1, and no traceback.
    assert (completed.returncode, completed.stderr) == (1, b"")


# --- 6. valid Python that libcst cannot read is a notice, not ERR900 ---------------

NOT_ANALYSED = "not analysed: errlint's parser cannot read this valid Python"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("import requests\n(x): int = 1\n", "line 2, column 1"),
        ("import requests\nx = (" + " ".join(['"s"'] * 4500) + ")\n", "line 2, column 1"),
        ("import requests\ndef f():\n    if x:\n        y = 1\n\\\ndef g():\n    pass\n", "line 7, column 1"),
    ],
    ids=["parenthesised-annotated-target", "4500-string-literals", "lone-continuation-line"],
)
def test_valid_python_libcst_cannot_read_gets_a_notice_and_exit_0(errlint, project, text, where):
    write(project / "a.py", text)

    result = errlint("--output-format", "concise", "a.py")

    assert result.out == f"a.py: notice: {NOT_ANALYSED} ({where})\nAll checks passed; 1 file not analysed (see the notice).\n"
    assert result.code == 0


@pytest.mark.parametrize(
    "text",
    [
        "import requests\n(x): int = 1\n",
        "import requests\ndef f():\n    if x:\n        y = 1\n\\\ndef g():\n    pass\n",
        "import requests\r\nx = 1 \\\r\n",
        "import requests\nr = requests.get(u)\nr.json()['x']\n",
    ],
)
def test_the_editor_parse_gives_the_cli_result(text):
    from errlint.linter.engine import lint_source
    from errlint.linter.incremental import ReusingParser

    settings = Settings()
    editor = ReusingParser()
    lint_source(text.replace("import requests", "import requests  # v1"), "a.py", settings, reuse=editor)

    assert lint_source(text, "a.py", settings, reuse=editor) == lint_source(text, "a.py", settings)


def test_a_real_syntax_error_is_reported_where_cpython_reports_it_even_with_crlf(errlint, project):
    write(project / "a.py", b"import requests\r\nx = 1 \\\r\n")

    result = errlint("--output-format", "concise", "a.py")

    assert result.out.splitlines()[0] == "a.py:2:8: ERR900 SyntaxError: unexpected EOF while parsing"


# --- 7. big flat files are refused up front, by tokens -----------------------------


def test_a_file_over_the_token_limit_is_refused_with_one_line(errlint, project):
    write(project / "big.py", "import requests\n" + "x = 1\n" * 50_000)

    result = errlint("--output-format", "concise", "big.py")

    assert result.out.splitlines() == [
        "big.py: error: skipped: 200,003 tokens is over the limit of 180,000 for one file "
        "(parsing it would need over 500 MB)",
        "1 file could not be linted.",
    ]
    assert result.code == 1


def test_a_long_docstring_does_not_count_as_tokens(errlint, project):
    words = " ".join(["word"] * 250_000)
    write(project / "doc.py", f'"""{words}"""\nimport requests\n')

    assert errlint("--output-format", "concise", "doc.py").out == "All checks passed.\n"


# --- 10. the CLI and the server refuse the same files ------------------------------


def test_null_bytes_are_refused_by_the_engine_the_server_uses_too(project):
    from errlint.linter.engine import lint_source
    from errlint.linter.incremental import ReusingParser

    text = 'import requests\nx = "a\x00b"\n'
    settings = Settings()

    for reuse in (None, ReusingParser()):
        result = lint_source(text, "a.py", settings, reuse=reuse)
        assert result.error == "skipped: contains null bytes (binary file?)"


def test_a_named_folder_is_linted_even_when_an_enclosing_gitignore_ignores_it(errlint, project):
    (project / ".git").mkdir()
    write(project / ".gitignore", "build/\n")
    write(project / "build" / "a.py", ERR101_SOURCE)

    named = _concise(errlint, ".", cwd=project / "build")
    from_the_top = _concise(errlint, ".")

    assert named.out.splitlines() == [concise("a.py"), "Found 1 finding."]
    assert from_the_top.out == "All checks passed.\n"


def test_fixes_that_cannot_be_written_say_so(errlint, project, monkeypatch):
    write(project / "a.py", RENAME_SOURCE)

    def refuse(path, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(runner, "write_atomically", refuse)
    result = errlint("--fix", "--output-format", "concise", "a.py")

    assert result.out.splitlines()[-2:] == [
        "a.py: error: cannot write fixes: Permission denied",
        "1 file could not be written.",
    ]
    assert (project / "a.py").read_text() == RENAME_SOURCE
    assert result.code == 1


def test_insertion_fixes_keep_tab_indentation(errlint, project):
    path = write(project / "a.py", 'import requests\n\ndef f(url):\n\tr = requests.get(url)\n\treturn r.json()["x"]\n')

    result = errlint("--fix", "--unsafe-fixes", "a.py")

    assert result.out == "Fixed 1 finding; no findings remaining.\n"
    assert path.read_text() == (
        'import requests\n\ndef f(url):\n\tr = requests.get(url)\n\tr.raise_for_status()\n\treturn r.json()["x"]\n'
    )


def test_a_status_list_of_non_statuses_is_named_not_an_internal_error(errlint, project):
    """Found by the mutant fuzzer's long run: `describe()` of numbers outside 100-599 crashed ERR106."""
    write(project / "a.py", "from urllib3 import Retry\nr = Retry(total=3, status_forcelist=[4290])\n")

    result = errlint("--output-format", "concise", "a.py")

    assert result.out.splitlines()[:2] == [
        "a.py:2:5: ERR106 `Retry` retries 4290 with `backoff_factor` 0, so every client retries at once",
        "a.py:2:20: ERR109 `status_forcelist` contains 4290, which is not an HTTP status (100-599) and never matches a response",
    ]


def test_a_fix_after_a_form_feed_keeps_its_line(errlint, project):
    """Found by the generated-program fuzzer's long run: ERR402's fix read the wrong line."""
    path = write(
        project / "a.py",
        "#\x0c\nimport uuid, requests\ndef create(order):\n    for attempt in range(3):\n"
        "        key = str(uuid.uuid4())\n"
        '        r = requests.post("https://x", json=order, headers={"Idempotency-Key": key})\n'
        "        if r.status_code < 500:\n            return r\n",
    )

    result = errlint("--fix", "--select", "ERR402", "a.py")

    assert result.err == ""
    assert "    key = str(uuid.uuid4())\n    for attempt in range(3):\n" in path.read_text()


def test_string_and_bytes_concatenated_is_a_syntax_error_not_a_crash(errlint, project):
    """Found by the mutant fuzzer's long run: libcst raises CSTValidationError, not a syntax error."""
    write(project / "a.py", 'import requests\nx = "s" b"x"\n')

    result = errlint("--output-format", "concise", "a.py")

    assert result.out.splitlines()[0] == "a.py:2:13: ERR900 SyntaxError: cannot mix bytes and nonbytes literals"
