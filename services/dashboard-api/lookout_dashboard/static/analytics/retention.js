// Retention: weekly cohorts of people who joined in the range, and the share active later.

import { calendarDay, cell, el, fillTable, fmt } from '../lib/format.js';
import { EMPTY } from '../lib/charts.js';
import { activeRange, rangeQuery, stamp } from './range.js';
import { loadNow } from './lazy.js';

export const ID = 'analytics-retention';

function weekHeaders(view, weeks) {
  const cells = [el('th', { text: 'Cohort' }), el('th', { class: 'num', text: 'People' })];
  for (let week = 0; week <= weeks; week += 1) cells.push(el('th', { class: 'num', text: `Week ${week}` }));
  view.$('rn-cohorts').tHead.rows[0].replaceChildren(...cells);
}

export async function load(view) {
  const { $ } = view;
  const range = activeRange(view);
  const cohortBy = view.root.querySelector('input[name=cohortBy]:checked').value;
  $('rn-status').textContent = 'Loading…';
  let answer;
  try {
    answer = await view.api(`/api/v1/analytics/retention?${rangeQuery(range, { cohortBy })}`);
  } catch (error) {
    $('rn-status').textContent = '';
    throw error;
  }
  stamp($(ID), range);
  weekHeaders(view, answer.weeks);
  const today = new Date();
  fillTable($('rn-cohorts'), answer.cohorts.map((cohort) => {
    const monday = calendarDay(cohort.week);
    const cells = cohort.rates.map((rate, week) => {
      const begins = new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() + 7 * week);
      if (begins > today) return el('td', { class: 'num future', 'aria-label': 'not yet' });
      return el('td', {
        class: `num heat-${Math.round(rate * 10)}`,
        title: `${fmt.int(cohort.active[week])} of ${fmt.int(cohort.people)} people`,
        text: `${(rate * 100).toFixed(1)} %`,
      });
    });
    return el('tr', { 'data-week': cohort.week },
      cell(monday.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' })),
      cell(fmt.int(cohort.people), 'num'), ...cells);
  }), EMPTY);
  $('rn-status').textContent = answer.cohorts.length ? '' : EMPTY;
}

export function init(view) {
  for (const radio of view.all('input[name=cohortBy]')) {
    radio.addEventListener('change', () => loadNow(view, ID), { signal: view.signal });
  }
}
