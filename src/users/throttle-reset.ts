import { randomBytes } from 'node:crypto';
import type { SettingsRepo } from '../db/settings-repo.js';

const SETTING = 'login_throttle.reset';

/**
 * The login counters live in each server process's memory; the CLI is another process. It writes
 * a new random marker into `settings`, and every server clears its counters when it sees it change.
 */
export function throttleResetMarker(settings: SettingsRepo): () => string | undefined {
  return () => settings.get(SETTING)?.value.toString('hex');
}

export function resetThrottles(settings: SettingsRepo): void {
  settings.set(SETTING, randomBytes(16));
}
