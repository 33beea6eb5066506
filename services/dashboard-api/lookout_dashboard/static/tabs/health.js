// The Health tab: one row per check with its latest result and uptime (and under it, when
// more than one location runs the check, what each location last saw), the 30-day uptime
// chart, one check's response times, the incidents (lifecycle state, acknowledgement,
// reminders, escalation and timeline), and for admins "Run health check" and, on each open
// incident, "Acknowledge" and "Post update".
// Live: check results replace their row; incidents reload the timeline (lib/dashboard.js),
// keeping what an admin is typing into an update, and the focus.

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

// A location's verdict, as the quorum counts it: null while only one location runs checks.
// A stale one (not updated within the quorum window) counts for nothing: it says since when
// its location has been silent.
function verdict(location) {
  if (location.failing === null || location.failing === undefined) return null;
  if (location.stale) {
    return el('span', { class: 'verdict', text: `stale since ${fmt.time(location.latest.timestamp)}` });
  }
  const since = location.since ? ` since ${fmt.time(location.since)}` : '';
  return el('span', { class: 'verdict', text: `${location.failing ? 'failing' : 'up'}${since}` });
}

function locationItem(location) {
  const latest = location.latest;
  return el('li', { 'data-location': location.location, class: location.stale ? 'stale' : null },
    el('strong', { text: location.location }), ' ', badge(latest.status), ' ',
    el('span', { class: 'num', text: fmt.ms(latest.responseTime) }), ' · ',
    el('time', { datetime: latest.timestamp, text: fmt.time(latest.timestamp) }),
    verdict(location) ? ' · ' : null, verdict(location),
    latest.message ? el('span', { class: 'message', text: latest.message }) : null);
}

// Under a check's row, what each location last saw of it, when more than one location runs
// it (or why that could not be read); nothing with one location.
function locationsRow(view, check) {
  const columns = view.$('hl-checks').tHead.rows[0].cells.length;
  const attrs = { class: 'locations', 'data-locations-of': check.name };
  if (check.locationsError) {
    return el('tr', attrs, el('td', { colspan: columns, class: 'error',
      text: `Locations could not load: ${check.locationsError}` }));
  }
  if (!check.locations || check.locations.length < 2) return null;
  return el('tr', attrs, el('td', { colspan: columns },
    el('ul', { class: 'locations', 'aria-label': `${check.name} by location` },
      ...check.locations.map(locationItem))));
}

function checkRows(view, check) {
  return [checkRow(check), locationsRow(view, check)].filter(Boolean);
}

// One check's rows drawn again from its state.
function redrawCheck(view, check) {
  const body = view.$('hl-checks').tBodies[0];
  const name = CSS.escape(check.name);
  const row = body.querySelector(`tr[data-check="${name}"]`);
  if (!row) return;
  body.querySelector(`tr[data-locations-of="${name}"]`)?.remove();
  row.replaceWith(...checkRows(view, check));
}

function showCheckRows(view, checks) {
  fillTable(view.$('hl-checks'), checks.flatMap((check) => checkRows(view, check)));
}

function showChecks(view) {
  const { $ } = view;
  const checks = [...view.state.checks.values()];
  showCheckRows(view, checks);
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
    const before = view.state.checks;
    // What each location saw stays on show until it is read again.
    for (const check of checks) {
      const shown = before.get(check.name);
      if (shown) Object.assign(check, { locations: shown.locations, locationsError: shown.locationsError });
    }
    view.state.checks = new Map(checks.map((check) => [check.name, check]));
    showChecks(view);
  } catch (error) {
    if (error.status !== 401) tableError(view.$('hl-checks'), error);
  }
}

