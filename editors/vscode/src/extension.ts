import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import {
    DidChangeConfigurationNotification,
    Executable,
    LanguageClient,
    LanguageClientOptions,
    RevealOutputChannelOn,
    ServerOptions,
} from 'vscode-languageclient/node';
import {
    ErrlintSettings,
    ServerCommand,
    expandSettings,
    formatCommand,
    normalizeSettings,
    requiresRestart,
    resolveServerCommand,
    toInitializationOptions,
    usesPythonExtensionInterpreter,
} from './settings';

const SECTION = 'errlint';
const SERVER_ID = 'errlint';
const SERVER_NAME = 'errlint';
const PYTHON_EXTENSION_ID = 'ms-python.python';

let client: LanguageClient | undefined;
let outputChannel: vscode.LogOutputChannel;
let extensionContext: vscode.ExtensionContext;
let currentSettings: ErrlintSettings | undefined;
/** Serialises start/stop/restart so that overlapping requests cannot race. */
let pending: Promise<void> = Promise.resolve();
/** Watchers for the configuration files whose changes are forwarded to the server. */
let configFileWatchers: vscode.FileSystemWatcher[] = [];

// ---------------------------------------------------------------------------
// Settings

/** The resource the server-wide settings are read for: the first workspace folder. */
function settingsScope(): vscode.Uri | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri;
}

function readSettings(scope: vscode.Uri | undefined = settingsScope()): ErrlintSettings {
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    const settings = normalizeSettings({
        enable: config.get('enable'),
        path: config.get('path'),
        interpreter: config.get('interpreter'),
        args: config.get('args'),
        importStrategy: config.get('importStrategy'),
        select: config.get('select'),
        ignore: config.get('ignore'),
        extendSelect: config.get('extendSelect'),
    });
    const folder = (scope && vscode.workspace.getWorkspaceFolder(scope)?.uri) ?? settingsScope();
    return expandSettings(settings, {
        workspaceFolder: folder?.fsPath,
        userHome: os.homedir(),
        env: process.env,
    });
}

// ---------------------------------------------------------------------------
// Python extension (optional)

interface PythonExtensionApi {
    environments?: {
        getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
        resolveEnvironment(
            env: { path: string } | string,
        ): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
        onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
    };
    settings?: {
        getExecutionDetails?(resource?: vscode.Uri): { execCommand: string[] | undefined };
        onDidChangeExecutionDetails?: vscode.Event<unknown>;
    };
}

async function getPythonExtensionApi(): Promise<PythonExtensionApi | undefined> {
    const extension = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
    if (!extension) {
        return undefined;
    }
    try {
        return extension.isActive ? extension.exports : await extension.activate();
    } catch (err) {
        outputChannel.warn(`Could not activate the Python extension: ${String(err)}`);
        return undefined;
    }
}

/** The interpreter selected in the Python extension, if it is installed and has one. */
async function interpreterFromPythonExtension(): Promise<string[] | undefined> {
    const api = await getPythonExtensionApi();
    if (!api) {
        return undefined;
    }
    const resource = settingsScope();
    try {
        if (api.environments) {
            const active = api.environments.getActiveEnvironmentPath(resource);
            if (active) {
                const resolved = await api.environments.resolveEnvironment(active);
                const executable = resolved?.executable?.uri?.fsPath;
                if (executable) {
                    return [executable];
                }
            }
        }
        const execCommand = api.settings?.getExecutionDetails?.(resource)?.execCommand;
        if (execCommand && execCommand.length > 0) {
            return execCommand;
        }
    } catch (err) {
        outputChannel.warn(`Could not get the interpreter from the Python extension: ${String(err)}`);
    }
    return undefined;
}

async function watchPythonInterpreter(context: vscode.ExtensionContext): Promise<void> {
    const api = await getPythonExtensionApi();
    const event = api?.environments?.onDidChangeActiveEnvironmentPath ?? api?.settings?.onDidChangeExecutionDetails;
    if (!event) {
        return;
    }
    context.subscriptions.push(
        event(() => {
            const settings = readSettings();
            if (settings.enable && usesPythonExtensionInterpreter(settings)) {
                outputChannel.info('The selected Python interpreter changed; restarting the server.');
                void restart();
            }
        }),
    );
}

// ---------------------------------------------------------------------------
// Server lifecycle

async function buildServerCommand(settings: ErrlintSettings): Promise<ServerCommand> {
    const fromPythonExt = usesPythonExtensionInterpreter(settings)
        ? await interpreterFromPythonExtension()
        : undefined;
    const bundledLibs = path.join(extensionContext.extensionPath, 'bundled', 'libs');
    return resolveServerCommand(settings, fromPythonExt, {
        bundledLibsPath:
            settings.importStrategy === 'useBundled' && fs.existsSync(bundledLibs) ? bundledLibs : undefined,
        baseEnv: process.env,
        pathDelimiter: path.delimiter,
    });
}

