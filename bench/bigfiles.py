"""Big flat files: what errlint accepts lints within 3x libcst's own parse time and 500 MB.

    python bench/bigfiles.py            # prints a table; exits 1 if a target is missed

Each input sits just under errlint's token limit (`MAX_TOKENS`), or far over
it (which must be refused quickly and cheaply). Every measurement runs in a
fresh child process, so peak memory (max RSS) is that of one parse or lint;
time is compared as a ratio within this one run, never against a constant.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from errlint.linter.source import MAX_TOKENS, _exact_token_count

TIME_RATIO = 3.0
MEMORY_MB = 500

MEASURE = r"""
import json, resource, sys, time
path, what = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
start = time.perf_counter()
if what == "libcst":
    import libcst
    libcst.parse_module(text)
    outcome = "parsed"
else:
    from errlint.linter.config import Settings
    from errlint.linter.engine import lint_source
    result = lint_source(text, path, Settings())
    outcome = result.error or f"{len(result.findings)} findings"
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "outcome": outcome}))
"""


def inputs() -> dict[str, str]:
    header = "import requests\n"
    # tokens per unit, to land just under the limit
    flat_lines = (MAX_TOKENS - 100) // 4  # `x = 1` NEWLINE
    tuple_items = (MAX_TOKENS - 100) // 2  # `1` `,`
    client = (
        "def fetch_{i}(session, url):\n"
        "    response = session.get(url, timeout=10)\n"
        "    if response.status_code == 200:\n"
        "        return response.json()['items']\n"
        "    return None\n\n"
    )
    per_function = _exact_token_count(client.format(i=0))
    return {
        "flat assignments, just under the limit": header + "x = 1\n" * flat_lines,
        "one big tuple, just under the limit": header + "x = (" + "1," * tuple_items + ")\n",
        "HTTP client functions, just under the limit": header
        + "".join(client.format(i=i) for i in range((MAX_TOKENS - 100) // per_function)),
        "flat assignments, 150,000 lines (refused)": header + "x = 1\n" * 150_000,
    }


def measure(path: Path, what: str) -> dict:
    completed = subprocess.run([sys.executable, "-c", MEASURE, str(path), what], capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{what} failed on {path.name}: {completed.stderr.strip()[-300:]}")
    return json.loads(completed.stdout)


def main() -> int:
    missed = []
    print(f"{'input':45} {'libcst s':>9} {'MB':>6} {'errlint s':>10} {'MB':>6} {'ratio':>6}  outcome")
    with tempfile.TemporaryDirectory() as folder:
        for name, text in inputs().items():
            path = Path(folder) / "big.py"
            path.write_text(text, encoding="utf-8")
            refused = "refused" in name
            parse = measure(path, "libcst") if not refused else None
            lint = measure(path, "errlint")
            ratio = lint["seconds"] / parse["seconds"] if parse else float("nan")
            print(
                f"{name:45} {parse['seconds'] if parse else float('nan'):9.2f} "
                f"{parse['peak_mb'] if parse else float('nan'):6.0f} {lint['seconds']:10.2f} "
                f"{lint['peak_mb']:6.0f} {ratio:6.2f}  {lint['outcome']}"
            )
            if refused:
                if not lint["outcome"].startswith("skipped:") or lint["peak_mb"] > 100:
                    missed.append(f"{name}: not refused cheaply")
            elif ratio > TIME_RATIO or lint["peak_mb"] > MEMORY_MB or lint["outcome"].startswith("skipped"):
                missed.append(f"{name}: ratio {ratio:.2f} (target {TIME_RATIO}), {lint['peak_mb']:.0f} MB")
    for line in missed:
        print(f"MISSED {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
