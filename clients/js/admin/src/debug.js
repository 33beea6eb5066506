/**
 * The brief's debug switches: `localStorage.health_debug` and `backup_debug` set to
 * `'true'` make the health and backup calls log what they send and receive to
 * console.debug. Read at each call, so they take effect at once. The key is never logged.
 */

export const HEALTH_DEBUG = 'health_debug';
export const BACKUP_DEBUG = 'backup_debug';

export function debugSwitchOn(name) {
  try {
    const win = typeof window !== 'undefined' ? window : undefined;
    const storage = win && win.localStorage ? win.localStorage : globalThis.localStorage;
    return Boolean(storage) && storage.getItem(name) === 'true';
  } catch (error) {
    return false;
  }
}

/** Logs under `[lookout-admin:<area>]` when `on` (a boolean or a switch name) says so. */
export function debugLog(on, area, message, details) {
  const enabled = typeof on === 'string' ? debugSwitchOn(on) : on === true;
  if (!enabled) return;
  try {
    if (details === undefined) console.debug(`[lookout-admin:${area}] ${message}`);
    else console.debug(`[lookout-admin:${area}] ${message}`, details);
  } catch (error) {
    // No console: nothing to log to.
  }
}
