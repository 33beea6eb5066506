import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { init } from '../src/index.js';
import { ENDPOINT, WRITE_KEY, useFakeBrowser } from './support/browser.js';

const MINUTE = 60 * 1000;
const fake = useFakeBrowser();

describe('identify', () => {
  it('after identify, events carry both the userId and the anonymousId', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('before_sign_in');
    tracker.identify('user-42', { plan: 'premium', userType: 'customer' });
    tracker.trackSearch('thai', {}, 2);
    await tracker.flush();

    const [before, identify, after] = fake.browser.sent();
    assert.equal(before.userId, undefined);
    assert.equal(identify.type, 'identify');
    assert.equal(identify.userId, 'user-42');
    assert.deepEqual(identify.traits, { plan: 'premium', userType: 'customer' });
    assert.equal(
      identify.anonymousId,
      before.anonymousId,
      'links the anonymous visitor to the user',
    );
    assert.equal(after.userId, 'user-42');
    assert.equal(after.anonymousId, before.anonymousId);
  });

  it('the anonymous id and user id survive a page load', async () => {
    const first = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    first.identify('user-42');
    await first.flush();
    const anonymousId = fake.browser.sent()[0].anonymousId;
    first.destroy();

    fake.reload();
    const second = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    assert.equal(second.getAnonymousId(), anonymousId);
    second.trackEvent('gift_card_viewed');
    await second.flush();
    assert.equal(fake.browser.sent()[0].anonymousId, anonymousId);
    assert.equal(fake.browser.sent()[0].userId, 'user-42');
  });

  it('reset() forgets the user and starts a new anonymous id and session', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.identify('user-42');
    tracker.reset();
    tracker.trackEvent('signed_out_browse');
    await tracker.flush();
    const [identify, after] = fake.browser.sent();
    assert.equal(after.userId, undefined);
    assert.notEqual(after.anonymousId, identify.anonymousId);
    assert.notEqual(after.context.sessionId, identify.context.sessionId);
  });

  it('identify without a user id is ignored', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.identify('');
    tracker.identify(undefined, { plan: 'x' });
    tracker.trackEvent('gift_card_viewed');
    await tracker.flush();
    assert.deepEqual(
      fake.browser.sent().map((message) => message.type),
      ['track'],
    );
    assert.equal(fake.browser.sent()[0].userId, undefined);
  });
});

describe('sessions', () => {
  it('continue while events come within 30 minutes and renew after 30 minutes of inactivity', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackEvent('first_visit');
    fake.time.tick(29 * MINUTE);
    tracker.trackEvent('still_here');
    fake.time.tick(29 * MINUTE); // 58 minutes after the start, 29 after the last event
    tracker.trackEvent('still_here_again');
    fake.time.tick(30 * MINUTE + 1);
    tracker.trackEvent('came_back');
    await tracker.flush();

    const sessions = fake.browser.sent().map((message) => message.context.sessionId);
    assert.equal(sessions[0], sessions[1]);
    assert.equal(sessions[1], sessions[2]);
    assert.notEqual(sessions[3], sessions[2]);
    assert.deepEqual(fake.browser.storage.json('lookout.session'), {
      id: sessions[3],
      lastActivity: Date.now(),
    });
  });

  it('continue across page loads within 30 minutes', async () => {
    const first = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    first.trackEvent('first_page');
    await first.flush();
    const session = fake.browser.sent()[0].context.sessionId;
    first.destroy();

    fake.time.tick(10 * MINUTE);
    fake.reload();
    const second = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    second.trackEvent('second_page');
    await second.flush();
    assert.equal(fake.browser.sent()[0].context.sessionId, session);
  });
});
