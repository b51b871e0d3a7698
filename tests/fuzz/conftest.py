"""The fuzz suite: bounded property tests that look for crashes, wrong parses,
fixes that break files, editor/CLI disagreements and poisoned caches.

By default each fuzzer tries a fixed, small number of inputs with a fixed seed
(a few minutes for the whole suite, the same inputs on every CI run). For a
long run, set ERRLINT_FUZZ_EXAMPLES (inputs per fuzzer) and the inputs are
random:

    ERRLINT_FUZZ_EXAMPLES=10000 python -m pytest tests/fuzz -q -p no:cacheprovider -s

Each fuzzer prints how many inputs it tried (`-s` shows it).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

LONG_RUN = int(os.environ.get("ERRLINT_FUZZ_EXAMPLES", "0"))


def fuzz_settings(default_examples: int):
    return settings(
        max_examples=LONG_RUN or default_examples,
        derandomize=not LONG_RUN,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
