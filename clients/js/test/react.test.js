// The hook runs in real React (react-test-renderer, a devDependency), rendered in Node.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { init } from '../src/index.js';
import { useAnalytics } from '../src/react.js';
import { ENDPOINT, WRITE_KEY, useFakeBrowser } from './support/browser.js';
import { render } from './support/render.js';

const fake = useFakeBrowser();

function fakeTracker() {
  const calls = [];
  const record =
    (name) =>
    (...args) => {
      calls.push([name, ...args]);
      return name === 'flush' ? Promise.resolve('flushed') : undefined;
    };
  return {
    calls,
    trackEvent: record('trackEvent'),
    page: record('page'),
    identify: record('identify'),
    trackBooking: record('trackBooking'),
    trackChatActivity: record('trackChatActivity'),
    trackSearch: record('trackSearch'),
    trackUserRegistration: record('trackUserRegistration'),
    trackError: record('trackError'),
    setConsent: record('setConsent'),
    flush: record('flush'),
    reset: record('reset'),
  };
}

const Page = ({ tracker, path }) =>
  useAnalytics(tracker, path === undefined ? undefined : { path });

describe('useAnalytics(tracker)', () => {
  it('tracks a page view on mount and on each path change, not on other re-renders', () => {
    const tracker = fakeTracker();
    const page = render(Page, { tracker, path: '/therapists' });
    page.rerender({ tracker, path: '/therapists', other: 1 });
    page.rerender({ tracker, path: '/therapists/7' });
    page.rerender({ tracker, path: '/therapists/7' });
    assert.deepEqual(tracker.calls, [
      ['page', { path: '/therapists' }],
      ['page', { path: '/therapists/7' }],
    ]);
  });

  it('counts one view when StrictMode mounts effects twice', () => {
    const tracker = fakeTracker();
    render(Page, { tracker, path: '/' }, { strict: true });
    assert.deepEqual(tracker.calls, [['page', { path: '/' }]]);
  });

  it('reads the path from window.location when none is given', () => {
    const tracker = fakeTracker();
    const page = render(Page, { tracker });
    fake.browser.window.location = new URL('https://shop.example/bookings');
    page.rerender({ tracker });
    assert.deepEqual(tracker.calls, [
      ['page', { path: '/therapists' }],
      ['page', { path: '/bookings' }],
    ]);
  });

  it('returns the same functions on every render, forwarding to the tracker', async () => {
    const tracker = fakeTracker();
    const page = render(Page, { tracker, path: '/' });
    const first = page.result;
    page.rerender({ tracker, path: '/' });
    assert.equal(page.result, first);

    first.trackSearch('thai', { city: 'Berlin' }, 3);
    first.trackBooking('completed', { therapistId: 't-1' });
    assert.equal(await first.flush(), 'flushed');
    assert.deepEqual(tracker.calls.slice(1), [
      ['trackSearch', 'thai', { city: 'Berlin' }, 3],
      ['trackBooking', 'completed', { therapistId: 't-1' }],
      ['flush'],
    ]);
  });

  it('is a no-op until a tracker exists, then starts counting', () => {
    const page = render(Page, { tracker: null, path: '/' });
    assert.doesNotThrow(() => page.result.trackEvent('x'));
    const tracker = fakeTracker();
    page.rerender({ tracker, path: '/' });
    assert.deepEqual(tracker.calls, [['page', { path: '/' }]]);
  });

  it('with a real tracker, the page view and events reach ingest', async () => {
    const tracker = init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    const page = render(Page, { tracker, path: '/therapists' });
    page.result.trackSearch('thai', {}, 4);
    await page.result.flush();
    assert.deepEqual(
      fake.browser.sent().map((message) => [message.type, message.event, message.properties.path]),
      [
        ['page', undefined, '/therapists'],
        ['track', 'search_performed', undefined],
      ],
    );
  });
});
