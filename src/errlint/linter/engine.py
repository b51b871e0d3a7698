"""Source text in, findings out: the one pipeline the CLI and the editor share.

parse once -> build the Model -> run every enabled rule over it -> place
findings -> drop suppressed ones. Fixing (`fix_source`) re-runs this pipeline
on the fixed text until nothing changes.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import gc
import io
import os
import re
import threading
import warnings
import tokenize
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator

import libcst as cst

from errlint.linter.config import Settings
from errlint.linter.findings import FileResult, Finding, Position
from errlint.linter.incremental import ReusingParser
from errlint.linter.model import Model
from errlint.linter.rule import Rule
from errlint.linter.source import SourceError, check_text, decode_source
from errlint.linter.suppressions import is_suppressed, parse_suppressions
from errlint.rules import all_rules

SYNTAX_ERROR = "ERR900"
UNUSED_SUPPRESSION = "ERR901"

# Files that neither import an HTTP, retry or API-SDK library nor mention a
# retry, a status code or errlint cannot contain what the rules look for, so
# they are not parsed at all (parsing is most of the cost of linting a file).
# The benchmark (bench/run.py) counts the findings this would lose. The text
# is lowered once and searched for plain words first (C-speed substring
# searches; a case-insensitive regex alternation costs ~1 ms per file).
_RELEVANT_WORDS = (b"retry", b"status_code", b"raise_for_status", b"idempotency", b"errlint")
_RELEVANT_IMPORT = re.compile(
    rb"^[ \t]*(?:import|from)[ \t]+(?:requests|httpx|aiohttp|urllib3?|tenacity|backoff|stamina|retrying|"
    rb"openai|anthropic|stripe|boto3|botocore|google\.api_core|slack_sdk|slack|elasticsearch|github|"
    rb"pip\._vendor|six\.moves|http\.client|aiohttp_retry|grequests|treq|niquests|urllib\.request)\b",
    re.M,
)


def might_need_linting(data: bytes | str) -> bool:
    """Could this file contain HTTP error handling? (ERRLINT_NO_PREFILTER=1 says always yes.)

    `data` is the file's bytes (any ASCII-compatible encoding) or its text.
    """
    if _NO_PREFILTER:
        return True
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    lowered = raw.lower()
    return any(word in lowered for word in _RELEVANT_WORDS) or _RELEVANT_IMPORT.search(lowered) is not None


# For measuring what the pre-filter costs in findings (bench/run.py).
_NO_PREFILTER = os.environ.get("ERRLINT_NO_PREFILTER") == "1"


def select_rules(settings: Settings, path: str | Path | None = None) -> list[type[Rule]]:
    """The rules that apply to `path` under `settings` (select, ignore, per-file-ignores)."""
    rules = all_rules()

    def matches(rule: type[Rule], selectors: Iterable[str]) -> bool:
        return any(selector == "ALL" or rule.code.startswith(selector) for selector in selectors)

    if settings.select is None:
        chosen = [rule for rule in rules if rule.default_enabled]
    else:
        chosen = [rule for rule in rules if matches(rule, settings.select)]
    chosen += [rule for rule in rules if matches(rule, settings.extend_select) and rule not in chosen]
    ignored = set(settings.ignore)
    if path is not None and settings.per_file_ignores:
        relative = _relative(Path(path), settings.root)
        for pattern, codes in settings.per_file_ignores:
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(Path(relative).name, pattern):
                ignored.update(codes)
    return [rule for rule in chosen if not matches(rule, ignored)]


def explicitly_selected(settings: Settings, code: str) -> bool:
    return any(code.startswith(s) for s in (*(settings.select or ()), *settings.extend_select) if s != "ALL")


def lint_source(
    source: str,
    path: str,
    settings: Settings,
    rules: list[type[Rule]] | None = None,
    reuse: ReusingParser | None = None,
) -> FileResult:
    """Lint one file's text. Never raises for bad input: problems become ERR900 or `error`.

    An editor passes the same `reuse` for every version of a document, so
    the statements an edit did not touch are not parsed again.
    """
    with _no_cycle_collection():
        return _lint_source(source, path, settings, rules, reuse)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cycle collector while one file is linted.

    A lint allocates hundreds of thousands of short-lived nodes, which sets
    off full collections of everything the process holds (30-50 ms each in
    an editor, a tenth of a batch run), and finds almost nothing: the trees
    and the model are freed by reference counting. It runs again between files.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _lint_source(
    source: str, path: str, settings: Settings, rules: list[type[Rule]] | None, reuse: ReusingParser | None
) -> FileResult:
    rules = select_rules(settings, path) if rules is None else rules
    try:
        check_text(source)
    except SourceError as error:
        return FileResult(path, error=str(error))
    try:
        module = parse_module(source, reuse)
    except SourceError as error:
        return FileResult(path, error=str(error))
    except cst.ParserSyntaxError as error:
        where = Position(error.raw_line, max(0, error.raw_column))
        return _unparsable(source, path, rules, " ".join(error.message.split()), where)
    except cst.CSTValidationError as error:
        # libcst parsed the text but refused to build it (`"s" b"x"`): CPython decides.
        return _unparsable(source, path, rules, str(error), None)
    except RecursionError:
        return FileResult(path, error="skipped: nested too deeply to parse")
    try:
        model = Model(module, path, settings, reuse)
        model.source = source  # positions.py reads it instead of regenerating the text
    except RecursionError:
        return FileResult(path, error="skipped: nested too deeply to analyse")
    findings: list[tuple[Finding, range]] = []
    for rule in rules:
        try:
            for report in rule(model).check():
                start, end = model.range_of(report.node)
                finding = Finding(rule.code, report.message, path, start, end, report.fix)
                findings.append((finding, _statement_lines(model, report.node, finding)))
        except RecursionError:
            return FileResult(path, error="skipped: nested too deeply to analyse")
        except Exception as error:  # noqa: BLE001 - a rule bug must not stop the run
            if isinstance(error.__context__, RecursionError):
                # libcst's position lookup fails (KeyError) after its code generation
                # ran out of recursion on a very deep tree: the same limit as above.
                return FileResult(path, error="skipped: nested too deeply to analyse")
            where = traceback.extract_tb(error.__traceback__)[-1]
            return FileResult(
                path,
                error=(
                    f"internal error in {rule.code} ({type(error).__name__}: {_brief(error)} "
                    f"at {Path(where.filename).name}:{where.lineno}); please report it"
                ),
            )
    kept = _apply_suppressions(findings, source, path, model, settings, rules)
    return FileResult(path, tuple(sorted(set(kept), key=lambda f: f.sort_key)))


def _brief(error: Exception) -> str:
    """An exception's text for one line: short, and never itself an error (a deep node's repr recurses)."""
    try:
        text = str(error)
    except RecursionError:
        return "(a value too deep to show)"
    return text if len(text) <= 200 else text[:200] + "…"


# libcst's native parser recurses on the C stack and, past a few thousand
# levels, kills the whole process (no exception): 6,000 chained `.attr`, 3,500
# nested `lambda:` or 8,000 `or` operands are enough, all far below the file
# size limit. So CPython's own parser looks first and refuses what Python
# itself cannot run, and libcst runs on one long-lived thread whose stack is
# 32 times the usual, far clear of the crash for anything CPython accepts.
PARSER_STACK_BYTES = 256 * 1024 * 1024
MAX_BOOL_OPERANDS = 20_000  # `a or b or ...`: flat for CPython, nested for libcst
# Every level of nesting that brackets and indentation limits (check_nesting)
# do not already cap costs one of these; with fewer of them in the whole file
# than this, nothing can be deep, and CPython's look (~10% of a lint) is skipped.
_NESTING_MARKS = (*".+-*/%@<>&|^~([{", "not", "and", "or", "lambda", "await", "if")
MIN_DEPTH_WORTH_CHECKING = 2_500
_BOOL_WORD = re.compile(r"\b(?:and|or)\b")
_parser_lock = threading.Lock()
_parser: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool): a forked worker needs its own thread


def parse_module(source: str, reuse: ReusingParser | None = None) -> cst.Module:
    """`libcst.parse_module`, but nesting that would crash the parser raises `SourceError`."""
    _check_python_accepts(source)
    parse = cst.parse_module if reuse is None else reuse.parse
    return _parser_thread().submit(parse, source).result()


def _parser_thread() -> ThreadPoolExecutor:
    global _parser
    with _parser_lock:
        if _parser is None or _parser[0] != os.getpid():
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="errlint-parser")
            try:
                previous = threading.stack_size(PARSER_STACK_BYTES)
            except (ValueError, RuntimeError):  # no settable stack size here
                previous = None
            try:
                pool.submit(int).result()  # starts the pool's one thread now, with that stack
            finally:
                if previous is not None:
                    threading.stack_size(previous)
            _parser = (os.getpid(), pool)
        return _parser[1]


def _check_python_accepts(source: str) -> None:
    if sum(map(source.count, _NESTING_MARKS)) < MIN_DEPTH_WORTH_CHECKING:
        return
    try:
        tree = _python_ast(source, "<errlint>")
    except (RecursionError, MemoryError):
        raise SourceError("skipped: nested too deeply for Python itself to parse") from None
    except (SyntaxError, ValueError):
        return  # libcst reports it as ERR900 (and may know syntax newer than this Python)
    if len(_BOOL_WORD.findall(source)) > MAX_BOOL_OPERANDS:
        for node in ast.walk(tree):
            if isinstance(node, ast.BoolOp) and len(node.values) > MAX_BOOL_OPERANDS:
                raise SourceError(
                    f"skipped: {len(node.values)} `and`/`or` operands in one expression at line "
                    f"{node.lineno} (errlint handles at most {MAX_BOOL_OPERANDS})"
                )


def lint_bytes(data: bytes, path: str, settings: Settings, rules: list[type[Rule]] | None = None) -> FileResult:
    try:
        text = decode_source(data)
    except SourceError as error:
        return FileResult(path, error=str(error))
    return lint_source(text.text, path, settings, rules)


def _python_ast(source: str, path: str) -> ast.Module:
    """CPython's parse, without the SyntaxWarnings it prints about the user's code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)


