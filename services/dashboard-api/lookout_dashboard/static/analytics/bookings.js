// Bookings: attempts, completions and conversion; revenue per currency, by service and place.

import { cell, el, fillTable, fmt, notSent } from '../lib/format.js';
import { chart, EMPTY } from '../lib/charts.js';
import { rangeQuery, stale } from './range.js';

function revenueText(revenue) {
  return revenue.length
    ? revenue.map((row) => `${notSent(row.currency)} ${fmt.decimal(row.revenue)}`).join(' · ')
    : '–';
}

function bookingRow(name, group) {
  return el('tr', { 'data-name': name },
    cell(notSent(name)), cell(fmt.int(group.attempts), 'num'), cell(fmt.int(group.completions), 'num'),
    cell(group.attempts ? fmt.pct(group.conversionRate) : '–', 'num'), cell(revenueText(group.revenue), 'revenue'));
}

export async function load(view, range) {
  const { $, api } = view;
  const [bookings, breakdown] = await Promise.all([
    api(`/api/v1/analytics/bookings?${rangeQuery(range, { granularity: range.granularity })}`),
    api(`/api/v1/analytics/bookings/breakdown?${rangeQuery(range)}`),
  ]);
  if (stale(view, range)) return;
  $('an-attempts').textContent = fmt.int(bookings.attempts);
  $('an-completions').textContent = fmt.int(bookings.completions);
  $('an-conversion').textContent = bookings.attempts ? fmt.pct(bookings.conversionRate) : '–';
  const x = bookings.series.map((point) => point.bucket);
  chart(view, 'chart-bookings', bookings.series.length > 0, [
    { type: 'bar', name: 'attempts', x, y: bookings.series.map((point) => point.attempts) },
    { type: 'bar', name: 'completed', x, y: bookings.series.map((point) => point.completions) },
  ], { barmode: 'group' });
  fillTable($('bk-revenue'), breakdown.revenue.map((row) => el('tr', { 'data-currency': row.currency },
    cell(notSent(row.currency)), cell(fmt.decimal(row.revenue), 'num'), cell(fmt.int(row.completions), 'num'))),
  EMPTY);
  fillTable($('bk-services'), breakdown.byServiceType.map((group) => bookingRow(group.serviceType, group)), EMPTY);
  fillTable($('bk-locations'), breakdown.byLocation.map((group) => bookingRow(group.location, group)), EMPTY);
}
