"""The `errlint` command: a thin layer over the linter API.

Exit codes: see EXIT_CODES_HELP (shown by `errlint --help` and in the README).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import os
import sys
from pathlib import Path
from typing import Sequence

from errlint import __version__
from errlint.linter import output
from errlint.linter.cache import CACHE_DIR_NAME, ResultCache
from errlint.linter.config import (
    ConfigError,
    is_excluded,
    Settings,
    check_selector,
    find_config_file,
    load_settings,
    project_root,
)
from errlint.linter.adoption import read_baseline, write_baseline
from errlint.linter.discovery import discover, linted_roots, path_is_under
from errlint.linter.fingerprints import fingerprints
from errlint.linter.findings import Applicability, FileResult
from errlint.linter.runner import WRITE_FAILED, FixMode, default_jobs, lint_data, lint_files, write_atomically
from errlint.linter.source import python_lines
from errlint.rules import all_rules, known_codes, rules_by_code

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

EXIT_CODES_HELP = """\
commands:
  errlint [check] [PATHS]   lint (the default command; `check` is what the pre-commit hook runs)
  errlint rule CODE|--all   a rule's documentation, or every rule
  errlint lsp               the language server over stdio

selectors: rule codes or prefixes, comma-separated (ERR101, ERR1, ALL for every rule).

