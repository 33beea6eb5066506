// Search: searches, zero-result rate, top terms, filters, and searches by number of results.

import { cell, el, fillTable, fmt, plotText } from '../lib/format.js';
import { chart, COLORS, EMPTY } from '../lib/charts.js';
import { rangeQuery, stale } from './range.js';

// The API answers every results bin, in order: the chart shows them as they come.
function resultsChart(view, bins) {
  const labels = bins.map((bin) => plotText(bin.bin));
  const binned = bins.reduce((sum, bin) => sum + bin.searches, 0);
  chart(view, 'chart-results', binned > 0, [{
    type: 'bar',
    x: labels,
    y: bins.map((bin) => bin.searches),
    marker: { color: bins.map((bin) => (bin.bin === '0' ? COLORS.bad : COLORS.accent)) },
    hovertemplate: '%{x} results: %{y} searches<extra></extra>',
  }], {
    xaxis: { type: 'category', categoryorder: 'array', categoryarray: labels, title: { text: 'results' } },
    yaxis: { title: { text: 'searches' }, rangemode: 'tozero' },
  });
}

export async function load(view, range) {
  const { $ } = view;
  const search = await view.api(`/api/v1/analytics/search?${rangeQuery(range)}`);
  if (stale(view, range)) return;
  $('se-searches').textContent = fmt.int(search.searches);
  $('se-zero-rate').textContent = search.searches ? fmt.pct(search.zeroResultRate) : '–';
  $('se-zero').textContent = search.searches ? `${fmt.int(search.zeroResultSearches)} found nothing` : '';
  fillTable($('se-terms'), search.terms.map((term) => el('tr', { 'data-term': term.term },
    cell(term.term), cell(fmt.int(term.searches), 'num'), cell(fmt.int(term.zeroResults), 'num'))), EMPTY);
  fillTable($('se-filters'), search.filters.map((filter) => el('tr', {},
    cell(filter.filter), cell(fmt.int(filter.searches), 'num'))), EMPTY);
  resultsChart(view, search.results);
}
