// Lookout's dashboard: one page, four tabs, live from /api/v1/stream.
// The API key lives in sessionStorage and travels only in the Authorization header.
'use strict';

const KEY_STORAGE = 'lookout.apiKey';
const state = {
  key: sessionStorage.getItem(KEY_STORAGE),
  me: null,
  tab: 'overview',
  loaded: {},
  checks: new Map(),
  runs: [],
  progress: new Map(),
  streamAbort: null,
  pending: new Map(),
};

// ---- small helpers -------------------------------------------------------------------
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

const number = new Intl.NumberFormat();
const fmt = {
  int: (value) => (value === null || value === undefined ? '–' : number.format(value)),
  pct: (value) => (value === null || value === undefined ? '–' : `${value.toFixed(2)} %`),
  ms: (value) => (value === null || value === undefined ? '–' : `${value.toFixed(1)} ms`),
  time: (value) => (value ? new Date(value).toLocaleString() : '–'),
  bytes: (value) => {
    if (!value) return '0 B';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    const power = Math.min(Math.floor(Math.log(value) / Math.log(1024)), units.length - 1);
    return `${(value / 1024 ** power).toFixed(power ? 1 : 0)} ${units[power]}`;
  },
  duration: (seconds) => {
    if (seconds === null || seconds === undefined) return 'ongoing';
    if (seconds < 90) return `${Math.round(seconds)} s`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  },
};

function badge(status) {
  return el('span', { class: `badge ${status}`, text: status });
}

function fillTable(table, rows, empty = 'Nothing yet.') {
  const columns = table.tHead.rows[0].cells.length;
  table.tBodies[0].replaceChildren(...(rows.length ? rows
    : [el('tr', { class: 'empty' }, el('td', { colspan: columns, class: 'muted', text: empty }))]));
}

function cell(text, cls) {
  return el('td', { class: cls, text: text === undefined || text === null ? '–' : String(text) });
}

// Runs `work` at most once per `ms`, trailing call included.
function throttle(name, ms, work) {
  if (state.pending.has(name)) return;
  state.pending.set(name, setTimeout(() => {
    state.pending.delete(name);
    work().catch(() => {});
  }, ms));
}

// ---- the API -------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail));
    this.status = status;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Authorization: `Bearer ${state.key}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    offline('The Lookout API is unreachable. Retrying…');
    throw error;
  }
  online();
  if (response.status === 401) {
    signOut('That key is unknown or was revoked.');
    throw new ApiError(401, 'unauthorized');
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data && data.detail ? data.detail : response.statusText);
  touch();
  return data;
}

function touch() {
  const now = new Date();
  const stamp = $('updated');
  stamp.textContent = now.toLocaleTimeString();
  stamp.dateTime = now.toISOString();
}

let offlineReason = null;
function offline(reason) {
  offlineReason = reason;
  const banner = $('banner');
  banner.textContent = reason;
  banner.hidden = false;
}

function online() {
  if (offlineReason && !offlineReason.startsWith('Live')) {
    offlineReason = null;
    $('banner').hidden = true;
  }
}

function sectionError(node, error) {
  node.replaceChildren(el('li', { class: 'error', text: `Could not load: ${error.message}` }));
}

// ---- sign in / out -------------------------------------------------------------------
async function signIn(key) {
  state.key = key;
  const me = await api('/api/v1/me');
  sessionStorage.setItem(KEY_STORAGE, key);
  state.me = me;
  $('whoami').textContent = `${me.name} · ${me.role}`;
  document.body.classList.toggle('viewer', me.role !== 'admin');
  for (const node of document.querySelectorAll('.admin-only')) node.hidden = me.role !== 'admin';
  $('login').hidden = true;
  $('app').hidden = false;
  showTab(location.hash.slice(1) || 'overview');
  startStream();
}

function signOut(reason = '') {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  state.me = null;
  state.loaded = {};
  if (state.streamAbort) state.streamAbort.abort();
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = reason;
  $('login-key').value = '';
  $('login-key').focus();
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('login-error').textContent = '';
  const key = $('login-key').value.trim();
  try {
    await signIn(key);
  } catch (error) {
    if (error.status === 403) $('login-error').textContent = 'That key may not read the dashboard (it is a write key).';
    else if (error.status !== 401) $('login-error').textContent = `Sign-in failed: ${error.message}`;
    else $('login-error').textContent = 'That key is unknown or was revoked.';
  }
});
$('signout').addEventListener('click', () => signOut());

// ---- tabs ----------------------------------------------------------------------------
const TABS = ['overview', 'analytics', 'health', 'backups'];
const LOADERS = {
  overview: loadOverview, analytics: loadAnalytics, health: loadHealth, backups: loadBackups,
};

function showTab(name) {
  if (!TABS.includes(name)) name = 'overview';
  state.tab = name;
  for (const tab of TABS) {
    const button = $(`tab-${tab}`);
    const selected = tab === name;
    button.setAttribute('aria-selected', String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`panel-${tab}`).hidden = !selected;
  }
  if (location.hash.slice(1) !== name) history.replaceState(null, '', `#${name}`);
  LOADERS[name]().catch(() => {});
}

