// Data quality: events ingest or the aggregator rejected (dead letters), by reason.

import { cell, el, fillTable, fmt } from '../lib/format.js';
import { chart, COLORS, EMPTY } from '../lib/charts.js';
import { rangeQuery, stale } from './range.js';

const DEAD_LETTER_CODES = {
  invalid: 'Invalid field',
  undecodable: 'Not an event',
  timestamp_out_of_range: 'Timestamp out of range',
  refused_by_database: 'Refused by the database',
  processing_error: 'Processing error',
};

function codeName(code) {
  return DEAD_LETTER_CODES[code] || code;
}

export async function load(view, range) {
  const { $ } = view;
  const letters = await view.api(`/api/v1/analytics/dead-letters?${rangeQuery(range)}`);
  if (stale(view, range)) return;
  $('dq-total').textContent = fmt.int(letters.total);
  chart(view, 'chart-dead-letters', letters.series.length > 0, [{
    type: 'bar', name: 'dead letters', x: letters.series.map((point) => point.bucket),
    y: letters.series.map((point) => point.letters), marker: { color: COLORS.bad },
  }], { yaxis: { title: { text: 'dead letters' }, rangemode: 'tozero' } });
  fillTable($('dq-codes'), letters.cells.map((row) => el('tr', { 'data-code': row.code },
    cell(codeName(row.code)), cell(row.stage), cell(fmt.int(row.letters), 'num'))), EMPTY);
  fillTable($('dq-reasons'), letters.recentReasons.map((row) => el('tr', { 'data-code': row.code },
    cell(`${codeName(row.code)} (${row.stage})`), cell(row.reason, 'message'),
    cell(fmt.int(row.letters), 'num'), cell(fmt.time(row.lastSeen)))), EMPTY);
}