def _python_syntax_error(source: str, path: str) -> SyntaxError | bool | None:
    """CPython's own verdict: its SyntaxError, None when it accepts the text, or
    True when it could not tell (nested too deeply, a NUL byte)."""
    # CPython accepts some broken CRLF text (a file ending in a `\` continuation)
    # that it rejects with LF: line numbers are the same either way.
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    try:
        _python_ast(text, path)
    except SyntaxError as error:
        return error
    except (ValueError, RecursionError, MemoryError):
        return True
    return None


def _unparsable(
    source: str, path: str, rules: list[type[Rule]], message: str, where: Position | None
) -> FileResult:
    """A text libcst refused (`message`, at `where` when it knows): ERR900 at the
    position CPython gives (its messages are clearer), else libcst's; valid Python
    that libcst cannot read gets a notice instead, without claiming a syntax error."""
    python_error = _python_syntax_error(source, path)
    if isinstance(python_error, SyntaxError) and python_error.lineno:
        message = python_error.msg
        where = Position(python_error.lineno, max(0, (python_error.offset or 1) - 1))
    elif python_error is None or where is None:
        place = f"line {where.line}, column {where.column + 1}" if where is not None else message
        return FileResult(path, notice=f"not analysed: errlint's parser cannot read this valid Python ({place})")
    if not any(rule.code == SYNTAX_ERROR for rule in rules):
        return FileResult(path)
    return FileResult(path, (Finding(SYNTAX_ERROR, f"SyntaxError: {message}", path, where, where),))


