"""How long from a keystroke (didChange) to the diagnostics for that version.

Starts the language server over stdio, opens a generated 1,000-line file full
of HTTP client code, then makes small edits one at a time and measures the
time from sending each textDocument/didChange to receiving the
textDocument/publishDiagnostics for that document version. The time includes
any debounce. For comparison it also times the engine alone in this process:
`lint_source` on the whole text (what the CLI does) and after an edit with
the previous version's parse reused (what the editor does).

    python bench/lsp_latency.py [--edits 30] [--lines 1000] [--server-command "errlint lsp"]

Target: median under 100 ms. Not a test: it prints numbers and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import statistics
import sys
import textwrap
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from lsprotocol import types
from pygls.lsp.client import LanguageClient

TARGET_MS = 100.0

HEADER = '''"""Generated for the latency benchmark: HTTP client code of many kinds."""
import asyncio
import json
import random
import time

import httpx
import requests
from requests.adapters import HTTPAdapter
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential
from urllib3.util.retry import Retry

BASE_URL = "https://api.example.com/v1"
'''

BLOCKS = [
    '''
def make_session_{i}():
    session = requests.Session()
    retries = Retry(total=5, backoff_factor=0.5, status_forcelist=[429, 500, 502, 503, 504])
    session.mount("https://", HTTPAdapter(max_retries=retries))
    session.mount("http://", HTTPAdapter(max_retries=retries))
    return session
''',
    '''
def get_user_{i}(session, user_id):
    response = session.get(f"{{BASE_URL}}/users/{{user_id}}", timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()
''',
    '''
def list_orders_{i}(session, cursor=None):
    orders = []
    while True:
        params = {{"cursor": cursor}} if cursor else {{}}
        response = session.get(f"{{BASE_URL}}/orders", params=params, timeout=10)
        response.raise_for_status()
        page = response.json()
        orders.extend(page["data"])
        cursor = page.get("next_cursor")
        if not cursor:
            return orders
''',
    '''
def fetch_with_backoff_{i}(url, attempts=4):
    for attempt in range(attempts):
        response = requests.get(url, timeout=5)
        if response.status_code == 200:
            return response.json()
        if response.status_code in (429, 503):
            delay = float(response.headers.get("Retry-After", 2 ** attempt))
            time.sleep(min(delay, 60) + random.random())
            continue
        response.raise_for_status()
    raise RuntimeError(f"gave up on {{url}}")
''',
    '''
@retry(retry=retry_if_exception_type(httpx.TransportError), stop=stop_after_attempt(3), wait=wait_exponential())
def create_invoice_{i}(client: httpx.Client, payload: dict, key: str):
    response = client.post("/invoices", json=payload, headers={{"Idempotency-Key": key}})
    response.raise_for_status()
    return response.json()
''',
    '''
async def poll_job_{i}(client: httpx.AsyncClient, job_id: str):
    while True:
        response = await client.get(f"/jobs/{{job_id}}")
        response.raise_for_status()
        body = response.json()
        if body["state"] in ("done", "failed"):
            return body
        await asyncio.sleep(2)
''',
    '''
def legacy_retry_{i}():
    return Retry(total=3, backoff_factor=1, status_forcelist=[401, 404, 429, 500])
''',
    '''
def delete_item_{i}(session, item_id):
    try:
        response = session.delete(f"{{BASE_URL}}/items/{{item_id}}", timeout=10)
        response.raise_for_status()
    except requests.HTTPError as error:
        if error.response is not None and error.response.status_code == 404:
            return False
        raise
    return True
''',
    '''
def parse_error_{i}(response):
    try:
        body = response.json()
    except json.JSONDecodeError:
        return {{"status": response.status_code, "detail": response.text[:200]}}
    return {{"status": response.status_code, "detail": body.get("error", {{}}).get("message")}}
''',
]


def generate(lines: int, as_class: bool = False) -> str:
    """HTTP client code: module-level functions, or (`as_class`) the methods of one client class."""
    parts = [HEADER]
    count = HEADER.count("\n")
    if as_class:
        parts.append("\n\nclass ApiClient:\n")
        count += 3
    index = 0
    while count < lines:
        block = BLOCKS[index % len(BLOCKS)].format(i=index)
        if as_class:
            block = textwrap.indent(block.replace("(session", "(self, session").replace("(url", "(self, url")
                                    .replace("(client", "(self, client").replace("(response", "(self, response")
                                    .replace("legacy_retry_{i}()".format(i=index), f"legacy_retry_{index}(self)"), "    ")
        parts.append(block)
        count += block.count("\n")
        index += 1
    return "".join(parts)


class Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("errlint-bench", "1")
        self.published: dict[int | None, float] = {}
        self.event = asyncio.Event()


async def measure(command: list[str], text: str, edits: int, pause: float) -> tuple[list[float], int]:
    client = Client()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        client.published[params.version] = time.perf_counter()
        client.findings = len(params.diagnostics)
        client.event.set()

    async def wait_for(version: int) -> float:
        deadline = time.perf_counter() + 60
        while version not in client.published:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no diagnostics for version {version}")
            client.event.clear()
            try:
                await asyncio.wait_for(client.event.wait(), 1)
            except asyncio.TimeoutError:
                pass
        return client.published[version]

    await client.start_io(*command)
    with TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "api_client.py"
        path.write_text(text, encoding="utf-8")
        # A push-only client (no pull diagnostics): publishDiagnostics carries the version.
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    text_document=types.TextDocumentClientCapabilities(
                        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True)
                    )
                ),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="bench")],
            )
        )
        client.initialized(types.InitializedParams())
        uri = path.as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        )
        await wait_for(1)
        findings = client.findings
        latencies = []
        line, column, typed = edit_point(text)
        for version in range(2, edits + 2):
            # Type one character, then delete it again.
            if version % 2 == 0:
                change = types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=line, character=column), end=types.Position(line=line, character=column)),
                    text=typed,
                )
            else:
                change = types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=line, character=column), end=types.Position(line=line, character=column + 1)),
                    text="",
                )
            sent = time.perf_counter()
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[change],
                )
            )
            latencies.append((await wait_for(version) - sent) * 1000)
            await asyncio.sleep(pause)
        await client.shutdown_async(None)
        client.exit(None)
    await client.stop()
    return latencies, findings


def edit_point(text: str) -> tuple[int, int, str]:
    """Where the edits happen (0-based line and column) and what is typed there.

    The `BASE_URL` line near the top is commented out and back in; in a
    class, a digit is typed into a `timeout=` in its middle.
    """
    lines = text.splitlines()
    if "class ApiClient:" not in lines:
        return lines.index('BASE_URL = "https://api.example.com/v1"'), 0, "#"
    middle = next(n for n in range(len(lines) // 2, len(lines)) if "timeout=10" in lines[n])
    return middle, lines[middle].index("timeout=10") + len("timeout=1"), "5"


def edited(text: str) -> str:
    line, column, typed = edit_point(text)
    lines = text.splitlines(keepends=True)
    lines[line] = lines[line][:column] + typed + lines[line][column:]
    return "".join(lines)


def engine_time(text: str, runs: int) -> tuple[list[float], list[float]]:
    """`lint_source` on the whole text (a CLI run), and after an edit reusing the previous parse (the editor's path)."""
    from errlint.linter.config import Settings
    from errlint.linter.engine import lint_source
    from errlint.linter.incremental import ReusingParser

    cold, after_edit = [], []
    for _ in range(runs):
        start = time.perf_counter()
        lint_source(text, "api_client.py", Settings())
        cold.append((time.perf_counter() - start) * 1000)
    reuse = ReusingParser()
    lint_source(text, "api_client.py", Settings(), reuse=reuse)
    for run in range(runs):
        version = edited(text) if run % 2 == 0 else text
        start = time.perf_counter()
        lint_source(version, "api_client.py", Settings(), reuse=reuse)
        after_edit.append((time.perf_counter() - start) * 1000)
    return cold, after_edit


def describe(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return (
        f"{name}: median {statistics.median(values):.1f} ms, p90 {p90:.1f} ms, "
        f"min {ordered[0]:.1f} ms, max {ordered[-1]:.1f} ms ({len(values)} runs)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=30, help="number of edits to time (default 30)")
    parser.add_argument("--lines", type=int, default=1000, help="size of the generated file (default 1000)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between edits (default 0.2)")
    parser.add_argument(
        "--as-class", action="store_true", help="one client class with the code as its methods (edits inside it)"
    )
    parser.add_argument(
        "--server-command",
        default=shlex.join([sys.executable, "-m", "errlint.lsp"]),
        help="how to start the server (default: this Python with -m errlint.lsp)",
    )
    options = parser.parse_args(argv)
    text = generate(options.lines, options.as_class)
    latencies, findings = asyncio.run(measure(shlex.split(options.server_command), text, options.edits, options.pause))
    cold, after_edit = engine_time(text, min(options.edits, 10))
    print(f"file: {text.count(chr(10))} lines, {findings} findings; server: {options.server_command}")
    print(describe("didChange -> publishDiagnostics    ", latencies))
    print(describe("engine, whole file (as the CLI)    ", cold))
    print(describe("engine, after an edit (as the editor)", after_edit))
    median = statistics.median(latencies)
    verdict = "meets" if median < TARGET_MS else "misses"
    print(f"median {median:.1f} ms {verdict} the {TARGET_MS:.0f} ms target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
