import pino, { type DestinationStream, type Logger } from 'pino';

/** JSON lines; the redact list is a second fence behind never logging secrets in the first place. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['authorization', '*.authorization', 'headers.authorization', 'keyPem', '*.keyPem', 'password', '*.password', 'token', '*.token'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
