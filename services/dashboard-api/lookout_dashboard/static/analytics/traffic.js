// Traffic: events over time by name, and distinct people active per day, week or month.

import { calendarDay, plotText } from '../lib/format.js';
import { chart, COLORS } from '../lib/charts.js';
import { loadInto } from '../lib/view.js';
import { rangeQuery, stale } from './range.js';
import { fillStepChoices } from './suggestions.js';

const PERIOD_LABEL = {
  day: (start) => start.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' }),
  week: (start) => `week of ${start.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })}`,
  month: (start) => start.toLocaleDateString(undefined, { month: 'short', year: 'numeric' }),
};

async function loadActive(view, range) {
  const period = view.$('an-period').value;
  const active = await view.api(`/api/v1/analytics/active?${rangeQuery(range, { granularity: period })}`);
  if (stale(view, range)) return;
  const label = PERIOD_LABEL[period];
  chart(view, 'chart-active', active.points.length > 0, [{
    type: 'bar',
    name: 'people',
    x: active.points.map((point) => label(calendarDay(point.start))),
    y: active.points.map((point) => point.actives),
    marker: { color: COLORS.accent },
    hovertemplate: '%{x}: %{y} people<extra></extra>',
  }], { xaxis: { type: 'category' }, yaxis: { title: { text: `people per ${period}` }, rangemode: 'tozero' } });
}

export async function load(view, range) {
  const [series] = await Promise.all([
    view.api(`/api/v1/analytics/events?${rangeQuery(range, { granularity: range.granularity })}`),
    loadActive(view, range),
  ]);
  if (stale(view, range)) return;
  const byEvent = new Map();
  for (const point of series.points) {
    if (!byEvent.has(point.event)) byEvent.set(point.event, { x: [], y: [] });
    byEvent.get(point.event).x.push(point.bucket);
    byEvent.get(point.event).y.push(point.events);
  }
  chart(view, 'chart-events', byEvent.size > 0, [...byEvent].map(([name, xy]) => ({
    type: 'scatter', mode: 'lines+markers', name: plotText(name), ...xy,
  })), { yaxis: { title: { text: 'events' }, rangemode: 'tozero' } });
  view.state.eventNames = [...byEvent.keys()].filter((name) => name !== 'identify').sort();
  fillStepChoices(view);
}

export function init(view) {
  view.$('an-period').addEventListener('change', () => loadInto(view.$('analytics-traffic'),
    () => loadActive(view, view.state.range)), { signal: view.signal });
}