def _apply_suppressions(
    findings: list[tuple[Finding, range]],
    source: str,
    path: str,
    model: Model,
    settings: Settings,
    rules: list[type[Rule]],
) -> list[Finding]:
    suppressions = parse_suppressions(source)
    if not suppressions:
        return [finding for finding, _ in findings]
    # A `# noqa` inside a string literal is text, not a comment.
    comment_lines = _comment_lines(source)
    suppressions = [s for s in suppressions if s.line in comment_lines]
    kept = [finding for finding, lines in findings if not is_suppressed(suppressions, finding.code, lines)]
    if any(rule.code == UNUSED_SUPPRESSION for rule in rules):
        report_unused = explicitly_selected(settings, UNUSED_SUPPRESSION)
        for suppression in suppressions:
            start = Position(suppression.line, suppression.column)
            end = Position(suppression.line, suppression.end_column)
            if suppression.bare:
                kept.append(
                    Finding(
                        UNUSED_SUPPRESSION,
                        "`# errlint: ignore` without codes silences nothing; name them: `# errlint: ignore[ERR101]`",
                        path,
                        start,
                        end,
                    )
                )
            elif report_unused and suppression.kind == "errlint":
                # A code for a rule that did not run this time may still be needed.
                unused = [
                    code
                    for code in suppression.codes
                    if code not in suppression.used
                    and (any(rule.code.startswith(code) for rule in rules) or not _is_known(code))
                ]
                if unused:
                    kept.append(
                        Finding(
                            UNUSED_SUPPRESSION,
                            f"Unused suppression for {', '.join(f'`{c}`' for c in unused)}",
                            path,
                            start,
                            end,
                        )
                    )
    return kept


def _is_known(code: str) -> bool:
    return any(rule.code.startswith(code) for rule in all_rules())


def _comment_lines(source: str) -> set[int]:
    """Lines holding a real comment token (only tokenized when a suppression-like text exists)."""
    lines: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                lines.add(token.start[0])
    except (tokenize.TokenError, SyntaxError):
        pass
    return lines


def _statement_lines(model: Model, node: cst.CSTNode, finding: Finding) -> range:
    """Lines where a suppression comment silences `finding`.

    The whole simple statement the finding is in (so a comment at the end of
    a multi-line call counts), or a compound statement's header up to the
    finding.
    """
    statement = model.enclosing_statement(node)
    first, last = finding.start.line, finding.end.line
    if statement is not node and isinstance(statement, cst.SimpleStatementLine):
        start, end = model.range_of(statement)
        first, last = min(first, start.line), max(last, end.line)
    elif isinstance(statement, cst.BaseCompoundStatement):
        first = min(first, model.range_of(statement)[0].line)
    if isinstance(node, cst.BaseCompoundStatement):
        last = first  # a whole loop or function: only its first line counts
    return range(first, last + 1)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def with_path(result: FileResult, path: str) -> FileResult:
    return replace(result, path=path, findings=tuple(replace(f, path=path) for f in result.findings))
