// The Analytics tab: every section reads its own endpoint for the range chosen at the top
// (one `state.range` per load, so all of them show the same [from, to)). Light sections load
// with the tab; funnels, journeys, retention and experiments on first view or when asked.
// A section that fails says so in itself (loadInto), never in the others.

import { loadInto } from '../lib/view.js';
import { currentRange, stamp } from '../analytics/range.js';
import { observeLazySections, reloadLoaded } from '../analytics/lazy.js';
import * as realtime from '../analytics/realtime.js';
import * as traffic from '../analytics/traffic.js';
import * as bookings from '../analytics/bookings.js';
import * as chat from '../analytics/chat.js';
import * as search from '../analytics/search.js';
import * as pages from '../analytics/pages.js';
import * as performance from '../analytics/performance.js';
import * as errors from '../analytics/errors.js';
import * as quality from '../analytics/quality.js';
import * as geography from '../analytics/geography.js';
import * as funnels from '../analytics/funnels.js';
import * as journeys from '../analytics/journeys.js';
import * as retention from '../analytics/retention.js';
import * as experiments from '../analytics/experiments.js';

// The sections that show the chosen range, by the id of their <section>.
const RANGE_SECTIONS = {
  'analytics-traffic': traffic,
  'analytics-bookings': bookings,
  'analytics-chat': chat,
  'analytics-search': search,
  'analytics-pages': pages,
  'analytics-performance': performance,
  'analytics-errors': errors,
  'analytics-quality': quality,
  'analytics-geography': geography,
};
const LAZY_SECTIONS = [funnels, journeys, retention, experiments];

function showRange(view, range) {
  stamp(view.$('panel-analytics'), range);
  const from = new Date(range.from);
  const to = new Date(range.to);
  view.$('an-span').textContent = `${from.toLocaleString()} – ${to.toLocaleString()}`;
}

export function loadRealtime(view) {
  return loadInto(view.$('analytics-realtime'), () => realtime.load(view));
}

export async function load(view) {
  const range = currentRange(view);
  view.state.range = range;
  showRange(view, range);
  await Promise.all([
    loadRealtime(view),
    ...Object.entries(RANGE_SECTIONS).map(([id, section]) => loadInto(view.$(id), () => section.load(view, range))),
  ]);
  // Only now is the page its full length: what is out of view stays unloaded.
  if (view.state.range === range) observeLazySections(view);
}

// The in-page index: scrolls to a section and focuses its heading.
export function goToSection(view, id) {
  const target = view.$(id);
  if (!target) return;
  target.scrollIntoView({ block: 'start' });
  target.querySelector('h2').focus({ preventScroll: true });
  if (view.hashNavigation) history.replaceState(null, '', `#${id}`);
}

export function init(view) {
  const { $, signal, state } = view;
  state.lazyLoaders = Object.fromEntries(LAZY_SECTIONS.map((section) => [section.ID, section.load]));
  $('an-range').addEventListener('change', () => {
    load(view).then(() => reloadLoaded(view)).catch(view.fail);
  }, { signal });
  for (const link of view.all('.index a')) {
    link.addEventListener('click', (event) => {
      event.preventDefault();
      goToSection(view, link.hash.slice(1));
    }, { signal });
  }
  traffic.init(view);
  for (const section of LAZY_SECTIONS) section.init(view);
}
