"""ERR900: a file that cannot be parsed."""

from __future__ import annotations

from typing import Iterator

from errlint.linter.rule import Invalid, Report, Rule


class UnparsableFile(Rule):
    """
    ## What it does
    Reports a file errlint cannot parse, at the position of the syntax error; the run continues.

    ## Why is this bad?
    A file that does not parse is not checked by any other rule, so its
    HTTP error handling goes unreviewed. Seeing the error where it is (in CI
    or in the editor while typing) is better than a silent skip.

    ## Example
    ```python
    def fetch(url:
        return requests.get(url)
    ```

    ## Use instead
    ```python
    def fetch(url):
        return requests.get(url)
    ```

    ## Fix safety
    There is no fix: errlint cannot guess the intended code.

    ## References
    - Files are parsed with libcst's native parser, which accepts Python 3.0-3.13 syntax.
    """

    code = "ERR900"
    name = "syntax-error"

    VALID = [
        "import requests\nrequests.get('https://example.com')\n",
        "async def f(session):\n    async with session.get('u') as r:\n        return await r.json()\n",
        "x = 1\n",
        "match command:\n    case 'go':\n        pass\n",
        "def f(*args, **kwargs):\n    return [x async for x in kwargs['it']]\n",
        "print(f'{x!r:>10}')\n",
        "# only a comment\n",
        "",
    ]
    INVALID = [
        Invalid("def fetch(url:  # flagged\n    return url\n"),
        Invalid("import requests\nrequests.get('u'  # flagged\n"),
        Invalid("x = = 1  # flagged\n"),
        Invalid("if True:\n    pass\n  else:  # flagged\n    pass\n"),
        Invalid("for in range(3):  # flagged\n    pass\n"),
        Invalid("class:  # flagged\n    pass\n"),
        Invalid("import requests\nretry = Retry(total=3,, backoff_factor=1)  # flagged\n"),
        Invalid("try:\n    pass\nexcept requests.HTTPError as:  # flagged\n    pass\n"),
    ]

    def check(self) -> Iterator[Report]:
        # Reported by the engine when parsing fails; a parsed file has no syntax error.
        return iter(())
