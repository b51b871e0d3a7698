"""ERR901: a suppression comment that silences nothing."""

from __future__ import annotations

from typing import Iterator

from errlint.linter.rule import Invalid, Report, Rule, Valid

_ON = {"extend-select": ["ERR901"]}


class UnusedSuppression(Rule):
    """
    ## What it does
    Reports suppression comments that silence nothing (opt-in) and bare `# errlint: ignore` comments. Reports `# errlint: ignore[...]` comments whose codes silence no finding
    on their line or the line below (opt-in), and always reports a bare
    `# errlint: ignore` without codes, which errlint refuses to honour.

    ## Why is this bad?
    A stale suppression hides the next real problem that appears on that
    line, and a bare ignore would silence every rule, including ones added
    later. Naming the codes keeps suppressions honest and reviewable.

    ## Example
    ```python
    retry = Retry(total=3, status_forcelist=[429, 503])  # errlint: ignore[ERR101]
    ```

    ## Use instead
    ```python
    retry = Retry(total=3, status_forcelist=[429, 503])
    ```

    ## Fix safety
    There is no fix yet; delete the comment by hand.

    ## Options
    Unused coded suppressions are reported only when `ERR901` is selected
    explicitly (`extend-select = ["ERR901"]`); bare ignores are always reported.

    ## References
    - Suppression syntax: `# errlint: ignore[ERR101, ERR102]`, `# noqa: ERR101`.
    """

    code = "ERR901"
    name = "unused-suppression"

    VALID = [
        Valid(
            "from urllib3 import Retry\nretry = Retry(total=3, status_forcelist=[404])  # errlint: ignore[ERR101]\n",
            settings=_ON,
        ),
        Valid(
            "from urllib3 import Retry\n# errlint: ignore[ERR101]\nretry = Retry(total=3, status_forcelist=[404])\n",
            settings=_ON,
        ),
        Valid(
            "from urllib3 import Retry\nretry = Retry(total=3, status_forcelist=[404])  # noqa: ERR101\n",
            settings=_ON,
        ),
        Valid(
            "from urllib3 import Retry\nretry = Retry(total=3, status_forcelist=[429])  # errlint: ignore[ERR101]\n",
        ),
        Valid("x = 1  # noqa: E501\n", settings=_ON),
        Valid("x = '# errlint: ignore'\n"),
        Valid(
            "from urllib3 import Retry\nretry = Retry(\n    total=3,\n    status_forcelist=[404],\n)  # errlint: ignore[ERR101]\n",
            settings=_ON,
        ),
        Valid("x = 1  # errlint: ignore[ERR101]\n"),
    ]
    INVALID = [
        Invalid("x = 1  # errlint: ignore  # flagged\n"),
        Invalid(
            "from urllib3 import Retry\nretry = Retry(total=3, status_forcelist=[429])  # errlint: ignore  # flagged\n"
        ),
        Invalid(
            "from urllib3 import Retry\nretry = Retry(total=3, status_forcelist=[429])  # errlint: ignore[ERR101]  # flagged\n",
            settings=_ON,
            message="Unused suppression for `ERR101`",
        ),
        Invalid("x = 1  # errlint: ignore[ERR102]  # flagged\n", settings=_ON),
        Invalid("x = 1  # errlint: ignore[]  # flagged\n"),
        Invalid(
            "import requests\n# errlint: ignore  # flagged\nrequests.get('u')\n",
            message="`# errlint: ignore` without codes silences nothing; name them: `# errlint: ignore[ERR101]`",
        ),
        Invalid("def f():\n    pass  # errlint: ignore[ERR201, ERR202]  # flagged\n", settings=_ON),
        Invalid("x = 1  # ERRLINT: IGNORE  # flagged\n"),
    ]

    def check(self) -> Iterator[Report]:
        # Suppressions are matched against findings by the engine.
        return iter(())
