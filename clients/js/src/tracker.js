/**
 * The tracker: turns calls into Segment-shaped messages, queues them (persisted,
 * bounded), sends them in batches, retries what ingest did not store, and hands
 * what is left to `navigator.sendBeacon` when the page is hidden or closed.
 */

import {
  browserWindow,
  currentPage,
  defaultStorage,
  isHidden,
  listen,
  locale,
  online,
  randomId,
  read,
  startTimer,
  userAgent,
} from './environment.js';
import { DEBUG_SWITCH, debugSwitchOn } from './debug.js';
import { Identity } from './identity.js';
import { MessageQueue } from './queue.js';
import { toJsonObject, utf8Length } from './sanitize.js';
import { SafeStorage } from './storage.js';
import {
  BEACON_MAX_BYTES,
  backoffMs,
  batchBody,
  batchUrl,
  postBatch,
  sendBeacon,
} from './transport.js';
import { LIBRARY_NAME, VERSION } from './version.js';
import { observeWebVitals } from './web-vitals.js';

export const DEFAULTS = { flushAt: 20, flushIntervalMs: 5000, maxQueue: 1000 };
// Ingest's limits are 32 KB per event and 500 KB per request; stay below both.
export const MAX_EVENT_BYTES = 32000;
const MAX_BATCH_MESSAGES = 100;
const MAX_BATCH_BYTES = 450000;
const EVENT_NAME = /^[A-Za-z][A-Za-z0-9_.:\- ]{0,127}$/;

function positiveInteger(value, fallback) {
  const number = Number(value);
  return Number.isFinite(number) && number >= 1 ? Math.floor(number) : fallback;
}

export class Tracker {
  constructor(options) {
    const given = options !== null && typeof options === 'object' ? options : {};
    this.debug = given.debug === true;
    this.writeKey = typeof given.writeKey === 'string' ? given.writeKey : '';
    this.endpoint = typeof given.endpoint === 'string' ? given.endpoint : '';
    this.configured = this.writeKey !== '' && this.endpoint !== '';
    if (!this.configured) this.log('init needs a writeKey and an endpoint: nothing will be sent');
    this.url = batchUrl(this.endpoint);
    this.flushAt = positiveInteger(given.flushAt, DEFAULTS.flushAt);
    this.flushIntervalMs = positiveInteger(given.flushIntervalMs, DEFAULTS.flushIntervalMs);
    this.consent = { analytics: true, geo: false };
    this.applyConsent(given.consent);

    this.storage = new SafeStorage('storage' in given ? given.storage : defaultStorage());
    const persist = this.consent.analytics;
    this.identity = new Identity(this.storage, persist);
    const maxQueue = positiveInteger(given.maxQueue, DEFAULTS.maxQueue);
    this.queue = new MessageQueue(
      this.storage,
      `lookout.queue.${this.writeKey}`,
      maxQueue,
      persist,
    );
    if (!persist) this.withdraw();

    this.inFlight = new Set(); // ids of messages a request is carrying right now
    this.sending = null;
    this.flushTimer = null;
    this.retryTimer = null;
    this.failures = 0;
    this.hideHooks = [];
    this.webVitals = null;
    this.destroyed = false;
    const win = browserWindow();
    const onHide = () => this.guarded('page hide', () => this.onHide());
    this.stopListening = [
      listen(
        read(() => win.document),
        'visibilitychange',
        () => {
          if (isHidden()) onHide();
        },
      ),
      listen(win, 'pagehide', onHide),
      listen(win, 'online', () => this.guarded('online', () => this.onOnline())),
    ];
    // Messages a previous page load could not deliver.
    if (this.queue.length > 0) this.flush();
  }

  // --- public API (wrapped by index.js so that nothing throws into the host app) ---

  trackEvent(name, properties) {
    if (typeof name !== 'string' || !EVENT_NAME.test(name)) {
      this.log(
        'trackEvent: the name must start with a letter and hold only letters, digits, spaces and _ . : -',
        { name },
      );
      return;
    }
    this.record('track', { event: name, properties: toJsonObject(properties) });
  }

  trackProductEvent(built, what) {
    if (built === null) {
      this.log(`${what}: unknown kind, nothing tracked`);
      return;
    }
    this.record('track', built);
  }

  page(properties) {
    this.record('page', { properties: { ...currentPage(), ...toJsonObject(properties) } });
  }

  identify(userId, traits) {
    if ((typeof userId !== 'string' && typeof userId !== 'number') || String(userId) === '') {
      this.log('identify needs a user id (string)');
      return;
    }
    const id = String(userId);
    this.identity.identify(id);
    this.record('identify', { userId: id, traits: toJsonObject(traits) });
  }

