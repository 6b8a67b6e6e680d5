import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { CliIo } from './cli-io';
import { CliError, UsageError } from './cli-errors';

/** The SQLite file used when nothing else is configured, relative to the working directory. */
export const DEFAULT_DB_FILE = 'tokenvault.db';
/** The config file read from the working directory when neither `--config` nor `TOKENVAULT_CONFIG` names one. */
export const DEFAULT_CONFIG_FILE = 'tokenvault.config.json';

/** The environment variables the CLI reads. */
export const ENV = {
  db: 'TOKENVAULT_DB',
  postgresUrl: 'TOKENVAULT_POSTGRES_URL',
  config: 'TOKENVAULT_CONFIG',
  client: 'TOKENVAULT_CLIENT',
  clientSecret: 'TOKENVAULT_CLIENT_SECRET',
  keys: 'TOKENVAULT_KEYS',
  keysFile: 'TOKENVAULT_KEYS_FILE',
} as const;

/** Where a setting came from, strongest first. */
export type ConfigOrigin = 'flag' | 'environment' | 'config file' | 'default';

/** Settings given on the command line (global flags, plus `--client` where a command has it). */
export interface ConfigFlags {
  readonly db?: string | undefined;
  readonly postgres?: string | undefined;
  readonly config?: string | undefined;
  readonly client?: string | undefined;
  /** `--keys-file`: a file holding the key ring (`TOKENVAULT_KEYS` format). */
  readonly keysFile?: string | undefined;
  /** `--insecure-no-encryption`: store secrets unencrypted (refused together with keys). */
  readonly insecureNoEncryption?: boolean | undefined;
}

/** Where grants and clients are kept. */
export type StoreLocation =
  | { readonly kind: 'sqlite'; readonly filename: string; readonly display: string; readonly origin: ConfigOrigin }
  | { readonly kind: 'postgres'; readonly connectionString: string; readonly display: string; readonly origin: ConfigOrigin };

/**
 * How the store's secrets are protected: a key ring (its text, and where it came from, for messages),
 * the explicit opt-out, or nothing configured (commands that open a store then refuse).
 */
export type EncryptionConfig =
  | { readonly kind: 'keys'; readonly keys: string; readonly source: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'missing' };

/** The configuration a command runs with. */
export interface CliConfig {
  readonly store: StoreLocation;
  readonly encryption: EncryptionConfig;
  /** The client `authorize` uses when `--client` is not given. */
  readonly client: string | undefined;
  /** The config file read, if any (absolute). */
  readonly configFile: string | undefined;
}

/** What a config file may hold. Relative `db` paths are relative to the file's own directory. */
interface ConfigFile {
  readonly db?: string;
  readonly postgresUrl?: string;
  readonly client?: string;
  /** A file holding the key ring. Keys themselves are never accepted in the config file, which tends to be committed. */
  readonly keysFile?: string;
}

const CONFIG_KEYS: readonly (keyof ConfigFile)[] = ['db', 'postgresUrl', 'client', 'keysFile'];

/**
 * Resolves the configuration: flags, then environment variables, then the config file, then the
 * defaults. The store is chosen as a whole at the strongest level that names one, so `--db` beats a
 * `TOKENVAULT_POSTGRES_URL` in the environment; naming both kinds at one level is an error.
 *
 * @example
 * const config = await loadConfig({ db: 'grants.db' }, io);
 * config.store // { kind: 'sqlite', filename: '/work/grants.db', display: './grants.db', origin: 'flag' }
 */