for (const button of document.querySelectorAll('[role=tab]')) {
  button.addEventListener('click', () => showTab(button.dataset.tab));
  button.addEventListener('keydown', (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = TABS[(TABS.indexOf(state.tab) + step + TABS.length) % TABS.length];
    showTab(next);
    $(`tab-${next}`).focus();
  });
}

// ---- overview ------------------------------------------------------------------------
function showMetrics(metrics) {
  $('ov-active').textContent = fmt.int(metrics.activeUsers);
  $('ov-bookings').textContent = fmt.int(metrics.todayBookings);
  $('ov-chats').textContent = fmt.int(metrics.chatSessions);
  $('ov-errors').textContent = fmt.pct(metrics.errorRate);
  fillTable($('ov-pages'), metrics.topPages.map((page) => el('tr', {},
    cell(page.page), cell(fmt.int(page.views), 'num'))));
}

function showStatus(status) {
  $('ov-status').replaceChildren(badge(status.status));
  $('ov-uptime').textContent = `uptime ${fmt.pct(status.uptime)} (30 days)`;
  const alerts = status.criticalIssues.map((issue) => el('li', {},
    el('strong', { text: issue.service }), ` ${issue.status}: ${issue.message}`));
  if (status.activeIncidents) {
    alerts.push(el('li', { text: `${status.activeIncidents} open incident(s) — see the Health tab` }));
  }
  $('ov-alerts').replaceChildren(...(alerts.length ? alerts
    : [el('li', { class: 'none', text: 'No critical alerts.' })]));
}

function showLastBackup(runs) {
  const last = runs.find((run) => run.operation === 'backup' && run.status === 'succeeded');
  $('ov-backup').textContent = last ? fmt.time(last.finishedAt || last.finished_at) : 'none yet';
  $('ov-backup-sub').textContent = last ? `${last.collections.length} collections, ${fmt.bytes(last.bytes)}` : '';
}

async function loadOverview() {
  const [metrics, status, runs] = await Promise.allSettled([
    api('/api/v1/dashboard/metrics'), api('/api/v1/health/status'), api('/api/v1/backups/runs'),
  ]);
  if (metrics.status === 'fulfilled') showMetrics(metrics.value);
  if (status.status === 'fulfilled') showStatus(status.value);
  else sectionError($('ov-alerts'), status.reason);
  if (runs.status === 'fulfilled') showLastBackup(runs.value);
  else $('ov-backup').textContent = 'unavailable';
}

// ---- analytics -----------------------------------------------------------------------
const RANGES = { '1h': [1 / 24, 'minute'], '24h': [1, 'hour'], '7d': [7, 'hour'], '30d': [30, 'day'] };
const CHART_CONFIG = { responsive: true, displaylogo: false };
const CHART_LAYOUT = {
  margin: { l: 50, r: 20, t: 10, b: 40 },
  legend: { orientation: 'h', y: -0.2 },
  paper_bgcolor: 'rgba(0,0,0,0)',
  plot_bgcolor: 'rgba(0,0,0,0)',
  font: { family: 'system-ui, sans-serif', size: 12 },
};

function plot(id, traces, layout = {}) {
  if (!window.Plotly) return;
  window.Plotly.react($(id), traces, { ...CHART_LAYOUT, ...layout }, CHART_CONFIG);
}

function rangeQuery() {
  const [days, granularity] = RANGES[$('an-range').value];
  const to = new Date();
  const from = new Date(to.getTime() - days * 86400e3);
  return `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}&granularity=${granularity}`;
}

