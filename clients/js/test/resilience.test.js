import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';

import { init } from '../src/index.js';
import { ENDPOINT, WRITE_KEY, settle, useFakeBrowser } from './support/browser.js';

const fake = useFakeBrowser();

const hostile = new Proxy(
  {},
  {
    get() {
      throw new Error('hostile get');
    },
    ownKeys() {
      throw new Error('hostile keys');
    },
    has() {
      throw new Error('hostile has');
    },
  },
);

const METHOD_CALLS = [
  ['trackEvent', []],
  ['trackEvent', [hostile, hostile]],
  ['trackEvent', ['ok_name', hostile]],
  ['page', [hostile]],
  ['identify', [hostile, hostile]],
  ['identify', ['user-1', hostile]],
  ['trackBooking', [hostile, hostile]],
  ['trackBooking', ['completed', hostile]],
  ['trackChatActivity', ['message', hostile]],
  ['trackSearch', [hostile, hostile, hostile]],
  ['trackUserRegistration', [hostile, hostile]],
  ['trackError', [hostile, hostile]],
  ['trackError', [null]],
  ['trackError', [undefined]],
  ['trackWebVitals', []],
  ['setConsent', [hostile]],
  ['reset', []],
  ['getAnonymousId', []],
];

async function callEverything(tracker) {
  for (const [name, args] of METHOD_CALLS) {
    assert.doesNotThrow(() => tracker[name](...args), `${name} threw`);
  }
  await assert.doesNotReject(tracker.flush());
  assert.doesNotThrow(() => fake.browser.pagehide());
}

describe('never throws into the host app', () => {
  it('survives hostile arguments to every method', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    await callEverything(tracker);
  });

  it('keeps tracking when every storage call throws (disabled storage, quota exceeded)', async () => {
    fake.browser.storage.failReads = true;
    fake.browser.storage.failWrites = true;
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('first_event');
    tracker.trackEvent('second_event');
    await tracker.flush();
    const sent = fake.browser.sent();
    assert.deepEqual(
      sent.map((message) => message.event),
      ['first_event', 'second_event'],
    );
    assert.equal(sent[0].anonymousId, sent[1].anonymousId, 'ids kept in memory');
    assert.equal(sent[0].context.sessionId, sent[1].context.sessionId);
  });

  it('keeps tracking when reading localStorage itself throws', async () => {
    Object.defineProperty(fake.browser.window, 'localStorage', {
      get() {
        throw new Error('SecurityError: access denied');
      },
    });
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    await tracker.flush();
    assert.equal(fake.browser.sent().length, 1);
  });

  it('survives fetch throwing synchronously, and retries later', async () => {
    mock.method(Math, 'random', () => 1);
    let calls = 0;
    fake.browser.window.fetch = () => {
      calls += 1;
      throw new Error('fetch blew up');
    };
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    await assert.doesNotReject(tracker.flush());
    fake.time.tick(1000);
    await settle();
    assert.equal(calls, 2);
  });

  it('survives sendBeacon and fetch throwing on page hide, keeping the events', async () => {
    fake.browser.window.navigator.sendBeacon = () => {
      throw new TypeError('Illegal invocation');
    };
    fake.browser.window.fetch = () => {
      throw new Error('fetch blew up');
    };
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    assert.doesNotThrow(() => fake.browser.pagehide());
    await settle();
    assert.equal(fake.browser.storage.json(`lookout.queue.${WRITE_KEY}`).length, 1);
  });

  it('does nothing, and throws nothing, without a browser at all', async () => {
    fake.browser.uninstall();
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    await callEverything(tracker);
  });

  it('does nothing without a write key or endpoint', async () => {
    for (const options of [undefined, null, {}, { writeKey: WRITE_KEY }, { endpoint: ENDPOINT }]) {
      const tracker = init(options);
      tracker.trackEvent('gift_card_viewed');
      await tracker.flush();
    }
    assert.equal(fake.browser.requests.length, 0);
  });

  it('sends properties with cycles, BigInts, functions and odd numbers as plain JSON', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    const cart = { items: [{ sku: 'massage-60' }], total: 70n, onChange() {}, ratio: Number.NaN };
    cart.self = cart;
    cart.items.push(cart.items[0]); // shared, not circular
    tracker.trackEvent('cart_viewed', {
      cart,
      when: new Date('2026-03-01T12:00:00Z'),
      invalid: new Date('nope'),
      missing: undefined,
      getter: Object.defineProperty({}, 'boom', {
        enumerable: true,
        get() {
          throw new Error('getter');
        },
      }),
    });
    await tracker.flush();
    assert.deepEqual(fake.browser.sent()[0].properties, {
      cart: {
        items: [{ sku: 'massage-60' }, { sku: 'massage-60' }],
        total: '70',
        ratio: null,
        self: '[circular]',
      },
      when: '2026-03-01T12:00:00.000Z',
      invalid: null,
      getter: {},
    });
  });

  it('drops an event over ingest 32 KB limit instead of blocking the queue', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('huge_event', { blob: 'x'.repeat(40000) });
    tracker.trackEvent('small_event');
    await tracker.flush();
    assert.deepEqual(
      fake.browser.sent().map((message) => message.event),
      ['small_event'],
    );
  });

  it('rejects event names ingest would refuse, without throwing', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('1st event');
    tracker.trackEvent('');
    tracker.trackEvent('x'.repeat(200));
    tracker.trackEvent('fine name:v2');
    await tracker.flush();
    assert.deepEqual(
      fake.browser.sent().map((message) => message.event),
      ['fine name:v2'],
    );
  });
});

