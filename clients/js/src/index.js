/**
 * `Lookout.init(options)` → a tracker whose every method is safe to call from the
 * host app: none of them ever throws, and `flush()` always returns a promise that
 * resolves.
 */

import { bookingEvent, chatEvent, errorEvent, registrationEvent, searchEvent } from './events.js';
import { Tracker } from './tracker.js';
import { VERSION } from './version.js';

export { VERSION };

function safely(tracker, name, action) {
  return (...args) => {
    try {
      return action(...args);
    } catch (error) {
      try {
        tracker.log(`${name} failed`, error);
      } catch (ignored) {
        // Even logging failed: stay silent.
      }
      return undefined;
    }
  };
}

function safeFlush(tracker) {
  return () => {
    try {
      return Promise.resolve(tracker.flush()).catch(() => undefined);
    } catch (error) {
      return Promise.resolve();
    }
  };
}

function inertTracker() {
  const nothing = () => undefined;
  return {
    trackEvent: nothing,
    page: nothing,
    identify: nothing,
    trackBooking: nothing,
    trackChatActivity: nothing,
    trackSearch: nothing,
    trackUserRegistration: nothing,
    trackError: nothing,
    trackWebVitals: nothing,
    setConsent: nothing,
    flush: () => Promise.resolve(),
    reset: nothing,
    getAnonymousId: () => null,
    destroy: nothing,
  };
}

/**
 * A tracker for one write key and ingest endpoint. Options: writeKey, endpoint,
 * flushAt (20), flushIntervalMs (5000), maxQueue (1000), debug (false),
 * consent ({ analytics: true, geo: false }), storage (localStorage).
 */
export function init(options) {
  let tracker;
  try {
    tracker = new Tracker(options);
  } catch (error) {
    if (options && options.debug === true) {
      try {
        console.debug('[lookout] init failed; tracking is off', error);
      } catch (ignored) {
        // No console either.
      }
    }
    return inertTracker();
  }
  const wrap = (name, action) => safely(tracker, name, action);
  return {
    trackEvent: wrap('trackEvent', (name, properties) => tracker.trackEvent(name, properties)),
    page: wrap('page', (properties) => tracker.page(properties)),
    identify: wrap('identify', (userId, traits) => tracker.identify(userId, traits)),
    trackBooking: wrap('trackBooking', (stage, props) =>
      tracker.trackProductEvent(bookingEvent(stage, props), 'trackBooking'),
    ),
    trackChatActivity: wrap('trackChatActivity', (kind, props) =>
      tracker.trackProductEvent(chatEvent(kind, props), 'trackChatActivity'),
    ),
    trackSearch: wrap('trackSearch', (query, filters, resultsCount) =>
      tracker.trackProductEvent(searchEvent(query, filters, resultsCount), 'trackSearch'),
    ),
    trackUserRegistration: wrap('trackUserRegistration', (userType, method) =>
      tracker.trackProductEvent(registrationEvent(userType, method), 'trackUserRegistration'),
    ),
    trackError: wrap('trackError', (error, context) =>
      tracker.trackProductEvent(errorEvent(error, context), 'trackError'),
    ),
    trackWebVitals: wrap('trackWebVitals', () => tracker.trackWebVitals()),
    setConsent: wrap('setConsent', (consent) => tracker.setConsent(consent)),
    flush: safeFlush(tracker),
    reset: wrap('reset', () => tracker.reset()),
    getAnonymousId: wrap('getAnonymousId', () => tracker.getAnonymousId()),
    destroy: wrap('destroy', () => tracker.destroy()),
  };
}
