import type { Logger } from 'pino';
import type { UserService } from './user-service.js';

/**
 * While the admin still has the default (or a one-time) password, say so at start and then every
 * `intervalMs` (a minute by default), so a server left on admin/secret is noticed in its logs.
 */
export function startSetupWarning({ users, logger, intervalMs = 60_000 }: { users: Pick<UserService, 'setupRequired'>; logger: Logger; intervalMs?: number | undefined }): () => void {
  const warn = async () => {
    if (!(await users.setupRequired())) return;
    logger.warn(
      { event: 'setup.required' },
      'the admin password has not been set: log in as admin with {"new_password": "..."}, or start with ADMIN_PASSWORD_FILE',
    );
  };
  const check = () => void warn().catch(() => undefined);
  check();
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
