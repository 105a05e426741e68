import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { CertificateRow } from '../db/certificates-repo.js';
import type { TlsIdentity } from '../tls/tls-identity.js';
import { tryLoadIdentity } from './stored-identity.js';

export const LAST_KNOWN_GOOD_FILE = 'last-known-good.json';
const FORMAT = 1;

/** What this instance last served, as the database described it: enough to serve it again with no database. */
export interface LastKnownGood {
  row: CertificateRow;
  generation: number;
  fallbackReason: string | null;
}

interface FileShape {
  format: number;
  generation: number;
  fallback_reason: string | null;
  version: Omit<CertificateRow, 'keySealed'> & { keySealed: string };
}

/**
 * With a shared database (PostgreSQL), each instance keeps the bundle it serves in its own DATA_DIR so
 * that a database outage never stops it from booting (issue 13 item 4). The key stays sealed under the
 * fleet's master key; the file is replaced atomically (temp file, fsync, rename) and readable by the owner only.
 */
export function createLastKnownGood(deps: { dataDir: string; logger: Logger }) {
  const file = path.join(deps.dataDir, LAST_KNOWN_GOOD_FILE);
  let writing = Promise.resolve();
  let latest: LastKnownGood | undefined;

  function writeNow(entry: LastKnownGood): void {
    const shape: FileShape = {
      format: FORMAT,
      generation: entry.generation,
      fallback_reason: entry.fallbackReason,
      version: { ...entry.row, keySealed: entry.row.keySealed.toString('base64') },
    };
    const temp = `${file}.${process.pid}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(shape));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
    // The rename itself must survive a power cut, or a reboot could find the previous file (or none).
    const dir = openSync(deps.dataDir, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }

  return {
    file,

    /**
     * Records a version this process now serves. Off the activation's critical path, in order, the
     * newest wins; a failure is logged and never undoes the swap (the database still has the version).
     */
    remember(entry: LastKnownGood): Promise<void> {
      latest = entry;
      writing = writing.then(() => {
        if (latest !== entry) return;
        try {
          writeNow(entry);
        } catch (error) {
          rmSync(`${file}.${process.pid}.tmp`, { force: true });
          deps.logger.error({ event: 'last_known_good.write_failed', code: (error as NodeJS.ErrnoException).code, version: entry.row.version }, 'last-known-good certificate could not be written');
        }
      });
      return writing;
    },

    /** Resolves once every `remember` so far is on disk. */
    flushed: () => writing,

    /** The stored bundle as a servable identity, or why not (absent, damaged, another master key). Never throws. */
    load(masterKey: Buffer): { entry: LastKnownGood; identity: TlsIdentity } | { problem: string } {
      let shape: FileShape;
      try {
        shape = JSON.parse(readFileSync(file, 'utf8')) as FileShape;
      } catch (error) {
        return { problem: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'this instance has no last-known-good certificate yet' : `${LAST_KNOWN_GOOD_FILE} cannot be read` };
      }
      const version = shape?.version;
      if (shape?.format !== FORMAT || typeof version?.keySealed !== 'string' || typeof version.fingerprint !== 'string' || typeof version.version !== 'number') {
        return { problem: `${LAST_KNOWN_GOOD_FILE} is damaged` };
      }
      const row: CertificateRow = { ...version, keySealed: Buffer.from(version.keySealed, 'base64') };
      const loaded = tryLoadIdentity(row, masterKey);
      if ('problem' in loaded) return { problem: `${LAST_KNOWN_GOOD_FILE}: ${loaded.problem}` };
      return { entry: { row, generation: Number(shape.generation) || 0, fallbackReason: shape.fallback_reason ?? null }, identity: loaded.identity };
    },
  };
}

export type LastKnownGoodFile = ReturnType<typeof createLastKnownGood>;
