"""Fingerprints that recognise a finding after its lines move or its message is reworded.

A fingerprint is a digest of the rule code, the file's path relative to the
project root, the finding's source line with all whitespace removed, and
the finding's rank among findings with the same three (so two identical
lines in one file stay apart). Line numbers and message text are left out
on purpose: the baseline (`--baseline`) and SARIF's `partialFingerprints`
must survive code inserted above a finding and a rule's message being
rewritten, which is what makes them usable on a living codebase.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Sequence

from errlint.linter.findings import Finding

FINGERPRINT_KEY = "errlintFingerprint/v1"


def relative_path(path: str, root: Path) -> str:
    """`path` relative to `root` with forward slashes; as given when outside it."""
    try:
        relative = os.path.relpath(os.path.abspath(path), root)
    except ValueError:  # another drive (Windows)
        return Path(path).as_posix()
    return Path(path).as_posix() if relative.startswith("..") else Path(relative).as_posix()


def fingerprints(
    findings: Iterable[Finding], read_lines: Callable[[str], Sequence[str]], root: Path
) -> dict[Finding, str]:
    """A fingerprint for each finding (see the module docstring)."""
    seen: Counter[tuple[str, str, str]] = Counter()
    result = {}
    for finding in sorted(findings, key=lambda f: f.sort_key):
        lines = read_lines(finding.path)
        text = lines[finding.start.line - 1] if 0 < finding.start.line <= len(lines) else ""
        key = (finding.code, relative_path(finding.path, root), "".join(text.split()))
        rank = seen[key]
        seen[key] += 1
        result[finding] = hashlib.sha256("\0".join((*key, str(rank))).encode()).hexdigest()[:32]
    return result
