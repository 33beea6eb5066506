import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { init } from '../src/index.js';
import { ENDPOINT, WRITE_KEY, useFakeBrowser } from './support/browser.js';

/** PerformanceObserver as far as the tracker uses it; `emit` plays the browser. */
function installPerformance(window, { types } = {}) {
  const observers = [];
  class FakePerformanceObserver {
    static supportedEntryTypes = types || [
      'largest-contentful-paint',
      'layout-shift',
      'event',
      'first-input',
      'paint',
      'navigation',
    ];

    constructor(callback) {
      this.callback = callback;
      this.pending = [];
      this.type = null;
    }

    observe({ type }) {
      this.type = type;
      observers.push(this);
    }

    takeRecords() {
      const records = this.pending;
      this.pending = [];
      return records;
    }

    disconnect() {
      observers.splice(observers.indexOf(this), 1);
    }
  }
  window.PerformanceObserver = FakePerformanceObserver;
  window.performance = {
    getEntriesByType: (type) => (type === 'navigation' ? [{ responseStart: 180.4 }] : []),
    getEntriesByName: () => [],
  };
  return {
    observers,
    /** Delivers entries to the observers of `type` now. */
    emit(type, ...entries) {
      for (const observer of observers.filter((candidate) => candidate.type === type)) {
        observer.callback({ getEntries: () => entries });
      }
    },
    /** Entries the browser has but has not delivered yet (takeRecords finds them). */
    hold(type, ...entries) {
      for (const observer of observers.filter((candidate) => candidate.type === type)) {
        observer.pending.push(...entries);
      }
    },
  };
}

const fake = useFakeBrowser();

async function performanceEvents() {
  const payloads = await fake.browser.beaconPayloads();
  return payloads
    .flatMap((payload) => payload.batch)
    .filter((message) => message.event === 'performance');
}

describe('trackWebVitals', () => {
  it('sends one performance event with LCP, INP, CLS, TTFB, FCP and the path on page hide', async () => {
    const browserPerformance = installPerformance(fake.browser.window);
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackWebVitals();

    browserPerformance.emit(
      'paint',
      { name: 'first-paint', startTime: 300 },
      { name: 'first-contentful-paint', startTime: 420.26 },
    );
    browserPerformance.emit('largest-contentful-paint', { startTime: 900 });
    browserPerformance.emit('largest-contentful-paint', { startTime: 1850.55 });
    // Two shifts in one window (0.1 together), an input-driven one ignored, then a smaller lone one.
    browserPerformance.emit(
      'layout-shift',
      { startTime: 1000, value: 0.04, hadRecentInput: false },
      { startTime: 1500, value: 0.06, hadRecentInput: false },
      { startTime: 1600, value: 0.5, hadRecentInput: true },
      { startTime: 9000, value: 0.08, hadRecentInput: false },
    );
    browserPerformance.emit(
      'event',
      { interactionId: 1, duration: 80 },
      { interactionId: 1, duration: 120 },
      { interactionId: 2, duration: 64 },
      { interactionId: 0, duration: 900 }, // not an interaction (hover, say)
    );
    browserPerformance.hold('event', { interactionId: 3, duration: 200 });

    fake.browser.hide();
    fake.browser.pagehide();
    fake.browser.hide();

    const events = await performanceEvents();
    assert.equal(events.length, 1);
    assert.deepEqual(events[0].properties, {
      lcp: 1850.6,
      inp: 200,
      cls: 0.1,
      ttfb: 180.4,
      fcp: 420.3,
      path: '/therapists',
    });
    assert.equal(browserPerformance.observers.length, 0, 'observers disconnected');
  });

  it('leaves out what the browser cannot measure', async () => {
    const browserPerformance = installPerformance(fake.browser.window, {
      types: ['largest-contentful-paint'],
    });
    fake.browser.window.performance = {};
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackWebVitals();
    browserPerformance.emit('largest-contentful-paint', { startTime: 1200 });
    fake.browser.pagehide();
    const [event] = await performanceEvents();
    assert.deepEqual(event.properties, { lcp: 1200, path: '/therapists' });
  });

  it('sends nothing, and throws nothing, without PerformanceObserver', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackWebVitals();
    tracker.trackWebVitals();
    fake.browser.pagehide();
    assert.deepEqual(await performanceEvents(), []);
  });
});
