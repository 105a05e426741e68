/**
 * The shared database (PostgreSQL) cannot be reached: refused, reset, shut down, timed out. Serving goes
 * on with what this process holds; changes are refused (503 with Retry-After) and nothing is half-written.
 */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  readonly code: string | undefined;
  constructor(message = 'the database is unreachable', code?: string) {
    super(message);
    this.code = code;
  }
}

/** Socket-level failures of the connection, and PostgreSQL's SQLSTATE classes 08 (connection) and 57P (shutdown). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || code.startsWith('57P'))) return true;
  const message = (error as { message?: unknown }).message;
  // node-postgres reports a connection lost mid-query without a code.
  if (typeof message === 'string' && /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message)) return true;
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isDatabaseUnavailable(cause);
}

/** The error to throw instead: never the driver's own (its message may quote a query or its parameters). */
export function asDatabaseUnavailable(error: unknown): DatabaseUnavailableError {
  if (error instanceof DatabaseUnavailableError) return error;
  const code = (error as { code?: unknown }).code;
  return new DatabaseUnavailableError('the database is unreachable', typeof code === 'string' ? code : undefined);
}
