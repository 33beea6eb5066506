/**
 * The host page's browser APIs, looked up when they are needed: an API that is
 * missing (server-side rendering, old browsers, privacy modes) or that throws
 * when touched (localStorage in a sandboxed frame) is an absent feature, never an
 * exception in the host app.
 */

import { wellFormed } from './sanitize.js';

/** `read(() => x.y)`: the value, or undefined when reading it throws. */
export function read(getter) {
  try {
    return getter();
  } catch (error) {
    return undefined;
  }
}

/** The browser window, or undefined outside a browser. */
export function browserWindow() {
  return read(() => (typeof window === 'undefined' ? undefined : window));
}

export function defaultStorage() {
  return read(() => browserWindow().localStorage);
}

function randomBytes(count) {
  const bytes = new Uint8Array(count);
  const crypto = read(() => browserWindow().crypto) || read(() => globalThis.crypto);
  try {
    crypto.getRandomValues(bytes);
    return bytes;
  } catch (error) {
    for (let index = 0; index < count; index += 1) {
      bytes[index] = Math.floor(Math.random() * 256);
    }
    return bytes;
  }
}

/** A random (version 4) UUID: message ids, anonymous ids, session ids. */
export function randomId() {
  const crypto = read(() => browserWindow().crypto) || read(() => globalThis.crypto);
  const native = read(() => crypto.randomUUID());
  if (typeof native === 'string') return native;
  const bytes = randomBytes(16);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Where the visitor is: Segment's `context.page`. */
export function currentPage() {
  const win = browserWindow();
  const location = read(() => win.location) || {};
  const doc = read(() => win.document) || {};
  return {
    path: read(() => location.pathname) || '/',
    referrer: read(() => doc.referrer) || '',
    title: wellFormed(String(read(() => doc.title) || '')),
    url: read(() => location.href) || '',
  };
}

export function userAgent() {
  return read(() => browserWindow().navigator.userAgent) || '';
}

export function locale() {
  return read(() => browserWindow().navigator.language) || '';
}

/** Whether `url` is on the page's own origin (false when that cannot be told). */
export function sameOrigin(url) {
  const location = read(() => browserWindow().location);
  const origin = read(() => location.origin);
  if (!origin) return false;
  return read(() => new URL(url, location.href).origin === origin) === true;
}

/** False only when the browser says it is offline. */
export function online() {
  return read(() => browserWindow().navigator.onLine) !== false;
}

export function isHidden() {
  return read(() => browserWindow().document.visibilityState) === 'hidden';
}

/** Adds a listener when the target exists; returns what removes it again. */
export function listen(target, type, listener) {
  try {
    target.addEventListener(type, listener);
  } catch (error) {
    return () => {};
  }
  return () => {
    try {
      target.removeEventListener(type, listener);
    } catch (error) {
      // Nothing to remove from.
    }
  };
}

/**
 * Timers that do not keep a non-browser runtime (a test runner, server-side
 * rendering) alive; browsers have no `unref` and ignore this.
 */
export function startTimer(callback, delayMs) {
  const timer = setTimeout(callback, delayMs);
  read(() => timer.unref());
  return timer;
}