async function loadAnalytics() {
  const query = rangeQuery();
  const [series, bookings, pages] = await Promise.all([
    api(`/api/v1/analytics/events?${query}`),
    api(`/api/v1/analytics/bookings?${query}`),
    api(`/api/v1/analytics/pages?${query.replace(/&granularity=\w+/, '')}&limit=10`),
  ]);
  $('an-attempts').textContent = fmt.int(bookings.attempts);
  $('an-completions').textContent = fmt.int(bookings.completions);
  $('an-conversion').textContent = fmt.pct(bookings.conversionRate);
  const byEvent = new Map();
  for (const point of series.points) {
    if (!byEvent.has(point.event)) byEvent.set(point.event, { x: [], y: [] });
    byEvent.get(point.event).x.push(point.bucket);
    byEvent.get(point.event).y.push(point.events);
  }
  plot('chart-events', [...byEvent].map(([name, xy]) => ({
    type: 'scatter', mode: 'lines+markers', name, ...xy,
  })), { yaxis: { title: { text: 'events' }, rangemode: 'tozero' } });
  plot('chart-bookings', [
    { type: 'bar', name: 'attempts', x: bookings.series.map((p) => p.bucket), y: bookings.series.map((p) => p.attempts) },
    { type: 'bar', name: 'completed', x: bookings.series.map((p) => p.bucket), y: bookings.series.map((p) => p.completions) },
  ], { barmode: 'group' });
  fillTable($('an-pages'), pages.map((page) => el('tr', {},
    cell(page.page), cell(fmt.int(page.views), 'num'))));
}
$('an-range').addEventListener('change', () => loadAnalytics().catch(() => {}));

// ---- health --------------------------------------------------------------------------
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

