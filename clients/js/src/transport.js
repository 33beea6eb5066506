/**
 * Sending batches to ingest (`POST {endpoint}/v1/batch`) and reading its answer
 * as what the queue should do next: forget the batch, retry it later, or drop
 * the events ingest rejected. Ingest's answers: services/ingest/README.md.
 */

import { browserWindow, read, sameOrigin, startTimer } from './environment.js';

export const REQUEST_TIMEOUT_MS = 10000;
// Browsers allow about 64 KB of keepalive/beacon bodies in flight per page.
export const BEACON_MAX_BYTES = 60000;
export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 60000;

export function batchUrl(endpoint) {
  return `${String(endpoint).replace(/\/+$/, '')}/v1/batch`;
}

/** The request body around already serialised messages (ingest reads `writeKey` from it). */
export function batchBody(messageTexts, writeKey, sentAt) {
  return `{"batch":[${messageTexts.join(',')}],"sentAt":${JSON.stringify(sentAt)},"writeKey":${JSON.stringify(writeKey)}}`;
}

/** Retry-After (seconds or an HTTP date) in milliseconds from `now`; undefined if absent. */
export function retryAfterMs(header, now) {
  if (header === null || header === undefined || header === '') return undefined;
  const text = String(header).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Delay before retry number `attempt` (1, 2, …): exponential from 1 s, capped at 60 s,
 * with "equal jitter" (between half and all of it) so that many browsers that failed
 * together do not come back together.
 */
export function backoffMs(attempt, random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

async function readJson(response) {
  try {
    return await response.json();
  } catch (error) {
    return null;
  }
}

function header(response, name) {
  return read(() => response.headers.get(name));
}

/**
 * What ingest's answer means for the batch:
 * - `delivered`: stored (2xx);
 * - `rejected`: 400 — the valid events were stored, `errors` lists the others by index;
 * - `retry`: nothing stored (network error, timeout, 408, 429, 5xx), maybe `retryAfterMs`;
 * - `refused`: any other answer (wrong write key, too large): retrying cannot help;
 * - `unavailable`: this browser has no fetch.
 */
export async function outcomeOf(response, now) {
  const status = read(() => response.status);
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 400) {
    const body = await readJson(response);
    const errors = body && Array.isArray(body.errors) ? body.errors : [];
    return { kind: 'rejected', status, errors };
  }
  if (status === 408 || status === 429 || status >= 500) {
    return {
      kind: 'retry',
      status,
      retryAfterMs: retryAfterMs(header(response, 'Retry-After'), now),
    };
  }
  return { kind: 'refused', status };
}

/** POSTs `body` (JSON text) to `url`; resolves to an outcome, never rejects. */
export async function postBatch(url, body, { keepalive = false, now = Date.now } = {}) {
  const win = browserWindow();
  const fetchFunction = read(() => win.fetch);
  if (typeof fetchFunction !== 'function') return { kind: 'unavailable' };
  const Controller = read(() => win.AbortController) || read(() => AbortController);
  const controller = read(() => new Controller());
  const timer = controller
    ? startTimer(() => read(() => controller.abort()), REQUEST_TIMEOUT_MS)
    : null;
  try {
    const response = await fetchFunction.call(win, url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
      keepalive,
      credentials: 'omit',
      signal: controller ? controller.signal : undefined,
    });
    return await outcomeOf(response, now());
  } catch (error) {
    return { kind: 'retry', status: 0, reason: read(() => String(error.name || error)) };
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/**
 * The type of a beacon's body. A beacon always goes with credentials, so a
 * cross-origin application/json beacon needs a preflight that ingest's wildcard
 * `Access-Control-Allow-Origin` fails, and the browser drops it silently after
 * sendBeacon said true. text/plain needs no preflight, and ingest reads the body
 * as JSON whatever its type. Same origin, the body says what it is.
 */
export function beaconContentType(url) {
  return sameOrigin(url) ? 'application/json' : 'text/plain';
}

/** Hands `body` to `navigator.sendBeacon`; true if the browser took it. */
export function sendBeacon(url, body) {
  const win = browserWindow();
  const navigator = read(() => win.navigator);
  if (!navigator || typeof navigator.sendBeacon !== 'function') return false;
  try {
    const BlobType = read(() => win.Blob) || Blob;
    return (
      navigator.sendBeacon(url, new BlobType([body], { type: beaconContentType(url) })) === true
    );
  } catch (error) {
    return false;
  }
}
