/** Reconnection delays: exponential from `initialMs`, capped at `maxMs`, each between half
 * and all of that (so many pages do not reconnect in step), never below `atLeastMs`. */
export function backoffMs(attempt, { initialMs = 1000, maxMs = 30000, atLeastMs = 0 } = {}, random = Math.random) {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(atLeastMs, ceiling / 2 + (random() * ceiling) / 2);
}