// What each location saw of every check, in one request; the checks' rows are drawn again
// with it, and if it could not be read each check says so under its row.
async function loadLocations(view) {
  let located = null;
  let locationsError = null;
  try {
    located = await view.api('/api/v1/health/locations');
  } catch (error) {
    if (error.status === 401) return;
    locationsError = error.message;
  }
  // The table may have been read again meanwhile: the answer goes to the checks shown now.
  const checks = [...view.state.checks.values()];
  for (const check of checks) {
    Object.assign(check, { locations: located?.[check.name] ?? null, locationsError });
  }
  showCheckRows(view, checks);
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

// What an admin has started on an open incident, by incident id: the update's state (null
// until chosen: then the incident's own) and message as typed, a refusal to show, and
// whether an action is on its way. The incident list is redrawn whenever an incident event
// arrives live (and every 30 s); a draft outlives those redraws and goes once its update is
// saved or its incident is no longer open.
function draftOf(view, incident) {
  const { drafts } = view.state;
  if (!drafts.has(incident.id)) drafts.set(incident.id, { state: null, message: '', error: '', busy: false });
  return drafts.get(incident.id);
}

// Sends an admin's action on an incident; the list shows the monitor's answer. A refusal
// (a step back the lifecycle does not allow, a resolved incident) is said in the incident.
async function incidentAction(view, incident, path, body) {
  const draft = draftOf(view, incident);
  if (body) Object.assign(draft, body);
  draft.busy = true;
  draft.error = '';
  showIncidents(view);
  try {
    const saved = await view.api(`/api/v1/health/incidents/${incident.id}/${path}`, { method: 'POST', body });
    view.state.incidents = view.state.incidents.map((item) => (item.id === saved.id ? saved : item));
    if (path === 'updates') view.state.drafts.delete(incident.id);
  } catch (error) {
    if (error.status !== 401) draft.error = `Not saved: ${error.message}`;
  } finally {
    draft.busy = false;
  }
  showIncidents(view);
}

// An admin's controls on an open incident: "Acknowledge" (until someone has), and an
// update with its new (or same) state and a message, filled from the incident's draft.
function incidentControls(view, incident) {
  const draft = draftOf(view, incident);
  const controls = el('div', { class: 'incident-actions' });
  const state = el('select', { 'aria-label': `State of ${incident.check}`, 'data-draft': 'state' },
    ...STATES.map((name) => el('option', { value: name, text: name, selected: name === (draft.state ?? incident.state) })));
  const message = el('input', {
    type: 'text', required: true, maxlength: 2000, placeholder: 'What is known now',
    'aria-label': `Update on ${incident.check}`, 'data-draft': 'message',
  });
  message.value = draft.message;
  state.addEventListener('change', () => { draft.state = state.value; }, { signal: view.signal });
  message.addEventListener('input', () => { draft.message = message.value; }, { signal: view.signal });
  const post = el('button', { type: 'submit', text: 'Post update', disabled: draft.busy });
  const form = el('form', { class: 'inline' }, state, message, post);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    incidentAction(view, incident, 'updates', { state: state.value, message: message.value }).catch(view.fail);
  }, { signal: view.signal });
  if (!incident.acknowledgedAt) {
    const ack = el('button', { type: 'button', text: 'Acknowledge', disabled: draft.busy });
    ack.addEventListener('click', () => incidentAction(view, incident, 'ack', undefined).catch(view.fail), { signal: view.signal });
    controls.append(ack);
  }
  controls.append(form, el('p', { class: 'error', role: 'alert', text: draft.error }));
  return controls;
}

// The draft control that has the focus (and its caret), to give it back after a redraw.
function focusedDraft(view) {
  const active = view.root.activeElement;
  if (!active || !active.dataset || !active.dataset.draft) return null;
  const item = active.closest('#hl-incidents > li[data-incident]');
  if (!item) return null;
  const caret = active.tagName === 'INPUT' ? [active.selectionStart, active.selectionEnd, active.selectionDirection] : null;
  return { incident: item.dataset.incident, field: active.dataset.draft, caret };
}

function refocus(view, focused) {
  if (!focused) return;
  const selector = `#hl-incidents > li[data-incident="${CSS.escape(focused.incident)}"] [data-draft="${focused.field}"]`;
  const control = view.root.querySelector(selector);
  if (!control) return;
  control.focus({ preventScroll: true });
  if (focused.caret) control.setSelectionRange(...focused.caret);
}

function showIncidents(view) {
  const admin = view.state.me && view.state.me.role === 'admin';
  const open = new Set(view.state.incidents.filter((incident) => !incident.resolvedAt).map((incident) => incident.id));
  for (const id of view.state.drafts.keys()) if (!open.has(id)) view.state.drafts.delete(id);
  const focused = focusedDraft(view);
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
  refocus(view, focused);
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
  await Promise.all([loadHistory(view), loadIncidents(view), loadLocations(view)]);
}

// A check result from the stream: its row is replaced, and its location's line when that
// location is shown; an unknown check reloads the table (a new location shows on a reload).
export function applyCheck(view, result) {
  const check = view.state.checks.get(result.service);
  if (!check) {
    throttle(view, 'health', 1000, () => load(view));
    return;
  }
  check.latest = result;
  const location = check.locations?.find((known) => known.location === result.location);
  if (location) Object.assign(location, { latest: result, stale: false });
  redrawCheck(view, check);
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
  view.state.drafts = new Map();
  $('hl-check').addEventListener('change', () => loadHistory(view), { signal });
  $('hl-run').addEventListener('click', () => runChecks(view), { signal });
}
