// Top pages: views, visitors and load times of the ten most viewed pages.

import { cell, el, fillTable, fmt } from '../lib/format.js';
import { EMPTY } from '../lib/charts.js';
import { rangeQuery, stale } from './range.js';
import { fillStepChoices } from './suggestions.js';

export async function load(view, range) {
  const pages = await view.api(`/api/v1/analytics/pages?${rangeQuery(range, { limit: 10 })}`);
  if (stale(view, range)) return;
  view.state.pagesSeen = pages.map((page) => page.page);
  fillStepChoices(view);
  fillTable(view.$('an-pages'), pages.map((page) => el('tr', { 'data-page': page.page },
    cell(page.page), cell(fmt.int(page.views), 'num'), cell(fmt.int(page.visitors), 'num'),
    cell(fmt.ms(page.loadTimeP50), 'num'), cell(fmt.ms(page.loadTimeP95), 'num'))), EMPTY);
}
