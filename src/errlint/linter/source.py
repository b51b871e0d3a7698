"""Turning a file's bytes into text the parser can take, or a one-line reason why not.

Decoding follows Python's own rules (PEP 263 cookie, UTF-8 BOM) so that what we
lint is what the interpreter would run, and the encoding is kept so fixes can
write the file back byte-for-byte the same apart from the fix.
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from dataclasses import dataclass

# CPython refuses more than 200 nested brackets and 100 indentation levels; the
# libcst native parser overflows its stack (a hard crash, not an exception) well
# before it would report them, so such files are refused before parsing.
MAX_BRACKET_DEPTH = 200
MAX_INDENT_LEVELS = 100
MAX_FILE_BYTES = 2 * 1024 * 1024
# libcst needs about 2.5 KB of memory per token, and time in proportion: a
# file over this many tokens (about 45,000 lines of `x = 1`, or some 15,000
# lines of ordinary code) would take more than 500 MB to parse.
MAX_TOKENS = 180_000
# Words, numbers and single symbols, plus one NEWLINE a line: never fewer than
# the real tokens (strings and comments only add to it), so below the limit
# nothing needs counting exactly.
_ROUGH_TOKEN = re.compile(r"\w+|[^\w\s]")

_BRACKET = re.compile(r"[()\[\]{}]")
_OPENERS = frozenset("([{")


class SourceError(Exception):
    """A file that cannot be linted; the message is shown to the user as is."""


@dataclass(frozen=True)
class SourceText:
    text: str
    encoding: str
    has_bom: bool
    newline: str


def decode_source(data: bytes, check_depth: bool = True) -> SourceText:
    if len(data) > MAX_FILE_BYTES:
        raise SourceError(
            f"skipped: {len(data) / (1024 * 1024):.1f} MB is over the "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MB limit for a Python source file"
        )
    if b"\x00" in data:
        raise SourceError("skipped: contains null bytes (binary file?)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "encoding" in str(error.msg):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as utf8_error:
                raise SourceError(
                    f"not valid UTF-8 (byte {utf8_error.start}: {utf8_error.reason}); "
                    "declare the encoding with a `# -*- coding: ... -*-` line"
                ) from None
        raise SourceError(f"cannot read: {error.msg}") from None
    has_bom = data.startswith(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8-sig" if has_bom else encoding)
    except LookupError as error:
        raise SourceError(f"cannot decode as {encoding}: {error}") from None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        hint = "; declare the encoding with a `# -*- coding: ... -*-` line" if encoding == "utf-8" else ""
        raise SourceError(f"not valid {encoding} (line {line}: {error.reason}){hint}") from None
    if check_depth:
        check_nesting(text)
    return SourceText(text, encoding, has_bom, detect_newline(text))


def detect_newline(text: str) -> str:
    first = text.find("\n")
    if first > 0 and text[first - 1] == "\r":
        return "\r\n"
    if first == -1 and "\r" in text:
        return "\r"
    return "\n"


def encode_source(text: str, original: SourceText) -> bytes:
    data = text.encode(original.encoding if original.encoding != "utf-8-sig" else "utf-8")
    if original.has_bom and not data.startswith(codecs.BOM_UTF8):
        data = codecs.BOM_UTF8 + data
    return data


def check_text(text: str) -> None:
    """Refuse text errlint cannot analyse safely, with a one-line reason (SourceError).

    The same checks run for the CLI and the editor, so both refuse the same files.
    """
    if "\x00" in text:
        raise SourceError("skipped: contains null bytes (binary file?)")
    if len(text) > MAX_TOKENS and len(_ROUGH_TOKEN.findall(text)) + text.count("\n") > MAX_TOKENS:
        tokens = _exact_token_count(text)
        if tokens > MAX_TOKENS:
            raise SourceError(
                f"skipped: {tokens:,} tokens is over the limit of {MAX_TOKENS:,} for one file "
                "(parsing it would need over 500 MB)"
            )
    check_nesting(text)


def _exact_token_count(text: str) -> int:
    count = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            count += token.type not in _LAYOUT_TOKENS
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # a lower bound, still
    return count


_LAYOUT_TOKENS = frozenset(
    {tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT}
)


def check_nesting(text: str) -> None:
    """Refuse text nested deeper than Python allows.

    The cheap count over all bracket characters only over-estimates (brackets
    inside strings and comments count too), so the exact tokenizer-based
    count runs only when the cheap one is already past the limit.
    """
    if _rough_bracket_depth(text) > MAX_BRACKET_DEPTH:
        depth = _exact_bracket_depth(text)
        if depth > MAX_BRACKET_DEPTH:
            raise SourceError(
                f"skipped: brackets nested {depth} deep (Python allows {MAX_BRACKET_DEPTH})"
            )
    if " " * (4 * MAX_INDENT_LEVELS) in text or "\t" * MAX_INDENT_LEVELS in text:
        levels = _indent_levels(text)
        if levels > MAX_INDENT_LEVELS:
            raise SourceError(
                f"skipped: code indented {levels} levels deep (Python allows {MAX_INDENT_LEVELS})"
            )


def _rough_bracket_depth(text: str) -> int:
    depth = deepest = 0
    for match in _BRACKET.finditer(text):
        if match.group() in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def _exact_bracket_depth(text: str) -> int:
    depth = deepest = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.OP and token.string in _OPENERS:
                depth += 1
                deepest = max(deepest, depth)
            elif token.type == tokenize.OP and token.string in ")]}":
                depth = max(0, depth - 1)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # Partial counts are still a valid lower bound.
    return deepest


def _indent_levels(text: str) -> int:
    levels = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.INDENT:
                levels += 1
            elif token.type == tokenize.DEDENT:
                levels -= 1
            if levels > MAX_INDENT_LEVELS:
                return levels
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return levels


_LINE_BREAK = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def python_lines(text: str, keepends: bool = False) -> list[str]:
    """Lines as Python (and libcst, and editors) count them: split at \\n, \\r\\n and \\r only.

    `str.splitlines()` also splits at form feeds and U+2028, which would shift
    every later line number in files that contain them.
    """
    lines = [line for line in _LINE_BREAK.split(text) if line]
    if keepends:
        return lines
    return [line.rstrip("\r\n") for line in lines]
