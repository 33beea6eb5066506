// Errors: how many, their share of all events, over time, and the top error groups.

import { cell, el, fillTable, fmt, notSent } from '../lib/format.js';
import { chart, COLORS, EMPTY } from '../lib/charts.js';
import { rangeQuery, stale } from './range.js';

export async function load(view, range) {
  const { $ } = view;
  const errors = await view.api(`/api/v1/analytics/errors?${rangeQuery(range, { granularity: range.granularity })}`);
  if (stale(view, range)) return;
  $('er-count').textContent = fmt.int(errors.errors);
  $('er-rate').textContent = errors.events ? fmt.pct(errors.errorRate) : '–';
  chart(view, 'chart-errors', errors.series.length > 0, [{
    type: 'bar', name: 'errors', x: errors.series.map((point) => point.bucket),
    y: errors.series.map((point) => point.errors), marker: { color: COLORS.bad },
  }], { yaxis: { title: { text: 'errors' }, rangemode: 'tozero' } });
  fillTable($('er-top'), errors.top.map((group) => el('tr', { 'data-fingerprint': group.fingerprint },
    cell(notSent(group.type)), cell(group.message, 'message'), cell(group.topFrame || '–', 'frame'),
    cell(fmt.int(group.count), 'num'), cell(fmt.time(group.lastSeen)))), EMPTY);
}
