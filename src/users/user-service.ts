import type { AuditStore, TokenStore, UserStore } from '../db/ports.js';
import { createHash, randomBytes, randomInt } from 'node:crypto';

import { isDatabaseUnavailable } from '../db/database-unavailable.js';
import type { Role, UserRow } from '../db/users-repo.js';
import { DomainError } from '../domain-errors.js';
import type { Logger } from 'pino';
import { normaliseUsername, type LoginThrottle } from './login-throttle.js';
import { decoyHash, hashPassword, verifyPassword } from './password-hash.js';

export const DEFAULT_ADMIN = 'admin';
export const DEFAULT_ADMIN_PASSWORD = 'secret';
export const TOKEN_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** How long a token the database confirmed may still open reads while the database is unreachable. */
export const RECENT_VERDICT_MS = 10 * 60 * 1000;
const MAX_VERDICTS = 10_000;

export interface AuthenticatedUser {
  id: number;
  username: string;
  role: Role;
  tokenHash: string;
}

export interface UserServiceDeps {
  users: UserStore;
  tokens: TokenStore;
  audit: AuditStore;
  throttle: LoginThrottle;
  logger?: Logger | undefined;
  clock: () => number;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** "2026-12-05 10:00:00+00:00", the WhatsApp API's expires_after format. */
export function formatExpiry(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '+00:00');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createUserService({ users, tokens, audit, throttle, logger, clock }: UserServiceDeps) {
  /** Tokens the database confirmed in this process, by hash, oldest first: only ever used while it is unreachable. */
  const verdicts = new Map<string, { user: AuthenticatedUser; at: number }>();
  let setupRequiredWas = true;

  function rememberVerdict(user: AuthenticatedUser): void {
    verdicts.delete(user.tokenHash);
    verdicts.set(user.tokenHash, { user, at: clock() });
    for (const [hash, verdict] of verdicts) {
      if (verdicts.size <= MAX_VERDICTS && clock() - verdict.at <= RECENT_VERDICT_MS) break;
      verdicts.delete(hash);
    }
  }

  /** Failed logins and lockouts leave a trace: normalised name (bounded) and address, never the password. */
  async function recordFailure(username: string, address: string, outcome: { locked: string[]; lockMs: number }): Promise<void> {
    const name = normaliseUsername(username).slice(0, 64);
    await audit.record({ actor: name, action: 'user.login_failed', clientAddress: address, details: { username: name } });
    logger?.warn({ event: 'user.login_failed', username: name, client_address: address }, 'login failed');
    if (outcome.locked.length === 0) return;
    const details = { username: name, scope: outcome.locked, lock_seconds: Math.ceil(outcome.lockMs / 1000) };
    await audit.record({ actor: name, action: 'user.login_locked', clientAddress: address, details });
    logger?.warn({ event: 'user.login_locked', client_address: address, ...details }, 'login locked after repeated failures');
  }

  async function issueToken(user: UserRow) {
    const token = randomBytes(32).toString('base64url');
    const now = clock();
    const expiresAt = now + TOKEN_TTL_MS;
    // Logins are where tokens are made, so they are where expired ones go; a slow timer covers quiet servers.
    await tokens.purgeExpired(now);
    const tokenHash = hashToken(token);
    await tokens.insert({ tokenHash, userId: user.id, now, expiresAt });
    return { token, expiresAt, tokenHash };
  }

  /** A stolen token alone must not be enough to take over the account: one's own change proves the old password. */
  async function requireCurrentPassword(user: UserRow, current: string | undefined, address: string): Promise<void> {
    if (current === undefined) throw new DomainError('missing-input', 'current_password is required to change your own password');
    const attempt = await throttle.reserve(user.username, address);
    if (!attempt.ok) throw new DomainError('too-many-attempts', 'too many wrong passwords; wait before trying again', { retryAfterSeconds: attempt.retryAfterSeconds });
    if (!(await verifyPassword(current, user.passwordHash))) {
      await recordFailure(user.username, address, attempt.failed());
      throw new DomainError('forbidden', 'current_password is not your current password');
    }
    await attempt.succeeded();
  }

  return {
    /** Deletes tokens that have expired (login does it too; the server also runs it on a slow timer). */
    async purgeExpiredTokens(): Promise<void> {
      await tokens.purgeExpired(clock());
    },

    /**
     * Creates the admin when none exists yet: with `initialPassword` (ADMIN_PASSWORD) ready to use, else
     * admin/secret that must be changed at the first login. Answers whether this call created it.
     */
    async ensureDefaultAdmin(initialPassword?: string): Promise<boolean> {
      if (await users.findByName(DEFAULT_ADMIN)) return false;
      const inserted = await users.insert({
        username: DEFAULT_ADMIN,
        passwordHash: await hashPassword(initialPassword ?? DEFAULT_ADMIN_PASSWORD),
        role: 'ROLE_ADMIN',
        mustChangePassword: initialPassword === undefined,
        now: clock(),
      });
      if (inserted) {
        const details = { username: DEFAULT_ADMIN, password_source: initialPassword === undefined ? 'default' : 'ADMIN_PASSWORD' };
        await audit.record({ actor: 'system', action: 'user.created', details });
      }
      return inserted !== undefined;
    },

    /** True while the admin has not chosen a password yet (the default admin/secret, or a one-time reset password). */
    async setupRequired(): Promise<boolean> {
      try {
        setupRequiredWas = (await users.findByName(DEFAULT_ADMIN))?.mustChangePassword ?? true;
      } catch (error) {
        // Health must answer during a database outage: the last answer stands until it is back.
        if (!isDatabaseUnavailable(error)) throw error;
      }
      return setupRequiredWas;
    },

    async login(credentials: { username: string; password: string }, newPassword: string | undefined, address: string) {
      // Check and count are one atomic write in the shared database, so a burst (to any process of the fleet) cannot slip in between.
      const attempt = await throttle.reserve(credentials.username, address);
      if (!attempt.ok) throw new DomainError('too-many-attempts', 'too many failed logins; wait before trying again', { retryAfterSeconds: attempt.retryAfterSeconds });
      if (attempt.delayMs > 0) await sleep(attempt.delayMs);
      const user = await users.findByName(credentials.username);
      const ok = await verifyPassword(credentials.password, user?.passwordHash ?? decoyHash);
      if (!user || !ok) {
        await recordFailure(credentials.username, address, attempt.failed());
        throw new DomainError('unauthenticated', 'invalid username or password', { credentials: 'password' });
      }
      await attempt.succeeded();
      let changed = false;
      if (newPassword !== undefined) {
        if (newPassword === credentials.password) throw new DomainError('invalid-input', 'new_password must differ from the current password');
        await users.setPassword(user.id, await hashPassword(newPassword), false, clock());
        changed = true;
      } else if (user.mustChangePassword) {
        throw new DomainError('password-change-required', 'this password must be changed: log in again with {"new_password": "..."} in the body');
      }
      const issued = await issueToken(user);
      await audit.record({
        actor: user.username,
        action: changed ? 'user.password_changed' : 'user.login',
        clientAddress: address,
        details: {},
      });
      return { token: issued.token, expiresAfter: formatExpiry(issued.expiresAt) };
    },

    /**
     * The user a token belongs to. With `readOnly` (a GET), while the database is unreachable, a token
     * this process verified within RECENT_VERDICT_MS is still accepted; writes never get that grace.
     */
    async authenticate(token: string, options: { readOnly?: boolean } = {}): Promise<AuthenticatedUser | undefined> {
      const tokenHash = hashToken(token);
      let found;
      try {
        found = await tokens.findUser(tokenHash, clock());
      } catch (error) {
        const verdict = verdicts.get(tokenHash);
        if (options.readOnly && isDatabaseUnavailable(error) && verdict && clock() - verdict.at <= RECENT_VERDICT_MS) return verdict.user;
        throw error;
      }
      if (!found) {
        verdicts.delete(tokenHash);
        return undefined;
      }
      const user = { id: found.id, username: found.username, role: found.role, tokenHash };
      rememberVerdict(user);
      return user;
    },

    /** Users or tokens changed somewhere in the fleet: no earlier verdict may open a read any more. */
    forgetVerifiedTokens(): void {
      verdicts.clear();
    },

    async logout(user: AuthenticatedUser, address: string): Promise<void> {
      verdicts.delete(user.tokenHash);
      await tokens.revoke(user.tokenHash);
      await audit.record({ actor: user.username, action: 'user.logout', clientAddress: address });
    },

    async create(actor: AuthenticatedUser, body: { username: string; password: string }, address: string) {
      if (actor.role !== 'ROLE_ADMIN') throw new DomainError('forbidden', 'only an admin can create users');
      const passwordHash = await hashPassword(body.password);
      // Checked after the await, right before the insert, so no other create slips in between.
      const wanted = normaliseUsername(body.username);
      const twin = (await users.names()).find((name) => normaliseUsername(name) === wanted);
      if (twin !== undefined) throw new DomainError('conflict', `user ${twin} already exists (names differing only in case, white space or Unicode form are the same name)`);
      const inserted = await users.insert({
        username: body.username,
        passwordHash,
        role: 'ROLE_USER',
        mustChangePassword: false,
        now: clock(),
      });
      if (!inserted) throw new DomainError('conflict', `user ${body.username} already exists`);
      await audit.record({ actor: actor.username, action: 'user.created', clientAddress: address, details: { username: inserted.username } });
      return { username: inserted.username };
    },

    async get(actor: AuthenticatedUser, username: string) {
      if (actor.role !== 'ROLE_ADMIN' && actor.username !== username) throw new DomainError('forbidden', 'you may only read your own user');
      const user = await users.findByName(username);
      if (!user) throw new DomainError('not-found', `user ${username} does not exist`);
      return { username: user.username, ROLES: user.role };
    },

    async update(actor: AuthenticatedUser, username: string, body: { password: string; current_password?: string | undefined }, address: string) {
      if (actor.role !== 'ROLE_ADMIN' && actor.username !== username) throw new DomainError('forbidden', 'you may only change your own user');
      const user = await users.findByName(username);
      if (!user) throw new DomainError('not-found', `user ${username} does not exist`);
      const { password } = body;
      if (actor.id === user.id) await requireCurrentPassword(user, body.current_password, address);
      const keep = actor.id === user.id ? actor.tokenHash : undefined;
      await users.setPassword(user.id, await hashPassword(password), false, clock(), keep);
      await audit.record({ actor: actor.username, action: 'user.password_changed', clientAddress: address, details: { username } });
      return { username: user.username };
    },

    async delete(actor: AuthenticatedUser, username: string, address: string): Promise<void> {
      if (actor.role !== 'ROLE_ADMIN') throw new DomainError('forbidden', 'only an admin can delete users');
      if (username === DEFAULT_ADMIN) throw new DomainError('invalid-input', 'the admin user cannot be deleted');
      const user = await users.findByName(username);
      if (!user) throw new DomainError('not-found', `user ${username} does not exist`);
      await users.delete(user.id);
      await audit.record({ actor: actor.username, action: 'user.deleted', clientAddress: address, details: { username } });
    },

    /** CLI recovery: a one-time admin password that must be changed at the next login. */
    async resetAdminPassword(): Promise<string> {
      const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';
      const body = Array.from({ length: 16 }, () => alphabet[randomInt(alphabet.length)]).join('');
      const password = `${body}-7aA`;
      await this.ensureDefaultAdmin();
      const admin = (await users.findByName(DEFAULT_ADMIN))!;
      await users.setPassword(admin.id, await hashPassword(password), true, clock());
      // The counters live in the database: clearing them frees every process of every instance at once.
      await throttle.clear();
      await audit.record({ actor: 'cli', action: 'user.password_reset', details: { username: DEFAULT_ADMIN } });
      return password;
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
