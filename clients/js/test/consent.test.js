import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { init } from '../src/index.js';
import { ENDPOINT, WRITE_KEY, settle, useFakeBrowser } from './support/browser.js';

const fake = useFakeBrowser();

function everything(tracker) {
  tracker.trackEvent('gift_card_viewed', { amount: 50 });
  tracker.page();
  tracker.identify('user-42', { plan: 'premium' });
  tracker.trackBooking('completed', {
    therapistId: 't-1',
    serviceType: 'thai',
    totalPrice: 70,
    currency: 'EUR',
  });
  tracker.trackChatActivity('started', { chatId: 'chat-1' });
  tracker.trackSearch('thai', {}, 1);
  tracker.trackUserRegistration('customer', 'email');
  tracker.trackError(new Error('boom'));
}

describe('consent', () => {
  it('without analytics consent nothing is queued, stored or sent', async () => {
    const tracker = init({
      writeKey: WRITE_KEY,
      endpoint: ENDPOINT,
      flushAt: 1,
      consent: { analytics: false },
    });
    everything(tracker);
    await tracker.flush();
    fake.time.tick(60000);
    fake.browser.hide();
    fake.browser.pagehide();
    await settle();
    assert.equal(fake.browser.requests.length, 0);
    assert.equal(fake.browser.beacons.length, 0);
    assert.deepEqual(fake.browser.storage.keys(), []);
  });

  it('withdrawing consent drops what was queued and the stored ids', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.identify('user-42');
    tracker.trackEvent('gift_card_viewed');
    assert.ok(fake.browser.storage.keys().length > 0);

    tracker.setConsent({ analytics: false });
    tracker.trackEvent('after_withdrawal');
    fake.time.tick(60000);
    fake.browser.pagehide();
    await settle();
    assert.equal(fake.browser.requests.length, 0);
    assert.equal(fake.browser.beacons.length, 0);
    assert.deepEqual(fake.browser.storage.keys(), []);
  });

  it('granting consent later starts tracking from then on', async () => {
    const tracker = init({
      writeKey: WRITE_KEY,
      endpoint: ENDPOINT,
      consent: { analytics: false },
    });
    tracker.trackEvent('before_consent');
    tracker.setConsent({ analytics: true });
    tracker.trackEvent('after_consent');
    await tracker.flush();
    assert.deepEqual(
      fake.browser.sent().map((message) => message.event),
      ['after_consent'],
    );
    assert.deepEqual(fake.browser.sent()[0].context.consent, { analytics: true, geo: false });
  });

  it('the geo flag travels in context.consent', async () => {
    const tracker = init({
      writeKey: WRITE_KEY,
      endpoint: ENDPOINT,
      consent: { analytics: true, geo: true },
    });
    tracker.trackEvent('with_geo');
    tracker.setConsent({ geo: false });
    tracker.trackEvent('without_geo');
    await tracker.flush();
    assert.deepEqual(
      fake.browser.sent().map((message) => message.context.consent),
      [
        { analytics: true, geo: true },
        { analytics: true, geo: false },
      ],
    );
  });

  it('any analytics value other than true is a refusal, as ingest reads it', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT, consent: { analytics: 'no' } });
    tracker.trackEvent('gift_card_viewed');
    await tracker.flush();
    assert.equal(fake.browser.requests.length, 0);
  });
});
