"""End-to-end fixtures: the real server over stdio, driven by pytest-lsp as different editors.

`server_command` is the one place that says how the server is started
(`python -m errlint lsp`, as the VS Code extension runs it; override with
ERRLINT_LSP_COMMAND, e.g. "python -m errlint.lsp"). Each client profile
is the capability set an editor sends; `editor` is parametrised over them, so
a test that uses it runs as each editor would drive the server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio
from lsp_helpers import PROFILES, server_command_line, start_editor, stop_editor


@pytest.fixture(scope="session")
def server_command() -> list[str]:
    return server_command_line()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest_asyncio.fixture(params=list(PROFILES), ids=list(PROFILES))
async def editor(request, server_command: list[str], workspace: Path):
    editor = await start_editor(server_command, workspace, PROFILES[request.param])
    try:
        yield editor
    finally:
        await stop_editor(editor)
