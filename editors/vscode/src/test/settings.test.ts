import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    DEFAULT_SETTINGS,
    ErrlintSettings,
    expandSettings,
    expandVariables,
    formatCommand,
    normalizeSettings,
    requiresRestart,
    resolveServerCommand,
    toInitializationOptions,
    usesPythonExtensionInterpreter,
} from '../settings';

function settings(overrides: Partial<ErrlintSettings> = {}): ErrlintSettings {
    return { ...DEFAULT_SETTINGS, ...overrides };
}

describe('resolveServerCommand', () => {
    it('falls back to python3 -m errlint lsp without interpreter settings', () => {
        const cmd = resolveServerCommand(settings());
        assert.deepEqual(cmd, {
            command: 'python3',
            args: ['-m', 'errlint', 'lsp'],
            env: { PYTHONSAFEPATH: '1' },
            source: 'default',
        });
    });

    it('falls back to python3 when the Python extension gives nothing usable', () => {
        assert.equal(resolveServerCommand(settings(), []).command, 'python3');
        assert.equal(resolveServerCommand(settings(), ['  ']).command, 'python3');
        assert.equal(resolveServerCommand(settings(), '').command, 'python3');
    });

    it("uses the Python extension's interpreter when errlint.interpreter is empty", () => {
        const cmd = resolveServerCommand(settings(), ['/venv/bin/python']);
        assert.equal(cmd.command, '/venv/bin/python');
        assert.deepEqual(cmd.args, ['-m', 'errlint', 'lsp']);
        assert.equal(cmd.source, 'pythonExtension');
    });

    it('accepts the Python extension interpreter as a plain string', () => {
        const cmd = resolveServerCommand(settings(), '/venv/bin/python');
        assert.equal(cmd.command, '/venv/bin/python');
        assert.deepEqual(cmd.args, ['-m', 'errlint', 'lsp']);
    });

    it('keeps the extra words of a multi-part execCommand from the Python extension', () => {
        const cmd = resolveServerCommand(settings(), ['conda', 'run', '-n', 'dev', 'python']);
        assert.equal(cmd.command, 'conda');
        assert.deepEqual(cmd.args, ['run', '-n', 'dev', 'python', '-m', 'errlint', 'lsp']);
    });

    it('errlint.interpreter wins over the Python extension', () => {
        const cmd = resolveServerCommand(settings({ interpreter: ['/opt/py/bin/python3.12'] }), ['/venv/bin/python']);
        assert.equal(cmd.command, '/opt/py/bin/python3.12');
        assert.deepEqual(cmd.args, ['-m', 'errlint', 'lsp']);
        assert.equal(cmd.source, 'interpreter');
    });

    it('passes interpreter arguments before -m errlint', () => {
        const cmd = resolveServerCommand(settings({ interpreter: ['/usr/bin/python3', '-X', 'utf8', '-I'] }));
        assert.equal(cmd.command, '/usr/bin/python3');
        assert.deepEqual(cmd.args, ['-X', 'utf8', '-I', '-m', 'errlint', 'lsp']);
    });

    it('errlint.path overrides interpreter and the Python extension', () => {
        const cmd = resolveServerCommand(
            settings({ path: ['/usr/local/bin/errlint'], interpreter: ['/usr/bin/python3'] }),
            ['/venv/bin/python'],
        );
        assert.deepEqual(cmd, {
            command: '/usr/local/bin/errlint',
            args: ['lsp'],
            env: {},
            source: 'path',
        });
    });

    it('keeps the extra words of errlint.path before lsp', () => {
        const cmd = resolveServerCommand(settings({ path: ['pipx', 'run', 'errlint'], args: ['--verbose'] }));
        assert.equal(cmd.command, 'pipx');
        assert.deepEqual(cmd.args, ['run', 'errlint', 'lsp', '--verbose']);
    });

    it('appends errlint.args after lsp, in order', () => {
        const cmd = resolveServerCommand(settings({ args: ['--log-level', 'debug', '--no-cache'] }), ['/venv/bin/python']);
        assert.deepEqual(cmd.args, ['-m', 'errlint', 'lsp', '--log-level', 'debug', '--no-cache']);
    });

    it('useBundled puts the bundled libs folder on PYTHONPATH', () => {
        const cmd = resolveServerCommand(settings({ importStrategy: 'useBundled' }), undefined, {
            bundledLibsPath: '/ext/bundled/libs',
            baseEnv: {},
        });
        assert.deepEqual(cmd.env, { PYTHONSAFEPATH: '1', PYTHONPATH: '/ext/bundled/libs' });
        assert.deepEqual(cmd.args, ['-m', 'errlint', 'lsp']);
    });

    it('useBundled prepends to an existing PYTHONPATH with the given delimiter', () => {
        const posix = resolveServerCommand(settings({ importStrategy: 'useBundled' }), undefined, {
            bundledLibsPath: '/ext/bundled/libs',
            baseEnv: { PYTHONPATH: '/src:/lib' },
        });
        assert.equal(posix.env.PYTHONPATH, '/ext/bundled/libs:/src:/lib');

        const windows = resolveServerCommand(settings({ importStrategy: 'useBundled' }), undefined, {
            bundledLibsPath: 'C:\\ext\\bundled\\libs',
            baseEnv: { PYTHONPATH: 'C:\\src' },
            pathDelimiter: ';',
        });
        assert.equal(windows.env.PYTHONPATH, 'C:\\ext\\bundled\\libs;C:\\src');
    });

    it('useBundled without a bundled libs folder leaves PYTHONPATH alone', () => {
        const cmd = resolveServerCommand(settings({ importStrategy: 'useBundled' }), undefined, {
            baseEnv: { PYTHONPATH: '/src' },
        });
        assert.deepEqual(cmd.env, { PYTHONSAFEPATH: '1' });
    });

    it('fromEnvironment never sets PYTHONPATH, even when bundled libs exist', () => {
        const cmd = resolveServerCommand(settings({ importStrategy: 'fromEnvironment' }), undefined, {
            bundledLibsPath: '/ext/bundled/libs',
        });
        assert.deepEqual(cmd.env, { PYTHONSAFEPATH: '1' });
    });

    it('errlint.path ignores the import strategy', () => {
        const cmd = resolveServerCommand(settings({ path: ['errlint'], importStrategy: 'useBundled' }), undefined, {
            bundledLibsPath: '/ext/bundled/libs',
        });
        assert.deepEqual(cmd.env, {});
        assert.equal(cmd.source, 'path');
    });

    it('does not mutate the settings', () => {
        const s = settings({ interpreter: ['py', '-3'], args: ['--x'] });
        const copy = JSON.parse(JSON.stringify(s));
        const cmd = resolveServerCommand(s);
        cmd.args.push('changed');
        assert.deepEqual(s, copy);
    });
});

