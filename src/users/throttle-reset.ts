import type { SettingsStore } from '../db/ports.js';
import { randomBytes } from 'node:crypto';

const SETTING = 'login_throttle.reset';

/**
 * The login counters live in each server process's memory; the CLI is another process. It writes
 * a new random marker into `settings`, and every server clears its counters when it sees it change.
 */
export function throttleResetMarker(settings: SettingsStore): () => Promise<string | undefined> {
  return async () => (await settings.get(SETTING))?.value.toString('hex');
}

export async function resetThrottles(settings: SettingsStore): Promise<void> {
  await settings.set(SETTING, randomBytes(16));
}
