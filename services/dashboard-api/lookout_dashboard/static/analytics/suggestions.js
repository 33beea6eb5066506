// Suggestions for the funnel's, the journeys' and the experiment's inputs: what was seen.

import { el } from '../lib/format.js';

function fillOptions(list, values) {
  list.replaceChildren(...[...new Set(values)].map((value) => el('option', { value })));
}

export function fillStepChoices(view) {
  const { $, state } = view;
  fillOptions($('fn-events'), state.eventNames);
  fillOptions($('jn-steps'), [...state.pagesSeen.map((path) => `page:${path}`),
    ...state.eventNames.map((name) => `event:${name}`)]);
}