describe('toInitializationOptions', () => {
    it('maps the settings to the camelCase options the server expects', () => {
        const opts = toInitializationOptions(
            settings({
                select: ['E', 'W1'],
                ignore: ['E501'],
                extendSelect: ['X100'],
                args: ['--preview'],
                path: ['/bin/errlint'],
                interpreter: ['/usr/bin/python3'],
                importStrategy: 'useBundled',
            }),
        );
        assert.deepEqual(opts, {
            select: ['E', 'W1'],
            ignore: ['E501'],
            extendSelect: ['X100'],
            args: ['--preview'],
        });
        assert.deepEqual(Object.keys(opts).sort(), ['args', 'extendSelect', 'ignore', 'select']);
    });

    it('gives empty lists for default settings', () => {
        assert.deepEqual(toInitializationOptions(settings()), { select: [], ignore: [], extendSelect: [], args: [] });
    });

    it('returns copies, not the setting arrays themselves', () => {
        const s = settings({ select: ['E'] });
        const opts = toInitializationOptions(s);
        opts.select.push('W');
        assert.deepEqual(s.select, ['E']);
    });
});

describe('normalizeSettings', () => {
    it('gives the defaults for missing values', () => {
        assert.deepEqual(normalizeSettings({}), DEFAULT_SETTINGS);
    });

    it('keeps valid values', () => {
        const raw = {
            enable: false,
            path: ['/bin/errlint'],
            interpreter: ['/usr/bin/python3', '-I'],
            args: ['--a'],
            importStrategy: 'useBundled',
            select: ['E'],
            ignore: ['E1'],
            extendSelect: ['W'],
        };
        assert.deepEqual(normalizeSettings(raw), raw);
    });

    it('falls back on values of the wrong type', () => {
        const s = normalizeSettings({
            enable: 'yes',
            path: '/bin/errlint',
            interpreter: 3,
            args: null,
            importStrategy: 'somewhere',
            select: { E: true },
        });
        assert.deepEqual(s, DEFAULT_SETTINGS);
    });

    it('drops non-string and blank entries from command and rule lists', () => {
        const s = normalizeSettings({
            path: ['', '  '],
            interpreter: ['', '/usr/bin/python3', 7],
            select: ['E', '', null],
        });
        assert.deepEqual(s.path, []);
        assert.deepEqual(s.interpreter, ['/usr/bin/python3']);
        assert.deepEqual(s.select, ['E']);
    });

    it('blank errlint.path entries do not override the interpreter', () => {
        const cmd = resolveServerCommand(normalizeSettings({ path: [''], interpreter: ['/usr/bin/python3'] }));
        assert.equal(cmd.command, '/usr/bin/python3');
    });
});

