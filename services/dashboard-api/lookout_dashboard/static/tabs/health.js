// The Health tab: one row per check with its latest result and uptime, the 30-day uptime
// chart, one check's response times, the incidents (lifecycle state, acknowledgement,
// reminders, escalation and timeline), and for admins "Run health check" and, on each open
// incident, "Acknowledge" and "Post update".
// Live: check results replace their row; incidents reload the timeline (lib/dashboard.js).

import { badge, cell, el, fillTable, fmt, tableError } from '../lib/format.js';
import { plot } from '../lib/charts.js';
import { loadInto, throttle } from '../lib/view.js';

function checkRow(check) {
  const latest = check.latest;
  return el('tr', { 'data-check': check.name },
    cell(check.name), cell(check.kind),
    el('td', {}, latest ? badge(latest.status) : 'not run yet'),
    cell(latest ? fmt.ms(latest.responseTime) : null, 'num'),
    cell(fmt.pct(check.uptime['24h']), 'num'),
    cell(fmt.pct(check.uptime['7d']), 'num'),
    cell(fmt.pct(check.uptime['30d']), 'num'),
    cell(latest ? fmt.time(latest.timestamp) : null),
    cell(latest ? latest.message : '', 'message'));
}

function showChecks(view) {
  const { $ } = view;
  const checks = [...view.state.checks.values()];
  fillTable($('hl-checks'), checks.map(checkRow));
  plot(view, 'chart-uptime', [{
    type: 'bar', x: checks.map((c) => c.name), y: checks.map((c) => c.uptime['30d'] ?? 0),
    marker: { color: checks.map((c) => ((c.uptime['30d'] ?? 0) >= 99.9 ? '#1b7f3b' : '#a86400')) },
  }], { yaxis: { range: [0, 100], title: { text: '% healthy' } } });
  const select = $('hl-check');
  if (select.options.length !== checks.length) {
    const chosen = select.value;
    select.replaceChildren(...checks.map((c) => el('option', { value: c.name, text: c.name })));
    if (chosen) select.value = chosen;
  }
}

async function loadChecks(view) {
  try {
    const checks = await view.api('/api/v1/health/checks');
    view.state.checks = new Map(checks.map((check) => [check.name, check]));
    showChecks(view);
  } catch (error) {
    if (error.status !== 401) tableError(view.$('hl-checks'), error);
  }
}

// The chosen check's response times over the last 24 hours; a failure is said above the chart.
function loadHistory(view) {
  return loadInto(view.$('hl-response'), async () => {
    const name = view.$('hl-check').value;
    if (!name) return;
    const history = await view.api(`/api/v1/health/checks/${encodeURIComponent(name)}/history?hours=24`);
    const x = history.map((point) => point.bucket);
    plot(view, 'chart-response', [
      { type: 'scatter', mode: 'lines+markers', name: 'p50', x, y: history.map((p) => p.p50) },
      { type: 'scatter', mode: 'lines+markers', name: 'p95', x, y: history.map((p) => p.p95) },
    ], { yaxis: { title: { text: 'ms' }, rangemode: 'tozero' } });
  });
}

// An incident's timeline entry: the monitor's own (a check status) or an admin's update
// (a lifecycle state, and who wrote it).
function incidentUpdate(update) {
  const by = update.by ? ` · ${update.by}` : '';
  return el('li', {},
    el('span', { class: 'muted', text: `${fmt.time(update.at)}${by}` }), ' ',
    badge(update.state || update.status), ' ',
    el('span', { text: update.message }));
}

// Who acknowledged the incident and when, the reminders sent while nobody had, and its
// escalation to the second receiver.
function incidentLifecycle(incident) {
  const acknowledged = incident.acknowledgedAt
    ? `Acknowledged by ${incident.acknowledgedBy} at ${fmt.time(incident.acknowledgedAt)}`
    : (incident.resolvedAt ? 'Not acknowledged' : 'Not acknowledged yet');
  const reminders = `${fmt.int(incident.reminders)} ${incident.reminders === 1 ? 'reminder' : 'reminders'} sent`;
  return el('div', { class: 'lifecycle' },
    el('span', { class: 'incident-ack', text: acknowledged }), ' · ',
    el('span', { class: 'incident-reminders', text: reminders }),
    incident.escalatedAt ? el('span', { class: 'incident-escalated', text: ` · escalated at ${fmt.time(incident.escalatedAt)}` }) : null);
}

const STATES = ['investigating', 'identified', 'monitoring', 'resolved'];

