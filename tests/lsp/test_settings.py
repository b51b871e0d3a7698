"""Configuration: the project's config file (as the CLI finds it) overlaid by the editor's settings."""

from __future__ import annotations

import pytest
from lsp_helpers import PROFILES, start_editor, stop_editor
from lsprotocol import types

RETRY = "from urllib3.util.retry import Retry\n"
SOURCE = RETRY + "retry = Retry(total=3, backoff_factor=1, status_forcelist=[401, 404, 429])\n"
BROKEN = "def fetch(url:\n    pass\n"


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return [str(d.code) for d in diagnostics]


@pytest.mark.parametrize("profile", ["vscode", "neovim-0.7"])
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"select": [], "ignore": ["ERR101"], "extendSelect": [], "args": []}, {"client.py": [], "broken.py": ["ERR900"]}),
        ({"select": ["ERR9"]}, {"client.py": [], "broken.py": ["ERR900"]}),
        ({"select": [], "ignore": [], "extendSelect": []}, {"client.py": ["ERR101"], "broken.py": ["ERR900"]}),
    ],
)
async def test_initialization_options(workspace, server_command, profile, options, expected):
    editor = await start_editor(server_command, workspace, PROFILES[profile], initialization_options=options)
    try:
        for name, text in (("client.py", SOURCE), ("broken.py", BROKEN)):
            uri = editor.open(name, text)
            assert codes(await editor.diagnostics(uri)) == expected[name]
    finally:
        await stop_editor(editor)


async def test_changed_editor_settings_take_effect(editor):
    uri = editor.open("client.py", SOURCE)
    assert "ERR101" in codes(await editor.diagnostics(uri))

    mark, refreshes = editor.mark(), editor.client.diagnostic_refresh_count
    editor.notify_configuration({"select": [], "ignore": ["ERR101"], "extendSelect": [], "args": []})
    assert "ERR101" not in codes(await editor.reloaded(uri, mark, refreshes))

    mark, refreshes = editor.mark(), editor.client.diagnostic_refresh_count
    editor.notify_configuration({"select": [], "ignore": [], "extendSelect": [], "args": []})
    assert "ERR101" in codes(await editor.reloaded(uri, mark, refreshes))


async def test_settings_are_pulled_when_the_notification_carries_none(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["vscode"])
    try:
        uri = editor.open("client.py", SOURCE)
        assert "ERR101" in codes(await editor.diagnostics(uri))
        refreshes = editor.client.diagnostic_refresh_count
        editor.client.set_configuration({"select": ["ERR9"]}, section="errlint")
        editor.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        assert codes(await editor.reloaded(uri, 0, refreshes)) == []
    finally:
        await stop_editor(editor)


async def test_settings_from_workspace_configuration_apply_from_the_first_lint(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["neovim"])
    try:
        # Answered before any document is opened: the first result already uses it.
        editor.client.set_configuration({"ignore": ["ERR101"]}, section="errlint")
        editor.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
        uri = editor.open("client.py", SOURCE)
        diagnostics = await editor.diagnostics(uri)
        for _ in range(50):
            if "ERR101" not in codes(diagnostics):
                break
            diagnostics = await editor.pull(uri)
        assert "ERR101" not in codes(diagnostics)
    finally:
        await stop_editor(editor)


async def test_a_config_file_change_takes_effect(editor, workspace):
    uri = editor.open("client.py", SOURCE)
    assert "ERR101" in codes(await editor.diagnostics(uri))

    pyproject = workspace / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n\n[tool.errlint]\nignore = ["ERR101"]\n', encoding="utf-8")
    mark, refreshes = editor.mark(), editor.client.diagnostic_refresh_count
    editor.notify_files_changed(pyproject)
    assert "ERR101" not in codes(await editor.reloaded(uri, mark, refreshes))
    await editor.wait_for_log("reloading configuration (pyproject.toml changed)")


async def test_the_server_asks_to_watch_config_files(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["vscode"])
    try:
        uri = editor.open("client.py", SOURCE)
        await editor.diagnostics(uri)
        [registration] = editor.client.registrations
        assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
        globs = sorted(w["globPattern"] for w in registration.register_options["watchers"])
        assert globs == ["**/.errlint.toml", "**/errlint.toml", "**/pyproject.toml"]
    finally:
        await stop_editor(editor)


