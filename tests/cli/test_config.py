"""`[tool.errlint]` in pyproject.toml and errlint.toml: what each key does, and one-line errors."""

from __future__ import annotations

import pytest

from .helpers import ERR101_SOURCE, concise, write

# ERR101 plus, on line 4, a bare suppression (ERR901, on by default).
TWO_RULES = ERR101_SOURCE + "\nx = 1  # errlint: ignore\n"
ERR901_BARE = "a.py:4:8: ERR901 `# errlint: ignore` without codes silences nothing; name them: `# errlint: ignore[ERR101]`"


def findings(result) -> list[str]:
    return [line for line in result.out.splitlines() if ": ERR" in line]


def test_select_in_pyproject(errlint, project):
    write(project / "pyproject.toml", '[project]\nname = "x"\n\n[tool.errlint]\nselect = ["ERR901"]\n')
    write(project / "a.py", TWO_RULES)

    assert findings(errlint("--output-format", "concise", "a.py")) == [ERR901_BARE]


def test_errlint_toml_top_level_keys(errlint, project):
    write(project / "errlint.toml", 'select = ["ERR101"]\n')
    write(project / "a.py", TWO_RULES)

    assert findings(errlint("--output-format", "concise", "a.py")) == [concise("a.py")]


def test_errlint_toml_wins_over_pyproject_in_the_same_folder(errlint, project):
    write(project / "errlint.toml", 'select = ["ERR101"]\n')
    write(project / "pyproject.toml", '[tool.errlint]\nselect = ["ERR901"]\n')
    write(project / "a.py", TWO_RULES)

    assert findings(errlint("--output-format", "concise", "a.py")) == [concise("a.py")]