async function startClient(): Promise<void> {
    const settings = readSettings();
    currentSettings = settings;
    if (!settings.enable) {
        outputChannel.info('errlint is disabled (errlint.enable is false); the server is not started.');
        return;
    }

    const serverCommand = await buildServerCommand(settings);
    if (settings.importStrategy === 'useBundled' && serverCommand.env.PYTHONPATH === undefined && serverCommand.source !== 'path') {
        outputChannel.warn('errlint.importStrategy is "useBundled" but the extension has no bundled/libs folder; using the environment.');
    }
    outputChannel.info(`Starting server (${serverCommand.source}): ${formatCommand(serverCommand.command, serverCommand.args)}`);
    if (serverCommand.env.PYTHONPATH !== undefined) {
        outputChannel.info(`PYTHONPATH=${serverCommand.env.PYTHONPATH}`);
    }

    const executable: Executable = {
        command: serverCommand.command,
        args: serverCommand.args,
        options: {
            // `python -m` puts its working folder first on sys.path: started in
            // the workspace, a workspace `errlint/` or `lsprotocol.py` would be
            // imported and run. The server finds the workspace through the
            // protocol, not its working folder.
            cwd: serverCommand.source === 'path' ? settingsScope()?.fsPath : extensionContext.extensionPath,
            env: Object.keys(serverCommand.env).length > 0 ? serverCommand.env : undefined,
        },
    };
    const serverOptions: ServerOptions = { run: executable, debug: executable };

    const clientOptions: LanguageClientOptions = {
        documentSelector: [
            { scheme: 'file', language: 'python' },
            { scheme: 'untitled', language: 'python' },
        ],
        synchronize: { fileEvents: configFileWatchers },
        initializationOptions: toInitializationOptions(settings),
        middleware: {
            workspace: {
                // Answer workspace/configuration for the "errlint" section with
                // the same camelCase object as the initialization options.
                configuration: (params, token, next) => {
                    const answers: unknown[] = [];
                    const forward: typeof params.items = [];
                    const forwardIndex: number[] = [];
                    params.items.forEach((item, index) => {
                        if (item.section === SECTION) {
                            const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
                            answers[index] = toInitializationOptions(readSettings(scope));
                        } else {
                            forward.push(item);
                            forwardIndex.push(index);
                        }
                    });
                    if (forward.length === 0) {
                        return answers;
                    }
                    return Promise.resolve(next({ items: forward }, token)).then((result) => {
                        if (!Array.isArray(result)) {
                            return result;
                        }
                        result.forEach((value, i) => {
                            answers[forwardIndex[i]] = value;
                        });
                        return answers;
                    });
                },
            },
        },
        outputChannel,
        traceOutputChannel: outputChannel,
        revealOutputChannelOn: RevealOutputChannelOn.Never,
    };

    const newClient = new LanguageClient(SERVER_ID, SERVER_NAME, serverOptions, clientOptions);
    client = newClient;
    try {
        await newClient.start();
        outputChannel.info('Server started.');
    } catch (err) {
        outputChannel.error(`Failed to start the server: ${String(err)}`);
        void vscode.window
            .showErrorMessage(
                `errlint: failed to start the language server (${formatCommand(serverCommand.command, serverCommand.args)}). ` +
                    'Is errlint installed in the selected Python environment?',
                'Show Logs',
            )
            .then((choice) => {
                if (choice === 'Show Logs') {
                    outputChannel.show();
                }
            });
    }
}

async function stopClient(): Promise<void> {
    const old = client;
    client = undefined;
    if (!old) {
        return;
    }
    try {
        await old.stop();
    } catch (err) {
        outputChannel.warn(`Error while stopping the server: ${String(err)}`);
    }
    try {
        await old.dispose();
    } catch {
        // already disposed
    }
}

function enqueue(task: () => Promise<void>): Promise<void> {
    pending = pending.then(task).catch((err: unknown) => {
        outputChannel.error(`Unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    });
    return pending;
}

function restart(): Promise<void> {
    return enqueue(async () => {
        await stopClient();
        await startClient();
    });
}

function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) {
        return;
    }
    const next = readSettings();
    if (currentSettings === undefined || requiresRestart(currentSettings, next)) {
        outputChannel.info('errlint settings changed; restarting the server.');
        void restart();
    } else {
        // Only select/ignore/extendSelect changed: tell the running server.
        // The payload has the same shape as the answer to
        // workspace/configuration (nested under the "errlint" section), and
        // the server may also pull the new values itself.
        currentSettings = next;
        const running = client;
        if (running?.isRunning()) {
            running
                .sendNotification(DidChangeConfigurationNotification.type, {
                    settings: { [SECTION]: toInitializationOptions(next) },
                })
                .catch((err: unknown) => outputChannel.warn(`Could not notify the server of the new settings: ${String(err)}`));
        }
    }
}

// ---------------------------------------------------------------------------
// Entry points

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    extensionContext = context;
    outputChannel = vscode.window.createOutputChannel('errlint', { log: true });
    configFileWatchers = [
        vscode.workspace.createFileSystemWatcher('**/pyproject.toml'),
        vscode.workspace.createFileSystemWatcher('**/errlint.toml'),
    ];
    context.subscriptions.push(...configFileWatchers);
    context.subscriptions.push(
        outputChannel,
        vscode.commands.registerCommand('errlint.restart', async () => {
            outputChannel.info('Restart requested.');
            await restart();
        }),
        vscode.commands.registerCommand('errlint.showLogs', () => outputChannel.show()),
        vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
    );
    void watchPythonInterpreter(context);
    await enqueue(startClient);
}

export function deactivate(): Promise<void> {
    return enqueue(stopClient);
}
