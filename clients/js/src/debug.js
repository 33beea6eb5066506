/**
 * The brief's debug switch: `localStorage.setItem('analytics_debug', 'true')` turns the
 * tracker's debug log on without changing the code that calls `init`. Read on each log
 * line, so it takes effect at once; unreadable storage means off.
 */

export const DEBUG_SWITCH = 'analytics_debug';

export function debugSwitchOn(name) {
  try {
    const win = typeof window !== 'undefined' ? window : undefined;
    const storage = win && win.localStorage ? win.localStorage : globalThis.localStorage;
    return Boolean(storage) && storage.getItem(name) === 'true';
  } catch (error) {
    return false;
  }
}
