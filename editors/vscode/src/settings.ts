/**
 * Pure logic of the errlint extension: reading and normalising the
 * `errlint.*` settings, turning them into the command that starts the
 * language server, and into the server's initialization options.
 *
 * This module must not import `vscode`, so that it can be unit tested with
 * plain node (`node --test out/test/`).
 */

export type ImportStrategy = 'useBundled' | 'fromEnvironment';

export const IMPORT_STRATEGIES: readonly ImportStrategy[] = ['useBundled', 'fromEnvironment'];

/** The fallback interpreter when neither a setting nor the Python extension gives one. */
export const DEFAULT_INTERPRETER = 'python3';

/** Normalised `errlint.*` settings. */
export interface ErrlintSettings {
    enable: boolean;
    /** Explicit command to run instead of `<python> -m errlint`. */
    path: string[];
    /** Python interpreter (and its own arguments) used to run `-m errlint`. */
    interpreter: string[];
    /** Extra CLI arguments appended after `lsp`. */
    args: string[];
    importStrategy: ImportStrategy;
    select: string[];
    ignore: string[];
    extendSelect: string[];
}

/** The object sent as `initializationOptions` and returned for `workspace/configuration`. */
export interface InitializationOptions {
    select: string[];
    ignore: string[];
    extendSelect: string[];
    args: string[];
}

/** Where the executable of the server command came from. */
export type CommandSource = 'path' | 'interpreter' | 'pythonExtension' | 'default';

export interface ServerCommand {
    command: string;
    args: string[];
    /**
     * Environment variables to set for the server, on top of the inherited
     * environment (vscode-languageclient merges them into `process.env`).
     */
    env: Record<string, string>;
    source: CommandSource;
}

export interface ResolveOptions {
    /**
     * Absolute path of the extension's `bundled/libs` folder, given only when
     * that folder exists. Used when `importStrategy` is `useBundled`.
     */
    bundledLibsPath?: string;
    /** The environment the server inherits; used to extend an existing PYTHONPATH. */
    baseEnv?: Record<string, string | undefined>;
    /** Separator for PYTHONPATH entries (default `:`; `;` on Windows). */
    pathDelimiter?: string;
}

export const DEFAULT_SETTINGS: Readonly<ErrlintSettings> = Object.freeze({
    enable: true,
    path: [],
    interpreter: [],
    args: [],
    importStrategy: 'fromEnvironment',
    select: [],
    ignore: [],
    extendSelect: [],
});

/**
 * Settings whose change alters how the server process is started, so the
 * server has to be restarted (`args` is also part of the initialization
 * options, which are only read at start-up).
 */
export const RESTART_SETTINGS: readonly (keyof ErrlintSettings)[] = [
    'enable',
    'path',
    'interpreter',
    'args',
    'importStrategy',
];

/** Keeps the string entries of an array setting; anything else gives []. */
function stringList(value: unknown, dropBlank: boolean): string[] {
    if (!Array.isArray(value)) {
        return [];
    }
    return value.filter(
        (item): item is string => typeof item === 'string' && (!dropBlank || item.trim() !== ''),
    );
}

/**
 * Builds validated settings from raw values, as returned by
 * `WorkspaceConfiguration.get(key)` for the keys of `ErrlintSettings`.
 * Values of the wrong type fall back to the defaults.
 */
export function normalizeSettings(raw: Partial<Record<keyof ErrlintSettings, unknown>>): ErrlintSettings {
    const strategy = raw.importStrategy;
    return {
        enable: typeof raw.enable === 'boolean' ? raw.enable : DEFAULT_SETTINGS.enable,
        path: stringList(raw.path, true),
        interpreter: stringList(raw.interpreter, true),
        args: stringList(raw.args, false),
        importStrategy: IMPORT_STRATEGIES.includes(strategy as ImportStrategy)
            ? (strategy as ImportStrategy)
            : DEFAULT_SETTINGS.importStrategy,
        select: stringList(raw.select, true),
        ignore: stringList(raw.ignore, true),
        extendSelect: stringList(raw.extendSelect, true),
    };
}

export interface VariableContext {
    /** File system path of the (first) workspace folder, if any. */
    workspaceFolder?: string;
    /** The user's home directory. */
    userHome?: string;
    /** Environment used for `${env:NAME}`. */
    env?: Record<string, string | undefined>;
}

/**
 * Expands `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading
 * `~` in a setting value. Unknown variables, or ones without a value in the
 * context, are left as they are.
 */
