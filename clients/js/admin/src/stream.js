/**
 * The live stream (`GET /api/v1/stream`, Server-Sent Events read with fetch, since
 * EventSource cannot send the key as a header), shared by every subscriber of one admin
 * client: one connection however many hooks listen, opened with the first subscriber and
 * closed with the last. A dropped connection is reopened with backoff; 401, 403 and a
 * `revoked` event end it for good.
 */

import { backoffMs } from './backoff.js';
import { BACKUP_DEBUG, HEALTH_DEBUG, debugLog, debugSwitchOn } from './debug.js';
import { LookoutAuthenticationError, LookoutUnavailableError, errorFor } from './errors.js';

const STREAM_PATH = '/api/v1/stream';

/** Feeds SSE text in any chunks; calls `onEvent({ type, data, id })` for each complete event. */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.retryMs = null;
  }

  push(text) {
    this.buffer += text.replace(/\r\n?/g, '\n');
    let end = this.buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.dispatch(block);
      end = this.buffer.indexOf('\n\n');
    }
  }

  dispatch(block) {
    let type = 'message';
    let id = null;
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
    if (data.length === 0) return;
    const text = data.join('\n');
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      parsed = text;
    }
    this.onEvent({ type, data: parsed, id });
  }
}

/** Which debug switch covers an event of `type`. */
function switchFor(type) {
  if (type === 'backup') return BACKUP_DEBUG;
  if (type === 'check' || type === 'incident') return HEALTH_DEBUG;
  return null;
}

function anySwitchOn() {
  return debugSwitchOn(HEALTH_DEBUG) || debugSwitchOn(BACKUP_DEBUG);
}

export class LiveStream {
  constructor(http, { initialDelayMs = 1000, maxDelayMs = 30000, random = Math.random } = {}) {
    this.http = http;
    this.backoff = { initialMs: initialDelayMs, maxMs: maxDelayMs };
    this.random = random;
    this.listeners = new Set();
    this.controller = null;
    this.timer = null;
    this.failures = 0;
    this.connected = false;
  }

  /** Calls `onEvent({ type, data, id })` for every event; returns the unsubscribe function. */
  subscribe(onEvent, { onError, onState } = {}) {
    const listener = { onEvent, onError, onState };
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.open();
    else if (this.connected) this.tell(listener, 'onState', 'open');
    return () => {
      if (!this.listeners.delete(listener)) return;
      if (this.listeners.size === 0) this.close();
    };
  }

  tell(listener, method, value) {
    try {
      listener[method]?.(value);
    } catch (error) {
      // A listener's own failure must not stop the stream for the others.
      debugLog(anySwitchOn(), 'stream', `a ${method} listener threw`, error);
    }
  }

  broadcast(method, value) {
    for (const listener of [...this.listeners]) this.tell(listener, method, value);
  }

  open() {
    this.timer = null;
    const controller = new AbortController();
    this.controller = controller;
    this.read(controller).catch((error) => this.dropped(controller, error));
  }

  async read(controller) {
    const url = `${this.http.base}${STREAM_PATH}`;
    debugLog(anySwitchOn(), 'stream', `connecting to ${url}`);
    const response = await this.http.fetch(url, {
      headers: this.http.headers({ Accept: 'text/event-stream' }),
      signal: controller.signal,
    });
    if (!response.ok) {
      let body = null;
      try {
        body = await response.json();
      } catch (error) {
        // No JSON reason: the status says enough.
      }
      throw errorFor(response.status, body, {
        method: 'GET',
        path: STREAM_PATH,
        retryAfter: response.headers.get('Retry-After'),
      });
    }
    this.connected = true;
    this.broadcast('onState', 'open');
    let revoked = null;
    const parser = new SseParser((event) => {
      if (event.type === 'hello') this.failures = 0;
      if (event.type === 'revoked') {
        revoked = event;
      }
      debugLog(switchFor(event.type) ?? anySwitchOn(), 'stream', `← ${event.type}`, event.data);
      for (const listener of [...this.listeners]) this.tell(listener, 'onEvent', event);
    });
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    while (revoked === null) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    if (revoked !== null) {
      controller.abort();
      throw new LookoutAuthenticationError(`the live stream ended: ${revoked.data?.reason ?? 'key revoked'}`, {
        status: 401,
        reasons: [{ field: null, reason: String(revoked.data?.reason ?? 'the API key was revoked') }],
        body: revoked.data,
      });
    }
    throw new LookoutUnavailableError('the live stream ended', { status: 0 });
  }

  dropped(controller, error) {
    if (controller !== this.controller) return; // closed on purpose, or superseded
    this.connected = false;
    const wrapped =
      error?.name === 'AbortError' || error instanceof TypeError
        ? new LookoutUnavailableError(`the live stream failed: ${error.cause?.message ?? error.message}`, { status: 0 })
        : error;
    const final = wrapped.status === 401 || wrapped.status === 403;
    this.broadcast('onError', wrapped);
    if (final) {
      debugLog(anySwitchOn(), 'stream', `closed for good: ${wrapped.message}`);
      this.broadcast('onState', 'closed');
      this.listeners.clear();
      this.controller = null;
      return;
    }
    this.failures += 1;
    const delay = backoffMs(
      this.failures,
      { ...this.backoff, atLeastMs: wrapped.retryAfterMs ?? 0 },
      this.random,
    );
    debugLog(anySwitchOn(), 'stream', `${wrapped.message}; reconnecting in ${Math.round(delay)} ms`);
    this.broadcast('onState', 'reconnecting');
    this.timer = setTimeout(() => this.open(), delay);
  }

  close() {
    this.connected = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const controller = this.controller;
    this.controller = null;
    controller?.abort();
  }
}
