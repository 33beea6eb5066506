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
  range: null,
  lazyLoaded: new Set(),
  experiments: new Map(),
  pagesSeen: [],
  eventNames: [],
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
const DECIMAL_POINT = number.formatToParts(1.5).find((part) => part.type === 'decimal').value;
const signed = (value, digits, unit) => `${value < 0 ? '−' : '+'}${Math.abs(value).toFixed(digits)} ${unit}`;
const fmt = {
  int: (value) => (value === null || value === undefined ? '–' : number.format(value)),
  pct: (value) => (value === null || value === undefined ? '–' : `${value.toFixed(2)} %`),
  ms: (value) => (value === null || value === undefined ? '–' : `${value.toFixed(1)} ms`),
  time: (value) => (value ? new Date(value).toLocaleString() : '–'),
  // A fraction (0.25) as a percentage.
  fraction: (value) => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)} %`),
  // An exact decimal string ("1234.50"), grouped like other numbers, never rounded.
  decimal: (value) => {
    const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(value));
    if (!match) return String(value);
    return `${match[1]}${number.format(BigInt(match[2]))}${match[3] ? DECIMAL_POINT + match[3] : ''}`;
  },
  // A difference of two fractions, in percentage points; a relative change in %.
  points: (value) => (value === null || value === undefined ? '–' : signed(value * 100, 2, 'pp')),
  relative: (value) => (value === null || value === undefined ? '–' : signed(value * 100, 1, '%')),
  p: (value) => {
    if (value === null || value === undefined) return '–';
    return value < 0.0001 ? '< 0.0001' : value.toFixed(4);
  },
  seconds: (value) => {
    if (value === null || value === undefined) return '–';
    if (value < 10) return `${value.toFixed(1)} s`;
    if (value < 90) return `${Math.round(value)} s`;
    if (value < 3600) return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
    if (value < 86400) return `${Math.floor(value / 3600)} h ${Math.round((value % 3600) / 60)} min`;
    return `${Math.floor(value / 86400)} d ${Math.round((value % 86400) / 3600)} h`;
  },
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
  state.range = null;
  forgetLazySections();
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

// `name` is a tab, or a section of one ("analytics-search"): the tab, scrolled to it.
function showTab(name) {
  const [tabName] = name.split('-');
  const tab = TABS.includes(tabName) ? tabName : 'overview';
  state.tab = tab;
  for (const other of TABS) {
    const button = $(`tab-${other}`);
    const selected = other === tab;
    button.setAttribute('aria-selected', String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`panel-${other}`).hidden = !selected;
  }
  const target = name !== tab && $(name) ? name : tab;
  if (location.hash.slice(1) !== target) history.replaceState(null, '', `#${target}`);
  LOADERS[tab]().catch(() => {});
  if (target !== tab) goToSection(target);
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
// Every section reads its own endpoint for the range chosen at the top (one `state.range`
// per load, so all of them show the same [from, to)). Light sections load with the tab;
// funnels, journeys, retention and experiments on first view or when asked.
const RANGES = { '1h': [1 / 24, 'minute'], '24h': [1, 'hour'], '7d': [7, 'hour'], '30d': [30, 'day'] };
const EMPTY = 'No data in this range.';
const CHART_CONFIG = { responsive: true, displaylogo: false };
const CHART_LAYOUT = {
  margin: { l: 50, r: 20, t: 10, b: 40 },
  legend: { orientation: 'h', y: -0.2 },
  paper_bgcolor: 'rgba(0,0,0,0)',
  plot_bgcolor: 'rgba(0,0,0,0)',
  font: { family: 'system-ui, sans-serif', size: 12 },
};
const COLORS = { accent: '#2457c5', bad: '#b3261e' };

function plot(id, traces, layout = {}) {
  if (!window.Plotly) return;
  window.Plotly.react($(id), traces, { ...CHART_LAYOUT, ...layout }, CHART_CONFIG);
}

// A chart, or its "no data" note instead when there is nothing to draw.
function chart(id, hasData, traces, layout) {
  const node = $(id);
  const empty = $(`${id}-empty`);
  node.hidden = !hasData;
  if (empty) empty.hidden = hasData;
  if (hasData) plot(id, traces, layout);
  else if (window.Plotly) window.Plotly.purge(node);
}