  setConsent(consent) {
    const before = this.consent.analytics;
    this.applyConsent(consent);
    if (before && !this.consent.analytics) this.withdraw();
    if (!before && this.consent.analytics) {
      this.identity.remember();
      this.queue.setPersist(true);
    }
    this.log('consent', { ...this.consent });
  }

  /** Sends what is queued now; resolves when that attempt is over (never rejects). */
  flush() {
    if (this.sending) return this.sending;
    this.clearFlushTimer();
    if (!this.canSend()) return Promise.resolve();
    this.sending = this.drain().finally(() => {
      this.sending = null;
    });
    return this.sending;
  }

  reset() {
    this.identity.reset();
  }

  getAnonymousId() {
    return this.identity.anonymousId;
  }

  trackWebVitals() {
    if (this.webVitals) return;
    const vitals = observeWebVitals();
    this.webVitals = vitals;
    const report = () => {
      this.hideHooks = this.hideHooks.filter((hook) => hook !== report);
      const measured = vitals.measure();
      vitals.stop();
      if (Object.keys(measured).length === 0) return;
      this.record('track', {
        event: 'performance',
        properties: { ...measured, path: currentPage().path },
      });
    };
    this.hideHooks.push(report);
  }

  destroy() {
    this.destroyed = true;
    for (const stop of this.stopListening) stop();
    this.clearFlushTimer();
    this.clearRetryTimer();
    if (this.webVitals) this.webVitals.stop();
  }

  // --- internals ---

  applyConsent(consent) {
    if (consent === null || typeof consent !== 'object') return;
    // As ingest reads it: any present analytics value other than true is a refusal.
    if ('analytics' in consent) this.consent.analytics = consent.analytics === true;
    if ('geo' in consent) this.consent.geo = consent.geo === true;
  }

  /** Analytics consent refused: drop what is queued, keep no ids in storage. */
  withdraw() {
    this.queue.clear();
    this.queue.setPersist(false);
    this.identity.forget();
    this.clearFlushTimer();
    this.clearRetryTimer();
  }

  record(type, fields) {
    if (this.destroyed) return;
    if (!this.consent.analytics) {
      this.log(`analytics consent refused: ${fields.event || type} not tracked`);
      return;
    }
    if (!this.configured) return;
    const now = Date.now();
    const ids = this.identity.ids();
    const message = {
      type,
      ...fields,
      messageId: randomId(),
      anonymousId: ids.anonymousId,
      timestamp: new Date(now).toISOString(),
      context: this.context(now),
    };
    if (ids.userId && !message.userId) message.userId = ids.userId;
    const size = utf8Length(JSON.stringify(message));
    if (size > MAX_EVENT_BYTES) {
      this.log(`${fields.event || type} is ${size} bytes, over ingest's limit: dropped`);
      return;
    }
    const dropped = this.queue.push(message);
    if (dropped > 0) this.log(`queue full (${this.queue.maxQueue}): dropped the ${dropped} oldest`);
    this.log(`queued ${fields.event || type}`, message);
    if (this.queue.pendingCount(this.inFlight) >= this.flushAt) this.flush();
    else this.armFlushTimer();
  }

  context(now) {
    return {
      page: currentPage(),
      userAgent: userAgent(),
      locale: locale(),
      sessionId: this.identity.sessionId(now),
      consent: { analytics: this.consent.analytics, geo: this.consent.geo },
      library: { name: LIBRARY_NAME, version: VERSION },
    };
  }

  canSend() {
    return (
      this.configured &&
      this.consent.analytics &&
      !this.destroyed &&
      this.retryTimer === null &&
      online()
    );
  }

  /** Sends batch after batch until the queue is empty or a send must wait. */
  async drain() {
    try {
      while (this.canSend()) {
        const batch = this.queue.take(this.inFlight, MAX_BATCH_MESSAGES, MAX_BATCH_BYTES);
        if (batch.length === 0) return;
        const outcome = await this.send(batch, false);
        if (!this.settle(batch, outcome)) return;
      }
    } catch (error) {
      this.log('flush failed', error);
    }
  }

