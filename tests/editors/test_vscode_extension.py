"""Build, unit test and package the VS Code extension in editors/vscode.

Needs Node.js (>= 20) and npm on PATH; without them the tests fail (they are
never skipped). `npm ci` runs only when editors/vscode/node_modules is
missing or incomplete, so a warm run takes a few seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXTENSION_DIR = REPO_ROOT / "editors" / "vscode"

NPM_CI_TIMEOUT = 900
STEP_TIMEOUT = 300

# Loads the packaged extension with a stand-in for the `vscode` module (which
# only exists inside VS Code), to prove that every runtime dependency of
# out/extension.js made it into the .vsix.
LOAD_CHECK_JS = r"""
const Module = require('module');
const stub = () => new Proxy(function () {}, handler);
const handler = {
  get: (_target, prop) => (prop === '__esModule' ? false : stub()),
  apply: () => stub(),
  construct: () => stub(),
};
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'vscode') return stub();
  return load.call(this, request, ...rest);
};
const ext = require(process.argv[1]);
if (typeof ext.activate !== 'function' || typeof ext.deactivate !== 'function') {
  console.error('extension.js does not export activate/deactivate');
  process.exit(1);
}
console.log('loaded');
"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` was not found on PATH. The VS Code extension tests need "
            "Node.js >= 20 and npm; install them and make sure they are on PATH.",
            pytrace=False,
        )
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            "NO_COLOR": "1",
        }
    )
    return env


def _run(args: list[str], timeout: int, cwd: Path = EXTENSION_DIR) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            args,
            cwd=cwd,
            env=_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{' '.join(args)}` timed out after {timeout}s\n{exc.stdout or ''}\n{exc.stderr or ''}", pytrace=False)
    assert proc.returncode == 0, (
        f"`{' '.join(args)}` in {cwd} exited with {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
    )
    return proc


@pytest.fixture(scope="module")
def npm() -> str:
    node = _tool("node")
    npm_path = _tool("npm")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    major = int(version.lstrip("v").split(".")[0]) if version.startswith("v") else 0
    if major < 20:
        pytest.fail(f"Node.js >= 20 is required for the VS Code extension, found {version!r}", pytrace=False)

    modules = EXTENSION_DIR / "node_modules"
    needed = [modules / ".bin" / "tsc", modules / ".bin" / "vsce", modules / "vscode-languageclient"]
    if os.name == "nt":
        needed = [modules / ".bin" / "tsc.cmd", modules / ".bin" / "vsce.cmd", modules / "vscode-languageclient"]
    if not all(p.exists() for p in needed):
        _run([npm_path, "ci"], timeout=NPM_CI_TIMEOUT)
    return npm_path


@pytest.fixture(scope="module")
def vsix(npm: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vsix") / "errlint.vsix"
    # Extra arguments go to `vsce package --out errlint.vsix`; the last --out wins.
    _run([npm, "run", "package", "--", "--out", str(out)], timeout=STEP_TIMEOUT)
    assert out.is_file(), f"vsce did not write {out}"
    return out


def test_compile(npm: str) -> None:
    _run([npm, "run", "compile"], timeout=STEP_TIMEOUT)
    assert (EXTENSION_DIR / "out" / "extension.js").is_file()
    assert (EXTENSION_DIR / "out" / "settings.js").is_file()
    assert (EXTENSION_DIR / "out" / "test" / "settings.test.js").is_file()


def test_unit_tests(npm: str) -> None:
    proc = _run([npm, "test"], timeout=STEP_TIMEOUT)
    output = proc.stdout + proc.stderr
    counts = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "#" and parts[1] in {"tests", "pass", "fail"}:
            counts[parts[1]] = int(parts[2])
    assert counts.get("tests", 0) > 0, f"node --test ran no tests:\n{output[-4000:]}"
    assert counts.get("fail") == 0 and counts.get("pass") == counts["tests"], output[-4000:]


def test_settings_module_has_no_vscode_import() -> None:
    source = (EXTENSION_DIR / "src" / "settings.ts").read_text(encoding="utf-8")
    assert "from 'vscode'" not in source and 'from "vscode"' not in source
    assert "require('vscode')" not in source


def test_package_contents(vsix: Path) -> None:
    with zipfile.ZipFile(vsix) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("extension/package.json"))

    for required in (
        "extension/package.json",
        "extension/out/extension.js",
        "extension/out/settings.js",
        "extension/LICENSE.txt",
        "extension/readme.md",
        "extension/changelog.md",
        "extension/node_modules/vscode-languageclient/package.json",
    ):
        assert required in names, f"{required} missing from the .vsix"

    forbidden_prefixes = (
        "extension/src/",
        "extension/out/test/",
        "extension/node_modules/typescript/",
        "extension/node_modules/@vscode/vsce/",
        "extension/node_modules/@types/",
    )
    leaked = sorted(n for n in names if n.startswith(forbidden_prefixes))
    assert not leaked, f"dev files in the .vsix: {leaked[:20]}"
    assert not any(n.endswith(".ts") for n in names), "TypeScript sources in the .vsix"

    assert manifest["name"] == "errlint"
    assert manifest["publisher"] == "errlint"
    assert manifest["version"] == "0.1.0"
    assert manifest["main"] == "./out/extension.js"
    assert manifest["activationEvents"] == ["onLanguage:python"]
    commands = {c["command"] for c in manifest["contributes"]["commands"]}
    assert {"errlint.restart", "errlint.showLogs"} <= commands
    properties = manifest["contributes"]["configuration"]["properties"]
    for key in (
        "errlint.enable",
        "errlint.path",
        "errlint.interpreter",
        "errlint.args",
        "errlint.importStrategy",
        "errlint.select",
        "errlint.ignore",
        "errlint.extendSelect",
        "errlint.trace.server",
    ):
        assert key in properties, f"setting {key} not contributed"
        assert properties[key].get("description"), f"setting {key} has no description"
    assert properties["errlint.importStrategy"]["default"] == "fromEnvironment"


def test_packaged_extension_loads(vsix: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(vsix) as zf:
        zf.extractall(tmp_path)
    entry = tmp_path / "extension" / "out" / "extension.js"
    proc = _run([_tool("node"), "-e", LOAD_CHECK_JS, str(entry)], timeout=60, cwd=tmp_path)
    assert "loaded" in proc.stdout
