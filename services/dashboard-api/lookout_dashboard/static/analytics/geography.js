// Geography: located events by country and city.

import { cell, el, fillTable, fmt, plotText } from '../lib/format.js';
import { CHART_LAYOUT, chart, COLORS, EMPTY } from '../lib/charts.js';
import { rangeQuery, stale } from './range.js';

// Intl.DisplayNames is missing from some browsers: codes are then shown as sent.
const REGIONS = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames([], { type: 'region' }) : null;

function countryName(code) {
  if (REGIONS && /^[A-Z]{2}$/.test(code)) {
    let name = null;
    try {
      name = REGIONS.of(code);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error; // not a region code: shown as sent
    }
    if (name && name !== code) return `${name} (${code})`;
  }
  return code || '(unknown)';
}

export async function load(view, range) {
  const { $ } = view;
  const geo = await view.api(`/api/v1/analytics/geography?${rangeQuery(range)}`);
  if (stale(view, range)) return;
  $('geo-total').textContent = `${fmt.int(geo.events)} events from people who allowed geolocation.`;
  const countries = [...geo.countries].reverse();
  chart(view, 'chart-countries', geo.countries.length > 0, [{
    type: 'bar', orientation: 'h', x: countries.map((row) => row.events),
    y: countries.map((row) => plotText(countryName(row.country))), marker: { color: COLORS.accent },
    hovertemplate: '%{y}: %{x} events<extra></extra>',
  }], { margin: { ...CHART_LAYOUT.margin, l: 150 }, yaxis: { type: 'category', automargin: true }, xaxis: { title: { text: 'events' } } });
  fillTable($('geo-countries'), geo.countries.map((row) => el('tr', { 'data-country': row.country },
    cell(countryName(row.country)), cell(fmt.int(row.events), 'num'), cell(fmt.pct(row.share), 'num'))), EMPTY);
  fillTable($('geo-cities'), geo.cities.map((row) => el('tr', { 'data-city': row.city },
    cell(row.city), cell(countryName(row.country)), cell(fmt.int(row.events), 'num'))), EMPTY);
}