def test_nearest_config_above_the_working_folder_is_used(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nselect = ["ERR101"]\n')
    write(project / "pkg" / "pyproject.toml", '[project]\nname = "no errlint table here"\n')
    write(project / "pkg" / "a.py", TWO_RULES)

    result = errlint("--output-format", "concise", "a.py", cwd=project / "pkg")

    assert findings(result) == [concise("a.py")]


def test_explicit_config_flag(errlint, project):
    write(project / "configs" / "strict.toml", 'select = ["ERR901"]\n')
    write(project / "a.py", TWO_RULES)

    result = errlint("--config", "configs/strict.toml", "--output-format", "concise", "a.py")

    assert findings(result) == [ERR901_BARE]


def test_ignore_and_prefixes(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nselect = ["ERR1", "ERR9"]\nignore = ["ERR10"]\n')
    write(project / "a.py", TWO_RULES)

    assert findings(errlint("--output-format", "concise", "a.py")) == [ERR901_BARE]


def test_extend_select_turns_on_unused_suppression_reports(errlint, project):
    write(project / "a.py", "import requests\nx = 1  # errlint: ignore[ERR101]\n")

    assert findings(errlint("--output-format", "concise", "a.py")) == []

    write(project / "pyproject.toml", '[tool.errlint]\nextend-select = ["ERR901"]\n')
    assert findings(errlint("--output-format", "concise", "a.py")) == [
        "a.py:2:8: ERR901 Unused suppression for `ERR101`"
    ]


def test_per_file_ignores_by_glob_and_by_path(errlint, project):
    write(
        project / "pyproject.toml",
        '[tool.errlint]\nselect = ["ERR101"]\n[tool.errlint.per-file-ignores]\n"test_*.py" = ["ERR101"]\n"legacy/*" = ["ERR1"]\n',
    )
    for name in ("test_a.py", "legacy/b.py", "app/test_c.py", "app/d.py"):
        write(project / name, ERR101_SOURCE)

    result = errlint("--output-format", "concise", ".")

    assert findings(result) == [concise("app/d.py")]


def test_exclude_replaces_the_defaults_and_extend_exclude_adds(errlint, project):
    for name in ("build/a.py", "generated/b.py", "src/c.py", "src/gen_d.py"):
        write(project / name, ERR101_SOURCE)

    write(project / "pyproject.toml", '[tool.errlint]\nselect = ["ERR101"]\nextend-exclude = ["generated", "src/gen_*"]\n')
    assert findings(errlint("--output-format", "concise", ".")) == [concise("src/c.py")]

    # `exclude` replaces the defaults, so build/ is linted again.
    write(project / "pyproject.toml", '[tool.errlint]\nselect = ["ERR101"]\nexclude = ["generated"]\n')
    assert findings(errlint("--output-format", "concise", ".")) == [
        concise("build/a.py"),
        concise("src/c.py"),
        concise("src/gen_d.py"),
    ]


def test_cli_select_replaces_the_config_select_and_ignore_adds_to_it(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nselect = ["ERR901"]\n')
    write(project / "a.py", TWO_RULES)

    assert findings(errlint("--select", "ERR101", "--output-format", "concise", "a.py")) == [concise("a.py")]
    assert findings(errlint("--extend-select", "ERR101", "--output-format", "concise", "a.py")) == [
        concise("a.py"),
        ERR901_BARE,
    ]
    assert findings(errlint("--ignore", "ERR901", "--output-format", "concise", "a.py")) == []


def test_config_ignore_still_applies_with_cli_select(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nignore = ["ERR101"]\n')
    write(project / "a.py", TWO_RULES)

    assert findings(errlint("--select", "ERR101,ERR901", "--output-format", "concise", "a.py")) == [ERR901_BARE]


# --- errors: exit 2, one line naming the file and the key, never a traceback --------


@pytest.mark.parametrize(
    ("file_name", "text", "expected"),
    [
        (
            "pyproject.toml",
            '[tool.errlint]\nselec = ["ERR101"]\n',
            "pyproject.toml: unknown key `tool.errlint.selec` (did you mean `select`?)",
        ),
        ("errlint.toml", "colour = 1\n", "errlint.toml: unknown key `colour`"),
        (
            "pyproject.toml",
            '[tool.errlint]\nselect = ["ERR999"]\n',
            "pyproject.toml: `tool.errlint.select`: unknown rule code `ERR999`",
        ),
        (
            "pyproject.toml",
            '[tool.errlint]\nselect = "ERR101"\n',
            "pyproject.toml: `tool.errlint.select`: expected a list of rule codes",
        ),
        (
            "pyproject.toml",
            "[tool.errlint]\nmax-retry-after = -5\n",
            "pyproject.toml: `tool.errlint.max-retry-after`: expected a positive number of seconds",
        ),
        (
            "pyproject.toml",
            "[tool.errlint]\nretryable-statuses = [429, 700]\n",
            "pyproject.toml: `tool.errlint.retryable-statuses`: 700 is not an HTTP status (100-599)",
        ),
        (
            "pyproject.toml",
            '[tool.errlint.per-file-ignores]\n"tests/*" = ["NOPE1"]\n',
            "pyproject.toml: `tool.errlint.per-file-ignores.tests/*`: unknown rule code `NOPE1`",
        ),
        (
            "pyproject.toml",
            "[tool.errlint]\nprofiles = 3\n",
            "pyproject.toml: `tool.errlint.profiles`: expected a table of profiles",
        ),
        (
            "pyproject.toml",
            '[tool.errlint]\nselect = ["ERR101"\n',
            "pyproject.toml: invalid TOML: ",
        ),
        ("errlint.toml", b"select = ['\xff']\n", "errlint.toml: not valid UTF-8"),
    ],
    ids=[
        "unknown-key",
        "unknown-key-errlint-toml",
        "unknown-code",
        "wrong-type",
        "negative-seconds",
        "not-a-status",
        "per-file-unknown-code",
        "profiles-not-a-table",
        "malformed-toml",
        "not-utf8",
    ],
)
def test_config_errors_exit_2_with_one_line(errlint, project, file_name, text, expected):
    write(project / file_name, text)
    write(project / "a.py", ERR101_SOURCE)

    result = errlint.subprocess("a.py")

    assert result.code == 2
    assert "Traceback" not in result.err
    [line] = result.err_lines
    assert line.startswith(f"errlint: error: {project / file_name}: ")
    assert line.startswith(f"errlint: error: {project}/{expected}")
    assert result.out == ""


def test_config_error_is_reported_for_stdin_too(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nselec = ["ERR101"]\n')

    result = errlint.subprocess("--stdin-filename", "a.py", "-", stdin=ERR101_SOURCE.encode())

    assert result.code == 2
    assert result.err_lines == [
        f"errlint: error: {project / 'pyproject.toml'}: unknown key `tool.errlint.selec` (did you mean `select`?)"
    ]


def test_a_broken_config_is_an_error_even_with_exit_zero(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nselec = ["ERR101"]\n')
    write(project / "a.py", ERR101_SOURCE)

    assert errlint("--exit-zero", "a.py").code == 2


# --- the nearest config file applies to each file, as in the editor ---------------


def test_each_file_gets_its_nearest_config(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nselect = ["ERR101", "ERR106"]\n')
    write(project / "a" / "pyproject.toml", '[tool.errlint]\nselect = ["ERR101", "ERR106"]\nignore = ["ERR101"]\n')
    write(project / "a" / "x.py", TWO_RULES)
    write(project / "b" / "y.py", TWO_RULES)

    one_file = errlint("--output-format", "concise", "a/x.py")
    whole_tree = errlint("--output-format", "concise", ".")

    assert [line.split()[1] for line in findings(one_file)] == ["ERR106"]
    assert [(line.split(":")[0], line.split()[1]) for line in findings(whole_tree)] == [
        ("a/x.py", "ERR106"),
        ("b/y.py", "ERR106"),
        ("b/y.py", "ERR101"),
    ]


def test_a_nested_config_excludes_its_own_files(errlint, project):
    write(project / "pyproject.toml", '[tool.errlint]\nselect = ["ERR101"]\n')
    write(project / "sub" / "errlint.toml", 'select = ["ERR101"]\nextend-exclude = ["generated"]\n')
    write(project / "sub" / "generated" / "g.py", TWO_RULES)
    write(project / "sub" / "own.py", TWO_RULES)

    assert [line.split(":")[0] for line in findings(errlint("--output-format", "concise", "."))] == ["sub/own.py"]


def test_config_flag_applies_to_every_file(errlint, project):
    write(project / "a" / "pyproject.toml", '[tool.errlint]\nignore = ["ERR101"]\n')
    write(project / "strict.toml", 'select = ["ERR101"]\n')
    write(project / "a" / "x.py", TWO_RULES)

    result = errlint("--config", "strict.toml", "--output-format", "concise", "a/x.py")

    assert [line.split()[1] for line in findings(result)] == ["ERR101"]
