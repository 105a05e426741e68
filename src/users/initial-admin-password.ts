import { readFileSync } from 'node:fs';
import { describeFsError } from '../describe-fs-error.js';
import { describePasswordProblems, passwordProblems } from './password-policy.js';

/** Why the initial admin password cannot be used; config.ts turns it into a ConfigError (one line, exit 2). */
export class InitialAdminPasswordError extends Error {
  override name = 'InitialAdminPasswordError';
}

/**
 * ADMIN_PASSWORD or ADMIN_PASSWORD_FILE (the Docker secrets convention), never both. The file's trailing
 * line end is dropped; anything else, white space included, is part of the password.
 */
export function initialAdminPassword(
  env: Record<string, string | undefined>,
  readFile: (file: string) => string = (file) => readFileSync(file, 'utf8'),
): string | undefined {
  const direct = env.ADMIN_PASSWORD === '' ? undefined : env.ADMIN_PASSWORD;
  const file = env.ADMIN_PASSWORD_FILE?.trim() || undefined;
  if (direct !== undefined && file !== undefined) {
    throw new InitialAdminPasswordError('set ADMIN_PASSWORD or ADMIN_PASSWORD_FILE, not both');
  }
  let password = direct;
  let source = 'ADMIN_PASSWORD';
  if (file !== undefined) {
    source = 'ADMIN_PASSWORD_FILE';
    try {
      password = readFile(file).replace(/\r?\n$/, '');
    } catch (error) {
      throw new InitialAdminPasswordError(`ADMIN_PASSWORD_FILE ${file} cannot be read: ${describeFsError(error)}`);
    }
  }
  if (password === undefined) return undefined;
  const problems = passwordProblems(password);
  if (problems.length > 0) throw new InitialAdminPasswordError(`${source}: ${describePasswordProblems(problems)}`);
  return password;
}