describe('expandVariables', () => {
    const ctx = { workspaceFolder: '/ws', userHome: '/home/u', env: { VENV: '/venvs/a' } };

    it('expands workspaceFolder, userHome and env variables', () => {
        assert.equal(expandVariables('${workspaceFolder}/.venv/bin/python', ctx), '/ws/.venv/bin/python');
        assert.equal(expandVariables('${userHome}/bin/errlint', ctx), '/home/u/bin/errlint');
        assert.equal(expandVariables('${env:VENV}/bin/python', ctx), '/venvs/a/bin/python');
        assert.equal(expandVariables('${env:MISSING}x', ctx), 'x');
    });

    it('expands a leading ~ only', () => {
        assert.equal(expandVariables('~/py/bin/python', ctx), '/home/u/py/bin/python');
        assert.equal(expandVariables('~', ctx), '/home/u');
        assert.equal(expandVariables('a~/b', ctx), 'a~/b');
    });

    it('leaves unknown variables and ones without a value alone', () => {
        assert.equal(expandVariables('${foo}', ctx), '${foo}');
        assert.equal(expandVariables('${workspaceFolder}/x', {}), '${workspaceFolder}/x');
    });

    it('expandSettings expands path, interpreter and args only', () => {
        const s = expandSettings(
            settings({
                path: ['${workspaceFolder}/errlint'],
                interpreter: ['~/python'],
                args: ['--config', '${workspaceFolder}/errlint.toml'],
                select: ['${workspaceFolder}'],
            }),
            ctx,
        );
        assert.deepEqual(s.path, ['/ws/errlint']);
        assert.deepEqual(s.interpreter, ['/home/u/python']);
        assert.deepEqual(s.args, ['--config', '/ws/errlint.toml']);
        assert.deepEqual(s.select, ['${workspaceFolder}']);
    });
});

describe('requiresRestart', () => {
    it('restarts for settings that change the server command', () => {
        const base = settings();
        assert.equal(requiresRestart(base, settings({ path: ['errlint'] })), true);
        assert.equal(requiresRestart(base, settings({ interpreter: ['python3.12'] })), true);
        assert.equal(requiresRestart(base, settings({ args: ['--x'] })), true);
        assert.equal(requiresRestart(base, settings({ importStrategy: 'useBundled' })), true);
        assert.equal(requiresRestart(base, settings({ enable: false })), true);
    });

    it('does not restart for rule selection changes or identical settings', () => {
        const base = settings();
        assert.equal(requiresRestart(base, settings()), false);
        assert.equal(requiresRestart(base, settings({ select: ['E'] })), false);
        assert.equal(requiresRestart(base, settings({ ignore: ['E'] })), false);
        assert.equal(requiresRestart(base, settings({ extendSelect: ['E'] })), false);
    });
});

describe('helpers', () => {
    it('usesPythonExtensionInterpreter only when neither path nor interpreter is set', () => {
        assert.equal(usesPythonExtensionInterpreter(settings()), true);
        assert.equal(usesPythonExtensionInterpreter(settings({ path: ['errlint'] })), false);
        assert.equal(usesPythonExtensionInterpreter(settings({ interpreter: ['python3'] })), false);
    });

    it('formatCommand quotes arguments with spaces', () => {
        assert.equal(
            formatCommand('/Program Files/py.exe', ['-m', 'errlint', 'lsp', '']),
            '"/Program Files/py.exe" -m errlint lsp ""',
        );
    });
});