// Plotly reads a little HTML in labels; data goes in as text only.
function plotText(value) {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function currentRange() {
  const [days, granularity] = RANGES[$('an-range').value];
  const to = new Date();
  const from = new Date(to.getTime() - days * 86400e3);
  return { from: from.toISOString(), to: to.toISOString(), granularity };
}

function rangeQuery(range, extra = {}) {
  return new URLSearchParams({ from: range.from, to: range.to, ...extra }).toString();
}

// Which range a section's numbers are for, on the section itself (people and tests read it).
function stamp(node, range) {
  node.dataset.from = range.from;
  node.dataset.to = range.to;
}

function showRange(range) {
  stamp($('panel-analytics'), range);
  const from = new Date(range.from);
  const to = new Date(range.to);
  $('an-span').textContent = `${from.toLocaleString()} – ${to.toLocaleString()}`;
}

// Runs one section's loader; a failure is said in that section, not in the others.
async function section(id, load) {
  const node = $(id);
  try {
    await load();
    node.querySelector(':scope > .error')?.remove();
  } catch (error) {
    if (error.status === 401) return;
    let note = node.querySelector(':scope > .error');
    if (!note) {
      note = el('p', { class: 'error', role: 'alert' });
      node.querySelector('h2').after(note);
    }
    note.textContent = `Could not load: ${error.message}`;
  }
}

function rangeSections(range) {
  return [
    ['analytics-traffic', () => loadTraffic(range)],
    ['analytics-bookings', () => loadBookings(range)],
    ['analytics-chat', () => loadChat(range)],
    ['analytics-search', () => loadSearch(range)],
    ['analytics-pages', () => loadPages(range)],
    ['analytics-performance', () => loadPerformance(range)],
    ['analytics-errors', () => loadErrors(range)],
    ['analytics-quality', () => loadDeadLetters(range)],
    ['analytics-geography', () => loadGeography(range)],
  ];
}

async function loadAnalytics() {
  const range = currentRange();
  state.range = range;
  showRange(range);
  await Promise.all([
    section('analytics-realtime', loadRealtime),
    ...rangeSections(range).map(([id, load]) => section(id, load)),
  ]);
  // Only now is the page its full length: what is out of view stays unloaded.
  if (state.range === range) observeLazySections();
}

// A newer load (another range) may finish first; an older answer is then dropped.
function stale(range) {
  return range !== state.range;
}

$('an-range').addEventListener('change', async () => {
  await loadAnalytics().catch(() => {});
  for (const id of state.lazyLoaded) section(id, LAZY[id]);
});

// -- real time
function sparkline(node, values) {
  const ns = 'http://www.w3.org/2000/svg';
  const width = 120;
  const height = 28;
  const peak = Math.max(1, ...values);
  const points = values.map((value, i) => `${((i / Math.max(1, values.length - 1)) * width).toFixed(1)},`
    + `${(height - 2 - (value / peak) * (height - 4)).toFixed(1)}`);
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Events per minute over the last hour, at most ${fmt.int(Math.max(0, ...values))}`);
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', points.join(' '));
  svg.append(line);
  node.replaceChildren(svg);
}

async function loadRealtime() {
  const now = await api('/api/v1/analytics/realtime');
  $('rt-active').textContent = fmt.int(now.activeUsers);
  $('rt-dau').textContent = fmt.int(now.dau);
  $('rt-wau').textContent = fmt.int(now.wau);
  $('rt-mau').textContent = fmt.int(now.mau);
  $('rt-epm').textContent = fmt.int(now.eventsPerMinute);
  const events = now.lastHour.reduce((sum, point) => sum + point.events, 0);
  $('rt-errors').textContent = events ? fmt.pct(now.errorRate) : '–';
  sparkline($('rt-spark'), now.lastHour.map((point) => point.events));
}

// -- traffic
function fillOptions(list, values) {
  list.replaceChildren(...[...new Set(values)].map((value) => el('option', { value })));
}

async function loadTraffic(range) {
  const [series] = await Promise.all([
    api(`/api/v1/analytics/events?${rangeQuery(range, { granularity: range.granularity })}`),
    loadActive(range),
  ]);
  if (stale(range)) return;
  const byEvent = new Map();
  for (const point of series.points) {
    if (!byEvent.has(point.event)) byEvent.set(point.event, { x: [], y: [] });
    byEvent.get(point.event).x.push(point.bucket);
    byEvent.get(point.event).y.push(point.events);
  }
  chart('chart-events', byEvent.size > 0, [...byEvent].map(([name, xy]) => ({
    type: 'scatter', mode: 'lines+markers', name: plotText(name), ...xy,
  })), { yaxis: { title: { text: 'events' }, rangemode: 'tozero' } });
  state.eventNames = [...byEvent.keys()].filter((name) => name !== 'identify').sort();
  fillStepChoices();
}

// Suggestions for the funnel's, the journeys' and the experiment's inputs: what was seen.
function fillStepChoices() {
  fillOptions($('fn-events'), state.eventNames);
  fillOptions($('jn-steps'), [...state.pagesSeen.map((path) => `page:${path}`),
    ...state.eventNames.map((name) => `event:${name}`)]);
}

const PERIOD_LABEL = {
  day: (start) => start.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' }),
  week: (start) => `week of ${start.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })}`,
  month: (start) => start.toLocaleDateString(undefined, { month: 'short', year: 'numeric' }),
};

// "2024-06-10" as that calendar day (not as UTC midnight, which may be the day before).
function calendarDay(text) {
  const [year, month, day] = text.split('-').map(Number);
  return new Date(year, month - 1, day);
}

async function loadActive(range) {
  const period = $('an-period').value;
  const active = await api(`/api/v1/analytics/active?${rangeQuery(range, { granularity: period })}`);
  if (stale(range)) return;
  const label = PERIOD_LABEL[period];
  chart('chart-active', active.points.length > 0, [{
    type: 'bar',
    name: 'people',
    x: active.points.map((point) => label(calendarDay(point.start))),
    y: active.points.map((point) => point.actives),
    marker: { color: COLORS.accent },
    hovertemplate: '%{x}: %{y} people<extra></extra>',
  }], { xaxis: { type: 'category' }, yaxis: { title: { text: `people per ${period}` }, rangemode: 'tozero' } });
}
$('an-period').addEventListener('change', () => section('analytics-traffic', () => loadActive(state.range)));

// -- bookings
function notSent(value) {
  return value === '' ? '(not sent)' : value;
}

function revenueText(revenue) {
  return revenue.length
    ? revenue.map((row) => `${notSent(row.currency)} ${fmt.decimal(row.revenue)}`).join(' · ')
    : '–';
}

function bookingRow(name, group) {
  return el('tr', { 'data-name': name },
    cell(notSent(name)), cell(fmt.int(group.attempts), 'num'), cell(fmt.int(group.completions), 'num'),
    cell(group.attempts ? fmt.pct(group.conversionRate) : '–', 'num'), cell(revenueText(group.revenue), 'revenue'));
}

async function loadBookings(range) {
  const [bookings, breakdown] = await Promise.all([
    api(`/api/v1/analytics/bookings?${rangeQuery(range, { granularity: range.granularity })}`),
    api(`/api/v1/analytics/bookings/breakdown?${rangeQuery(range)}`),
  ]);
  if (stale(range)) return;
  $('an-attempts').textContent = fmt.int(bookings.attempts);
  $('an-completions').textContent = fmt.int(bookings.completions);
  $('an-conversion').textContent = bookings.attempts ? fmt.pct(bookings.conversionRate) : '–';
  const x = bookings.series.map((point) => point.bucket);
  chart('chart-bookings', bookings.series.length > 0, [
    { type: 'bar', name: 'attempts', x, y: bookings.series.map((point) => point.attempts) },
    { type: 'bar', name: 'completed', x, y: bookings.series.map((point) => point.completions) },
  ], { barmode: 'group' });
  fillTable($('bk-revenue'), breakdown.revenue.map((row) => el('tr', { 'data-currency': row.currency },
    cell(notSent(row.currency)), cell(fmt.decimal(row.revenue), 'num'), cell(fmt.int(row.completions), 'num'))),
  EMPTY);
  fillTable($('bk-services'), breakdown.byServiceType.map((group) => bookingRow(group.serviceType, group)), EMPTY);
  fillTable($('bk-locations'), breakdown.byLocation.map((group) => bookingRow(group.location, group)), EMPTY);
}

// -- chat
async function loadChat(range) {
  const chat = await api(`/api/v1/analytics/chat?${rangeQuery(range, { granularity: range.granularity })}`);
  if (stale(range)) return;
  $('ch-chats').textContent = fmt.int(chat.chats);
  $('ch-messages').textContent = fmt.int(chat.messages);
  $('ch-per-session').textContent = chat.chats ? chat.messagesPerSession.toFixed(2) : '–';
}

// -- search
const RESULT_BINS = ['0', '1', '2-5', '6-10', '11-20', '21-50', '51-100', '>100'];

async function loadSearch(range) {
  const search = await api(`/api/v1/analytics/search?${rangeQuery(range)}`);
  if (stale(range)) return;
  $('se-searches').textContent = fmt.int(search.searches);
  $('se-zero-rate').textContent = search.searches ? fmt.pct(search.zeroResultRate) : '–';
  $('se-zero').textContent = search.searches ? `${fmt.int(search.zeroResultSearches)} found nothing` : '';
  fillTable($('se-terms'), search.terms.map((term) => el('tr', { 'data-term': term.term },
    cell(term.term), cell(fmt.int(term.searches), 'num'), cell(fmt.int(term.zeroResults), 'num'))), EMPTY);
  fillTable($('se-filters'), search.filters.map((filter) => el('tr', {},
    cell(filter.filter), cell(fmt.int(filter.searches), 'num'))), EMPTY);
  const counted = new Map(search.results.map((bin) => [bin.bin, bin.searches]));
  const binned = RESULT_BINS.reduce((sum, bin) => sum + (counted.get(bin) || 0), 0);
  chart('chart-results', binned > 0, [{
    type: 'bar',
    x: RESULT_BINS.map(plotText),
    y: RESULT_BINS.map((bin) => counted.get(bin) || 0),
    marker: { color: RESULT_BINS.map((bin) => (bin === '0' ? COLORS.bad : COLORS.accent)) },
    hovertemplate: '%{x} results: %{y} searches<extra></extra>',
  }], {
    xaxis: { type: 'category', categoryorder: 'array', categoryarray: RESULT_BINS.map(plotText), title: { text: 'results' } },
    yaxis: { title: { text: 'searches' }, rangemode: 'tozero' },
  });
}

// -- pages
async function loadPages(range) {
  const pages = await api(`/api/v1/analytics/pages?${rangeQuery(range, { limit: 10 })}`);
  if (stale(range)) return;
  state.pagesSeen = pages.map((page) => page.page);
  fillStepChoices();
  fillTable($('an-pages'), pages.map((page) => el('tr', { 'data-page': page.page },
    cell(page.page), cell(fmt.int(page.views), 'num'), cell(fmt.int(page.visitors), 'num'),
    cell(fmt.ms(page.loadTimeP50), 'num'), cell(fmt.ms(page.loadTimeP95), 'num'))), EMPTY);
}

// -- performance
const VITALS = ['lcp', 'inp', 'cls', 'ttfb', 'fcp'];
const RATING_TEXT = { good: 'good', 'needs-improvement': 'needs improvement', poor: 'poor' };

function vitalCell(metric, vital) {
  if (!vital || vital.p75 === null) return cell('–', 'muted');
  const shown = metric === 'cls' ? vital.p75.toFixed(3) : fmt.ms(vital.p75);
  return el('td', { 'data-metric': metric, title: `p75 of ${fmt.int(vital.samples)} samples` },
    el('span', { class: 'vital', text: shown }), ' ',
    el('span', { class: `badge rating ${vital.rating}`, text: RATING_TEXT[vital.rating] }));
}

function vitalsRow(label, vitals, attrs) {
  return el('tr', attrs, cell(label), ...VITALS.map((metric) => vitalCell(metric, vitals[metric])),
    cell(fmt.ms(vitals.apiResponseTime.p50), 'num'), cell(fmt.ms(vitals.apiResponseTime.p95), 'num'));
}

async function loadPerformance(range) {
  const performance = await api(`/api/v1/analytics/performance?${rangeQuery(range)}`);
  if (stale(range)) return;
  const rows = performance.pages.map((page) => vitalsRow(page.page === '' ? '(no path)' : page.page, page,
    { 'data-page': page.page }));
  if (rows.length) rows.unshift(vitalsRow('All pages', performance.allPages, { class: 'total', 'data-all': 'true' }));
  fillTable($('pf-pages'), rows, EMPTY);
}

// -- errors
async function loadErrors(range) {
  const errors = await api(`/api/v1/analytics/errors?${rangeQuery(range, { granularity: range.granularity })}`);
  if (stale(range)) return;
  $('er-count').textContent = fmt.int(errors.errors);
  $('er-rate').textContent = errors.events ? fmt.pct(errors.errorRate) : '–';
  chart('chart-errors', errors.series.length > 0, [{
    type: 'bar', name: 'errors', x: errors.series.map((point) => point.bucket),
    y: errors.series.map((point) => point.errors), marker: { color: COLORS.bad },
  }], { yaxis: { title: { text: 'errors' }, rangemode: 'tozero' } });
  fillTable($('er-top'), errors.top.map((group) => el('tr', { 'data-fingerprint': group.fingerprint },
    cell(notSent(group.type)), cell(group.message, 'message'), cell(group.topFrame || '–', 'frame'),
    cell(fmt.int(group.count), 'num'), cell(fmt.time(group.lastSeen)))), EMPTY);
}

// -- data quality: dead letters by reason
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

async function loadDeadLetters(range) {
  const letters = await api(`/api/v1/analytics/dead-letters?${rangeQuery(range)}`);
  if (stale(range)) return;
  $('dq-total').textContent = fmt.int(letters.total);
  chart('chart-dead-letters', letters.series.length > 0, [{
    type: 'bar', name: 'dead letters', x: letters.series.map((point) => point.bucket),
    y: letters.series.map((point) => point.letters), marker: { color: COLORS.bad },
  }], { yaxis: { title: { text: 'dead letters' }, rangemode: 'tozero' } });
  fillTable($('dq-codes'), letters.cells.map((row) => el('tr', { 'data-code': row.code },
    cell(codeName(row.code)), cell(row.stage), cell(fmt.int(row.letters), 'num'))), EMPTY);
  fillTable($('dq-reasons'), letters.recentReasons.map((row) => el('tr', { 'data-code': row.code },
    cell(`${codeName(row.code)} (${row.stage})`), cell(row.reason, 'message'),
    cell(fmt.int(row.letters), 'num'), cell(fmt.time(row.lastSeen)))), EMPTY);
}

// -- geography
const REGIONS = (() => {
  try {
    return new Intl.DisplayNames([], { type: 'region' });
  } catch (error) {
    return null;
  }
})();

function countryName(code) {
  if (REGIONS && /^[A-Z]{2}$/.test(code)) {
    try {
      const name = REGIONS.of(code);
      if (name && name !== code) return `${name} (${code})`;
    } catch (error) { /* not a region code: shown as sent */ }
  }
  return code || '(unknown)';
}

async function loadGeography(range) {
  const geo = await api(`/api/v1/analytics/geography?${rangeQuery(range)}`);
  if (stale(range)) return;
  $('geo-total').textContent = `${fmt.int(geo.events)} events from people who allowed geolocation.`;
  const countries = [...geo.countries].reverse();
  chart('chart-countries', geo.countries.length > 0, [{
    type: 'bar', orientation: 'h', x: countries.map((row) => row.events),
    y: countries.map((row) => plotText(countryName(row.country))), marker: { color: COLORS.accent },
    hovertemplate: '%{y}: %{x} events<extra></extra>',
  }], { margin: { ...CHART_LAYOUT.margin, l: 150 }, yaxis: { type: 'category', automargin: true }, xaxis: { title: { text: 'events' } } });
  fillTable($('geo-countries'), geo.countries.map((row) => el('tr', { 'data-country': row.country },
    cell(countryName(row.country)), cell(fmt.int(row.events), 'num'), cell(fmt.pct(row.share), 'num'))), EMPTY);
  fillTable($('geo-cities'), geo.cities.map((row) => el('tr', { 'data-city': row.city },
    cell(row.city), cell(countryName(row.country)), cell(fmt.int(row.events), 'num'))), EMPTY);
}

// -- heavy sections: loaded on first view, again when the range changes
const LAZY = {
  'analytics-funnels': () => runFunnel(),
  'analytics-journeys': () => loadJourneys(),
  'analytics-retention': () => loadRetention(),
  'analytics-experiments': () => loadExperiments(),
};
let lazyObserver = null;

function observeLazySections() {
  if (lazyObserver) return;
  lazyObserver = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting || !state.range) continue;
      lazyObserver.unobserve(entry.target);
      state.lazyLoaded.add(entry.target.id);
      section(entry.target.id, LAZY[entry.target.id]);
    }
  }, { rootMargin: '200px 0px' });
  for (const id of Object.keys(LAZY)) lazyObserver.observe($(id));
}

function forgetLazySections() {
  if (lazyObserver) lazyObserver.disconnect();
  lazyObserver = null;
  state.lazyLoaded.clear();
}

// Asked for explicitly (a button): it is loaded from now on, observed or not.
function loadNow(id) {
  state.lazyLoaded.add(id);
  if (lazyObserver) lazyObserver.unobserve($(id));
  return section(id, LAZY[id]);
}

// -- funnels
const DEFAULT_FUNNEL = ['search_performed', 'booking_attempt', 'booking_completed'];
const MAX_STEPS = 10;

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

function renumberSteps() {
  const items = [...$('fn-steps').children];
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
  $('fn-add').disabled = items.length >= MAX_STEPS;
}

$('fn-steps').replaceChildren(...DEFAULT_FUNNEL.map((event) => stepItem(event)));
renumberSteps();

$('fn-add').addEventListener('click', () => {
  const item = stepItem();
  $('fn-steps').append(item);
  renumberSteps();
  item.querySelector('.step-event').focus();
});

$('fn-steps').addEventListener('click', (event) => {
  const button = event.target.closest('button');
  if (!button) return;
  const item = button.closest('li');
  if (button.dataset.remove) {
    const next = item.nextElementSibling || item.previousElementSibling;
    item.remove();
    renumberSteps();
    next.querySelector('.step-event').focus();
    return;
  }
  const sibling = button.dataset.move === '-1' ? item.previousElementSibling : item.nextElementSibling;
  if (!sibling) return;
  if (button.dataset.move === '-1') sibling.before(item);
  else sibling.after(item);
  renumberSteps();
  // Keep the focus on the same button; at either end, on the one that still moves.
  const kept = button.disabled ? item.querySelector(`[data-move="${-Number(button.dataset.move)}"]`) : button;
  kept.focus();
});

class InputError extends Error {}

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

function readSteps() {
  return [...$('fn-steps').children].map((item, index) => {
    const event = item.querySelector('.step-event').value.trim();
    if (!/^[A-Za-z]/.test(event)) throw new InputError(`Step ${index + 1}: give an event name.`);
    return { event, filters: readFilters(item.querySelector('.step-filters').value, index + 1) };
  });
}

function showFunnel(answer) {
  const steps = answer.steps;
  const started = steps.length ? steps[0].people : 0;
  $('chart-funnel').hidden = !started;
  $('fn-result').hidden = !started;
  if (!started) {
    if (window.Plotly) window.Plotly.purge($('chart-funnel'));
    $('fn-status').textContent = EMPTY;
    return;
  }
  const labels = steps.map((step) => plotText(`${step.step}. ${step.event}`));
  plot('chart-funnel', [{
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

async function runFunnel() {
  const range = state.range || currentRange();
  let steps;
  try {
    steps = readSteps();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    $('fn-status').textContent = error.message;
    return;
  }
  const button = $('fn-run');
  button.disabled = true;
  $('fn-status').textContent = 'Running…';
  try {
    const answer = await api('/api/v1/analytics/funnels', {
      method: 'POST', body: { steps, windowS: Number($('fn-window').value), from: range.from, to: range.to },
    });
    stamp($('analytics-funnels'), range);
    showFunnel(answer);
  } catch (error) {
    $('fn-status').textContent = `Could not run: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

