/**
 * One call to dashboard-api: the key as a bearer token, a timeout on every request,
 * JSON in and out, and a typed error (errors.js) for anything but a success.
 */

import { debugLog } from './debug.js';
import { LookoutUnavailableError, LookoutValidationError, errorFor } from './errors.js';

export const DEFAULT_TIMEOUT_MS = 30000;

async function bodyOf(response) {
  const text = await response.text();
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    return text;
  }
}

export class Http {
  constructor({ url, key, fetch: fetchFunction, timeoutMs } = {}) {
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
      throw new LookoutValidationError('createLookoutAdmin needs url: dashboard-api\'s http(s) base URL', {
        reasons: [{ field: 'url', reason: 'an http:// or https:// URL' }],
      });
    }
    if (typeof key !== 'string' || key === '') {
      throw new LookoutValidationError('createLookoutAdmin needs key: an admin or viewer API key', {
        reasons: [{ field: 'key', reason: 'a non-empty API key' }],
      });
    }
    this.base = url.replace(/\/+$/, '');
    this.key = key;
    this.fetch = fetchFunction ?? ((...args) => globalThis.fetch(...args));
    this.timeoutMs = timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  headers(extra = {}) {
    return { Accept: 'application/json', Authorization: `Bearer ${this.key}`, ...extra };
  }

  /** `method path` with `body` as JSON; resolves with the answer's JSON (null when empty). */
  async request(method, path, { body, timeoutMs, debug, area } = {}) {
    const url = `${this.base}${path}`;
    debugLog(debug, area, `→ ${method} ${url}`, body);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs ?? this.timeoutMs);
    let response;
    let answer;
    try {
      response = await this.fetch(url, {
        method,
        headers: this.headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
      answer = await bodyOf(response);
    } catch (error) {
      const why = controller.signal.aborted
        ? `no answer within ${timeoutMs ?? this.timeoutMs} ms`
        : String(error?.cause?.message ?? error?.message ?? error);
      debugLog(debug, area, `✗ ${method} ${url}: ${why}`);
      throw new LookoutUnavailableError(`${method} ${path} failed: ${why}`, {
        status: 0,
        reasons: [{ field: null, reason: why }],
      });
    } finally {
      clearTimeout(timer);
    }
    debugLog(debug, area, `← ${response.status} ${method} ${url}`, answer);
    if (!response.ok) {
      throw errorFor(response.status, answer, {
        method,
        path,
        retryAfter: response.headers.get('Retry-After'),
      });
    }
    return answer;
  }
}
