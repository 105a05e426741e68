import type { AuditEntry, AuditRecord } from './audit-repo.js';
import type { ActivationWrite, ActivationWritten, CertificateRow, StateRow } from './certificates-repo.js';
import type { NewPendingKey, PendingKeyRow } from './pending-keys-repo.js';
import type { Role, UserRow } from './users-repo.js';

/**
 * What the services need from storage, and nothing about how it is kept. Every method returns a
 * Promise, and every change that must be atomic is one method (`activate`, `setPassword`, …), so a
 * PostgreSQL implementation is an addition next to the SQLite one, not a rewrite of the services.
 */

export interface CertificateStore {
  /** Which version is active, the fallback reason and the certificate generation. */
  state(): Promise<StateRow>;
  /** The certificate generation alone: read by every sync tick, so it must be cheap. */
  generation(): Promise<number>;
  active(): Promise<CertificateRow | undefined>;
  get(version: number): Promise<CertificateRow | undefined>;
  /** Every version, newest first. */
  history(): Promise<CertificateRow[]>;
  /** The one write of an activation: If-Match, insert or re-activate, generation, audit, ticket keys; all or nothing. */
  activate(write: ActivationWrite): Promise<ActivationWritten>;
}

export interface UserStore {
  findByName(username: string): Promise<UserRow | undefined>;
  findById(id: number): Promise<UserRow | undefined>;
  /** undefined when the name is taken. */
  insert(user: { username: string; passwordHash: string; role: Role; mustChangePassword: boolean; now: number }): Promise<UserRow | undefined>;
  /** Sets the password and revokes every token of the user except `keepTokenHash`, atomically. */
  setPassword(id: number, passwordHash: string, mustChangePassword: boolean, now: number, keepTokenHash?: string): Promise<void>;
  delete(id: number): Promise<boolean>;
  names(): Promise<string[]>;
  count(): Promise<number>;
}

export interface TokenStore {
  insert(token: { tokenHash: string; userId: number; now: number; expiresAt: number }): Promise<void>;
  /** The user behind a live token: runs on every authenticated request, so it must be one indexed read. */
  findUser(tokenHash: string, now: number): Promise<UserRow | undefined>;
  revoke(tokenHash: string): Promise<void>;
  purgeExpired(now: number): Promise<void>;
}

export interface AuditStore {
  record(entry: AuditEntry): Promise<void>;
  recent(limit: number): Promise<AuditRecord[]>;
}

export interface SettingsStore {
  get(name: string): Promise<{ value: Buffer; updatedAt: number } | undefined>;
  set(name: string, value: Buffer): Promise<void>;
  /** Replaces the value only if nobody wrote it since `expectedUpdatedAt` (of several processes, one wins). */
  replaceIfUnchanged(name: string, value: Buffer, expectedUpdatedAt: number | undefined, now?: number): Promise<boolean>;
  /** Stores `value` unless the name is already set; returns what is stored now. */
  putIfAbsent(name: string, value: Buffer, now?: number): Promise<Buffer>;
}

export interface WebhookCaStore {
  /** The trust store's own generation (separate from the certificate's). */
  generation(): Promise<number>;
  get(): Promise<string | null>;
  /** Each returns the new generation. */
  set(pem: string, fingerprints: string[], audit: AuditEntry): Promise<number>;
  clear(audit: AuditEntry): Promise<number>;
}

export interface PendingKeyStore {
  insert(row: NewPendingKey, audit: AuditEntry): Promise<PendingKeyRow>;
  list(now: number): Promise<PendingKeyRow[]>;
  findBySpki(spkiSha256: string[], now: number): Promise<PendingKeyRow | undefined>;
  remove(id: number, audit: AuditEntry): Promise<void>;
  discard(id: number, audit: AuditEntry): Promise<boolean>;
  purgeExpired(now: number): Promise<number>;
}

/** One counter of the login throttle, as the store holds it after an attempt. */
export interface ThrottleCounter {
  key: string;
  failures: number;
  /** When this counter's window began: a reservation is given back only to the window it was taken from. */
  windowStart: number;
  lockedUntil: number;
  /** The lock this attempt started on the key (ms), 0 when none. */
  lockStartedMs: number;
}

export interface ThrottleAttempt {
  /** Keys that refuse the attempt while locked, counted and possibly locked; in this order. */
  lockable: string[];
  /** Keys that are only counted (never locked), after the lockable ones. */
  counted: string[];
  now: number;
  /** A counter whose window is older than this and that is not locked starts again at 1. */
  windowMs: number;
  /** The lock (ms) a lockable key gets at its new failure count; 0 for none. */
  lockMs(key: string, failures: number): number;
  /** Rows kept at most: the least recently touched go first. */
  maxEntries: number;
}

export interface ThrottleRelease {
  /** Removed outright (the (name, address) counter of a right password). */
  remove: string[];
  /** One failure taken off each, if the key is still in the window `windowStart` the reservation counted in. */
  giveBack: { key: string; windowStart: number; unlockIfLockedUntil?: number | undefined }[];
}

/**
 * The login throttle's counters, shared by every process on the database, so failed logins count across a
 * fleet. `reserve` is all or nothing and race-free: of any number of concurrent attempts, no more get
 * through than the limits allow (each key is counted by one atomic upsert that refuses while it is locked).
 */
export interface LoginThrottleStore {
  reserve(attempt: ThrottleAttempt): Promise<{ ok: false; lockedUntil: number } | { ok: true; counters: ThrottleCounter[] }>;
  release(release: ThrottleRelease): Promise<void>;
  /** Every counter gone (`hotcert reset-admin-password`). */
  clear(): Promise<void>;
  /** Rows held now (tests and metrics). */
  size(): Promise<number>;
}

/** One value sealed under the master key, with what its seal context is made of (src/secrets/rotate-master-key.ts). */
export type SealedValue =
  | { kind: 'certificate'; version: number; fingerprint: string; sealed: Buffer }
  | { kind: 'pending-key'; id: number; spkiSha256: string; sealed: Buffer }
  | { kind: 'webhook-secret'; id: string; sealed: Buffer }
  | { kind: 'acme-challenge'; token: string; sealed: Buffer }
  | { kind: 'setting'; name: string; sealed: Buffer };

export interface ResealAll {
  /** The settings that hold sealed values (the others are not touched). */
  settingNames: string[];
  /** The master-key check value: it must still be `expectedCheck`, and becomes `check`. */
  checkSetting: string;
  expectedCheck: Buffer;
  check: Buffer;
  /** The replacement of one value; throws to abandon the whole rotation. */
  reseal(value: SealedValue): Buffer;
  now: number;
}

/** Every sealed value of the database at once: what `hotcert rotate-master-key` re-seals. */
export interface SealedValueStore {
  /**
   * In ONE transaction: each sealed value is replaced by `reseal(value)` and the check value by `check`.
   * All or nothing: when `reseal` throws or the check value is not `expectedCheck`, nothing changes.
   * Returns how many values were re-sealed.
   */
  resealAll(input: ResealAll): Promise<number>;
}

/** The check value changed while the rotation ran (another rotation, or another key). */
export class CheckValueChangedError extends Error {
  override name = 'CheckValueChangedError';
}