export function expandVariables(value: string, ctx: VariableContext): string {
    let result = value.replace(/\$\{(workspaceFolder|userHome|env:([A-Za-z_][A-Za-z0-9_]*))\}/g, (match, name: string, envName?: string) => {
        if (envName !== undefined) {
            return ctx.env?.[envName] ?? '';
        }
        if (name === 'workspaceFolder') {
            return ctx.workspaceFolder ?? match;
        }
        return ctx.userHome ?? match;
    });
    if (ctx.userHome && (result === '~' || result.startsWith('~/') || result.startsWith('~\\'))) {
        result = ctx.userHome + result.slice(1);
    }
    return result;
}

/** Applies `expandVariables` to the command-related settings. */
export function expandSettings(settings: ErrlintSettings, ctx: VariableContext): ErrlintSettings {
    const expand = (list: string[]) => list.map((item) => expandVariables(item, ctx));
    return {
        ...settings,
        path: expand(settings.path),
        interpreter: expand(settings.interpreter),
        args: expand(settings.args),
    };
}

/**
 * Turns the settings into the command that starts the language server.
 *
 * - `path` set: `<path...> lsp <args...>` (the import strategy is ignored).
 * - otherwise: `<python...> -m errlint lsp <args...>`, where the interpreter
 *   (with any extra interpreter arguments) is `settings.interpreter`, else
 *   `interpreterFromPythonExt` (the Python extension's selected interpreter),
 *   else `python3`.
 * - `importStrategy: useBundled` with an existing bundled libs folder puts
 *   that folder first on PYTHONPATH.
 */
export function resolveServerCommand(
    settings: ErrlintSettings,
    interpreterFromPythonExt?: readonly string[] | string,
    options: ResolveOptions = {},
): ServerCommand {
    const serverArgs = ['lsp', ...settings.args];

    const path = settings.path.filter((item) => item.trim() !== '');
    if (path.length > 0) {
        return { command: path[0], args: [...path.slice(1), ...serverArgs], env: {}, source: 'path' };
    }

    let python: string[];
    let source: CommandSource;
    const fromExt = (typeof interpreterFromPythonExt === 'string'
        ? [interpreterFromPythonExt]
        : [...(interpreterFromPythonExt ?? [])]
    ).filter((item) => item.trim() !== '');
    const interpreter = settings.interpreter.filter((item) => item.trim() !== '');
    if (interpreter.length > 0) {
        python = interpreter;
        source = 'interpreter';
    } else if (fromExt.length > 0) {
        python = fromExt;
        source = 'pythonExtension';
    } else {
        python = [DEFAULT_INTERPRETER];
        source = 'default';
    }

    // Python 3.11+ then keeps the working folder off sys.path, so that a
    // workspace module named like a library errlint imports is never run (the
    // server is also started from the extension's folder, see extension.ts).
    const env: Record<string, string> = { PYTHONSAFEPATH: '1' };
    if (settings.importStrategy === 'useBundled' && options.bundledLibsPath) {
        const delimiter = options.pathDelimiter ?? ':';
        const existing = options.baseEnv?.PYTHONPATH;
        env.PYTHONPATH = existing ? `${options.bundledLibsPath}${delimiter}${existing}` : options.bundledLibsPath;
    }

    return { command: python[0], args: [...python.slice(1), '-m', 'errlint', ...serverArgs], env, source };
}

/** The server's initialization options (camelCase keys, as the server expects). */
export function toInitializationOptions(settings: ErrlintSettings): InitializationOptions {
    return {
        select: [...settings.select],
        ignore: [...settings.ignore],
        extendSelect: [...settings.extendSelect],
        args: [...settings.args],
    };
}

/** Whether a change from `before` to `after` requires restarting the server. */
export function requiresRestart(before: ErrlintSettings, after: ErrlintSettings): boolean {
    return RESTART_SETTINGS.some((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

/** Whether the server command depends on the Python extension's selected interpreter. */
export function usesPythonExtensionInterpreter(settings: ErrlintSettings): boolean {
    return settings.path.length === 0 && settings.interpreter.length === 0;
}

/** Renders a command for logs, quoting arguments that contain spaces. */
export function formatCommand(command: string, args: readonly string[]): string {
    return [command, ...args].map((part) => (/[\s"']/.test(part) || part === '' ? JSON.stringify(part) : part)).join(' ');
}
