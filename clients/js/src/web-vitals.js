/**
 * Core Web Vitals of the current page load, observed with PerformanceObserver
 * where the browser has it: LCP, CLS (largest session window), INP (an
 * approximation of the 98th percentile interaction), FCP and TTFB, in
 * milliseconds except CLS. Metrics the browser cannot measure are left out.
 */

import { browserWindow, read } from './environment.js';

const CLS_GAP_MS = 1000;
const CLS_WINDOW_MS = 5000;

function round(value, digits) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function validTime(value) {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Starts observing; `measure()` returns what was measured so far, `stop()` disconnects. */
export function observeWebVitals() {
  const win = browserWindow();
  const Observer = read(() => win.PerformanceObserver);
  const performance = read(() => win.performance);
  const supported = read(() => Observer.supportedEntryTypes);
  const observers = [];
  const values = {};
  const interactions = new Map();
  let clsWindow = [];
  let clsWindowValue = 0;

  function observe(type, onEntries, options) {
    if (typeof Observer !== 'function') return;
    if (Array.isArray(supported) && !supported.includes(type)) return;
    const handle = (entries) => {
      for (const entry of entries) {
        try {
          onEntries(entry);
        } catch (error) {
          // One odd entry does not stop the others.
        }
      }
    };
    try {
      const observer = new Observer((list) => handle(read(() => list.getEntries()) || []));
      observer.observe({ type, buffered: true, ...options });
      observers.push({ observer, handle });
    } catch (error) {
      // This browser cannot observe that entry type.
    }
  }

  observe('largest-contentful-paint', (entry) => {
    if (validTime(entry.startTime)) values.lcp = entry.startTime;
  });
  observe('paint', (entry) => {
    if (entry.name === 'first-contentful-paint' && validTime(entry.startTime)) {
      values.fcp = entry.startTime;
    }
  });
  observe('layout-shift', (entry) => {
    if (entry.hadRecentInput || typeof entry.value !== 'number') return;
    const first = clsWindow[0];
    const last = clsWindow[clsWindow.length - 1];
    if (
      last &&
      entry.startTime - last.startTime < CLS_GAP_MS &&
      entry.startTime - first.startTime < CLS_WINDOW_MS
    ) {
      clsWindow.push(entry);
      clsWindowValue += entry.value;
    } else {
      clsWindow = [entry];
      clsWindowValue = entry.value;
    }
    values.cls = Math.max(values.cls || 0, clsWindowValue);
  });
  const interaction = (entry) => {
    if (!entry.interactionId || !validTime(entry.duration)) return;
    interactions.set(
      entry.interactionId,
      Math.max(interactions.get(entry.interactionId) || 0, entry.duration),
    );
  };
  observe('event', interaction, { durationThreshold: 40 });
  observe('first-input', interaction);

  function inp() {
    if (interactions.size === 0) return undefined;
    const durations = Array.from(interactions.values()).sort((a, b) => b - a);
    // The worst interaction, skipping one per 50 (web.dev's p98 approximation).
    return durations[Math.min(durations.length - 1, Math.floor(durations.length / 50))];
  }

  function ttfb() {
    const navigation = read(() => performance.getEntriesByType('navigation')[0]);
    const responseStart = read(() => navigation.responseStart);
    return validTime(responseStart) && responseStart > 0 ? responseStart : undefined;
  }

  function fcpFallback() {
    const paint = read(() => performance.getEntriesByName('first-contentful-paint')[0]);
    const startTime = read(() => paint.startTime);
    return validTime(startTime) ? startTime : undefined;
  }

  return {
    /** The metrics so far (entries the observers still hold are read first). */
    measure() {
      for (const { observer, handle } of observers) {
        handle(read(() => observer.takeRecords()) || []);
      }
      const measured = {
        lcp: values.lcp,
        inp: inp(),
        cls: values.cls,
        ttfb: ttfb(),
        fcp: values.fcp === undefined ? fcpFallback() : values.fcp,
      };
      const result = {};
      for (const [name, value] of Object.entries(measured)) {
        if (value !== undefined) result[name] = name === 'cls' ? round(value, 4) : round(value, 1);
      }
      return result;
    },
    stop() {
      for (const { observer } of observers) read(() => observer.disconnect());
      observers.length = 0;
    },
  };
}