async def test_an_edited_config_file_is_reread_without_a_watcher(workspace, server_command):
    editor = await start_editor(server_command, workspace, PROFILES["neovim-0.7"])
    try:
        config = workspace / "errlint.toml"
        config.write_text('extend-select = ["ERR901"]\n', encoding="utf-8")
        uri = editor.open("client.py", SOURCE)
        assert "ERR101" in codes(await editor.diagnostics(uri))
        config.write_text('ignore = ["ERR101"]\n', encoding="utf-8")
        mark = editor.mark()
        editor.change(uri, (0, 0), (0, 0), "# edited\n")
        assert "ERR101" not in codes(await editor.diagnostics(uri, since=mark))
    finally:
        await stop_editor(editor)


async def test_the_nearest_config_file_applies(workspace, server_command):
    (workspace / "pyproject.toml").write_text('[tool.errlint]\nextend-select = ["ERR901"]\n', encoding="utf-8")
    (workspace / "service").mkdir()
    (workspace / "service" / "pyproject.toml").write_text('[tool.errlint]\nignore = ["ERR101"]\n', encoding="utf-8")
    editor = await start_editor(server_command, workspace, PROFILES["neovim"])
    try:
        top = editor.open("client.py", SOURCE)
        inner = editor.open("service/client.py", SOURCE)
        assert "ERR101" in codes(await editor.diagnostics(top))
        assert "ERR101" not in codes(await editor.diagnostics(inner))
    finally:
        await stop_editor(editor)


async def test_exclusions_and_per_file_ignores_are_respected(workspace, server_command):
    (workspace / "pyproject.toml").write_text(
        '[tool.errlint]\nextend-exclude = ["generated"]\nper-file-ignores = { "tests/*" = ["ERR101"] }\n',
        encoding="utf-8",
    )
    editor = await start_editor(server_command, workspace, PROFILES["vscode"])
    try:
        assert await editor.diagnostics(editor.open("generated/client.py", SOURCE)) == []
        assert "ERR101" not in codes(await editor.diagnostics(editor.open("tests/test_client.py", SOURCE)))
        assert "ERR101" in codes(await editor.diagnostics(editor.open("client.py", SOURCE)))
    finally:
        await stop_editor(editor)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('[tool.errlint]\nselekt = ["ERR101"]\n', "unknown key `tool.errlint.selekt`"),
        ("[tool.errlint\n", "invalid TOML"),
        ('[tool.errlint]\nignore = ["NOPE42"]\n', "unknown rule code `NOPE42`"),
    ],
)
async def test_a_bad_config_file_is_reported_and_defaults_are_used(workspace, server_command, content, reason):
    (workspace / "pyproject.toml").write_text(content, encoding="utf-8")
    editor = await start_editor(server_command, workspace, PROFILES["neovim-0.7"])
    try:
        uri = editor.open("client.py", SOURCE)
        assert "ERR101" in codes(await editor.diagnostics(uri))
        message = await editor.wait_for_log(reason)
        assert message.type == types.MessageType.Error
        assert "using the default settings" in message.message
        assert "\n" not in message.message

        # Fixing the file (and saying so) brings its settings in.
        (workspace / "pyproject.toml").write_text('[tool.errlint]\nignore = ["ERR101"]\n', encoding="utf-8")
        mark = editor.mark()
        editor.notify_files_changed(workspace / "pyproject.toml")
        assert "ERR101" not in codes(await editor.reloaded(uri, mark, 0))
    finally:
        await stop_editor(editor)


async def test_an_unreadable_config_file_is_reported(workspace, server_command):
    (workspace / "errlint.toml").write_bytes(b'ignore = ["\xff\xfe"]\n')
    editor = await start_editor(server_command, workspace, PROFILES["vscode"])
    try:
        uri = editor.open("client.py", SOURCE)
        assert "ERR101" in codes(await editor.diagnostics(uri))
        await editor.wait_for_log("not valid UTF-8")
    finally:
        await stop_editor(editor)


async def test_bad_editor_settings_are_reported_and_the_rest_applies(workspace, server_command):
    options = {"ignore": ["ERR101", "NOPE1", 7], "select": "not-a-list-of-codes", "extendSelect": {"x": 1}}
    editor = await start_editor(server_command, workspace, PROFILES["neovim-0.7"], initialization_options=options)
    try:
        uri = editor.open("client.py", SOURCE)
        assert "ERR101" not in codes(await editor.diagnostics(uri))
        await editor.wait_for_log("unknown rule code `NOPE1`")
        await editor.wait_for_log("`extendSelect`: expected a list of rule codes")
    finally:
        await stop_editor(editor)