// Sends an admin's action on an incident; the list shows the monitor's answer. A refusal
// (a step back the lifecycle does not allow, a resolved incident) is said in the incident.
async function incidentAction(view, incident, path, body, controls) {
  const buttons = [...controls.querySelectorAll('button')];
  for (const button of buttons) button.disabled = true;
  try {
    const saved = await view.api(`/api/v1/health/incidents/${incident.id}/${path}`, { method: 'POST', body });
    view.state.incidents = view.state.incidents.map((item) => (item.id === saved.id ? saved : item));
    showIncidents(view);
  } catch (error) {
    for (const button of buttons) button.disabled = false;
    if (error.status !== 401) controls.querySelector('.error').textContent = `Not saved: ${error.message}`;
  }
}

// An admin's controls on an open incident: "Acknowledge" (until someone has), and an
// update with its new (or same) state and a message.
function incidentControls(view, incident) {
  const controls = el('div', { class: 'incident-actions' });
  const state = el('select', { 'aria-label': `State of ${incident.check}` },
    ...STATES.map((name) => el('option', { value: name, text: name, selected: name === incident.state })));
  const message = el('input', {
    type: 'text', required: true, maxlength: 2000, placeholder: 'What is known now',
    'aria-label': `Update on ${incident.check}`,
  });
  const form = el('form', { class: 'inline' }, state, message, el('button', { type: 'submit', text: 'Post update' }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    incidentAction(view, incident, 'updates', { state: state.value, message: message.value }, controls).catch(view.fail);
  }, { signal: view.signal });
  if (!incident.acknowledgedAt) {
    const ack = el('button', { type: 'button', text: 'Acknowledge' });
    ack.addEventListener('click', () => incidentAction(view, incident, 'ack', undefined, controls).catch(view.fail), { signal: view.signal });
    controls.append(ack);
  }
  controls.append(form, el('p', { class: 'error', role: 'alert' }));
  return controls;
}

function showIncidents(view) {
  const admin = view.state.me && view.state.me.role === 'admin';
  const items = view.state.incidents.map((incident) => el('li', { class: incident.resolvedAt ? 'resolved' : 'open', 'data-incident': incident.id },
    el('strong', { text: incident.check }), ' ',
    el('span', { class: 'incident-state' }, badge(incident.state)), ' ',
    el('span', { text: `${fmt.time(incident.openedAt)} · ${fmt.duration(incident.durationS)}` }),
    el('div', { class: 'muted', text: incident.message }),
    incidentLifecycle(incident),
    incident.updates.length ? el('ol', { class: 'updates' }, ...incident.updates.map(incidentUpdate)) : null,
    admin && !incident.resolvedAt ? incidentControls(view, incident) : null));
  view.$('hl-incidents').replaceChildren(...(items.length ? items
    : [el('li', { class: 'resolved', text: 'No incidents.' })]));
}

export async function loadIncidents(view) {
  try {
    view.state.incidents = await view.api('/api/v1/health/incidents');
    showIncidents(view);
  } catch (error) {
    if (error.status === 401) return;
    view.$('hl-incidents').replaceChildren(el('li', { class: 'error', text: `Could not load: ${error.message}` }));
  }
}

export async function load(view) {
  await loadChecks(view);
  await Promise.all([loadHistory(view), loadIncidents(view)]);
}

// A check result from the stream: its row is replaced; an unknown check reloads the table.
export function applyCheck(view, result) {
  const check = view.state.checks.get(result.service);
  if (!check) {
    throttle(view, 'health', 1000, () => load(view));
    return;
  }
  check.latest = result;
  const row = view.root.querySelector(`#hl-checks tr[data-check="${CSS.escape(result.service)}"]`);
  if (row) row.replaceWith(checkRow(check));
}

async function runChecks(view) {
  const { $ } = view;
  const button = $('hl-run');
  button.disabled = true;
  $('hl-run-status').textContent = 'Running every check…';
  try {
    const results = await view.api('/api/v1/health/checks/run', { method: 'POST', body: {} });
    const bad = results.filter((result) => result.status !== 'healthy').length;
    $('hl-run-status').textContent = `${results.length} checks ran, ${bad} not healthy.`;
    for (const result of results) applyCheck(view, result);
  } catch (error) {
    $('hl-run-status').textContent = `Run failed: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

export function init(view) {
  const { $, signal } = view;
  $('hl-check').addEventListener('change', () => loadHistory(view), { signal });
  $('hl-run').addEventListener('click', () => runChecks(view), { signal });
}
