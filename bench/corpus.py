"""Download the real-world corpora the benchmarks and precision reviews use.

Sources of HTTP-heavy packages from PyPI (sdists, no dependencies) are
unpacked into `bench/.corpus/<name>-<version>/` (git-ignored). Run:

    python bench/corpus.py            # download what is missing
    python bench/corpus.py --list     # print the corpus folders
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / ".corpus"

# Packages that call HTTP APIs a lot, with their own retry and error handling.
PACKAGES = [
    "python-gitlab",
    "atlassian-python-api",
    "docker",
    "praw",
    "prawcore",
    "hvac",
    "spotipy",
    "jira",
    "PyGithub",
    "tweepy",
    "slack_sdk",
    "stripe",
    "python-keycloak",
    "pyairtable",
    "notion-client",
    "requests-oauthlib",
    "google-api-core",
    "elasticsearch",
    "openai",
    "apprise",
    "huggingface_hub",
    "influxdb-client",
    "twilio",
    "msal",
    "dropbox",
    "sendgrid",
    "pyTelegramBotAPI",
    "zulip",
    "Mastodon.py",
]


def corpus_dirs() -> list[Path]:
    return sorted(path for path in CORPUS.iterdir() if path.is_dir()) if CORPUS.exists() else []


def download(names: list[str]) -> list[Path]:
    CORPUS.mkdir(parents=True, exist_ok=True)
    have = {path.name.rsplit("-", 1)[0].lower().replace("_", "-") for path in corpus_dirs()}
    for name in names:
        if name.lower().replace("_", "-") in have:
            continue
        with tempfile.TemporaryDirectory() as temporary:
            result = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "-d", temporary, name],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                print(f"{name}: download failed: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                continue
            for archive in Path(temporary).iterdir():
                _unpack(archive, CORPUS)
                print(f"{name}: {archive.name}")
    return corpus_dirs()


def _unpack(archive: Path, target: Path) -> None:
    if archive.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.name.endswith(".py") or m.isdir()]
            tar.extractall(target, members=members, filter="data")
    elif archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(target, members=[n for n in zipped.namelist() if n.endswith(".py")])


if __name__ == "__main__":
    if "--list" in sys.argv:
        for path in corpus_dirs():
            print(path)
    else:
        for path in download(PACKAGES):
            print(path)
