/**
 * A request body Node could not read because of the client: a malformed body (Node's HTTP parser
 * rejects it and closes the connection, so our read ends with "aborted"), or a client that hung
 * up mid-body. These are the client's fault, never an internal error.
 */
export function isClientBodyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('HPE_') || code === 'ECONNRESET' || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}
