"""Speed benchmark: errlint against the libcst parse floor, side by side in one run.

    python bench/run.py                 # all corpora, default jobs
    python bench/run.py --corpus stdlib --jobs 2 --repeat 3

Corpora:
- stdlib: the running interpreter's standard library (site-packages excluded);
- http: sources of HTTP-heavy packages from PyPI (downloaded by bench/corpus.py
  into bench/.corpus, not committed);
- http-dense: the files of `http` that pass errlint's relevance check, i.e.
  every file is parsed and analysed.

For each corpus it prints files, lines, errlint cold and warm times, the time to
only parse every file with libcst using the same number of processes, the
ratios, errlint's peak memory (all its processes together: resident set sizes,
and proportional set sizes, which count shared pages once), how many files
the relevance pre-filter skipped and how many findings it would have lost,
and flake8/Fixit times on the same files where those tools are installed.
Ratios, not seconds, are the targets: machines are noisy, ratios within one
run much less so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TARGETS = {"cold_vs_parse_tree": 1.0, "cold_vs_parse_dense": 1.5, "warm_vs_cold": 0.10, "peak_mb": 300}


def _parse_one(path: str) -> int:
    import libcst

    from errlint.linter.source import SourceError, decode_source

    try:
        text = decode_source(Path(path).read_bytes()).text
        libcst.parse_module(text)
        return 1
    except (SourceError, libcst.ParserSyntaxError, OSError, RecursionError):
        return 0


def parse_only(files: list[str], jobs: int) -> float:
    """The floor: read, decode and libcst-parse every file, in `jobs` processes."""
    started = time.perf_counter()
    if jobs <= 1:
        for path in files:
            _parse_one(path)
    else:
        chunk = max(1, min(32, len(files) // (jobs * 8)))
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(_parse_one, files, chunksize=chunk))
    return time.perf_counter() - started


def _tree_pids(root_pid: int) -> list[int]:
    """A process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    children.setdefault(int(stat.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    pids, stack = [], [root_pid]
    while stack:
        pids.append(stack.pop())
        stack.extend(children.get(pids[-1], []))
    return pids


def _process_memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process now, with any higher RSS since the previous call added.

    The kernel's peak (VmHWM) is read and reset at every call, so a spike
    between two samples is not missed; its pages are new, hence private, and
    count in full in both measures. (Where the reset is refused, VmHWM is the
    peak since the process started: an overstatement, never an understatement.)
    """
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear:
            clear.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            pss = next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
    except (OSError, StopIteration):
        pss = fields.get("VmRSS", 0)
    spike = max(0, fields.get("VmHWM", 0) - fields.get("VmRSS", 0))
    return fields.get("VmRSS", 0) + spike, pss + spike


def _tree_memory_kb(root_pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process tree: the sum over the processes alive now.

    RSS counts a page that processes share (the interpreter's code, what the
    workers inherited from the parent) once in every process that maps it;
    PSS divides it among them, so their sum counts every page once. Peaks
    between two samples are added as if they had coincided: the sum can
    overstate a little, never understate.
    """
    rss = pss = 0
    for pid in _tree_pids(root_pid):
        try:
            process_rss, process_pss = _process_memory_kb(pid)
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
        rss += process_rss
        pss += process_pss
    return rss, pss


def run_errlint(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, tuple[int, int], str]:
    """Run errlint; return (seconds, peak (RSS, PSS) MB of its processes together, stdout).

    The peak is that of the sum over the processes alive at the same moment,
    not the sum of each process's own peak (those need not coincide).
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "errlint", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    peak_rss = peak_pss = 0
    output_chunks: list[bytes] = []
    import threading

    reader = threading.Thread(target=lambda: output_chunks.append(process.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    while process.poll() is None:
        rss, pss = _tree_memory_kb(process.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.05)
    reader.join()
    elapsed = time.perf_counter() - started
    return elapsed, (peak_rss // 1024, peak_pss // 1024), b"".join(output_chunks).decode("utf-8", "replace")


def _findings(output: str) -> set[str]:
    return {line for line in output.splitlines() if ": ERR" in line}


def corpus_files(name: str) -> tuple[list[Path], Path]:
    if name == "stdlib":
        root = Path(sysconfig.get_paths()["stdlib"])
        files = [p for p in root.rglob("*.py") if "site-packages" not in p.parts]
        return sorted(files), root
    from corpus import PACKAGES, corpus_dirs, download

    dirs = corpus_dirs() or download(PACKAGES)
    files = sorted(p for d in dirs for p in d.rglob("*.py"))
    if name == "http-dense":
        from errlint.linter.engine import might_need_linting

        files = [p for p in files if might_need_linting(p.read_bytes())]
    return files, HERE / ".corpus"


def other_tool(command: list[str], files: list[Path], cwd: Path) -> float | None:
    if shutil.which(command[0]) is None:
        return None
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(map(str, files)))
        listing.flush()
        subprocess.run(
            [*command, *map(str, files)] if len(files) < 3000 else command + [str(cwd)],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return time.perf_counter() - started


def bench_corpus(name: str, jobs: int, repeat: int) -> dict:
    files, root = corpus_files(name)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    work = Path(tempfile.mkdtemp(prefix="errlint-bench-"))
    listing = [str(p) for p in files]
    # A copy keeps the corpus folders out of any repository's .gitignore and config.
    tree = work / "tree"
    for path in files:
        target = tree / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    copied = [str(tree / p.relative_to(root)) for p in files]
    env = dict(os.environ)
    base = ["--no-respect-gitignore", "--output-format", "concise", "--exit-zero", "-q", "--jobs", str(jobs)]
    cold, warm, parse, peaks, peaks_pss = [], [], [], [], []
    output = ""
    for _ in range(repeat):
        cache = work / f"cache-{len(cold)}"
        parse.append(parse_only(copied, jobs))
        seconds, (peak, peak_pss), output = run_errlint([*base, "--cache-dir", str(cache), str(tree)], work, env)
        cold.append(seconds)
        peaks.append(peak)
        peaks_pss.append(peak_pss)
        seconds, _, _ = run_errlint([*base, "--cache-dir", str(cache), str(tree)], work, env)
        warm.append(seconds)
    unfiltered_env = {**env, "ERRLINT_NO_PREFILTER": "1"}
    _, _, unfiltered = run_errlint([*base, "--no-cache", str(tree)], work, unfiltered_env)
    from errlint.linter.engine import might_need_linting

    skipped = sum(1 for p in files if not might_need_linting(p.read_bytes()))
    result = {
        "corpus": name,
        "files": len(files),
        "lines": lines,
        "jobs": jobs,
        "errlint_cold_s": statistics.median(cold),
        "errlint_warm_s": statistics.median(warm),
        "parse_only_s": statistics.median(parse),
        "cold_vs_parse": statistics.median(cold) / statistics.median(parse),
        "warm_vs_cold": statistics.median(warm) / statistics.median(cold),
        "peak_mb": max(peaks),
        "peak_pss_mb": max(peaks_pss),
        "findings": len(_findings(output)),
        "prefilter_skipped_files": skipped,
        "prefilter_lost_findings": len(_findings(unfiltered) - _findings(output)),
        "flake8_s": other_tool(["flake8", "--exit-zero"], [Path(p) for p in copied], work),
        "fixit_s": other_tool(["fixit", "lint"], [Path(p) for p in copied], work),
    }
    del listing
    shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", choices=("stdlib", "http", "http-dense"))
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    options = parser.parse_args()
    results = [bench_corpus(name, options.jobs, options.repeat) for name in options.corpus or ("stdlib", "http", "http-dense")]
    header = f"{'corpus':<11}{'files':>7}{'lines':>9}{'cold s':>8}{'warm s':>8}{'parse s':>9}{'cold/parse':>11}{'warm/cold':>10}{'peak MB':>8}{'PSS MB':>7}{'skipped':>8}{'lost':>5}{'flake8':>8}{'fixit':>8}"
    print(header)
    for r in results:
        flake8 = f"{r['flake8_s']:.1f}" if r["flake8_s"] is not None else "-"
        fixit = f"{r['fixit_s']:.1f}" if r["fixit_s"] is not None else "-"
        print(
            f"{r['corpus']:<11}{r['files']:>7}{r['lines']:>9}{r['errlint_cold_s']:>8.2f}{r['errlint_warm_s']:>8.2f}"
            f"{r['parse_only_s']:>9.2f}{r['cold_vs_parse']:>11.2f}{r['warm_vs_cold']:>10.2f}{r['peak_mb']:>8}{r['peak_pss_mb']:>7}"
            f"{r['prefilter_skipped_files']:>8}{r['prefilter_lost_findings']:>5}{flake8:>8}{fixit:>8}"
        )
    print(f"targets: cold/parse <= {TARGETS['cold_vs_parse_tree']} (stdlib, http), <= {TARGETS['cold_vs_parse_dense']} (http-dense); "
          f"warm/cold <= {TARGETS['warm_vs_cold']}; peak <= {TARGETS['peak_mb']} MB")
    if options.json:
        options.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
