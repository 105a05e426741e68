import { accessSync, closeSync, constants, fsyncSync, openSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { DomainError } from '../domain-errors.js';

/** What is wrong with the data directory's storage, if anything. */
export type StorageState = 'ok' | 'full' | 'read_only' | 'missing';

const FULL = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT']);
const READ_ONLY = new Set(['EROFS', 'EACCES', 'EPERM']);

function codeOf(error: unknown): string | undefined {
  for (let cursor: unknown = error, depth = 0; cursor && depth < 4; cursor = (cursor as { cause?: unknown }).cause, depth++) {
    const code = (cursor as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Classifies an error from a write (SQLite's codes, or errno codes) as a storage problem. SQLite reports
 * a database file that was deleted or moved away under it as SQLITE_READONLY_DBMOVED (one of the
 * SQLITE_READONLY codes): a vanished data directory, told apart from a read-only one by looking.
 */
export function storageProblemOf(error: unknown, dataDir: string): Exclude<StorageState, 'ok'> | undefined {
  const code = codeOf(error);
  if (!code) return undefined;
  if (FULL.has(code)) return 'full';
  if (code === 'ENOENT' || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || READ_ONLY.has(code)) {
    return exists(path.join(dataDir, 'hotcert.db')) ? (code === 'ENOENT' ? undefined : 'read_only') : 'missing';
  }
  if (code.startsWith('SQLITE_IOERR')) {
    // SQLite says "disk I/O error" when it cannot extend its shared-memory file on a full file system,
    // or when the kernel turned the file system read-only under open files (ext4 errors=remount-ro).
    if (!exists(path.join(dataDir, 'hotcert.db'))) return 'missing';
    if (!canCreateIn(dataDir)) return 'read_only';
    return noFreeBlock(dataDir) ? 'full' : undefined;
  }
  return undefined;
}

/** False on a read-only file system (EROFS, even for root) or a directory this user may not write. */
function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a file can be created: ext4's emergency read-only state (after errors=remount-ro) refuses
 * writes with EROFS while access(W_OK) still says yes. Used only to classify a failed write.
 */
function canCreateIn(dir: string): boolean {
  const file = path.join(dir, '.storage-probe');
  try {
    closeSync(openSync(file, 'w', 0o600));
    unlinkSync(file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    return !(code === 'EROFS' || READ_ONLY.has(code));
  }
}

function noFreeBlock(dir: string): boolean {
  try {
    return statfsSync(dir).bavail === 0;
  } catch {
    return false;
  }
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

export const DESCRIPTIONS: Record<Exclude<StorageState, 'ok'>, string> = {
  full: 'is full (no space left on its file system)',
  read_only: 'is read-only',
  missing: 'has vanished (hotcert.db is gone)',
};

const LOG_EVERY_MS = 60_000;

/**
 * The state of the data directory's storage, for /v1/health, the metrics and 507 answers. A failed
 * write sets it; while it is not ok, each look re-checks the directory (a 64 KiB probe write), so
 * the server recovers by itself once space is freed (64 KiB or more). Between failures a look costs a stat, an access and a statfs.
 */
export function createStorageHealth(options: {
  dataDir: string;
  logger: Logger;
  clock?: () => number;
  onChange?: (state: StorageState) => void;
  /** False with PostgreSQL: DATA_DIR holds no hotcert.db, so only the directory itself can go missing. */
  databaseInDataDir?: boolean;
}) {
  const { dataDir, logger } = options;
  const mustExist = options.databaseInDataDir === false ? dataDir : path.join(dataDir, 'hotcert.db');
  const clock = options.clock ?? Date.now;
  let state: StorageState = 'ok';
  let lastLogged = -Infinity;

  function set(next: StorageState, code?: string): void {
    if (next !== state) {
      if (next === 'ok') logger.info({ event: 'storage.recovered', data_dir: dataDir }, 'the data directory is writable again');
      state = next;
      options.onChange?.(next);
    }
    if (next !== 'ok' && clock() - lastLogged >= LOG_EVERY_MS) {
      lastLogged = clock();
      logger.error({ event: 'storage.unavailable', data_dir: dataDir, problem: next, ...(code ? { code } : {}) }, `the data directory ${dataDir} ${DESCRIPTIONS[next]}; writes are refused with 507`);
    }
  }

  /** Looks at the directory itself: gone, not writable, no free block, or a probe write refused. */
  function look(probe: boolean): StorageState {
    if (!exists(mustExist)) return 'missing';
    if (!writable(dataDir)) return 'read_only';
    try {
      if (statfsSync(dataDir).bavail === 0) return 'full';
    } catch {
      return 'missing';
    }
    if (!probe) return 'ok';
    const file = path.join(dataDir, '.storage-probe');
    try {
      const fd = openSync(file, 'w', 0o600);
      try {
        // 64 KiB: a few free pages are not enough for SQLite to commit an upload, so they do not count as recovered.
        writeSync(fd, Buffer.alloc(64 * 1024));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
        unlinkSync(file);
      }
      return 'ok';
    } catch (error) {
      try {
        unlinkSync(file);
      } catch {
        // never created
      }
      return storageProblemOf(error, dataDir) ?? 'ok';
    }
  }

  return {
    /** Records a failed write; returns the problem when it is a storage problem. */
    noteError(error: unknown): Exclude<StorageState, 'ok'> | undefined {
      const problem = storageProblemOf(error, dataDir);
      if (problem) set(problem, codeOf(error));
      return problem;
    },
    /** The current state, re-checked (with a probe write while a problem is known). */
    current(): StorageState {
      set(look(state !== 'ok'));
      return state;
    },
    /** The 507 answer for a storage problem, naming the data directory. */
    error(problem: Exclude<StorageState, 'ok'>): DomainError {
      return new DomainError('storage', `the data directory ${dataDir} ${DESCRIPTIONS[problem]}; nothing was changed. Free space or fix the directory; hotcert recovers by itself`, { retryAfterSeconds: 60 });
    },
  };
}

export type StorageHealth = ReturnType<typeof createStorageHealth>;
