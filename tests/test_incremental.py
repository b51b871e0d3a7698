"""Re-linting an edited document reuses the statements the edit did not touch.

What a user of the editor integration relies on: the findings for every
version are exactly those of a fresh lint, and fixes (which edit by position)
see the same text.
"""

from __future__ import annotations

import sysconfig
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from errlint.linter.config import Settings
from errlint.linter.engine import lint_source
from errlint.linter.incremental import ReusingParser

EXAMPLES = sorted(Path(__file__).parent.parent.joinpath("examples").rglob("*.py"))

LAYOUTS = {
    "comments between and after blocks": textwrap.dedent(
        """\
        #!/usr/bin/env python
        # -*- coding: utf-8 -*-
        \"\"\"Module docstring.\"\"\"

        import requests  # trailing comment
            # an indented comment after a simple statement

        def fetch(url):
            return requests.get(url)
            # indented comment: the block's footer

          # shallower, still the footer

        # a comment above the class
        @decorator
        class Client:
            x = 1; y = 2

        a = 1; b = 2
        if a: pass
        # the file's last comment

        """
    ),
    "two-space indentation": "import requests\n\ndef f():\n  if True:\n    return requests.get('u')\n",
    "first block at four spaces, later at two": "def f():\n    pass\n\ndef g():\n  pass\n",
    "tabs": "def f():\n\treturn 1\n\nx = 1\n",
    "crlf": "import requests\r\n\r\ndef f():\r\n    return requests.get('u')\r\n",
    "no newline at the end": "import requests\nx = requests.get('u')",
    "continuation lines": "x = 1 + \\\n    2\ny = '''\nmulti\n'''\n",
    "only comments": "# nothing here\n\n",
    "empty": "",
    "form feed": "x = 1\n\x0c\ndef f():\n    pass\n",
}


@pytest.mark.parametrize("source", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_the_reused_parse_is_the_whole_parse(source: str) -> None:
    parser = ReusingParser()
    versions = [source, "z = 3\n" + source, "z = 3\n" + source + ("w = 4\n" if source.endswith("\n") else "")]
    for version in versions:
        module = parser.parse(version)
        assert module.code == version
        assert module.deep_equals(cst.parse_module(version))


def test_statements_an_edit_did_not_touch_are_the_same_nodes() -> None:
    source = "import requests\n\ndef a():\n    return 1\n\ndef b():\n    return 2\n\ndef c():\n    return 3\n"
    parser = ReusingParser()
    before = parser.parse(source)
    after = parser.parse(source.replace("return 2", "return 22"))
    assert [x is y for x, y in zip(before.body, after.body)] == [True, True, False, True]
    assert after.code == source.replace("return 2", "return 22")
    assert parser.reused == 3


def test_a_statement_repeated_verbatim_is_not_shared_between_two_places() -> None:
    source = "def f():\n    pass\n\ndef f():\n    pass\n"
    parser = ReusingParser()
    parser.parse(source)
    module = parser.parse(source + "\n")
    assert module.body[0] is not module.body[1]


def test_a_syntax_error_is_libcsts_own() -> None:
    parser = ReusingParser()
    parser.parse("x = 1\n")
    with pytest.raises(cst.ParserSyntaxError):
        parser.parse("x = (\n")


def test_standard_library_files_round_trip() -> None:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(path for path in root.glob("*.py"))[:60]
    assert files
    for path in files:
        source = path.read_text(encoding="utf-8")
        parser = ReusingParser()
        module = parser.parse(source)
        assert module.code == source, path
        assert module.deep_equals(cst.parse_module(source)), path


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_findings_after_any_edits_are_those_of_a_fresh_lint(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(EXAMPLES))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    parser = ReusingParser()
    settings = Settings()
    lint_source("".join(lines), path.name, settings, reuse=parser)
    for _ in range(3):
        kind = data.draw(st.sampled_from(["delete", "duplicate", "comment", "indent"]))
        index = data.draw(st.integers(0, max(0, len(lines) - 1)))
        if not lines:
            break
        if kind == "delete":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, lines[index])
        elif kind == "comment":
            lines.insert(index, "# edited\n")
        else:
            lines[index] = "    " + lines[index]
        text = "".join(lines)
        assert lint_source(text, path.name, settings, reuse=parser) == lint_source(text, path.name, settings)


def test_an_edit_in_one_method_reuses_the_other_methods_of_its_class() -> None:
    methods = "".join(f"\n    def method_{n}(self):\n        return {n}\n" for n in range(6))
    source = f"import requests\n\n\nclass Client:\n    '''An API client.'''\n{methods}    # the class's last comment\n"
    parser = ReusingParser()
    parser.parse(source)
    before = parser.parse(source + "\n")  # the class's members are now known one by one
    edited = source.replace("return 3", "return 33") + "\n"
    after = parser.parse(edited)
    assert after.code == edited
    assert after.deep_equals(cst.parse_module(edited))
    old_members, new_members = before.body[1].body.body, after.body[1].body.body
    assert [x is y for x, y in zip(old_members, new_members)] == [True, True, True, True, False, True, True]


def test_the_model_of_a_reused_tree_is_the_model_of_a_fresh_walk() -> None:
    from errlint.linter.model import Model

    methods = "".join(
        f"\n    def get_{n}(self, session):\n        response = session.get('https://api.example.com/{n}')\n"
        f"        response.raise_for_status()\n        return response.json()\n"
        for n in range(5)
    )
    source = f"import requests\n\n\nclass Client:\n{methods}\n\ndef helper():\n    return requests.get('u')\n"
    parser = ReusingParser()
    parser.parse(source)
    Model(parser.parse(source + "\n"), "x.py", Settings(), parser)
    edited = source.replace("/3'", "/33'") + "\n"
    module = parser.parse(edited)
    reused = Model(module, "x.py", Settings(), parser)
    fresh = Model(module, "x.py", Settings())

    def ids(nodes):
        return [id(node) for node in nodes]

    assert reused._order == fresh._order
    assert {k: id(v) for k, v in reused.parents.items()} == {k: id(v) for k, v in fresh.parents.items()}
    assert {k: ids(v) for k, v in reused._children.items()} == {k: ids(v) for k, v in fresh._children.items()}
    assert ids(reused.calls) == ids(fresh.calls) and ids(reused.functions) == ids(fresh.functions)
    assert ids(h.node for h in reused.http_calls) == ids(h.node for h in fresh.http_calls)
    assert len(reused.http_calls) == 6
