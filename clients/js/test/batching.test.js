import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { init } from '../src/index.js';
import {
  ENDPOINT,
  FakeStorage,
  NETWORK_ERROR,
  NOW,
  WRITE_KEY,
  response,
  settle,
  useFakeBrowser,
} from './support/browser.js';

const QUEUE_KEY = `lookout.queue.${WRITE_KEY}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const fake = useFakeBrowser();

describe('batching', () => {
  it('sends nothing before flushAt events, then all of them in one batch', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT, flushAt: 3 });
    tracker.trackEvent('gift_card_viewed', { amount: 50 });
    tracker.trackEvent('gift_card_viewed', { amount: 80 });
    assert.equal(fake.browser.requests.length, 0);

    tracker.trackEvent('gift_card_viewed', { amount: 100 });
    await settle();

    assert.equal(fake.browser.requests.length, 1);
    const [request] = fake.browser.requests;
    assert.equal(request.url, `${ENDPOINT}/v1/batch`);
    assert.equal(request.init.method, 'POST');
    assert.equal(request.init.headers['Content-Type'], 'application/json');
    assert.equal(request.body.writeKey, WRITE_KEY);
    assert.equal(request.body.sentAt, NOW.toISOString());
    assert.deepEqual(
      request.body.batch.map((message) => message.properties.amount),
      [50, 80, 100],
    );
    assert.equal(fake.browser.storage.json(QUEUE_KEY), undefined, 'nothing left to persist');
  });

  it('sends a smaller batch flushIntervalMs after the first event', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT, flushIntervalMs: 5000 });
    tracker.trackEvent('gift_card_viewed');
    fake.time.tick(3000);
    tracker.trackEvent('gift_card_viewed');
    fake.time.tick(1999);
    assert.equal(fake.browser.requests.length, 0);

    fake.time.tick(1);
    await settle();
    assert.equal(fake.browser.requests.length, 1);
    assert.equal(fake.browser.requests[0].body.batch.length, 2);

    fake.time.tick(60000);
    await settle();
    assert.equal(fake.browser.requests.length, 1, 'an empty queue sends nothing');
  });

  it('flush() sends right away and resolves when ingest answered', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    await tracker.flush();
    assert.equal(fake.browser.requests.length, 1);
    assert.equal(fake.browser.storage.json(QUEUE_KEY), undefined);
  });

  it('builds Segment-shaped track messages with the page, session, consent and library', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed', { amount: 50 });
    await tracker.flush();

    const [message] = fake.browser.sent();
    assert.equal(message.type, 'track');
    assert.equal(message.event, 'gift_card_viewed');
    assert.deepEqual(message.properties, { amount: 50 });
    assert.match(message.messageId, UUID);
    assert.match(message.anonymousId, UUID);
    assert.equal(message.userId, undefined);
    assert.equal(message.timestamp, NOW.toISOString());
    assert.deepEqual(message.context.page, {
      path: '/therapists',
      referrer: 'https://search.example/',
      title: 'Therapists near you',
      url: 'https://shop.example/therapists?city=berlin',
    });
    assert.equal(message.context.userAgent, 'Mozilla/5.0 (X11; Linux x86_64) FakeBrowser/1.0');
    assert.equal(message.context.locale, 'de-DE');
    assert.match(message.context.sessionId, UUID);
    assert.deepEqual(message.context.consent, { analytics: true, geo: false });
    assert.deepEqual(message.context.library, { name: '@lookout/tracker', version: '0.1.0' });
  });

  it('page() sends a Segment page with path, title, referrer and url', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.page({ section: 'search' });
    await tracker.flush();

    const [message] = fake.browser.sent();
    assert.equal(message.type, 'page');
    assert.equal(message.event, undefined);
    assert.deepEqual(message.properties, {
      path: '/therapists',
      referrer: 'https://search.example/',
      title: 'Therapists near you',
      url: 'https://shop.example/therapists?city=berlin',
      section: 'search',
    });
  });
});

describe('offline queue', () => {
  it('keeps at most maxQueue events, dropping the oldest, and sends them when back online', async () => {
    fake.browser.window.navigator.onLine = false;
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT, maxQueue: 5, flushAt: 2 });
    for (let index = 0; index < 8; index += 1) tracker.trackEvent(`event_${index}`);
    fake.time.tick(10000);
    await settle();
    assert.equal(fake.browser.requests.length, 0, 'offline: nothing sent');
    assert.deepEqual(
      fake.browser.storage.json(QUEUE_KEY).map((message) => message.event),
      ['event_3', 'event_4', 'event_5', 'event_6', 'event_7'],
    );

    fake.browser.goOnline();
    await settle();
    assert.deepEqual(
      fake.browser.sent().map((message) => message.event),
      ['event_3', 'event_4', 'event_5', 'event_6', 'event_7'],
    );
    assert.equal(fake.browser.storage.json(QUEUE_KEY), undefined);
  });

  it('persists unsent events and sends them, same messageIds, on the next page load', async () => {
    fake.browser.answer(NETWORK_ERROR);
    const first = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    first.trackEvent('gift_card_viewed', { amount: 50 });
    first.trackSearch('thai massage', {}, 4);
    await first.flush();
    const stored = fake.browser.storage.json(QUEUE_KEY);
    assert.deepEqual(
      stored.map((message) => message.event),
      ['gift_card_viewed', 'search_performed'],
    );

    // A reload: a new page (window, timers) on the same storage.
    first.destroy();
    fake.reload();
    init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    await settle();

    assert.equal(fake.browser.requests.length, 1);
    assert.deepEqual(fake.browser.sent(), stored);
    assert.equal(fake.browser.storage.json(QUEUE_KEY), undefined);
  });

  it('a queue written by another version or corrupted is ignored, not fatal', async () => {
    const storage = new FakeStorage(
      new Map([
        [QUEUE_KEY, '{not json'],
        ['lookout.session', '"nonsense"'],
      ]),
    );
    fake.reload({ storage });
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    await tracker.flush();
    assert.equal(fake.browser.sent().length, 1);
  });

  it('a batch over 100 events goes in several requests', async () => {
    fake.browser.window.navigator.onLine = false;
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT, flushAt: 500 });
    for (let index = 0; index < 250; index += 1) tracker.trackEvent('gift_card_viewed', { index });
    fake.browser.goOnline();
    await settle();
    assert.deepEqual(
      fake.browser.requests.map((request) => request.body.batch.length),
      [100, 100, 50],
    );
    assert.equal(new Set(fake.browser.sent().map((message) => message.messageId)).size, 250);
  });
});

describe('answers that store nothing', () => {
  it('an answer other than 2xx, 400, 408, 429 or 5xx (a revoked write key) drops the batch', async () => {
    fake.browser.answer(response(401, { success: false, errors: [] }));
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    await tracker.flush();
    fake.time.tick(120000);
    await settle();
    assert.equal(fake.browser.requests.length, 1, 'not retried');
    assert.equal(fake.browser.storage.json(QUEUE_KEY), undefined);
  });
});
