import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';

import { init } from '../src/index.js';
import { backoffMs, retryAfterMs } from '../src/transport.js';
import {
  BOOKING,
  ENDPOINT,
  NETWORK_ERROR,
  WRITE_KEY,
  response,
  settle,
  useFakeBrowser,
} from './support/browser.js';

const QUEUE_KEY = `lookout.queue.${WRITE_KEY}`;

const fake = useFakeBrowser();

function ids(request) {
  return request.body.batch.map((message) => message.messageId);
}

describe('retries', () => {
  it('retries a 503 with exponential backoff, keeping every messageId', async () => {
    mock.method(Math, 'random', () => 1); // no jitter: the whole delay
    fake.browser.answer(
      response(503, { success: false }),
      response(503, { success: false }),
      NETWORK_ERROR,
    );
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackBooking('completed', BOOKING);
    tracker.trackSearch('thai', {}, 3);
    await tracker.flush();
    assert.equal(fake.browser.requests.length, 1);

    fake.time.tick(999);
    await settle();
    assert.equal(fake.browser.requests.length, 1, 'first retry after 1 s');
    fake.time.tick(1);
    await settle();
    assert.equal(fake.browser.requests.length, 2);

    fake.time.tick(1999);
    await settle();
    assert.equal(fake.browser.requests.length, 2, 'second retry after 2 s more');
    fake.time.tick(1);
    await settle();
    assert.equal(fake.browser.requests.length, 3);

    fake.time.tick(3999);
    await settle();
    assert.equal(fake.browser.requests.length, 3, 'after a network error, 4 s more');
    fake.time.tick(1);
    await settle();
    assert.equal(fake.browser.requests.length, 4);

    const first = ids(fake.browser.requests[0]);
    assert.equal(new Set(first).size, 2);
    for (const request of fake.browser.requests) assert.deepEqual(ids(request), first);
    assert.equal(fake.browser.storage.json(QUEUE_KEY), undefined, 'delivered at last');
  });

  it('waits for a 429 Retry-After before resending', async () => {
    fake.browser.answer(response(429, { success: false }, { 'Retry-After': '7' }));
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    await tracker.flush();

    fake.time.tick(6999);
    await tracker.flush(); // a flush during the wait does not jump it
    await settle();
    assert.equal(fake.browser.requests.length, 1);

    fake.time.tick(1);
    await settle();
    assert.equal(fake.browser.requests.length, 2);
    assert.deepEqual(ids(fake.browser.requests[1]), ids(fake.browser.requests[0]));
  });

  it('honours a 503 Retry-After longer than the backoff', async () => {
    fake.browser.answer(response(503, { success: false }, { 'Retry-After': '5' }));
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    await tracker.flush();
    fake.time.tick(4999);
    await settle();
    assert.equal(fake.browser.requests.length, 1);
    fake.time.tick(1);
    await settle();
    assert.equal(fake.browser.requests.length, 2);
  });

  it('events queued while waiting go with the retry', async () => {
    mock.method(Math, 'random', () => 1);
    fake.browser.answer(NETWORK_ERROR);
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('first_event');
    await tracker.flush();
    tracker.trackEvent('second_event');
    fake.time.tick(1000);
    await settle();
    assert.deepEqual(
      fake.browser.requests[1].body.batch.map((message) => message.event),
      ['first_event', 'second_event'],
    );
  });

  it('backoff doubles from 1 s with equal jitter and is capped at 60 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 20].map((attempt) => backoffMs(attempt, () => 1)),
      [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000],
    );
    assert.equal(
      backoffMs(3, () => 0),
      2000,
      'at least half of the delay',
    );
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-03-02T09:30:00Z');
    assert.equal(retryAfterMs('7', now), 7000);
    assert.equal(retryAfterMs('Mon, 02 Mar 2026 09:30:30 GMT', now), 30000);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(null, now), undefined);
  });
});

describe('400 partial rejection', () => {
  it('drops the events ingest rejected and keeps nothing of that batch pending', async () => {
    const debug = mock.method(console, 'debug', () => {});
    fake.browser.answer(
      response(400, {
        success: false,
        accepted: 2,
        errors: [{ index: 1, field: 'properties.currency', reason: 'String should match pattern' }],
      }),
    );
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT, debug: true });
    tracker.trackSearch('thai', {}, 3);
    tracker.trackBooking('completed', { ...BOOKING, currency: 'euro' });
    tracker.trackChatActivity('started', { chatId: 'chat-1' });
    await tracker.flush();
    assert.equal(fake.browser.storage.json(QUEUE_KEY), undefined);

    tracker.trackEvent('gift_card_viewed');
    await tracker.flush();
    fake.time.tick(120000);
    await settle();
    assert.equal(fake.browser.requests.length, 2);
    assert.deepEqual(
      fake.browser.requests[1].body.batch.map((message) => message.event),
      ['gift_card_viewed'],
    );
    const logged = debug.mock.calls.find((call) => String(call.arguments[0]).includes('rejected'));
    assert.ok(logged, 'the rejection is logged in debug mode');
    assert.deepEqual(logged.arguments[1], [
      {
        event: 'booking_completed',
        field: 'properties.currency',
        reason: 'String should match pattern',
      },
    ]);
  });
});

