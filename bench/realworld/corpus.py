"""Rebuild the real-world accuracy corpus, and the fixed split into halves.

The corpus is third-party code, so none of it is committed: `repos.json`
names each repository and the commit its labels were made on, and this script
lays those commits out under `bench/realworld/.corpus/<owner>+<name>/` from
git mirrors that are present on the machine (`/work/.mirror/<owner>+<name>/repo`
by default, or `--mirrors DIR`). Fix sightings (`fixes.jsonl`) name their own
repositories and commits; their before and after files are read straight
from the mirrors by the scorer.

    python bench/realworld/corpus.py             # lay out what is missing
    python bench/realworld/corpus.py --split     # print the halves (fixed seed)
    python bench/realworld/corpus.py --reading-list  # files labellers read in full

The split assigns whole repositories to halves with `SPLIT_SEED`; it was
committed before any rule was tuned against the corpus. Rules may be developed
against the tuning half only; accuracy targets are met on the measuring half.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import re
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / ".corpus"
DEFAULT_MIRRORS = Path("/work/.mirror")
SPLIT_SEED = 20261203
HALVES = ("tuning", "measuring")

# Files that send HTTP themselves: the pool labellers draw whole files from.
HTTP_CALL = re.compile(rb"\.(get|post|put|patch|delete|request|send|fetch|urlopen)\(")
HTTP_CONTEXT = re.compile(rb"requests|httpx|aiohttp|urllib|[Ss]ession|_request|status_code|http")


def load_repos() -> list[dict]:
    return json.loads((HERE / "repos.json").read_text())


def slug(repo: str) -> str:
    return repo.replace("/", "+", 1)


def half_of(repo: str) -> str:
    """The half a repository belongs to: fixed by the seed, never by content."""
    digest = hashlib.sha256(f"{SPLIT_SEED}:{repo}".encode()).digest()
    return HALVES[digest[0] % 2]


def split() -> dict[str, list[str]]:
    """Corpus repositories in two halves of equal size (±1), by a seeded shuffle."""
    names = sorted(entry["repo"] for entry in load_repos())
    random.Random(SPLIT_SEED).shuffle(names)
    middle = (len(names) + 1) // 2
    return {"tuning": sorted(names[:middle]), "measuring": sorted(names[middle:])}


def repo_half(repo: str) -> str:
    """Corpus repositories by the committed split; any other (fix) repository by hash."""
    halves = json.loads((HERE / "split.json").read_text())
    for half, names in halves.items():
        if repo in names:
            return half
    return half_of(repo)


def git_dir(mirrors: Path, repo: str) -> Path:
    return mirrors / slug(repo) / "repo"


def git_show(mirrors: Path, repo: str, commit: str, path: str) -> str | None:
    """One file's text at one commit, or None when the mirror or file is absent."""
    result = subprocess.run(
        ["git", "--git-dir", str(git_dir(mirrors, repo)), "show", f"{commit}:{path}"],
        capture_output=True,
    )
    if result.returncode != 0:
        return None
    return result.stdout.decode("utf-8", "replace")


def lay_out(mirrors: Path) -> list[str]:
    """Extract each corpus commit's Python files; returns the repositories missing a mirror."""
    missing = []
    for entry in load_repos():
        target = CORPUS / slug(entry["repo"])
        if target.exists():
            continue
        source = git_dir(mirrors, entry["repo"])
        if not source.exists():
            missing.append(entry["repo"])
            continue
        archive = subprocess.run(
            # Only Python files: a mirror lacks its biggest (data) files.
            ["git", "--git-dir", str(source), "archive", entry["commit"], "--", ":(glob)**/*.py"],
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            members = [
                member
                for member in tar.getmembers()
                if member.isfile() and member.name.endswith(".py")
            ]
            tar.extractall(target, members=members, filter="data")
    return missing


def reading_list(per_repo: int = 4) -> dict[str, list[str]]:
    """Seeded random HTTP-calling files per repository, to be read in full.

    Drawn from the code, not from what errlint flags, so that the sightings
    are not biased towards the shapes errlint already sees.
    """
    chosen = {}
    for entry in load_repos():
        root = CORPUS / slug(entry["repo"])
        pool = sorted(
            str(path.relative_to(root))
            for path in root.rglob("*.py")
            if "test" not in str(path.relative_to(root)).lower()
            and HTTP_CALL.search(path.read_bytes())
            and HTTP_CONTEXT.search(path.read_bytes())
        )
        rng = random.Random(f"{SPLIT_SEED}:{entry['repo']}")
        chosen[entry["repo"]] = sorted(rng.sample(pool, min(per_repo, len(pool))))
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    parser.add_argument("--split", action="store_true", help="print the halves")
    parser.add_argument("--reading-list", action="store_true")
    args = parser.parse_args(argv)
    if args.split:
        print(json.dumps(split(), indent=1))
        return 0
    missing = lay_out(args.mirrors)
    if args.reading_list:
        print(json.dumps(reading_list(), indent=1))
        return 0
    for repo in missing:
        print(f"corpus.py: no mirror of {repo} under {args.mirrors}", file=sys.stderr)
    print(f"{len(load_repos()) - len(missing)} repositories under {CORPUS}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