  /** Posts `batch`; its messages count as in flight (not sent again) until the answer. */
  async send(batch, keepalive) {
    const ids = batch.map((item) => item.message.messageId);
    for (const id of ids) this.inFlight.add(id);
    try {
      const body = batchBody(
        batch.map((item) => item.text),
        this.writeKey,
        new Date(Date.now()).toISOString(),
      );
      // What is sent, never the body itself: it carries the write key.
      this.log(
        `sending ${batch.length} events${keepalive ? ' (keepalive)' : ''} to ${this.url}`,
        batch.map((item) => item.message),
      );
      const outcome = await postBatch(this.url, body, { keepalive });
      this.log(`ingest answered ${outcome.status ? `HTTP ${outcome.status}` : outcome.kind}`, outcome);
      return outcome;
    } finally {
      for (const id of ids) this.inFlight.delete(id);
    }
  }

  /** Applies ingest's answer to the queue; true when the next batch may go now. */
  settle(batch, outcome) {
    const ids = new Set(batch.map((item) => item.message.messageId));
    switch (outcome.kind) {
      case 'delivered':
        this.failures = 0;
        this.queue.remove(ids);
        this.log(`sent ${batch.length} events`);
        return true;
      case 'rejected':
        // The valid events were stored; the rejected ones would be rejected again.
        this.failures = 0;
        this.queue.remove(ids);
        if (this.debugging()) {
          this.log(
            `ingest rejected ${outcome.errors.length} of ${batch.length} events (dropped; the others were stored)`,
            outcome.errors.map((error) => ({
              event: read(() => batch[error.index].message.event || batch[error.index].message.type),
              field: read(() => error.field),
              reason: read(() => error.reason),
            })),
          );
        }
        return true;
      case 'refused':
        this.queue.remove(ids);
        this.log(
          `ingest refused a batch with HTTP ${outcome.status}: ${batch.length} events dropped`,
        );
        return true;
      case 'unavailable':
        this.log('this browser has no fetch: events wait for the page to be hidden (sendBeacon)');
        return false;
      default:
        this.scheduleRetry(outcome);
        return false;
    }
  }

  scheduleRetry(outcome) {
    if (this.destroyed || this.retryTimer !== null) return;
    this.failures += 1;
    let delay = backoffMs(this.failures, Math.random);
    if (outcome.retryAfterMs !== undefined) delay = Math.max(delay, outcome.retryAfterMs);
    this.log(
      `send failed (${outcome.status ? `HTTP ${outcome.status}` : 'network'}): retry ${this.failures} in ${Math.round(delay)} ms`,
    );
    this.retryTimer = startTimer(() => {
      this.retryTimer = null;
      this.flush();
    }, delay);
  }

  armFlushTimer() {
    if (this.flushTimer !== null) return;
    this.flushTimer = startTimer(() => {
      this.flushTimer = null;
      this.flush();
    }, this.flushIntervalMs);
  }

  clearFlushTimer() {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  clearRetryTimer() {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  onOnline() {
    // The network is back: no point waiting out a backoff that offline caused.
    this.clearRetryTimer();
    this.flush();
  }

  /**
   * The page may be about to go away: what no request is carrying yet leaves with
   * sendBeacon (or, when the browser refuses it, a keepalive fetch). A beacon the
   * browser accepted counts as delivered; a keepalive fetch is settled like any send.
   */
  onHide() {
    for (const hook of this.hideHooks.slice()) this.guarded('page hide hook', hook);
    if (!this.configured || !this.consent.analytics || this.destroyed) return;
    this.clearFlushTimer();
    const maxBytes = BEACON_MAX_BYTES - utf8Length(this.writeKey) - 100;
    for (;;) {
      const batch = this.queue.take(this.inFlight, MAX_BATCH_MESSAGES, maxBytes);
      if (batch.length === 0) return;
      const body = batchBody(
        batch.map((item) => item.text),
        this.writeKey,
        new Date(Date.now()).toISOString(),
      );
      if (sendBeacon(this.url, body)) {
        this.queue.remove(new Set(batch.map((item) => item.message.messageId)));
        this.log(`beacon sent ${batch.length} events`);
      } else {
        this.log(`sendBeacon unavailable or refused: keepalive fetch for ${batch.length} events`);
        this.send(batch, true)
          .then((outcome) => this.settle(batch, outcome))
          .catch((error) => this.log('keepalive send failed', error));
      }
    }
  }

  guarded(what, action) {
    try {
      return action();
    } catch (error) {
      this.log(`${what} failed`, error);
      return undefined;
    }
  }

  /** The `debug` option, or the page's `localStorage.analytics_debug` switch. */
  debugging() {
    return this.debug || debugSwitchOn(DEBUG_SWITCH);
  }

  log(message, details) {
    if (!this.debugging()) return;
    try {
      if (details === undefined) console.debug(`[lookout] ${message}`);
      else console.debug(`[lookout] ${message}`, details);
    } catch (error) {
      // No console: nothing to log to.
    }
  }
}
