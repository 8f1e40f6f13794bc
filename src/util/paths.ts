import path from 'node:path';

/** Every file telepty touches. TELEPTY_HOME puts all of them in one folder (tests use a temp dir). */
export interface TeleptyPaths {
  dataDir: string;
  configDir: string;
  logDir: string;
  /** The singleton claim. */
  stateFile: string;
  /** Held for a moment while a stale claim is replaced. */
  stateLockFile: string;
  tokenFile: string;
  sessionsFile: string;
  handoffsFile: string;
  threadsFile: string;
  /** Prompts held for idle (`when: "idle"`), kept until handed on: a killed daemon leaves them to the next. */
  heldPromptsFile: string;
  /** Routed turns whose turn_complete is still owed, kept until it is published: a killed daemon leaves them to the next. */
  turnFollowsFile: string;
  daemonLog: string;
  /** One log per detached session host. */
  hostLogDir: string;
  /** Where recordings go when no file is named (TELEPTY_RECORD_DIR, else `<data dir>/recordings`). */
  recordDir: string;
}

/** What to do about a home telepty cannot write (a read-only disk, a folder of someone else's). */
export const UNUSABLE_HOME_FIX = 'set TELEPTY_HOME to a folder you can write (or unset it)';

/** Paths for this environment; env-paths (platform folders) is loaded only when TELEPTY_HOME is unset. */
export async function resolvePaths(env: NodeJS.ProcessEnv = process.env): Promise<TeleptyPaths> {
  const home = env.TELEPTY_HOME;
  if (home) {
    const root = path.resolve(home);
    return build(root, root, root, env.TELEPTY_RECORD_DIR);
  }
  const { default: envPaths } = await import('env-paths');
  const p = envPaths('telepty', { suffix: '' });
  return build(p.data, p.config, p.log, env.TELEPTY_RECORD_DIR);
}

function build(dataDir: string, configDir: string, logDir: string, recordDir: string | undefined): TeleptyPaths {
  return {
    dataDir,
    configDir,
    logDir,
    stateFile: path.join(dataDir, 'daemon.json'),
    stateLockFile: path.join(dataDir, 'daemon.json.lock'),
    tokenFile: path.join(configDir, 'token'),
    sessionsFile: path.join(dataDir, 'sessions.json'),
    handoffsFile: path.join(dataDir, 'handoffs.json'),
    threadsFile: path.join(dataDir, 'threads.json'),
    heldPromptsFile: path.join(dataDir, 'held-prompts.json'),
    turnFollowsFile: path.join(dataDir, 'turn-follows.json'),
    daemonLog: path.join(logDir, 'daemon.log'),
    hostLogDir: path.join(logDir, 'hosts'),
    recordDir: recordDir ? path.resolve(recordDir) : path.join(dataDir, 'recordings'),
  };
}

/**
 * The id of a home: derived from its data folder, so every CLI, host and daemon of one TELEPTY_HOME agrees.
 * node:crypto and fs/promises are loaded only here (not on the fast inject path, which never needs it).
 */
export async function homeId(paths: Pick<TeleptyPaths, 'dataDir'>): Promise<string> {
  const [{ createHash }, { realpath }] = await Promise.all([import('node:crypto'), import('node:fs/promises')]);
  // Two spellings of one folder (a symlink) are one home.
  const folder = await realpath(paths.dataDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return path.resolve(paths.dataDir);
    throw err;
  });
  return createHash('sha256').update(folder).digest('hex').slice(0, 16);
}
