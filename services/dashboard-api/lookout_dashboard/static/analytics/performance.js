// Performance: Web Vitals at the 75th percentile per page, rated; API response times.

import { cell, el, fillTable, fmt } from '../lib/format.js';
import { EMPTY } from '../lib/charts.js';
import { rangeQuery, stale } from './range.js';

const VITALS = ['lcp', 'inp', 'cls', 'ttfb', 'fcp'];
const RATING_TEXT = { good: 'good', 'needs-improvement': 'needs improvement', poor: 'poor' };

function vitalCell(metric, vital) {
  if (!vital || vital.p75 === null) return cell('–', 'muted');
  const shown = metric === 'cls' ? vital.p75.toFixed(3) : fmt.ms(vital.p75);
  return el('td', { 'data-metric': metric, title: `p75 of ${fmt.int(vital.samples)} samples` },
    el('span', { class: 'vital', text: shown }), ' ',
    el('span', { class: `badge rating ${vital.rating}`, text: RATING_TEXT[vital.rating] }));
}

function vitalsRow(label, vitals, attrs) {
  return el('tr', attrs, cell(label), ...VITALS.map((metric) => vitalCell(metric, vitals[metric])),
    cell(fmt.ms(vitals.apiResponseTime.p50), 'num'), cell(fmt.ms(vitals.apiResponseTime.p95), 'num'));
}

export async function load(view, range) {
  const performance = await view.api(`/api/v1/analytics/performance?${rangeQuery(range)}`);
  if (stale(view, range)) return;
  const rows = performance.pages.map((page) => vitalsRow(page.page === '' ? '(no path)' : page.page, page,
    { 'data-page': page.page }));
  if (rows.length) rows.unshift(vitalsRow('All pages', performance.allPages, { class: 'total', 'data-all': 'true' }));
  fillTable(view.$('pf-pages'), rows, EMPTY);
}