$('fn-form').addEventListener('submit', (event) => {
  event.preventDefault();
  loadNow('analytics-funnels');
});

// -- journeys
function stepLabel(step) {
  if (step.startsWith('page:')) return step.slice(5);
  if (step.startsWith('event:')) return step.slice(6);
  return step;
}

async function loadJourneys() {
  const range = state.range || currentRange();
  const start = $('jn-start').value.trim();
  if (!/^(page:\/|event:[A-Za-z])/.test(start)) {
    $('jn-status').textContent = 'Start with page:/path or event:name.';
    return;
  }
  $('jn-status').textContent = 'Loading…';
  const answer = await api(`/api/v1/analytics/journeys?${rangeQuery(range, { startStep: start, depth: $('jn-depth').value })}`);
  stamp($('analytics-journeys'), range);
  const chartNode = $('chart-journeys');
  chartNode.hidden = !answer.sequences;
  if (!answer.sequences) {
    if (window.Plotly) window.Plotly.purge(chartNode);
    fillTable($('jn-paths'), [], EMPTY);
    $('jn-status').textContent = EMPTY;
    return;
  }
  const index = new Map(answer.nodes.map((node, i) => [node.id, i]));
  plot('chart-journeys', [{
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

$('jn-form').addEventListener('submit', (event) => {
  event.preventDefault();
  loadNow('analytics-journeys');
});

// -- retention
function weekHeaders(weeks) {
  const cells = [el('th', { text: 'Cohort' }), el('th', { class: 'num', text: 'People' })];
  for (let week = 0; week <= weeks; week += 1) cells.push(el('th', { class: 'num', text: `Week ${week}` }));
  $('rn-cohorts').tHead.rows[0].replaceChildren(...cells);
}

async function loadRetention() {
  const range = state.range || currentRange();
  const cohortBy = document.querySelector('input[name=cohortBy]:checked').value;
  $('rn-status').textContent = 'Loading…';
  const answer = await api(`/api/v1/analytics/retention?${rangeQuery(range, { cohortBy })}`);
  stamp($('analytics-retention'), range);
  weekHeaders(answer.weeks);
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

for (const radio of document.querySelectorAll('input[name=cohortBy]')) {
  radio.addEventListener('change', () => loadNow('analytics-retention'));
}

// -- experiments
async function loadExperiments() {
  const experiments = await api('/api/v1/analytics/experiments');
  state.experiments = new Map(experiments.map((experiment) => [experiment.experiment, experiment]));
  const select = $('ex-name');
  const chosen = select.value;
  select.replaceChildren(...experiments.map((experiment) => el('option', {
    value: experiment.experiment, text: experiment.experiment,
  })));
  if (state.experiments.has(chosen)) select.value = chosen;
  $('ex-run').disabled = !experiments.length;
  if (!experiments.length) {
    showExperiment(null, 'No experiment has exposures yet.');
    return;
  }
  await compareExperiment();
}

function showExperiment(answer, message) {
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

async function compareExperiment() {
  const range = state.range || currentRange();
  const name = $('ex-name').value;
  const goal = $('ex-goal').value.trim();
  const known = state.experiments.get(name);
  if (!known) return;
  if (!/^[A-Za-z][A-Za-z0-9_.:\- ]*$/.test(goal)) {
    showExperiment(null, 'The goal is an event name, such as booking_completed.');
    return;
  }
  // The list spans all time: a range after the last exposure (or before the first) has none.
  if (new Date(known.lastExposure) < new Date(range.from) || new Date(known.firstExposure) >= new Date(range.to)) {
    showExperiment(null, `No exposures to ${name} in this range.`);
    return;
  }
  $('ex-status').textContent = 'Loading…';
  let answer;
  try {
    answer = await api(`/api/v1/analytics/experiments/${encodeURIComponent(name)}?${rangeQuery(range, { goal })}`);
  } catch (error) {
    if (error.status === 404 || error.status === 422) {
      showExperiment(null, error.message);
      return;
    }
    throw error;
  }
  stamp($('analytics-experiments'), range);
  const total = answer.variants.reduce((sum, variant) => sum + variant.exposures, 0);
  showExperiment(answer, `${fmt.int(total)} people exposed; goal ${goal} after their first exposure.`);
}

$('ex-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (!state.experiments.size) {
    loadNow('analytics-experiments');
    return;
  }
  state.lazyLoaded.add('analytics-experiments');
  section('analytics-experiments', compareExperiment);
});
$('ex-name').addEventListener('change', () => section('analytics-experiments', compareExperiment));

// -- the in-page index
function goToSection(id) {
  const target = $(id);
  if (!target) return;
  target.scrollIntoView({ block: 'start' });
  target.querySelector('h2').focus({ preventScroll: true });
  history.replaceState(null, '', `#${id}`);
}

for (const link of document.querySelectorAll('.index a')) {
  link.addEventListener('click', (event) => {
    event.preventDefault();
    goToSection(link.hash.slice(1));
  });
}

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
  metrics: (data) => {
    showMetrics(data);
    if (state.tab === 'analytics') throttle('realtime', 10000, () => section('analytics-realtime', loadRealtime));
  },
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