export async function loadConfig(flags: ConfigFlags, io: CliIo): Promise<CliConfig> {
  const env = (name: string): string | undefined => {
    const value = io.env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const configPath = flags.config ?? env(ENV.config);
  const configFile = configPath !== undefined ? resolve(io.cwd, configPath) : defaultConfigFile(io.cwd);
  const file = configFile === undefined ? {} : await readConfigFile(configFile, configPath !== undefined);
  const fileDir = configFile === undefined ? io.cwd : dirname(configFile);

  if (flags.db !== undefined && flags.postgres !== undefined) throw new UsageError('--db and --postgres cannot be used together');
  const levels: readonly { origin: ConfigOrigin; db: string | undefined; postgres: string | undefined; base: string }[] = [
    { origin: 'flag', db: flags.db, postgres: flags.postgres, base: io.cwd },
    { origin: 'environment', db: env(ENV.db), postgres: env(ENV.postgresUrl), base: io.cwd },
    { origin: 'config file', db: file.db, postgres: file.postgresUrl, base: fileDir },
    { origin: 'default', db: DEFAULT_DB_FILE, postgres: undefined, base: io.cwd },
  ];
  let store: StoreLocation | undefined;
  for (const level of levels) {
    if (level.db !== undefined && level.postgres !== undefined) {
      throw new CliError(
        level.origin === 'environment'
          ? `${ENV.db} and ${ENV.postgresUrl} are both set; unset one`
          : `the config file ${displayPath(configFile ?? '', io.cwd)} names both "db" and "postgresUrl"; keep one`,
      );
    }
    if (level.postgres !== undefined) {
      store = { kind: 'postgres', connectionString: level.postgres, display: redactConnectionString(level.postgres), origin: level.origin };
      break;
    }
    if (level.db !== undefined) {
      const filename = resolve(level.base, level.db);
      store = { kind: 'sqlite', filename, display: displayPath(filename, io.cwd), origin: level.origin };
      break;
    }
  }
  return {
    store: store as StoreLocation,
    encryption: await encryptionConfig(flags, env, file, fileDir, io),
    client: flags.client ?? env(ENV.client) ?? file.client,
    configFile,
  };
}

/**
 * The key ring, strongest first: `--keys-file`, `TOKENVAULT_KEYS`, `TOKENVAULT_KEYS_FILE`, the config
 * file's `keysFile`. `--insecure-no-encryption` is refused beside any of them: which one was meant?
 */
async function encryptionConfig(
  flags: ConfigFlags,
  env: (name: string) => string | undefined,
  file: ConfigFile,
  fileDir: string,
  io: CliIo,
): Promise<EncryptionConfig> {
  const inline = env(ENV.keys);
  const keyFile =
    flags.keysFile !== undefined
      ? { path: resolve(io.cwd, flags.keysFile), source: '--keys-file' }
      : inline !== undefined
        ? undefined
        : env(ENV.keysFile) !== undefined
          ? { path: resolve(io.cwd, env(ENV.keysFile) as string), source: ENV.keysFile }
          : file.keysFile !== undefined
            ? { path: resolve(fileDir, file.keysFile), source: 'the config file\'s "keysFile"' }
            : undefined;
  if (flags.insecureNoEncryption) {
    if (keyFile !== undefined || inline !== undefined) {
      throw new UsageError(`--insecure-no-encryption cannot be used with keys (${keyFile?.source ?? ENV.keys}): drop one`);
    }
    return { kind: 'none' };
  }
  if (keyFile === undefined) return inline === undefined ? { kind: 'missing' } : { kind: 'keys', keys: inline, source: ENV.keys };
  let text: string;
  try {
    text = await readFile(keyFile.path, 'utf8');
  } catch (cause) {
    throw new CliError(`cannot read the key file ${displayPath(keyFile.path, io.cwd)} (${(cause as NodeJS.ErrnoException).code ?? 'unknown error'}), named by ${keyFile.source}`, { cause });
  }
  const mode = (await stat(keyFile.path)).mode;
  if ((mode & 0o077) !== 0) {
    io.stderr.write(`warning: the key file ${displayPath(keyFile.path, io.cwd)} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it\n`);
  }
  return { kind: 'keys', keys: text, source: `${keyFile.source} (${displayPath(keyFile.path, io.cwd)})` };
}

function defaultConfigFile(cwd: string): string | undefined {
  const candidate = resolve(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(candidate) ? candidate : undefined;
}

async function readConfigFile(path: string, named: boolean): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'ENOENT' && named ? `config file ${path} does not exist` : `cannot read config file ${path} (${code ?? 'unknown error'})`,
      { cause },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new CliError(`config file ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`config file ${path} must hold a JSON object`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key.startsWith('$')) continue; // "$schema" and comments by convention
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new CliError(`config file ${path}: unknown key "${key}" (known: ${CONFIG_KEYS.join(', ')})`);
    }
    if (typeof value !== 'string' || value === '') throw new CliError(`config file ${path}: "${key}" must be a non-empty string`);
    out[key] = value;
  }
  return out;
}

/**
 * A path as the user would type it: relative to `cwd` (with `./`) when it lies below it, else absolute.
 *
 * @example
 * displayPath('/work/app/tokenvault.db', '/work/app') // './tokenvault.db'
 */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : `./${rel}`;
}

/**
 * A PostgreSQL connection string without its password, fit to print.
 *
 * @example
 * redactConnectionString('postgres://app:hunter2@db:5432/vault') // 'postgres://app:***@db:5432/vault'
 */
export function redactConnectionString(connectionString: string): string {
  if (URL.canParse(connectionString)) {
    const url = new URL(connectionString);
    if (url.password !== '') url.password = '***';
    for (const key of [...url.searchParams.keys()]) if (/pass/i.test(key)) url.searchParams.set(key, '***');
    return url.toString();
  }
  return connectionString.replace(/(password\s*=\s*)(?:'[^']*'|\S+)/gi, '$1***');
}