describe('debug logging', () => {
  it('logs nothing unless debug is on', async () => {
    const debug = mock.method(console, 'debug', () => {});
    const log = mock.method(console, 'log', () => {});
    const warn = mock.method(console, 'warn', () => {});
    const error = mock.method(console, 'error', () => {});
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed', { secret: 'do not log' });
    tracker.trackEvent('');
    await tracker.flush();
    init({});
    for (const spy of [debug, log, warn, error]) assert.equal(spy.mock.callCount(), 0);
  });

  it('logs to console.debug, with the event, when debug is on', async () => {
    const debug = mock.method(console, 'debug', () => {});
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT, debug: true });
    tracker.trackEvent('gift_card_viewed', { amount: 50 });
    await tracker.flush();
    const messages = debug.mock.calls.map((call) => call.arguments[0]);
    assert.ok(messages.includes('[lookout] queued gift_card_viewed'), messages.join('\n'));
    assert.ok(messages.includes('[lookout] sent 1 events'), messages.join('\n'));
  });

  it("logs what it sends and receives with localStorage.analytics_debug = 'true', never the write key", async () => {
    const debug = mock.method(console, 'debug', () => {});
    fake.browser.storage.setItem('analytics_debug', 'true');
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed', { amount: 50 });
    await tracker.flush();
    const lines = debug.mock.calls.map((call) => call.arguments[0]);
    assert.ok(lines.includes(`[lookout] sending 1 events to ${ENDPOINT}/v1/batch`), lines.join('\n'));
    const sent = debug.mock.calls.find((call) => String(call.arguments[0]).includes('sending'));
    assert.equal(sent.arguments[1][0].event, 'gift_card_viewed');
    assert.equal(sent.arguments[1][0].properties.amount, 50);
    assert.ok(lines.includes('[lookout] ingest answered HTTP 200'), lines.join('\n'));
    const everything = JSON.stringify(debug.mock.calls.map((call) => call.arguments));
    assert.ok(!everything.includes(WRITE_KEY), 'the write key is never logged');
  });

  it("stays silent when analytics_debug is anything but 'true'", async () => {
    const debug = mock.method(console, 'debug', () => {});
    fake.browser.storage.setItem('analytics_debug', '1');
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    await tracker.flush();
    assert.equal(debug.mock.callCount(), 0);
  });

  it('never throws when console.debug itself throws', async () => {
    mock.method(console, 'debug', () => {
      throw new Error('console broke');
    });
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT, debug: true });
    assert.doesNotThrow(() => tracker.trackEvent('gift_card_viewed'));
    await assert.doesNotReject(tracker.flush());
    assert.equal(fake.browser.sent().length, 1);
  });
});
