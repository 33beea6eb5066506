/**
 * React binding without a provider: `useAnalytics(tracker, { path })` returns the
 * tracker's functions, the same object on every render (safe in effect
 * dependencies), and tracks a page view when the component mounts and whenever
 * `path` changes (default: `window.location.pathname`, read on each render; pass
 * your router's path so that client-side navigations re-render and count).
 */

import { useEffect, useMemo, useRef } from 'react';

const TRACKER_METHODS = [
  'trackEvent',
  'page',
  'identify',
  'trackBooking',
  'trackChatActivity',
  'trackSearch',
  'trackUserRegistration',
  'trackError',
  'setConsent',
  'flush',
  'reset',
];

function currentPath() {
  try {
    return window.location.pathname;
  } catch (error) {
    return undefined;
  }
}

/** The tracker's functions; calls are ignored (flush resolves) while `tracker` is missing. */
export function useAnalytics(tracker, options) {
  const path = options && options.path !== undefined ? options.path : currentPath();
  const trackPageViews = !(options && options.trackPageViews === false);
  const functions = useMemo(() => {
    const result = {};
    for (const name of TRACKER_METHODS) {
      result[name] = (...args) => {
        const method = tracker ? tracker[name] : undefined;
        if (typeof method === 'function') return method(...args);
        return name === 'flush' ? Promise.resolve() : undefined;
      };
    }
    return result;
  }, [tracker]);
  // StrictMode runs mount effects twice: remember what was counted so a view counts once.
  const counted = useRef(null);
  useEffect(() => {
    if (!tracker || !trackPageViews) return;
    if (counted.current && counted.current.tracker === tracker && counted.current.path === path)
      return;
    counted.current = { tracker, path };
    try {
      tracker.page(path === undefined ? {} : { path });
    } catch (error) {
      // The tracker never throws; a stand-in might, and must not break rendering.
    }
  }, [tracker, path, trackPageViews]);
  return functions;
}