exit codes:
  0  no findings (notices, such as a file errlint's parser cannot read, do not count)
  1  findings, files that could not be read or parsed safely, or fixes that could not be written
  2  usage or configuration error, a path that does not exist, or an internal error
  --exit-zero turns 1 into 0; 2 stays.

environment: NO_COLOR / FORCE_COLOR (see --color), ERRLINT_OUTPUT_FORMAT, ERRLINT_CACHE_DIR.
"""


class _Parser(argparse.ArgumentParser):
    def __init__(self, **kwargs) -> None:
        # No abbreviations: `--fix-o` silently meant `--fix-only` and rewrote files.
        super().__init__(allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_ERROR, f"errlint: error: {message}{self._did_you_mean(message)}\n")

    def _did_you_mean(self, message: str) -> str:
        if not message.startswith("unrecognized arguments:"):
            return ""
        import difflib

        known = [option for action in self._actions for option in action.option_strings if option.startswith("--")]
        for word in message.split(":", 1)[1].split():
            if word.startswith("--"):
                close = difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.75)
                if close:
                    return f" (did you mean `{close[0]}`?)"
        return ""


def _codes(value: str) -> list[str]:
    return [code.strip().upper() for code in value.split(",") if code.strip()]


def _check_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="errlint",
        description="Find HTTP API error-handling mistakes.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders to lint (default: .); `-` reads stdin")
    parser.add_argument("--version", action="version", version=f"errlint {__version__}")
    parser.add_argument("--config", type=Path, help="use this pyproject.toml or errlint.toml")
    parser.add_argument("--select", type=_codes, help="rule codes or prefixes to enable (replaces the default set)")
    parser.add_argument("--ignore", type=_codes, default=[], help="rule codes or prefixes to disable")
    parser.add_argument("--extend-select", type=_codes, default=[], help="rule codes or prefixes to add")
    parser.add_argument("--output-format", choices=output.FORMATS, default=None, help="default: full")
    parser.add_argument("--output-file", "-o", type=Path, help="write the report to this file")
    parser.add_argument("--statistics", action="store_true", help="count findings per rule")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("--fix", action="store_true", help="apply safe fixes")
    parser.add_argument("--unsafe-fixes", action="store_true", help="also apply unsafe fixes (with --fix/--diff)")
    parser.add_argument("--diff", action="store_true", help="print the fixes as a diff; write nothing")
    parser.add_argument("--fix-only", action="store_true", help="apply fixes, report only what was fixed")
    parser.add_argument("--stdin-filename", help="the path the stdin text is linted as")
    parser.add_argument("--force-exclude", action="store_true", help="apply excludes to files named explicitly")
    parser.add_argument("--no-respect-gitignore", action="store_true", help="lint files that .gitignore excludes")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    parser.add_argument("--cache-dir", type=Path, help=f"cache folder (default: {CACHE_DIR_NAME} at the project root)")
    parser.add_argument("--jobs", "-j", type=int, default=None, help="parallel processes (default: one per core)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print findings only, no summary")
    parser.add_argument("--no-progress", action="store_true", help="never show the progress indicator")
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the full and concise output (auto: on a terminal, unless NO_COLOR is set or FORCE_COLOR asks)",
    )
    parser.add_argument("--show-settings", action="store_true", help="print the settings in use and where they came from")
    parser.add_argument("--show-files", action="store_true", help="print the files that would be linted")
    parser.add_argument("--baseline", type=Path, help="report only findings that are not in this baseline file")
    parser.add_argument("--write-baseline", type=Path, metavar="FILE", help="record today's findings in FILE and exit")
    parser.add_argument(
        "--add-noqa", action="store_true", help="add `# errlint: ignore[CODE]` to every line with a finding"
    )
    return parser


def use_color(choice: str, stream) -> bool:
    """--color, then NO_COLOR and FORCE_COLOR (no-color.org, force-color.org), then whether `stream` is a terminal."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "rule":
            return _rule_command(args[1:])
        if args and args[0] == "lsp":
            from errlint.lsp.server import serve

            return serve(args[1:]) or EXIT_CLEAN
        if args and args[0] == "check":
            args = args[1:]
        return _check_command(args)
    except ConfigError as error:
        print(f"errlint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("errlint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN


def _rule_command(args: list[str]) -> int:
    parser = _Parser(prog="errlint rule", description="Show a rule's documentation.")
    parser.add_argument("code", nargs="?", help="rule code, e.g. ERR101, or its name")
    parser.add_argument("--all", action="store_true", help="list every rule")
    parser.add_argument("--output-format", choices=("text", "json", "markdown"), default="text")
    options = parser.parse_args(args)
    rules = rules_by_code()
    if options.all:
        if options.output_format == "json":
            import json

            print(json.dumps([_rule_json(rule) for rule in all_rules()], indent=2))
        elif options.output_format == "markdown":
            from errlint.docs import render_rules_markdown

            sys.stdout.write(render_rules_markdown())
        else:
            width = max(len(rule.name) for rule in all_rules())
            for rule in all_rules():
                default = " " if rule.default_enabled else "*"
                print(f"{rule.code}{default} {rule.name:<{width}}  {rule.summary()}")
            if any(not rule.default_enabled for rule in all_rules()):
                print("\n* opt-in: enable with --extend-select or `extend-select` in the config")
        return EXIT_CLEAN
    if not options.code:
        parser.error("give a rule code (e.g. ERR101) or --all")
    wanted = options.code.upper()
    rule = rules.get(wanted) or next((r for r in all_rules() if r.name == options.code.lower()), None)
    if rule is None:
        print(f"errlint: error: unknown rule `{options.code}` (see `errlint rule --all`)", file=sys.stderr)
        return EXIT_ERROR
    if options.output_format == "json":
        import json

        print(json.dumps(_rule_json(rule), indent=2))
    else:
        print(f"# {rule.code} {rule.name}\n")
        print(f"Fix: {rule.fix_availability.value}. Enabled by default: {'yes' if rule.default_enabled else 'no'}.\n")
        print(rule.docs())
    return EXIT_CLEAN


def _rule_json(rule) -> dict:
    return {
        "code": rule.code,
        "name": rule.name,
        "summary": rule.summary(),
        "fix": rule.fix_availability.value,
        "default": rule.default_enabled,
        "explanation": rule.docs(),
        "url": rule.docs_url(),
    }


def _settings(
    options: argparse.Namespace, start: Path | None = None, loaded: dict[Path | None, Settings] | None = None
) -> Settings:
    """The settings for files in or below `start`: `--config`, else the nearest config file, plus the flags.

    `loaded` keeps the configs this run has read (with the flags applied), by file.
    """
    if options.config is not None:
        if not options.config.is_file():
            raise ConfigError(f"{options.config}: config file not found")
        config_path: Path | None = options.config
    else:
        if start is None:
            start = Path(options.stdin_filename).resolve().parent if options.stdin_filename else Path.cwd()
        config_path = find_config_file(start)
    if loaded is None:
        return _with_flags(load_settings(config_path, known_codes()), options)
    if config_path not in loaded:
        loaded[config_path] = _with_flags(load_settings(config_path, known_codes()), options)
    return loaded[config_path]


def _with_flags(settings: Settings, options: argparse.Namespace) -> Settings:
    known = known_codes()
    for flag in ("select", "ignore", "extend_select"):
        for code in getattr(options, flag) or ():
            check_selector(code, known, f"--{flag.replace('_', '-')}")
    overrides: dict = {}
    if options.select is not None:
        overrides["select"] = tuple(options.select)
    if options.ignore:
        overrides["ignore"] = (*settings.ignore, *options.ignore)
    if options.extend_select:
        overrides["extend_select"] = (*settings.extend_select, *options.extend_select)
    if options.no_respect_gitignore:
        overrides["respect_gitignore"] = False
    return settings.with_overrides(**overrides)


def _per_file_settings(
    options: argparse.Namespace, paths: list[Path], loaded: dict[Path | None, Settings]
) -> tuple[list[tuple[Settings, list[Path]]], list[tuple[Path, str]]]:
    """Files to lint grouped by the settings that apply to each (its nearest config
    file, as in the editor; one group with `--config`), and the paths that could not be walked."""
    groups: dict[int, tuple[Settings, list[Path]]] = {}
    problems: list[tuple[Path, str]] = []
    seen: set[str] = set()
    by_folder: dict[Path, Settings] = {}

    def settings_for(folder: Path) -> Settings:
        folder = Path(os.path.abspath(folder))
        if folder not in by_folder:
            by_folder[folder] = _settings(options, folder, loaded)
        return by_folder[folder]

    for given in paths:
        walk_settings = settings_for(given if given.is_dir() else given.parent)
        found = discover([given], walk_settings, force_exclude=options.force_exclude)
        problems += found.problems
        for file in found.files:
            real = os.path.realpath(file)
            if real in seen:
                continue
            seen.add(real)
            settings = settings_for(file.parent)
            # A config file below the folder named may exclude some of its files.
            if settings is not walk_settings and settings.source is not None and is_excluded(
                file, settings, walk_root=settings.root
            ):
                continue
            groups.setdefault(id(settings), (settings, []))[1].append(file)
    return list(groups.values()), problems


def _check_command(args: list[str]) -> int:
    parser = _check_parser()
    options = parser.parse_args(args)
    if options.jobs is not None and options.jobs < 1:
        parser.error("--jobs must be at least 1")
    # Every config file this run reads, read once (with the flags applied).
    loaded: dict[Path | None, Settings] = {}
    settings = _settings(options, loaded=loaded)
    missing = [path for path in options.paths if str(path) != "-" and not os.path.lexists(path)]
    if missing:
        parser.error(f"{missing[0]}: no such file or directory")
    if options.show_settings:
        first = (options.paths or [Path(".")])[0]
        return _show_settings(_settings(options, _folder_of(first), loaded), options.paths or [Path(".")])
    fix_requested = options.fix or options.fix_only or options.diff
    fix_mode = (
        FixMode(unsafe=options.unsafe_fixes, write=not options.diff, roots=linted_roots(options.paths or [Path(".")]))
        if fix_requested
        else None
    )
    output_format = options.output_format or os.environ.get("ERRLINT_OUTPUT_FORMAT") or "full"
    if output_format not in output.FORMATS:
        raise ConfigError(f"ERRLINT_OUTPUT_FORMAT: unknown format `{output_format}`")
    # `--stdin-filename` alone means the text comes from stdin, as with `-`.
    paths = options.paths or [Path("-" if options.stdin_filename else ".")]
    stdin_text: dict[str, str] = {}

    if any(str(path) == "-" for path in paths):
        if len(paths) != 1:
            parser.error("`-` (stdin) cannot be combined with other paths")
        results = [_lint_stdin(options, settings, fix_mode, stdin_text)]
        problems: list[tuple[Path, str]] = []
    else:
        groups, problems = _per_file_settings(options, paths, loaded)
        if options.show_files:
            sys.stdout.write("".join(f"{path}\n" for _, files in groups for path in sorted(files, key=Path.as_posix)))
            return EXIT_CLEAN
        total = sum(len(files) for _, files in groups)
        show_progress = (
            not options.no_progress and output_format in ("full", "concise") and sys.stderr.isatty() and total > 50
        )
        results = []
        for group_settings, files in groups:
            cache = None
            if not options.no_cache and fix_mode is None:
                cache_dir = options.cache_dir or Path(
                    os.environ.get("ERRLINT_CACHE_DIR") or project_root(paths, group_settings) / CACHE_DIR_NAME
                )
                cache = ResultCache(cache_dir, group_settings)
            offset = len(results)
            results += lint_files(
                files,
                group_settings,
                jobs=options.jobs or default_jobs(),
                fix=fix_mode,
                cache=cache,
                progress=(lambda done, _, offset=offset: _progress(offset + done, total)) if show_progress else None,
            )
        results.sort(key=lambda result: Path(result.path).as_posix())
        if show_progress:
            sys.stderr.write("\r\033[K")
    results += [FileResult(str(path), error=reason) for path, reason in problems]
    first = paths[0] if str(paths[0]) != "-" else Path(options.stdin_filename or "-")
    run_root = project_root(paths if str(paths[0]) != "-" else [], _settings(options, _folder_of(first), loaded))
    baselined = 0
    if options.write_baseline or options.baseline or options.add_noqa:
        if fix_mode is not None or options.stdin_filename or str(paths[0]) == "-":
            parser.error("--baseline, --write-baseline and --add-noqa work on files, without fixes")
        if options.add_noqa:
            return _add_noqa(results, linted_roots(paths))
        prints = fingerprints([f for r in results for f in r.findings], _line_reader(stdin_text), run_root)
        if options.write_baseline:
            write_baseline(options.write_baseline, prints, run_root)
            print(f"Wrote {len(prints)} finding{'s' if len(prints) != 1 else ''} to {options.write_baseline}.")
            return EXIT_CLEAN
        accepted = read_baseline(options.baseline)
        kept = []
        for result in results:
            new = tuple(f for f in result.findings if prints[f] not in accepted)
            baselined += len(result.findings) - len(new)
            kept.append(replace(result, findings=new))
        results = kept

    if options.diff:
        diffs = "".join(result.diff or "" for result in results)
        _emit(diffs, options.output_file)
        fixed = sum(result.fixed_count for result in results)
        if not options.quiet:
            print(f"Would fix {fixed} finding{'s' if fixed != 1 else ''}.", file=sys.stderr)
        errors = [r for r in results if r.error]
        for result in errors:
            print(f"{result.path}: error: {result.error}", file=sys.stderr)
        return EXIT_FINDINGS if (fixed or errors) and not options.exit_zero else EXIT_CLEAN

    if fix_mode is not None and "-" in (str(p) for p in paths):
        sys.stdout.write(stdin_text.get("fixed", ""))
        report_stream_is_stdout = False
    else:
        report_stream_is_stdout = True

    findings = [f for result in results for f in result.findings]
    reported = [] if options.fix_only else results
    color = options.output_file is None and use_color(options.color, sys.stdout)
    text = (
        output.render(output_format, reported, _line_reader(stdin_text), color=color, root=run_root)
        if report_stream_is_stdout or options.output_file
        else ""
    )
    if options.statistics and output_format in ("full", "concise") and not options.fix_only:
        text = output.render_statistics(results)
    if report_stream_is_stdout or options.output_file:
        _emit(text, options.output_file)
    else:
        sys.stderr.write(text)
    for result in results:
        for rejected in result.rejected_fixes:
            print(f"{result.path}: fix skipped: {rejected}", file=sys.stderr)

    fixed = sum(result.fixed_count for result in results)
    errors = [r for r in results if r.error]
    internal = [r for r in errors if (r.error or "").startswith("internal error")]
    if not options.quiet and output_format in ("full", "concise"):
        fixable = sum(
            1
            for f in findings
            if f.fix is not None and f.fix.edits and f.fix.applicability is Applicability.SAFE
        )
        stream = sys.stderr if (options.output_file or not report_stream_is_stdout) else sys.stdout
        notices = sum(1 for r in results if r.notice)
        not_written = sum(1 for r in errors if (r.error or "").startswith(WRITE_FAILED))
        unsafe_fixable = sum(
            1
            for f in findings
            if f.fix is not None and f.fix.edits and f.fix.applicability is Applicability.UNSAFE
        )
        summary = output.summary_line(
            len(findings),
            len(errors) - not_written,
            fixed,
            0 if fix_mode else fixable,
            notices,
            not_written,
            0 if fix_mode else unsafe_fixable,
        )
        if baselined:
            summary = summary.replace(".", f" ({baselined} more in the baseline).", 1)
        print(summary, file=stream)
    if internal:
        return EXIT_ERROR
    if options.exit_zero:
        return EXIT_CLEAN
    if options.fix_only:
        return EXIT_CLEAN if not errors else EXIT_FINDINGS
    return EXIT_FINDINGS if findings or errors else EXIT_CLEAN


def _add_noqa(results: list[FileResult], roots: tuple[str, ...]) -> int:
    from errlint.linter.adoption import add_noqa
    from errlint.linter.source import SourceError, decode_source, encode_source

    added = files = 0
    for result in results:
        if not result.findings:
            continue
        target = os.path.realpath(result.path)
        if not path_is_under(target, roots):
            print(f"{result.path}: not changed: it links to {target}, outside the folders being linted", file=sys.stderr)
            continue
        try:
            source = decode_source(Path(result.path).read_bytes())
        except (OSError, SourceError) as error:
            print(f"{result.path}: error: {error}", file=sys.stderr)
            continue
        outcome = add_noqa(source.text, list(result.findings), source.newline)
        for line in outcome.skipped:
            print(f"{result.path}:{line}: not suppressed: a comment there would change the code", file=sys.stderr)
        if outcome.added:
            try:
                write_atomically(Path(target), encode_source(outcome.text, source))
            except OSError as error:
                print(f"{result.path}: error: cannot write: {error.strerror or error}", file=sys.stderr)
                continue
            added += outcome.added
            files += 1
    print(f"Added {added} suppression comment{'s' if added != 1 else ''} in {files} file{'s' if files != 1 else ''}.")
    return EXIT_CLEAN


def _folder_of(path: Path) -> Path:
    return path if path.is_dir() else Path(os.path.abspath(path)).parent


def _show_settings(settings: Settings, paths: list[Path]) -> int:
    """What --show-settings prints: the config file, the project root and every setting."""
    import dataclasses

    print(f"config file: {settings.source.resolve() if settings.source else '(none: defaults)'}")
    print(f"project root: {project_root(paths, settings)}")
    for field in dataclasses.fields(settings):
        if field.name in ("root", "source"):
            continue
        value = getattr(settings, field.name)
        if isinstance(value, frozenset):
            value = sorted(value)
        print(f"{field.name.replace('_', '-')}: {value!r}")
    return EXIT_CLEAN


def _lint_stdin(options, settings: Settings, fix_mode: FixMode | None, stdin_text: dict[str, str]) -> FileResult:
    data = sys.stdin.buffer.read()
    name = options.stdin_filename or "-"
    stdin_text["name"] = name
    if options.force_exclude and options.stdin_filename:
        from errlint.linter.config import is_excluded

        if is_excluded(Path(options.stdin_filename), settings):
            stdin_text["source"] = stdin_text["fixed"] = data.decode("utf-8", "replace")
            return FileResult(name)
    stdin_text["source"] = data.decode("utf-8", "replace")
    if fix_mode is None:
        return lint_data(data, name, settings)
    from errlint.linter.fixes import fix_source
    from errlint.linter.source import SourceError, decode_source

    try:
        source = decode_source(data)
    except SourceError as error:
        stdin_text["fixed"] = stdin_text["source"]
        return FileResult(name, error=str(error))
    outcome = fix_source(source.text, name, settings, unsafe=fix_mode.unsafe)
    stdin_text["fixed"] = outcome.source
    if not fix_mode.write and outcome.changed:
        from dataclasses import replace

        from errlint.linter.fixes import unified_diff

        diff = unified_diff(source.text, outcome.source, name)
        return replace(outcome.remaining or FileResult(name), fixed_count=len(outcome.fixed), diff=diff)
    from dataclasses import replace

    return replace(outcome.remaining or FileResult(name), fixed_count=len(outcome.fixed))


def _line_reader(stdin_text: dict[str, str]):
    cache: dict[str, list[str]] = {}

    def read(path: str) -> list[str]:
        if path not in cache:
            if "source" in stdin_text and path == stdin_text.get("name"):
                # The text linted, not the file on disk (an editor's unsaved buffer).
                cache[path] = python_lines(stdin_text["source"])
            else:
                try:
                    data = Path(path).read_bytes()
                    from errlint.linter.source import decode_source

                    cache[path] = python_lines(decode_source(data).text)
                except Exception:  # noqa: BLE001 - the snippet is a nicety
                    cache[path] = []
        return cache[path]

    return read


def _emit(text: str, output_file: Path | None) -> None:
    if output_file is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output_file.parent.mkdir(parents=True, exist_ok=True)
        output_file.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{output_file}: cannot write output: {error.strerror or error}") from None


def _progress(done: int, total: int) -> None:
    sys.stderr.write(f"\rerrlint: {done}/{total} files")
    sys.stderr.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