describe('page hide', () => {
  it('sends the queue with sendBeacon on pagehide, as application/json on the same origin', async () => {
    const endpoint = 'https://shop.example/lookout';
    const tracker = init({ writeKey: WRITE_KEY, endpoint });
    tracker.trackSearch('thai', { city: 'Berlin' }, 4);
    tracker.trackBooking('attempt', BOOKING);
    fake.browser.pagehide();

    assert.equal(fake.browser.requests.length, 0);
    assert.equal(fake.browser.beacons.length, 1);
    const [beacon] = fake.browser.beacons;
    assert.equal(beacon.url, `${endpoint}/v1/batch`);
    assert.equal(beacon.data.type, 'application/json');
    const [payload] = await fake.browser.beaconPayloads();
    assert.equal(payload.writeKey, WRITE_KEY);
    assert.ok(!Number.isNaN(Date.parse(payload.sentAt)));
    assert.deepEqual(
      payload.batch.map((message) => [message.event, message.properties]),
      [
        ['search_performed', { query: 'thai', filters: { city: 'Berlin' }, resultsCount: 4 }],
        ['booking_attempt', BOOKING],
      ],
    );
    assert.equal(
      fake.browser.storage.json(QUEUE_KEY),
      undefined,
      'a beacon the browser took counts as sent',
    );

    fake.browser.hide();
    assert.equal(fake.browser.beacons.length, 1, 'nothing left for a second beacon');
  });

  it('sends a cross-origin beacon as text/plain, which needs no CORS preflight', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    fake.browser.pagehide();
    const [beacon] = fake.browser.beacons;
    assert.equal(beacon.url, `${ENDPOINT}/v1/batch`);
    assert.equal(beacon.data.type, 'text/plain');
    const [payload] = await fake.browser.beaconPayloads();
    assert.deepEqual(
      payload.batch.map((message) => message.event),
      ['gift_card_viewed'],
    );
  });

  it('sends a beacon when the document becomes hidden', () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    fake.browser.hide();
    assert.equal(fake.browser.beacons.length, 1);
  });

  it('falls back to a keepalive fetch when sendBeacon refuses', async () => {
    fake.browser.beaconResult = false;
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    fake.browser.pagehide();
    await settle();
    assert.equal(fake.browser.requests.length, 1);
    assert.equal(fake.browser.requests[0].init.keepalive, true);
    assert.equal(fake.browser.storage.json(QUEUE_KEY), undefined);
  });

  it('falls back to a keepalive fetch when there is no sendBeacon', async () => {
    delete fake.browser.window.navigator.sendBeacon;
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    fake.browser.hide();
    await settle();
    assert.equal(fake.browser.requests.length, 1);
    assert.equal(fake.browser.requests[0].init.keepalive, true);
  });

  it('keeps a failed keepalive fetch in storage for the next page load', async () => {
    fake.browser.beaconResult = false;
    fake.browser.answer(NETWORK_ERROR);
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('gift_card_viewed');
    fake.browser.pagehide();
    await settle();
    assert.deepEqual(
      fake.browser.storage.json(QUEUE_KEY).map((message) => message.event),
      ['gift_card_viewed'],
    );
  });

  it('leaves events a request is already carrying to that request', async () => {
    let answer;
    fake.browser.answer(
      () =>
        new Promise((resolve) => {
          answer = resolve;
        }),
    );
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('in_flight');
    const flushed = tracker.flush();
    tracker.trackEvent('queued_later');
    fake.browser.pagehide();

    const [payload] = await fake.browser.beaconPayloads();
    assert.deepEqual(
      payload.batch.map((message) => message.event),
      ['queued_later'],
    );
    assert.deepEqual(
      fake.browser.storage.json(QUEUE_KEY).map((message) => message.event),
      ['in_flight'],
      'kept in storage until ingest answers',
    );
    answer(response(200));
    await flushed;
    assert.equal(fake.browser.storage.json(QUEUE_KEY), undefined);
  });
});
