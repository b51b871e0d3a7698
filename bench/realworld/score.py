"""Score errlint against the real-world labels: recall, traps flagged, fixes detected.

    python bench/realworld/score.py                      # both halves, default rules and ALL
    python bench/realworld/score.py --half measuring     # one half
    python bench/realworld/score.py --json results.json  # also write machine-readable results

For every sighting (`labels/*.jsonl`) errlint's findings in that file are
compared with the label: a TP is *found* when a finding with the expected
code lies within `NEAR` lines of it (and, reported separately, found with any
code); a trap is *flagged* when any finding lies that close. For every fix
(`fixes*.jsonl`) the file before the fix is linted: it is *detected* when a
finding with the expected code lies near one of the buggy lines, and *clean
after* when the file after the fix has no such finding near the lines the
fix changed. errlint runs as users run it (the CLI, `--output-format json`,
no cache), once with the default rules and once with `--select ALL`.
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import CORPUS, DEFAULT_MIRRORS, git_show, repo_half, slug  # noqa: E402

NEAR = 3
SELECTIONS = {"default": [], "all": ["--select", "ALL"]}
FAMILIES = ("retry", "identify", "response", "idempotency")


@dataclass
class Tally:
    tp: int = 0
    tp_found: int = 0
    tp_found_any: int = 0
    traps: int = 0
    traps_flagged: int = 0
    fixes: int = 0
    fixes_detected: int = 0
    fixes_clean_after: int = 0
    missed: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {key: value for key, value in vars(self).items()}


def read_jsonl(paths: list[Path]) -> list[dict]:
    records = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise SystemExit(f"{path}:{number}: not JSON: {error.msg}") from None
    return records


LABEL_KEYS = {"repo", "path", "line", "label", "code", "family", "via", "found_by", "reason"}
CHOICES = {
    "label": {"TP", "trap"},
    "family": set(FAMILIES),
    "via": {"direct", "wrapper", "helper", "module", "sdk"},
    "found_by": {"grep", "read"},
}


def validate(labels: list[dict], corpus: Path) -> str:
    """Refuse malformed sightings; describe the set (what issue 12 asks of it)."""
    for label in labels:
        where = f"{label.get('repo')}:{label.get('path')}:{label.get('line')}"
        if set(label) != LABEL_KEYS:
            raise SystemExit(f"{where}: keys {sorted(set(label) ^ LABEL_KEYS)} wrong")
        for key, allowed in CHOICES.items():
            if label[key] not in allowed:
                raise SystemExit(f"{where}: {key} must be one of {sorted(allowed)}")
        path = corpus / slug(label["repo"]) / label["path"]
        if path.exists() and not 1 <= label["line"] <= len(path.read_bytes().splitlines()):
            raise SystemExit(f"{where}: line outside the file")
    tps = [label for label in labels if label["label"] == "TP"]
    read = sum(label["found_by"] == "read" for label in labels)
    layered = sum(label["via"] != "direct" for label in tps)
    return (
        f"{len(labels)} sightings ({len(tps)} TP, {len(labels) - len(tps)} traps); "
        f"{percent(read, len(labels))} found reading whole files; "
        f"{percent(layered, len(tps))} of TPs reach HTTP through a layer"
    )


# Default settings whatever config files sit above a corpus folder.
NEUTRAL_CONFIG = Path(tempfile.mkdtemp(prefix="errlint-score-")) / "errlint.toml"
NEUTRAL_CONFIG.write_text("")


def run_errlint(target: Path, selection: list[str]) -> dict[str, list[tuple[int, str]]]:
    """{path relative to `target`: [(line, code)]} for every finding under `target`."""
    completed = subprocess.run(
        [sys.executable, "-m", "errlint", "--output-format", "json", "--no-cache", "--exit-zero",
         "--no-respect-gitignore", "--config", str(NEUTRAL_CONFIG), *selection, "."],
        cwd=target,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"errlint failed on {target}: {completed.stderr.strip()[-500:]}")
    findings: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for finding in json.loads(completed.stdout)["findings"]:
        findings[Path(finding["filename"]).as_posix()].append((finding["location"]["row"], finding["code"]))
    return findings


def near(findings: list[tuple[int, str]], lines: list[int], code: str | None) -> bool:
    return any(abs(row - line) <= NEAR and code in (None, found) for row, found in findings for line in lines)


def changed_after_lines(before: str, after: str, lines: list[int]) -> list[int]:
    """Lines of the after file that replace the given before lines (1-based)."""
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    result = []
    for tag, b1, b2, a1, a2 in matcher.get_opcodes():
        if tag == "equal":
            result += [a1 + (line - 1 - b1) + 1 for line in lines if b1 <= line - 1 < b2]
        elif any(b1 <= line - 1 < max(b2, b1 + 1) for line in lines):
            result += list(range(a1 + 1, max(a2, a1 + 1) + 1))
    return result


def score(labels: list[dict], fixes: list[dict], corpus: Path, mirrors: Path, halves: set[str]) -> dict:
    tallies: dict[tuple[str, str, str], Tally] = defaultdict(Tally)  # (selection, half, family)
    for selection, flags in SELECTIONS.items():
        by_repo: dict[str, list[dict]] = defaultdict(list)
        for label in labels:
            if repo_half(label["repo"]) in halves:
                by_repo[label["repo"]].append(label)
        for repo, sightings in sorted(by_repo.items()):
            findings = run_errlint(corpus / slug(repo), flags)
            for sighting in sightings:
                in_file = findings.get(sighting["path"], [])
                where = f"{repo}:{sighting['path']}:{sighting['line']} {sighting['code']}"
                for family in (sighting["family"], "all"):
                    tally = tallies[(selection, repo_half(repo), family)]
                    if sighting["label"] == "TP":
                        tally.tp += 1
                        found = near(in_file, [sighting["line"]], sighting["code"])
                        tally.tp_found += found
                        tally.tp_found_any += near(in_file, [sighting["line"]], None)
                        if not found and family == "all":
                            tally.missed.append(where)
                    else:
                        tally.traps += 1
                        flagged = near(in_file, [sighting["line"]], None)
                        tally.traps_flagged += flagged
                        if flagged and family == "all":
                            tally.flagged.append(where)
        for fix in fixes:
            half = repo_half(fix["repo"])
            if half not in halves:
                continue
            detected, clean = score_fix(fix, mirrors, flags)
            for family in (fix["family"], "all"):
                tally = tallies[(selection, half, family)]
                tally.fixes += 1
                tally.fixes_detected += detected
                tally.fixes_clean_after += detected and clean
    return {"/".join(key): tally.as_json() for key, tally in sorted(tallies.items())}


def score_fix(fix: dict, mirrors: Path, flags: list[str]) -> tuple[bool, bool]:
    before = git_show(mirrors, fix["repo"], fix["before_commit"], fix["path"])
    after = git_show(mirrors, fix["repo"], fix["fix_commit"], fix["path"])
    if before is None:
        raise SystemExit(f"no mirror or file for {fix['repo']} {fix['before_commit'][:10]}:{fix['path']}")
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / Path(fix["path"]).name
        target.write_text(before, encoding="utf-8")
        found_before = run_errlint(Path(folder), flags).get(target.name, [])
        detected = near(found_before, fix["lines"], fix["code"])
        if after is None:  # the fix removed the file
            return detected, True
        target.write_text(after, encoding="utf-8")
        found_after = run_errlint(Path(folder), flags).get(target.name, [])
        return detected, not near(found_after, changed_after_lines(before, after, fix["lines"]), fix["code"])


def percent(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "-"


def render(results: dict, halves: list[str]) -> str:
    rows = [("selection", "half", "family", "TP found (code)", "TP found (any)", "traps flagged", "fixes detected",
             "fixes clean after")]
    for key, tally in results.items():
        selection, half, family = key.split("/")
        rows.append((
            selection, half, family,
            percent(tally["tp_found"], tally["tp"]),
            percent(tally["tp_found_any"], tally["tp"]),
            percent(tally["traps_flagged"], tally["traps"]),
            percent(tally["fixes_detected"], tally["fixes"]),
            percent(tally["fixes_clean_after"], tally["fixes"]),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def summary(results: dict, halves: list[str]) -> str:
    parts = []
    for half in halves:
        tally = results.get(f"default/{half}/all")
        if tally:
            parts.append(
                f"{half}: recall {percent(tally['tp_found'], tally['tp'])}, traps flagged "
                f"{percent(tally['traps_flagged'], tally['traps'])}, fixes detected "
                f"{percent(tally['fixes_detected'], tally['fixes'])}"
            )
    return "realworld (default rules) — " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("tuning", "measuring", "both"), default="both")
    parser.add_argument("--labels", type=Path, default=HERE / "labels", help="folder of *.jsonl sightings")
    parser.add_argument("--fixes", type=Path, nargs="*", default=sorted(HERE.glob("fixes*.jsonl")))
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--missed", action="store_true", help="list the TPs missed and traps flagged")
    args = parser.parse_args(argv)
    halves = ["tuning", "measuring"] if args.half == "both" else [args.half]
    labels = read_jsonl(sorted(args.labels.glob("*.jsonl")))
    fixes = read_jsonl(args.fixes)
    print(validate(labels, args.corpus))
    results = score(labels, fixes, args.corpus, args.mirrors, set(halves))
    print(summary(results, halves))
    print(render(results, halves))
    if args.missed:
        for key, tally in results.items():
            if key.endswith("/all"):
                for where in tally["missed"]:
                    print(f"{key} missed: {where}")
                for where in tally["flagged"]:
                    print(f"{key} trap flagged: {where}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
