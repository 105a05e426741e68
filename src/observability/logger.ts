import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Standard output, written asynchronously: under load, lines queue while a write is in flight and
 * go out together, instead of one blocking write per request. Flushed when the process exits.
 */
export function stdoutDestination(): DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false });
  process.on('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // Nothing more can be done for a log line at exit.
    }
  });
  return destination;
}

/** JSON lines; the redact list is a second fence behind never logging secrets in the first place. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // "level":"info", not 30: what log collectors (Loki, Elastic, CloudWatch, …) expect.
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        // Top-level names only: wildcard paths cost on every line, and nothing nested is ever logged.
        paths: ['authorization', 'keyPem', 'password', 'token'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
