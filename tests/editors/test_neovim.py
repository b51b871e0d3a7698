"""A real Neovim, configured with editors/nvim/start_client.lua, against the errlint server.

`nvim --headless` loads the project's own snippet, opens a file, and a small
driver script (written here) records what Neovim holds: its diagnostics (in
Neovim's byte columns), a hover, and the buffer after applying a code action.
pytest reads the JSON it writes. Needs `nvim` (Debian's neovim 0.7.2 is
enough): skipped locally without it, a failure when CI=true.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NVIM_DIR = REPO_ROOT / "editors" / "nvim"
NVIM_TIMEOUT = 180

NON_ASCII_LINE = 'note = "héllo 😀 wörld"; retry = Retry(total=3, backoff_factor=1, status_forcelist=[401, 404, 429])'
SOURCE = "from urllib3.util.retry import Retry\n# 日本語 🎉\n" + NON_ASCII_LINE + "\n"

DRIVER = r"""
local out = vim.env.ERRLINT_TEST_OUT
local results = { steps = {} }

local function finish()
  vim.fn.writefile({ vim.fn.json_encode(results) }, out)
  vim.cmd('qa!')
end

local function diagnostics(buf)
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(list, {
      lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
      code = d.code, source = d.source, message = d.message, severity = d.severity,
    })
  end
  table.sort(list, function(a, b) return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col) end)
  return list
end

local function has_code(buf, code)
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.code == code then return true end
  end
  return false
end

local function wait_for(what, condition)
  local ok = vim.wait(60000, condition, 50)
  table.insert(results.steps, { what = what, ok = ok })
  if not ok then error('timed out waiting for ' .. what) end
end

local function main()
  local scenario = vim.env.ERRLINT_TEST_SCENARIO
  vim.cmd('filetype on')
  if scenario == 'configs' then
    -- No server: check that the 0.11 config file and the lspconfig module load and say the same.
    local config = dofile(vim.env.ERRLINT_NVIM_DIR .. '/lsp/errlint.lua')
    package.preload['lspconfig.configs'] = function() return {} end
    package.preload['lspconfig.util'] = function()
      return { root_pattern = function(...) local markers = { ... } return function() return markers end end }
    end
    local registered = require('errlint.lspconfig').register()
    results.config = config
    results.lspconfig = { cmd = registered.default_config.cmd, filetypes = registered.default_config.filetypes,
      root_markers = registered.default_config.root_dir(), same = require('errlint.lspconfig').register() == registered }
    return
  end

  vim.g.errlint_cmd = vim.fn.json_decode(vim.env.ERRLINT_TEST_CMD)
  if vim.env.ERRLINT_TEST_SETTINGS then
    vim.g.errlint_settings = vim.fn.json_decode(vim.env.ERRLINT_TEST_SETTINGS)
  end
  dofile(vim.env.ERRLINT_NVIM_DIR .. '/start_client.lua')
  vim.cmd('edit ' .. vim.fn.fnameescape(vim.env.ERRLINT_TEST_FILE))
  local buf = vim.api.nvim_get_current_buf()

  if scenario == 'settings' then
    wait_for('diagnostics', function() return #vim.diagnostic.get(buf) > 0 end)
    results.opened = diagnostics(buf)
    return
  end

  wait_for('ERR101', function() return has_code(buf, 'ERR101') end)
  results.opened = diagnostics(buf)
  local client = vim.lsp.get_active_clients()[1]
  results.client = { name = client.name, offset_encoding = client.offset_encoding }

  -- Hover on the finding (LSP positions are UTF-16 here; Neovim columns are bytes).
  local finding = results.opened[1]
  local line_text = vim.api.nvim_buf_get_lines(buf, finding.lnum, finding.lnum + 1, false)[1]
  local _, character = vim.str_utfindex(line_text, finding.col + 2)
  local hover = vim.lsp.buf_request_sync(buf, 'textDocument/hover', {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = { line = finding.lnum, character = character },
  }, 20000)
  for _, response in pairs(hover or {}) do
    if response.result then results.hover = response.result.contents.value end
  end

  -- The quick fix "Ignore ERR101 for this line", as vim.lsp.buf.code_action() would ask for it.
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = { start = { line = finding.lnum, character = 0 }, ['end'] = { line = finding.lnum, character = 0 } },
    context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(buf, finding.lnum) },
  }
  local responses = vim.lsp.buf_request_sync(buf, 'textDocument/codeAction', params, 20000)
  results.actions = {}
  local ignore
  for _, response in pairs(responses or {}) do
    for _, action in ipairs(response.result or {}) do
      table.insert(results.actions, action.title)
      if action.title == 'Ignore ERR101 for this line' then ignore = action end
    end
  end
  if not ignore then error('no ignore action') end
  vim.lsp.util.apply_workspace_edit(ignore.edit, client.offset_encoding)
  results.after_ignore_text = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  wait_for('ERR101 silenced', function() return not has_code(buf, 'ERR101') end)
  results.after_ignore = diagnostics(buf)

  -- Undo, then edit the list after the emoji: the finding comes back, then goes away.
  vim.cmd('undo')
  wait_for('ERR101 back', function() return has_code(buf, 'ERR101') end)
  local row = finding.lnum
  local text = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1]
  local from = text:find('401, 404, ', 1, true)
  vim.api.nvim_buf_set_text(buf, row, from - 1, row, from - 1 + #'401, 404, ', { '' })
  results.after_edit_text = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1]
  wait_for('ERR101 gone after the edit', function() return not has_code(buf, 'ERR101') end)
  results.after_edit = diagnostics(buf)
