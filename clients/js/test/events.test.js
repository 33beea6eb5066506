import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import { init } from '../src/index.js';
import { BOOKING, ENDPOINT, WRITE_KEY, useFakeBrowser } from './support/browser.js';

const BOOKING_IN_BERLIN_BY_CARD = { ...BOOKING, location: 'Berlin', paymentMethod: 'card' };

const fake = useFakeBrowser();
let tracker;

beforeEach(() => {
  tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT, flushAt: 100 });
});

async function sent() {
  await tracker.flush();
  return fake.browser.sent().map((message) => [message.type, message.event, message.properties]);
}

describe("the product's events", () => {
  it('trackBooking: attempt and completed', async () => {
    tracker.trackBooking('attempt', BOOKING_IN_BERLIN_BY_CARD);
    tracker.trackBooking('completed', BOOKING_IN_BERLIN_BY_CARD);
    tracker.trackBooking('cancelled', BOOKING_IN_BERLIN_BY_CARD);
    assert.deepEqual(await sent(), [
      ['track', 'booking_attempt', BOOKING_IN_BERLIN_BY_CARD],
      ['track', 'booking_completed', BOOKING_IN_BERLIN_BY_CARD],
    ]);
  });

  it('trackChatActivity: started and message', async () => {
    tracker.trackChatActivity('started', { chatId: 'chat-1', participantType: 'customer' });
    tracker.trackChatActivity('message', {
      chatId: 'chat-1',
      participantType: 'therapist',
      messageLength: 42,
      hasAttachment: false,
    });
    tracker.trackChatActivity('typing', { chatId: 'chat-1' });
    assert.deepEqual(await sent(), [
      ['track', 'chat_started', { chatId: 'chat-1', participantType: 'customer' }],
      [
        'track',
        'chat_message_sent',
        { chatId: 'chat-1', participantType: 'therapist', messageLength: 42, hasAttachment: false },
      ],
    ]);
  });

  it('trackSearch: query, filters and the number of results', async () => {
    tracker.trackSearch('thai massage', { city: 'Berlin', maxPrice: 80 }, 12);
    tracker.trackSearch('deep tissue');
    assert.deepEqual(await sent(), [
      [
        'track',
        'search_performed',
        { query: 'thai massage', filters: { city: 'Berlin', maxPrice: 80 }, resultsCount: 12 },
      ],
      ['track', 'search_performed', { query: 'deep tissue', filters: {} }],
    ]);
  });

  it('trackUserRegistration: user type and method', async () => {
    tracker.trackUserRegistration('therapist', 'google');
    tracker.trackUserRegistration('customer');
    assert.deepEqual(await sent(), [
      ['track', 'user_registered', { userType: 'therapist', method: 'google' }],
      ['track', 'user_registered', { userType: 'customer' }],
    ]);
  });

  it('trackError: message, type (the error name), stack and context', async () => {
    const error = new TypeError('Cannot read properties of undefined');
    tracker.trackError(error, { component: 'BookingForm' });
    tracker.trackError('plain string thrown');
    const [[, name, properties], [, , fromString]] = await sent();
    assert.equal(name, 'error_occurred');
    assert.equal(properties.message, 'Cannot read properties of undefined');
    assert.equal(properties.type, 'TypeError');
    assert.equal(properties.stack, error.stack);
    assert.deepEqual(properties.context, { component: 'BookingForm' });
    assert.deepEqual(fromString, { message: 'plain string thrown', type: 'Error', context: {} });
  });

  it("trackError: a string context is kept (the brief's 'user_registration')", async () => {
    tracker.trackError(new Error('Email already registered'), 'user_registration');
    tracker.trackError(new Error('timeout'), 'x'.repeat(600));
    const [[, , registration], [, , long]] = await sent();
    assert.equal(registration.message, 'Email already registered');
    assert.equal(registration.context, 'user_registration');
    assert.equal(long.context, 'x'.repeat(512));
  });

  it('strings are sent well-formed: a lone surrogate becomes U+FFFD, pairs stay whole', async () => {
    tracker.trackSearch('\uD800thai', { city: 'Berlin \uDC00', ['k\uDBFF']: '\u{1F600}' }, 3);
    tracker.trackError(new Error(`${'a'.repeat(4095)}\u{1F600}`), `${'b'.repeat(511)}\u{1F600}`);
    const [[, , search], [, , error]] = await sent();
    assert.deepEqual(search, {
      query: '\uFFFDthai',
      filters: { city: 'Berlin \uFFFD', 'k\uFFFD': '\u{1F600}' },
      resultsCount: 3,
    });
    // Cut at the limit without leaving half of the emoji behind.
    assert.equal(error.message, 'a'.repeat(4095));
    assert.equal(error.context, 'b'.repeat(511));
    const body = JSON.stringify(fake.browser.requests[0].body);
    assert.doesNotMatch(body, /\\ud[89ab]/i, 'no escaped lone surrogate on the wire');
  });

  it('trackEvent: any valid name is a custom event', async () => {
    tracker.trackEvent('gift_card_viewed', { amount: 50 });
    tracker.trackEvent('newsletter signup');
    assert.deepEqual(await sent(), [
      ['track', 'gift_card_viewed', { amount: 50 }],
      ['track', 'newsletter signup', {}],
    ]);
  });
});
