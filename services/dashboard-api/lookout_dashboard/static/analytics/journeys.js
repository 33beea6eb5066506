// Journeys: the paths sessions took after a start step, as a Sankey diagram and a table.

import { cell, el, fillTable, fmt, plotText } from '../lib/format.js';
import { COLORS, EMPTY, plot, purge } from '../lib/charts.js';
import { activeRange, rangeQuery, stamp } from './range.js';
import { loadNow } from './lazy.js';

export const ID = 'analytics-journeys';

function stepLabel(step) {
  if (step.startsWith('page:')) return step.slice(5);
  if (step.startsWith('event:')) return step.slice(6);
  return step;
}

export async function load(view) {
  const { $ } = view;
  const range = activeRange(view);
  const start = $('jn-start').value.trim();
  if (!/^(page:\/|event:[A-Za-z])/.test(start)) {
    $('jn-status').textContent = 'Start with page:/path or event:name.';
    return;
  }
  $('jn-status').textContent = 'Loading…';
  let answer;
  try {
    answer = await view.api(`/api/v1/analytics/journeys?${rangeQuery(range, { startStep: start, depth: $('jn-depth').value })}`);
  } catch (error) {
    $('jn-status').textContent = '';
    throw error;
  }
  stamp($(ID), range);
  const chartNode = $('chart-journeys');
  chartNode.hidden = !answer.sequences;
  if (!answer.sequences) {
    purge(view, 'chart-journeys');
    fillTable($('jn-paths'), [], EMPTY);
    $('jn-status').textContent = EMPTY;
    return;
  }
  const index = new Map(answer.nodes.map((node, i) => [node.id, i]));
  plot(view, 'chart-journeys', [{
    type: 'sankey',
    orientation: 'h',
    node: {
      label: answer.nodes.map((node) => plotText(stepLabel(node.step))),
      pad: 12,
      thickness: 14,
      color: answer.nodes.map((node) => (node.step === '(exit)' ? '#9aa4b1' : COLORS.accent)),
      hovertemplate: '%{label}: %{value} sessions<extra></extra>',
    },
    link: {
      source: answer.links.map((link) => index.get(link.source)),
      target: answer.links.map((link) => index.get(link.target)),
      value: answer.links.map((link) => link.value),
      color: 'rgba(36, 87, 197, 0.25)',
    },
  }], { margin: { l: 10, r: 10, t: 10, b: 10 } });
  fillTable($('jn-paths'), answer.paths.map((path) => el('tr', {},
    cell(path.steps.map(stepLabel).join(' → '), 'message'), cell(fmt.int(path.count), 'num'))), EMPTY);
  $('jn-status').textContent = `${fmt.int(answer.sequences)} sessions of ${fmt.int(answer.people)} people`
    + (answer.truncated ? ' (only the first people who matched were followed)' : '');
}

export function init(view) {
  view.$('jn-form').addEventListener('submit', (event) => {
    event.preventDefault();
    loadNow(view, ID);
  }, { signal: view.signal });
}