end

local ok, err = pcall(main)
if not ok then results.error = tostring(err) end
finish()
"""


def _nvim() -> str:
    path = shutil.which("nvim")
    if path is None:
        message = (
            "`nvim` was not found on PATH. The Neovim integration test needs Neovim >= 0.7 "
            "(Debian: `apt-get install -y neovim`)."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " It must run in CI.", pytrace=False)
        pytest.skip(message)
    return path


def _server_command() -> list[str]:
    override = os.environ.get("ERRLINT_LSP_COMMAND")  # same switch as tests/lsp
    return shlex.split(override) if override else [sys.executable, "-m", "errlint", "lsp"]


def _run_nvim(tmp_path: Path, scenario: str, file: Path | None = None, settings: dict | None = None) -> dict:
    nvim = _nvim()
    driver = tmp_path / "driver.lua"
    driver.write_text(DRIVER, encoding="utf-8")
    out = tmp_path / f"{scenario}.json"
    env = dict(os.environ)
    env.update(
        {
            "ERRLINT_TEST_OUT": str(out),
            "ERRLINT_TEST_SCENARIO": scenario,
            "ERRLINT_TEST_FILE": str(file or ""),
            "ERRLINT_TEST_CMD": json.dumps(_server_command()),
            "ERRLINT_NVIM_DIR": str(NVIM_DIR),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
        }
    )
    if settings is not None:
        env["ERRLINT_TEST_SETTINGS"] = json.dumps(settings)
    command = [
        nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n",
        "--cmd", f"set runtimepath^={NVIM_DIR}",
        "-c", f"luafile {driver}",
    ]  # fmt: skip
    try:
        process = subprocess.run(
            command, cwd=file.parent if file else tmp_path, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=NVIM_TIMEOUT,
        )  # fmt: skip
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"nvim did not finish within {NVIM_TIMEOUT} s:\n{error.stdout}\n{error.stderr}", pytrace=False)
    assert out.exists(), f"nvim wrote no results (exit {process.returncode}):\n{process.stdout}\n{process.stderr}"
    results = json.loads(out.read_text(encoding="utf-8"))
    assert "error" not in results, f"{results['error']}\nsteps: {results.get('steps')}\n{process.stderr[-3000:]}"
    return results


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\n', encoding="utf-8")
    return root


def _byte_column(line: str, column: int) -> int:
    return len(line[:column].encode("utf-8"))


def test_neovim_shows_fixes_and_explains_errlint_findings(tmp_path, project):
    file = project / "client.py"
    file.write_text(SOURCE, encoding="utf-8")
    results = _run_nvim(tmp_path, "edit", file)

    assert results["client"] == {"name": "errlint", "offset_encoding": "utf-16"}
    [finding] = [d for d in results["opened"] if d["code"] == "ERR101"]
    assert finding["source"] == "errlint"
    assert finding["severity"] == 2  # vim.diagnostic.severity.WARN
    assert finding["message"] == "`status_forcelist` retries 401 and 404, which fail the same way on every attempt"
    # Neovim holds byte columns: correct only if the server's UTF-16 positions were right.
    assert (finding["lnum"], finding["col"]) == (2, _byte_column(NON_ASCII_LINE, NON_ASCII_LINE.index("status_forcelist")))
    assert (finding["end_lnum"], finding["end_col"]) == (2, _byte_column(NON_ASCII_LINE, NON_ASCII_LINE.index("])") + 1))

    assert "retry-permanent-status" in results["hover"]
    assert "## What it does" in results["hover"]

    assert "Ignore ERR101 for this line" in results["actions"]
    assert "errlint (ERR101): Retry only 429 (show suggestion)" in results["actions"]
    assert results["after_ignore_text"][2] == NON_ASCII_LINE + "  # errlint: ignore[ERR101]"
    assert not [d for d in results["after_ignore"] if d["code"] == "ERR101"]

    assert results["after_edit_text"] == NON_ASCII_LINE.replace("401, 404, ", "")
    assert not [d for d in results["after_edit"] if d["code"] == "ERR101"]


def test_neovim_passes_its_settings_to_the_server(tmp_path, project):
    file = project / "client.py"
    file.write_text(SOURCE + "x = 1  # errlint: ignore\n", encoding="utf-8")
    results = _run_nvim(tmp_path, "settings", file, settings={"select": ["ERR9"]})
    assert [d["code"] for d in results["opened"]] == ["ERR901"]


def test_the_neovim_config_files_load(tmp_path):
    results = _run_nvim(tmp_path, "configs")
    config = results["config"]
    assert config["cmd"] == ["errlint", "lsp"]
    assert config["filetypes"] == ["python"]
    assert config["root_markers"] == ["errlint.toml", ".errlint.toml", "pyproject.toml", ".git"]
    lspconfig = results["lspconfig"]
    assert lspconfig["cmd"] == config["cmd"]
    assert lspconfig["filetypes"] == config["filetypes"]
    assert lspconfig["root_markers"] == config["root_markers"]
    assert lspconfig["same"] is True
