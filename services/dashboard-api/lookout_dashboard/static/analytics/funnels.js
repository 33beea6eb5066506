// Funnel: people who did each step in order within the window, built from steps the user edits.

import { cell, el, fillTable, fmt, plotText } from '../lib/format.js';
import { COLORS, EMPTY, plot, purge } from '../lib/charts.js';
import { activeRange, stamp } from './range.js';
import { loadNow } from './lazy.js';

export const ID = 'analytics-funnels';
const DEFAULT_FUNNEL = ['search_performed', 'booking_attempt', 'booking_completed'];
const MAX_STEPS = 10;

class InputError extends Error {}

function stepItem(event = '', filters = '') {
  return el('li', { class: 'step' },
    el('span', { class: 'step-number', 'aria-hidden': 'true' }),
    el('input', { class: 'step-event', value: event, required: true, list: 'fn-events', spellcheck: 'false', autocomplete: 'off' }),
    el('input', { class: 'step-filters', value: filters, placeholder: 'key=value, …', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'fn-hint' }),
    el('span', { class: 'step-buttons' },
      el('button', { type: 'button', class: 'icon', 'data-move': '-1', text: '↑' }),
      el('button', { type: 'button', class: 'icon', 'data-move': '1', text: '↓' }),
      el('button', { type: 'button', class: 'icon', 'data-remove': 'true', text: '✕' })));
}

function renumberSteps(view) {
  const items = [...view.$('fn-steps').children];
  items.forEach((item, index) => {
    const n = index + 1;
    item.querySelector('.step-number').textContent = `${n}.`;
    item.querySelector('.step-event').setAttribute('aria-label', `Step ${n} event name`);
    item.querySelector('.step-filters').setAttribute('aria-label', `Step ${n} filters`);
    const [up, down, remove] = item.querySelectorAll('button');
    up.setAttribute('aria-label', `Move step ${n} up`);
    down.setAttribute('aria-label', `Move step ${n} down`);
    remove.setAttribute('aria-label', `Remove step ${n}`);
    up.disabled = index === 0;
    down.disabled = index === items.length - 1;
    remove.disabled = items.length <= 2;
  });
  view.$('fn-add').disabled = items.length >= MAX_STEPS;
}

// "key=value, key2=value2": true/false/null and numbers as such, quotes for text.
function filterValue(raw) {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  const quoted = /^"(.*)"$/.exec(raw) || /^'(.*)'$/.exec(raw);
  return quoted ? quoted[1] : raw;
}

function readFilters(text, n) {
  const filters = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const equals = item.indexOf('=');
    if (equals <= 0) throw new InputError(`Step ${n}: write filters as key=value (not "${item}").`);
    filters[item.slice(0, equals).trim()] = filterValue(item.slice(equals + 1).trim());
  }
  return filters;
}

function readSteps(view) {
  return [...view.$('fn-steps').children].map((item, index) => {
    const event = item.querySelector('.step-event').value.trim();
    if (!/^[A-Za-z]/.test(event)) throw new InputError(`Step ${index + 1}: give an event name.`);
    return { event, filters: readFilters(item.querySelector('.step-filters').value, index + 1) };
  });
}

function showFunnel(view, answer) {
  const { $ } = view;
  const steps = answer.steps;
  const started = steps.length ? steps[0].people : 0;
  $('chart-funnel').hidden = !started;
  $('fn-result').hidden = !started;
  if (!started) {
    purge(view, 'chart-funnel');
    $('fn-status').textContent = EMPTY;
    return;
  }
  const labels = steps.map((step) => plotText(`${step.step}. ${step.event}`));
  plot(view, 'chart-funnel', [{
    type: 'bar', x: labels, y: steps.map((step) => step.people), marker: { color: COLORS.accent },
    text: steps.map((step) => fmt.fraction(step.conversionFromStart)), textposition: 'auto',
    hovertemplate: '%{x}: %{y} people (%{text} of step 1)<extra></extra>',
  }], { xaxis: { type: 'category' }, yaxis: { title: { text: 'people' }, rangemode: 'tozero' } });
  fillTable($('fn-result'), steps.map((step) => el('tr', { 'data-step': step.step },
    cell(step.step), cell(step.event), cell(fmt.int(step.people), 'num'),
    cell(fmt.fraction(step.conversionFromStart), 'num'), cell(step.step === 1 ? '–' : fmt.int(step.dropOff), 'num'),
    cell(fmt.seconds(step.medianSecondsFromPrevious), 'num'))));
  $('fn-status').textContent = `${fmt.int(started)} people started; ${fmt.int(steps[steps.length - 1].people)} reached the last step.`;
}

// A failed run is said in the form's status line, next to the Run button.
export async function load(view) {
  const { $ } = view;
  const range = activeRange(view);
  let steps;
  try {
    steps = readSteps(view);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    $('fn-status').textContent = error.message;
    return;
  }
  const button = $('fn-run');
  button.disabled = true;
  $('fn-status').textContent = 'Running…';
  try {
    const answer = await view.api('/api/v1/analytics/funnels', {
      method: 'POST', body: { steps, windowS: Number($('fn-window').value), from: range.from, to: range.to },
    });
    stamp($(ID), range);
    showFunnel(view, answer);
  } catch (error) {
    $('fn-status').textContent = `Could not run: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

export function init(view) {
  const { $, signal } = view;
  $('fn-steps').replaceChildren(...DEFAULT_FUNNEL.map((event) => stepItem(event)));
  renumberSteps(view);

  $('fn-add').addEventListener('click', () => {
    const item = stepItem();
    $('fn-steps').append(item);
    renumberSteps(view);
    item.querySelector('.step-event').focus();
  }, { signal });

  $('fn-steps').addEventListener('click', (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    const item = button.closest('li');
    if (button.dataset.remove) {
      const next = item.nextElementSibling || item.previousElementSibling;
      item.remove();
      renumberSteps(view);
      next.querySelector('.step-event').focus();
      return;
    }
    const sibling = button.dataset.move === '-1' ? item.previousElementSibling : item.nextElementSibling;
    if (!sibling) return;
    if (button.dataset.move === '-1') sibling.before(item);
    else sibling.after(item);
    renumberSteps(view);
    // Keep the focus on the same button; at either end, on the one that still moves.
    const kept = button.disabled ? item.querySelector(`[data-move="${-Number(button.dataset.move)}"]`) : button;
    kept.focus();
  }, { signal });

  $('fn-form').addEventListener('submit', (event) => {
    event.preventDefault();
    loadNow(view, ID);
  }, { signal });
}
