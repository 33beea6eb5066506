// Experiments: each variant's conversion to a goal event against the control, with the
// sample-ratio check that says when the split itself is broken.

import { cell, el, fillTable, fmt } from '../lib/format.js';
import { loadInto } from '../lib/view.js';
import { activeRange, rangeQuery, stamp } from './range.js';
import { loadNow } from './lazy.js';

export const ID = 'analytics-experiments';

function showExperiment(view, answer, message) {
  const { $ } = view;
  $('ex-status').textContent = message;
  $('ex-variants').hidden = !answer;
  const srm = answer && answer.sampleRatio.srmWarning;
  $('ex-srm').hidden = !srm;
  if (!answer) return;
  if (srm) {
    const split = answer.variants.map((variant) => `${variant.name} ${fmt.int(variant.exposures)}`).join(', ');
    $('ex-srm').textContent = `Sample ratio mismatch: the exposures (${split}) are not the intended split `
      + `(chi-square p = ${fmt.p(answer.sampleRatio.pValue)}). The assignment or the exposure logging may be `
      + 'broken: do not trust these results until it is fixed.';
  }
  fillTable($('ex-variants'), answer.variants.map((variant) => {
    const versus = variant.versusControl;
    const interval = versus && versus.confidenceInterval;
    return el('tr', { 'data-variant': variant.name },
      cell(variant.name === answer.control && variant.name !== 'control' ? `${variant.name} (control)` : variant.name),
      cell(fmt.int(variant.exposures), 'num'), cell(fmt.int(variant.conversions), 'num'),
      cell(fmt.fraction(variant.conversionRate), 'num'),
      cell(versus ? `${fmt.points(versus.absoluteUplift)} (${fmt.relative(versus.relativeUplift)})` : '–', 'num'),
      cell(interval ? `${fmt.points(interval.low)} to ${fmt.points(interval.high)}` : '–', 'num'),
      cell(versus ? fmt.p(versus.pValue) : '–', 'num'),
      el('td', {}, versus ? el('span', { class: `badge ${versus.significant ? 'good' : 'neutral'}`, text: versus.significant ? 'yes' : 'no' }) : '–'));
  }));
}

async function compareExperiment(view) {
  const { $, state } = view;
  const range = activeRange(view);
  const name = $('ex-name').value;
  const goal = $('ex-goal').value.trim();
  const known = state.experiments.get(name);
  if (!known) return;
  if (!/^[A-Za-z][A-Za-z0-9_.:\- ]*$/.test(goal)) {
    showExperiment(view, null, 'The goal is an event name, such as booking_completed.');
    return;
  }
  // The list spans all time: a range after the last exposure (or before the first) has none.
  if (new Date(known.lastExposure) < new Date(range.from) || new Date(known.firstExposure) >= new Date(range.to)) {
    showExperiment(view, null, `No exposures to ${name} in this range.`);
    return;
  }
  $('ex-status').textContent = 'Loading…';
  let answer;
  try {
    answer = await view.api(`/api/v1/analytics/experiments/${encodeURIComponent(name)}?${rangeQuery(range, { goal })}`);
  } catch (error) {
    if (error.status === 404 || error.status === 422) {
      showExperiment(view, null, error.message);
      return;
    }
    $('ex-status').textContent = '';
    throw error;
  }
  stamp($(ID), range);
  const total = answer.variants.reduce((sum, variant) => sum + variant.exposures, 0);
  showExperiment(view, answer, `${fmt.int(total)} people exposed; goal ${goal} after their first exposure.`);
}

export async function load(view) {
  const { $, state } = view;
  const experiments = await view.api('/api/v1/analytics/experiments');
  state.experiments = new Map(experiments.map((experiment) => [experiment.experiment, experiment]));
  const select = $('ex-name');
  const chosen = select.value;
  select.replaceChildren(...experiments.map((experiment) => el('option', {
    value: experiment.experiment, text: experiment.experiment,
  })));
  if (state.experiments.has(chosen)) select.value = chosen;
  $('ex-run').disabled = !experiments.length;
  if (!experiments.length) {
    showExperiment(view, null, 'No experiment has exposures yet.');
    return;
  }
  await compareExperiment(view);
}

export function init(view) {
  const { $, signal, state } = view;
  $('ex-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!state.experiments.size) {
      loadNow(view, ID);
      return;
    }
    state.lazyLoaded.add(ID);
    loadInto($(ID), () => compareExperiment(view));
  }, { signal });
  $('ex-name').addEventListener('change', () => loadInto($(ID), () => compareExperiment(view)), { signal });
}