function showChecks() {
  const checks = [...state.checks.values()];
  fillTable($('hl-checks'), checks.map(checkRow));
  plot('chart-uptime', [{
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

async function loadHistory() {
  const name = $('hl-check').value;
  if (!name) return;
  const history = await api(`/api/v1/health/checks/${encodeURIComponent(name)}/history?hours=24`);
  const x = history.map((point) => point.bucket);
  plot('chart-response', [
    { type: 'scatter', mode: 'lines+markers', name: 'p50', x, y: history.map((p) => p.p50) },
    { type: 'scatter', mode: 'lines+markers', name: 'p95', x, y: history.map((p) => p.p95) },
  ], { yaxis: { title: { text: 'ms' }, rangemode: 'tozero' } });
}
$('hl-check').addEventListener('change', () => loadHistory().catch(() => {}));

function showIncidents(incidents) {
  const items = incidents.map((incident) => el('li', { class: incident.resolvedAt ? 'resolved' : 'open' },
    el('strong', { text: incident.check }), ' ',
    badge(incident.resolvedAt ? 'resolved' : 'open'), ' ',
    el('span', { text: `${fmt.time(incident.openedAt)} · ${fmt.duration(incident.durationS)}` }),
    el('div', { class: 'muted', text: incident.message })));
  $('hl-incidents').replaceChildren(...(items.length ? items
    : [el('li', { class: 'resolved', text: 'No incidents.' })]));
}

async function loadIncidents() {
  showIncidents(await api('/api/v1/health/incidents'));
}

async function loadHealth() {
  try {
    const checks = await api('/api/v1/health/checks');
    state.checks = new Map(checks.map((check) => [check.name, check]));
    showChecks();
  } catch (error) {
    fillTable($('hl-checks'), [el('tr', {}, el('td', { colspan: 9, class: 'error', text: `Could not load: ${error.message}` }))]);
  }
  await Promise.allSettled([loadHistory(), loadIncidents().catch((e) => sectionError($('hl-incidents'), e))]);
}

$('hl-run').addEventListener('click', async () => {
  const button = $('hl-run');
  button.disabled = true;
  $('hl-run-status').textContent = 'Running every check…';
  try {
    const results = await api('/api/v1/health/checks/run', { method: 'POST', body: {} });
    const bad = results.filter((result) => result.status !== 'healthy').length;
    $('hl-run-status').textContent = `${results.length} checks ran, ${bad} not healthy.`;
    for (const result of results) applyCheck(result);
  } catch (error) {
    $('hl-run-status').textContent = `Run failed: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});

function applyCheck(result) {
  const check = state.checks.get(result.service);
  if (!check) {
    throttle('health', 1000, loadHealth);
    return;
  }
  check.latest = result;
  const row = document.querySelector(`#hl-checks tr[data-check="${CSS.escape(result.service)}"]`);
  if (row) row.replaceWith(checkRow(check));
}

// ---- backups -------------------------------------------------------------------------
function runRow(run) {
  return el('tr', { 'data-run': run.runId },
    cell(run.runId.slice(0, 12)), cell(run.operation), el('td', {}, badge(run.status)),
    cell(run.backupType), cell(run.collections.length ? fmt.int(run.collections.length) : 'all', 'num'),
    cell(fmt.int(run.rows), 'num'), cell(fmt.bytes(run.bytes), 'num'),
    cell(fmt.time(run.startedAt)), cell(fmt.time(run.finishedAt)), cell(run.requestedBy));
}

function scheduleWhen(schedule) {
  const at = `${String(schedule.hour ?? 0).padStart(2, '0')}:${String(schedule.minute ?? 0).padStart(2, '0')}`;
  if (schedule.frequency === 'hourly') return `hourly at :${String(schedule.minute ?? 0).padStart(2, '0')}`;
  if (schedule.frequency === 'weekly') return `weekly, day ${schedule.weekday} at ${at} ${schedule.timezone}`;
  if (schedule.frequency === 'monthly') return `monthly, day ${schedule.dayOfMonth} at ${at} ${schedule.timezone}`;
  return `${schedule.frequency} at ${at} ${schedule.timezone}`;
}

async function loadBackups() {
  const [runs, schedules] = await Promise.allSettled([
    api('/api/v1/backups/runs'), api('/api/v1/backups/schedules'),
  ]);
  if (runs.status === 'fulfilled') {
    state.runs = camelRuns(runs.value);
    fillTable($('bk-runs'), state.runs.map(runRow), 'No backup has run yet.');
    showLastBackup(state.runs);
    fillRestoreChoices();
  } else {
    fillTable($('bk-runs'), [el('tr', {}, el('td', { colspan: 10, class: 'error', text: `Could not load: ${runs.reason.message}` }))]);
  }
  if (schedules.status === 'fulfilled') {
    fillTable($('bk-schedules'), camelRuns(schedules.value).map((schedule) => el('tr', {},
      cell(schedule.name), cell(scheduleWhen(schedule)),
      cell(schedule.collections.length ? schedule.collections.join(', ') : 'all'),
      cell(fmt.time(schedule.nextRunAt)), cell(schedule.enabled ? 'yes' : 'no'))),
    'No schedules: backups run when asked.');
  }
}

// The backup worker answers in snake_case; the page reads camelCase.
function camelRuns(items) {
  return items.map((item) => Object.fromEntries(Object.entries(item).map(([key, value]) => [
    key.replace(/_([a-z])/g, (_, letter) => letter.toUpperCase()), value])));
}

function fillRestoreChoices() {
  const select = $('bk-restore-run');
  const chosen = select.value;
  const backups = state.runs.filter((run) => run.operation === 'backup' && run.status === 'succeeded');
  select.replaceChildren(...backups.map((run) => el('option', {
    value: run.runId, text: `${fmt.time(run.finishedAt)} · ${run.backupType || 'full'} · ${run.runId.slice(0, 12)}`,
  })));
  if (chosen && backups.some((run) => run.runId === chosen)) select.value = chosen;
  if (select.value !== chosen) fillCollections().catch(() => {});
}

async function fillCollections() {
  const runId = $('bk-restore-run').value;
  const legend = el('legend', { text: 'Collections' });
  if (!runId) {
    $('bk-collections').replaceChildren(legend, el('span', { class: 'muted', text: 'No successful backup yet.' }));
    return;
  }
  // What the backup holds: its artifacts, one per collection.
  const detail = await api(`/api/v1/backups/runs/${encodeURIComponent(runId)}`);
  if ($('bk-restore-run').value !== runId) return;
  const names = [...new Set(detail.artifacts.map((artifact) => artifact.collection))].sort();
  $('bk-collections').replaceChildren(legend, ...names.map((name) => el('label', {},
    el('input', { type: 'checkbox', name: 'collection', value: name }), ` ${name}`)));
}
$('bk-restore-run').addEventListener('change', () => fillCollections().catch(() => {}));

async function sendAction(body, statusNode) {
  const accepted = await api('/api/v1/backups/actions', { method: 'POST', body });
  statusNode.textContent = `${body.operation} requested (${accepted.commandId.slice(0, 22)}…); progress appears below.`;
  state.progress.set(accepted.commandId, { commandId: accepted.commandId, operation: body.operation, status: 'requested' });
  showProgress();
  return accepted;
}

$('bk-run').addEventListener('click', async () => {
  const button = $('bk-run');
  button.disabled = true;
  try {
    await sendAction({ operation: 'backup' }, $('bk-run-status'));
  } catch (error) {
    $('bk-run-status').textContent = `Not sent: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});

$('bk-restore').addEventListener('submit', (event) => {
  event.preventDefault();
  const collections = [...document.querySelectorAll('#bk-collections input:checked')].map((box) => box.value);
  const runId = $('bk-restore-run').value;
  if (!runId || !collections.length) {
    $('bk-run-status').textContent = 'Choose a backup and at least one collection.';
    return;
  }
  $('bk-confirm-text').textContent = `Restore ${collections.join(', ')} from backup ${runId.slice(0, 12)} `
    + `(${$('bk-mode').value})? Current rows in these tables will be changed.`;
  const dialog = $('bk-confirm');
  dialog.returnValue = '';
  dialog.showModal();
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'restore') return;
    try {
      await sendAction({ operation: 'restore', runId, collections, restoreMode: $('bk-mode').value, confirm: true }, $('bk-run-status'));
    } catch (error) {
      $('bk-run-status').textContent = `Not sent: ${error.message}`;
    }
  }, { once: true });
});

function showProgress() {
  const items = [...state.progress.values()].slice(-5).map((item) => {
    const total = item.collections_total || 0;
    return el('div', { class: 'progress', 'data-progress': item.run_id || item.commandId },
      el('div', {}, el('strong', { text: item.operation }), ' ', badge(item.status), ' ',
        el('span', { class: 'muted', text: total ? `${item.collections_done}/${total} collections · ${fmt.int(item.rows)} rows · ${fmt.bytes(item.bytes)}` : '' })),
      el('progress', { max: total || 1, value: total ? item.collections_done : (item.status === 'succeeded' ? 1 : 0) }),
      item.errors && item.errors.length ? el('div', { class: 'error', text: item.errors.join('; ') }) : null);
  });
  $('bk-progress').replaceChildren(...items);
}

function applyBackup(result) {
  // A command's first result replaces its "requested" placeholder.
  if (result.command_id) state.progress.delete(result.command_id);
  state.progress.set(result.run_id, result);
  showProgress();
  throttle('backups', 500, loadBackups);
}

// ---- the live stream -----------------------------------------------------------------
function setLive(on) {
  $('live').classList.toggle('on', on);
  $('live').textContent = on ? 'live' : 'offline';
}

const HANDLERS = {
  hello: () => {},
  metrics: (data) => showMetrics(data),
  check: (data) => {
    applyCheck(data);
    throttle('status', 2000, async () => showStatus(await api('/api/v1/health/status')));
  },
  incident: () => {
    throttle('incidents', 500, loadIncidents);
    throttle('status', 500, async () => showStatus(await api('/api/v1/health/status')));
  },
  backup: (data) => applyBackup(data),
  missed: () => throttle('reload', 500, () => LOADERS[state.tab]()),
};

async function startStream() {
  if (state.streamAbort) state.streamAbort.abort();
  const abort = new AbortController();
  state.streamAbort = abort;
  let delay = 1000;
  while (!abort.signal.aborted && state.key) {
    try {
      const response = await fetch('/api/v1/stream', {
        headers: { Authorization: `Bearer ${state.key}` }, signal: abort.signal,
      });
      if (response.status === 401) { signOut('That key is unknown or was revoked.'); return; }
      if (!response.ok) throw new Error(`stream answered ${response.status}`);
      setLive(true);
      if (offlineReason) { offlineReason = null; $('banner').hidden = true; }
      if (delay > 1000) LOADERS[state.tab]().catch(() => {});
      delay = 1000;
      await readEvents(response.body, (kind, data) => {
        touch();
        if (HANDLERS[kind]) HANDLERS[kind](data);
      });
    } catch (error) {
      if (abort.signal.aborted) return;
    }
    setLive(false);
    offline('Live updates lost: the Lookout API is unreachable. Reconnecting…');
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

async function readEvents(stream, onEvent) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) kind = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) {
        try { onEvent(kind, JSON.parse(data.join('\n'))); } catch (error) { /* a bad message is skipped */ }
      }
    }
  }
}

// Tabs the user is not looking at are refreshed when shown; the visible one every 30 s
// as a safety net behind the stream.
setInterval(() => { if (state.me) LOADERS[state.tab]().catch(() => {}); }, 30000);

// ---- start ---------------------------------------------------------------------------
if (state.key) {
  signIn(state.key).catch(() => signOut(''));
} else {
  signOut('');
}
