"""Reading LSP messages from stdin so that no input can kill or wedge the server.

The base protocol frames each JSON-RPC message with a `Content-Length`
header. What a broken or hostile client may send instead, and what happens:

- a length that is not a number, is missing, or is larger than
  `MAX_MESSAGE_BYTES`: a JSON-RPC error with id null (-32700 for a header
  that cannot be read, -32600 for a message too big to accept) and the
  reader skips ahead to the next `Content-Length` header instead of
  allocating or waiting for bytes that never come;
- a body that is not JSON, or not a JSON object: -32700 Parse error, id null;
- a request after `shutdown`: -32600 InvalidRequest (the protocol's answer),
  handled in the protocol class (server.py).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any, Callable

from pygls.io_ import StdinAsyncReader

logger = logging.getLogger(__name__)

# Far above any real document (errlint lints files up to 2 MB), far below a
# size whose allocation could fail.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
_CONTENT_LENGTH = re.compile(rb"content-length:[ \t]*(\S*)[ \t]*\r?\n?$", re.IGNORECASE)
_HEADER_START = re.compile(rb"content-length:", re.IGNORECASE)
_OTHER_HEADER = re.compile(rb"[A-Za-z][A-Za-z0-9-]*:[^\r\n]*\r?\n?$")


def error_response(code: int, message: str, msg_id: Any = None) -> dict:
    return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}


async def read_messages(
    stop: threading.Event,
    reader: StdinAsyncReader,
    handle: Callable[[bytes], None],
    reply: Callable[[dict], None],
) -> None:
    """Hand every well-framed body to `handle`; answer every badly framed one with `reply`."""
    pending: bytes | None = None  # a header line found glued to the end of skipped bytes
    skipping = False  # after a badly framed message: its body is not a header
    while not stop.is_set():
        length, problem, headers = None, None, 0
        while True:  # one header block, up to its empty line
            line = pending if pending is not None else await reader.readline()
            pending = None
            if not line:
                return  # end of input
            start = _HEADER_START.search(line)
            if skipping:
                if start is None:
                    continue
                # `...}Content-Length: 5`: the end of the unreadable message, then the next header.
                line, skipping = line[start.start() :], False
            if not line.strip():
                if headers == 0:
                    continue  # stray blank line between messages
                break
            headers += 1
            match = _CONTENT_LENGTH.match(line)
            if match is None:
                if start is not None:
                    pending = line[start.start() :]
                elif not _OTHER_HEADER.match(line):
                    problem = problem or (PARSE_ERROR, f"unreadable header line {line[:60]!r}")
                continue
            value = match.group(1)
            if not value.isdigit():
                problem = (PARSE_ERROR, f"Content-Length {value[:40].decode('ascii', 'replace')!r} is not a number")
            elif int(value) > MAX_MESSAGE_BYTES:
                problem = (INVALID_REQUEST, f"message of {int(value)} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")
            else:
                length = int(value)
        if problem is not None or length is None:
            code, message = problem or (PARSE_ERROR, "header without Content-Length")
            logger.error("bad message framing: %s", message)
            reply(error_response(code, message))
            skipping = True
            continue
        body = await reader.readexactly(length)
        if len(body) < length:
            return  # input ended inside a message
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError) as error:
            reply(error_response(PARSE_ERROR, f"Parse error: {error}"))
            continue
        if not isinstance(parsed, dict):
            reply(error_response(INVALID_REQUEST, "a message must be a JSON object"))
            continue
        handle(body)
