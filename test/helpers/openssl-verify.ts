import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What `openssl verify -purpose sslserver -CAfile root -untrusted intermediates leaf` says of a chain: the
 * reference TLS clients' verdict that hotcert's rules are compared with. Fails clearly without openssl.
 */
export async function opensslVerify(chain: { root: string; intermediates: string[]; leaf: string }): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hotcert-verify-'));
  try {
    const root = join(dir, 'root.pem');
    const untrusted = join(dir, 'untrusted.pem');
    const leaf = join(dir, 'leaf.pem');
    writeFileSync(root, chain.root);
    writeFileSync(untrusted, chain.intermediates.join('\n'));
    writeFileSync(leaf, chain.leaf);
    const args = ['verify', '-purpose', 'sslserver', '-CAfile', root, ...(chain.intermediates.length > 0 ? ['-untrusted', untrusted] : []), leaf];
    return await new Promise((resolve, reject) => {
      execFile('openssl', args, (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error('openssl is missing: install the Debian package openssl'));
          return;
        }
        resolve({ ok: !error && stdout.trim().endsWith(': OK'), output: `${stdout}${stderr}`.trim() });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs openssl with `args`: its output, or a clear failure (naming the Debian package when it is missing). */
export function openssl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error('openssl is missing: install the Debian package openssl'));
      if (error) return reject(new Error(`openssl ${args[0]} failed: ${stderr}`));
      resolve(`${stdout}${stderr}`);
    });
  });
}
