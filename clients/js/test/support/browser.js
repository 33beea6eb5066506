/**
 * A small fake of the browser the tracker runs in: window, document, location,
 * navigator (sendBeacon, onLine), localStorage and fetch, installed as
 * `globalThis.window`. Requests and beacons are recorded; answers are queued.
 */

import { webcrypto } from 'node:crypto';
import { afterEach, beforeEach, mock } from 'node:test';

export class FakeStorage {
  constructor(items = new Map()) {
    this.items = items;
    this.failReads = false;
    this.failWrites = false;
  }

  getItem(key) {
    if (this.failReads) throw new Error('SecurityError: storage is disabled');
    return this.items.has(key) ? this.items.get(key) : null;
  }

  setItem(key, value) {
    if (this.failWrites) throw new Error('QuotaExceededError: the quota has been exceeded');
    this.items.set(key, String(value));
  }

  removeItem(key) {
    if (this.failWrites) throw new Error('SecurityError: storage is disabled');
    this.items.delete(key);
  }

  json(key) {
    const value = this.items.get(key);
    return value === undefined ? undefined : JSON.parse(value);
  }

  keys() {
    return [...this.items.keys()];
  }
}

/** An answer from ingest as fetch resolves it. */
export function response(status, body = { success: true }, headers = {}) {
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: new Headers(headers),
    json: async () => body,
  };
}

export const NETWORK_ERROR = Symbol('network error');

export function installBrowser({
  storage = new FakeStorage(),
  url = 'https://shop.example/therapists?city=berlin',
  online = true,
} = {}) {
  const window = new EventTarget();
  const document = new EventTarget();
  Object.assign(document, {
    visibilityState: 'visible',
    title: 'Therapists near you',
    referrer: 'https://search.example/',
  });
  const answers = [];
  const browser = {
    window,
    document,
    storage,
    requests: [],
    beacons: [],
    beaconResult: true,
    /** Answers for the next fetches, in order: response(...), NETWORK_ERROR, or a function. */
    answer(...next) {
      answers.push(...next);
    },
    /** Every message fetch carried, in order. */
    sent() {
      return browser.requests.flatMap((request) => request.body.batch);
    },
    async beaconPayloads() {
      return Promise.all(browser.beacons.map(async ({ data }) => JSON.parse(await data.text())));
    },
    hide() {
      document.visibilityState = 'hidden';
      document.dispatchEvent(new Event('visibilitychange'));
    },
    pagehide() {
      window.dispatchEvent(new Event('pagehide'));
    },
    goOnline() {
      window.navigator.onLine = true;
      window.dispatchEvent(new Event('online'));
    },
    uninstall() {
      delete globalThis.window;
    },
  };
  Object.assign(window, {
    document,
    location: new URL(url),
    localStorage: storage,
    crypto: webcrypto,
    navigator: {
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) FakeBrowser/1.0',
      language: 'de-DE',
      onLine: online,
      sendBeacon(target, data) {
        browser.beacons.push({ url: target, data });
        return browser.beaconResult;
      },
    },
    async fetch(target, init) {
      const request = { url: target, init, body: JSON.parse(init.body) };
      browser.requests.push(request);
      const next = answers.length > 0 ? answers.shift() : response(200);
      if (next === NETWORK_ERROR) throw new TypeError('Failed to fetch');
      return typeof next === 'function' ? next(request) : next;
    },
  });
  globalThis.window = window;
  return browser;
}

/** Lets pending promise callbacks (fetch answers, their handling) run. */
export async function settle() {
  for (let round = 0; round < 5; round += 1) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export const NOW = new Date('2026-03-02T09:30:00.000Z');

/**
 * Fake timers (node:test's mock.timers) and clock (Date.now), starting at NOW;
 * `tick(ms)` moves both. Date.now is mocked by hand because mock.timers mocks Date
 * only from Node 20.11, and Debian 12's Node is 18.
 */
export function useFakeTime(mock) {
  try {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  } catch (error) {
    mock.timers.enable(['setTimeout', 'setInterval']); // Node before 20.11
  }
  let now = NOW.getTime();
  mock.method(Date, 'now', () => now);
  return {
    tick(milliseconds) {
      now += milliseconds;
      mock.timers.tick(milliseconds);
    },
  };
}

/**
 * Gives every test of the calling file a fresh fake browser and fake time, and takes
 * them down after it. `fake.browser` and `fake.time` are the current test's;
 * `fake.reload()` loads the page anew (new window, same timers) on the same storage,
 * or on `{ storage }`.
 */
export function useFakeBrowser() {
  const fake = {
    browser: undefined,
    time: undefined,
    reload({ storage = fake.browser.storage } = {}) {
      fake.browser.uninstall();
      fake.browser = installBrowser({ storage });
    },
  };
  beforeEach(() => {
    fake.browser = installBrowser();
    fake.time = useFakeTime(mock);
  });
  afterEach(() => {
    mock.timers.reset();
    mock.restoreAll();
    fake.browser.uninstall();
  });
  return fake;
}

export const ENDPOINT = 'https://ingest.example';
export const WRITE_KEY = 'wk_test_123';

/** A booking as the product reports it. */
export const BOOKING = {
  therapistId: 'therapist-7',
  serviceType: 'thai',
  duration: 60,
  totalPrice: 70,
  currency: 'EUR',
};
