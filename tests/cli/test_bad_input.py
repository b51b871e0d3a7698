"""Files errlint cannot lint: one line naming the file, the run goes on, exit 1, no traceback.

These run errlint in a real process: a parser crash or a hang must show up as
a failed test, not take pytest down with it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .helpers import ERR101_LINE, ERR101_SOURCE, concise, write


def run_beside_a_good_file(errlint, project: Path, *extra: str):
    """Lint the folder (good.py has one ERR101); return the result and the lines not about good.py."""
    write(project / "good.py", ERR101_SOURCE)
    result = errlint.subprocess(
        "--select", "ERR101,ERR900", "--output-format", "concise", "--no-cache", *extra, ".", timeout=180
    )
    assert "Traceback" not in result.out + result.err, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert concise("good.py") in lines, "the other file was not linted"
    others = [line for line in lines[:-1] if not line.startswith("good.py:")]
    return result, others


def test_binary_file_with_null_bytes(errlint, project):
    write(project / "blob.py", b"import requests\n\x00\x01\x02\xff")

    result, others = run_beside_a_good_file(errlint, project)

    assert result.code == 1
    assert others == ["blob.py: error: skipped: contains null bytes (binary file?)"]
    assert result.out.splitlines()[-1] == "Found 1 finding; 1 file could not be linted."


def test_non_utf8_file_names_the_line(errlint, project):
    write(project / "legacy.py", b"import requests\n\nname = '\xe9t\xe9'\n")

    result, others = run_beside_a_good_file(errlint, project)

    assert result.code == 1
    assert others == [
        "legacy.py: error: not valid utf-8 (line 3: invalid continuation byte); "
        "declare the encoding with a `# -*- coding: ... -*-` line"
    ]


def test_pep263_latin1_file_is_linted_with_code_point_columns(errlint, project):
    line = "s = '\xe9\xe9\xe9'; " + ERR101_LINE
    write(project / "latin.py", ("# -*- coding: latin-1 -*-\nfrom urllib3 import Retry\n" + line + "\n").encode("latin-1"))

    result, others = run_beside_a_good_file(errlint, project)

    column = line.index("status_forcelist") + 1
    assert others == [concise("latin.py", line=3, col=column)]
    # The full format shows the decoded line with the caret under the argument.
    full = errlint("--select", "ERR101", "latin.py").out.splitlines()
    assert full[2] == f"3 | {line}"
    assert full[3] == "  | " + " " * (column - 1) + "^" * len("status_forcelist=[401, 404, 429]")


def test_utf8_bom_file(errlint, project):
    write(project / "bom.py", b"\xef\xbb\xbf" + ERR101_SOURCE.encode())

    _, others = run_beside_a_good_file(errlint, project)

    assert others == [concise("bom.py")]


def test_crlf_file(errlint, project):
    write(project / "crlf.py", ERR101_SOURCE.replace("\n", "\r\n"))

    _, others = run_beside_a_good_file(errlint, project)

    assert others == [concise("crlf.py")]


def test_empty_file_is_clean(errlint, project):
    write(project / "empty.py", "")

    result = errlint.subprocess("--select", "ERR101,ERR900", "empty.py")

    assert (result.code, result.out, result.err) == (0, "All checks passed.\n", "")


def test_syntax_error_is_a_finding_and_the_run_goes_on(errlint, project):
    write(project / "broken.py", "import requests\n\ndef fetch(url:\n    return requests.get(url)\n")

    result, others = run_beside_a_good_file(errlint, project)

    assert result.code == 1
    assert others == ["broken.py:3:10: ERR900 SyntaxError: '(' was never closed"]


def test_file_over_the_size_limit(errlint, project):
    filler = "# padding " + "x" * 60 + "\n"
    write(project / "huge.py", "import requests\n" + filler * (5 * 1024 * 1024 // len(filler)))

    result, others = run_beside_a_good_file(errlint, project)

    assert result.code == 1
    [line] = others
    assert line.startswith("huge.py: error: skipped: 5.0 MB is over the ")
    assert line.endswith(" MB limit for a Python source file")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x = " + "(" * 1500 + "1" + ")" * 1500, "skipped: brackets nested 1500 deep (Python allows 200)"),
        ("x = a" + ".b" * 10_000, "skipped: nested too deeply for Python itself to parse"),
        ("x = " + "lambda: " * 3500 + "1", "skipped: nested too deeply for Python itself to parse"),
        ("x = " + "not " * 10_000 + "1", "skipped: nested too deeply for Python itself to parse"),
        ("x = " + "-" * 50_000 + "1", "skipped: nested too deeply for Python itself to parse"),
        ("x = f" + "()" * 10_000, "skipped: nested too deeply for Python itself to parse"),
        (
            "x = " + " or ".join(["a"] * 30_000),
            "skipped: 30000 `and`/`or` operands in one expression at line 2 (errlint handles at most 20000)",
        ),
    ],
    ids=["parens", "attributes", "lambdas", "nots", "unary-minus", "calls", "or-chain"],
)
def test_deep_nesting_is_refused_without_crashing(errlint, project, text, expected):
    # Each of these used to kill the process inside libcst's native parser.
    write(project / "deep.py", "import requests\n" + text + "\n")

    result, others = run_beside_a_good_file(errlint, project)

    assert result.code == 1
    assert others == [f"deep.py: error: {expected}"]


def test_long_but_valid_or_chain_is_linted(errlint, project):
    # Flat for CPython, nested for libcst: within the limit it parses (on the big stack).
    write(project / "chain.py", "import requests\nx = " + " or ".join(["a"] * 10_000) + "\n")

    result, others = run_beside_a_good_file(errlint, project)

    assert (result.code, others) == (1, [])


def test_deep_nesting_in_parallel_workers_does_not_break_the_pool(errlint, project):
    for index in range(20):
        write(project / f"m{index:02}.py", ERR101_SOURCE)
    write(project / "deep.py", "import requests\nx = a" + ".b" * 10_000 + "\n")

    result, others = run_beside_a_good_file(errlint, project, "--jobs", "2")

    assert result.code == 1
    assert others == [concise(f"m{index:02}.py") for index in range(20)] + [
        "deep.py: error: skipped: nested too deeply for Python itself to parse"
    ]


# --- files that cannot be opened ----------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(errlint, project):
    path = write(project / "secret.py", ERR101_SOURCE)
    path.chmod(0)
    try:
        result, others = run_beside_a_good_file(errlint, project)
    finally:
        path.chmod(0o644)

    assert result.code == 1
    assert others == ["secret.py: error: cannot read: Permission denied"]


def test_broken_symlink(errlint, project):
    (project / "gone.py").symlink_to("deleted.py")

    result, others = run_beside_a_good_file(errlint, project)

    assert result.code == 1
    assert others == ["gone.py: error: skipped: broken symbolic link (to deleted.py)"]


def test_broken_symlink_named_explicitly(errlint, project):
    (project / "gone.py").symlink_to("deleted.py")
    write(project / "good.py", ERR101_SOURCE)

    result = errlint("--select", "ERR101", "--output-format", "concise", "gone.py", "good.py")

    assert result.code == 1
    assert result.out.splitlines() == [
        concise("good.py"),
        "gone.py: error: skipped: broken symbolic link (to deleted.py)",
        "Found 1 finding; 1 file could not be linted.",
    ]


def test_symlink_loop_file(errlint, project):
    (project / "a_loop.py").symlink_to("b_loop.py")
    (project / "b_loop.py").symlink_to("a_loop.py")

    result, others = run_beside_a_good_file(errlint, project)

    assert result.code == 1
    assert others == [
        "a_loop.py: error: skipped: symbolic link loop",
        "b_loop.py: error: skipped: symbolic link loop",
    ]


def test_symlink_loop_named_explicitly(errlint, project):
    (project / "self.py").symlink_to("self.py")
    write(project / "good.py", ERR101_SOURCE)

    result = errlint.subprocess("--select", "ERR101", "--output-format", "concise", "self.py", "good.py")

    assert "Traceback" not in result.err
    assert result.code == 1
    assert "self.py: error: skipped: symbolic link loop" in result.out.splitlines()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_like_python_is_not_opened(errlint, project):
    # Opening a FIFO blocks until something writes to it: the walk must not wait.
    os.mkfifo(project / "pipe.py")

    result, others = run_beside_a_good_file(errlint, project)

    assert result.code == 1
    assert others == ["pipe.py: error: skipped: not a regular file"]


def test_folder_named_like_a_python_file_is_walked(errlint, project):
    write(project / "pkg.py" / "inner.py", ERR101_SOURCE)

    result, others = run_beside_a_good_file(errlint, project)

    assert others == [concise("pkg.py/inner.py")]


def test_directory_symlink_loop(errlint, project):
    write(project / "pkg" / "mod.py", ERR101_SOURCE)
    (project / "pkg" / "up").symlink_to("..", target_is_directory=True)

    result, others = run_beside_a_good_file(errlint, project)

    assert result.code == 1
    assert others == [
        concise("pkg/mod.py"),
        f"pkg/up: error: skipped: directory link loop (points back to {project.resolve()})",
    ]


def test_second_route_to_a_folder_lints_it_once_and_is_not_an_error(errlint, project):
    write(project / "real" / "mod.py", ERR101_SOURCE)
    (project / "alias").symlink_to("real", target_is_directory=True)

    result, others = run_beside_a_good_file(errlint, project)

    assert others == [concise("alias/mod.py")]
    assert result.out.splitlines()[-1] == "Found 2 findings."
