const known: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a path component is not a directory',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  SQLITE_CANTOPEN: 'the database file cannot be opened',
  SQLITE_READONLY: 'the database is read-only',
};

/** "no such file" for ENOENT: words for an operator, never a raw error code or a stack. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code && known[code]) return known[code];
  // Node's messages read "EXDEV: cross-device link not permitted, rename …": keep the words only.
  const words = /^[A-Z]+: ([^,]+)/.exec((error as Error | undefined)?.message ?? '')?.[1];
  return words ?? 'unreadable';
}
