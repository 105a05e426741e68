/**
 * The one channel every PostgreSQL write that other instances must apply notifies, inside its own
 * transaction (`SELECT pg_notify(CHANGES_CHANNEL, kind)`), so the notification is sent if and only if
 * the change committed. Each instance LISTENs on one dedicated connection (db/postgres/change-feed.ts).
 */
export const CHANGES_CHANNEL = 'hotcert_changes';

/** What changed: the certificate (activation, rollback, reset), the webhook trust store, users or tokens. */
export type ChangeKind = 'certificate' | 'webhook_ca' | 'users';

export const CHANGE_KINDS: readonly ChangeKind[] = ['certificate', 'webhook_ca', 'users'];

export function isChangeKind(value: string): value is ChangeKind {
  return (CHANGE_KINDS as readonly string[]).includes(value);
}
