// The Backups tab: run history, live progress of running backups and restores, "Run backup"
// and the restore form (admins), and the schedules with what each makes and keeps; admins
// turn a schedule off or on and change its time.
// Live: a run's progress arrives from the stream (applyBackup, via lib/dashboard.js).

import { badge, cell, el, fillTable, fmt, tableError } from '../lib/format.js';
import { clearError, loadInto, showError, throttle } from '../lib/view.js';
import { showLastBackup } from './overview.js';

// The backup worker answers in snake_case; the page reads camelCase.
function camelCase(items) {
  return items.map((item) => Object.fromEntries(Object.entries(item).map(([key, value]) => [
    key.replace(/_([a-z])/g, (_, letter) => letter.toUpperCase()), value])));
}

function runRow(run) {
  return el('tr', { 'data-run': run.runId },
    cell(run.runId.slice(0, 12)), cell(run.operation), el('td', {}, badge(run.status)),
    cell(run.backupType), cell(run.collections.length ? fmt.int(run.collections.length) : 'all', 'num'),
    cell(fmt.int(run.rows), 'num'), cell(fmt.bytes(run.bytes), 'num'),
    cell(fmt.time(run.startedAt)), cell(fmt.time(run.finishedAt)), cell(run.requestedBy));
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const two = (value) => String(value ?? 0).padStart(2, '0');

// Schedules are shown and sent as the backup worker's contract has them (snake_case).
function scheduleWhen(schedule) {
  const at = `${two(schedule.hour)}:${two(schedule.minute)} ${schedule.timezone}`;
  if (schedule.frequency === 'weekly') return `weekly on ${WEEKDAYS[schedule.weekday]}s at ${at}`;
  if (schedule.frequency === 'monthly') return `monthly on day ${schedule.day_of_month} at ${at}`;
  return `${schedule.frequency} at ${at}`;
}

// What each run makes and checks: "incremental; full on Sundays; trial-restored Sundays".
function scheduleKind(schedule) {
  const parts = [schedule.backup_type];
  if (schedule.backup_type === 'incremental' && schedule.full_weekday !== null && schedule.full_weekday !== undefined) {
    parts.push(`full on ${WEEKDAYS[schedule.full_weekday]}s`);
  }
  if (schedule.trial_restore) {
    const day = schedule.trial_restore_weekday;
    parts.push(day === null || day === undefined ? 'trial-restored after every run' : `trial-restored ${WEEKDAYS[day]}s`);
  }
  return parts.join('; ');
}

// Which backups a prune keeps: "30 days", "last 3, 7 daily", or "keep all".
function scheduleRetention(retention) {
  const parts = [];
  if (retention.retention_days) parts.push(`${retention.retention_days} days`);
  if (retention.keep_last) parts.push(`last ${retention.keep_last}`);
  for (const period of ['daily', 'weekly', 'monthly']) {
    if (retention[`keep_${period}`]) parts.push(`${retention[`keep_${period}`]} ${period}`);
  }
  return parts.length ? parts.join(', ') : 'keep all';
}

// An admin's controls for one schedule: its time (hour:minute, in its zone) and on/off.
function scheduleControls(view, schedule) {
  const time = el('input', {
    type: 'time', required: true, value: `${two(schedule.hour)}:${two(schedule.minute)}`,
    'aria-label': `Time of ${schedule.name}`,
  });
  const form = el('form', { class: 'inline' }, time, el('button', { type: 'submit', text: 'Save' }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const [hour, minute] = time.value.split(':').map(Number);
    changeSchedule(view, schedule, { hour, minute }, `${schedule.name} now runs at ${time.value}.`).catch(view.fail);
  }, { signal: view.signal });
  const toggle = el('button', { type: 'button', 'data-action': 'toggle', text: schedule.enabled ? 'Turn off' : 'Turn on' });
  toggle.addEventListener('click', () => changeSchedule(
    view, schedule, { enabled: !schedule.enabled },
    `${schedule.name} turned ${schedule.enabled ? 'off' : 'on'}.`,
  ).catch(view.fail), { signal: view.signal });
  return el('td', {}, el('div', { class: 'row-actions' }, form, toggle));
}

function scheduleRow(view, schedule) {
  return el('tr', { 'data-schedule': schedule.name },
    cell(schedule.name), cell(scheduleWhen(schedule), 'wrap'), cell(scheduleKind(schedule), 'wrap'),
    cell(schedule.collections.length ? schedule.collections.join(', ') : 'all', 'wrap'),
    cell(scheduleRetention(schedule.retention || {}), 'wrap'),
    cell(fmt.time(schedule.next_run_at)), cell(schedule.enabled ? 'yes' : 'no'),
    view.state.me && view.state.me.role === 'admin' ? scheduleControls(view, schedule) : null);
}

function showSchedules(view) {
  fillTable(view.$('bk-schedules'), view.state.schedules.map((schedule) => scheduleRow(view, schedule)),
    'No schedules: backups run when asked.');
}

// Replaces the schedule with `change` applied (PUT, admin); the table shows the worker's
// answer. A refusal is said above the table and the rows stay as they were.
async function changeSchedule(view, schedule, change, done) {
  const { $ } = view;
  const section = $('bk-schedules-section');
  const status = $('bk-schedules-status');
  const row = view.root.querySelector(`#bk-schedules tr[data-schedule="${CSS.escape(schedule.name)}"]`);
  const buttons = row ? [...row.querySelectorAll('button')] : [];
  for (const button of buttons) button.disabled = true;
  // The body is the schedule as the worker stored it (ScheduleIn), with the change applied.
  const body = { ...schedule, ...change };
  delete body.id;
  delete body.next_run_at;
  try {
    const saved = await view.api(`/api/v1/backups/schedules/${schedule.id}`, { method: 'PUT', body });
    view.state.schedules = view.state.schedules.map((item) => (item.id === saved.id ? saved : item));
    showSchedules(view);
    clearError(section);
    status.textContent = done;
  } catch (error) {
    for (const button of buttons) button.disabled = false;
    status.textContent = '';
    if (error.status !== 401) showError(section, error, `${schedule.name} not saved`);
  }
}

// What the chosen backup holds (its artifacts, one per collection), as checkboxes; a failure
// is said in the form, above the Restore button.
function fillCollections(view) {
  const { $ } = view;
  return loadInto($('bk-restore'), async () => {
    const runId = $('bk-restore-run').value;
    const legend = el('legend', { text: 'Collections' });
    if (!runId) {
      $('bk-collections').replaceChildren(legend, el('span', { class: 'muted', text: 'No successful backup yet.' }));
      return;
    }
    const detail = await view.api(`/api/v1/backups/runs/${encodeURIComponent(runId)}`);
    if ($('bk-restore-run').value !== runId) return;
    const names = [...new Set(detail.artifacts.map((artifact) => artifact.collection))].sort();
    $('bk-collections').replaceChildren(legend, ...names.map((name) => el('label', {},
      el('input', { type: 'checkbox', name: 'collection', value: name }), ` ${name}`)));
  });
}

function fillRestoreChoices(view) {
  const select = view.$('bk-restore-run');
  const chosen = select.value;
  const backups = view.state.runs.filter((run) => run.operation === 'backup' && run.status === 'succeeded');
  select.replaceChildren(...backups.map((run) => el('option', {
    value: run.runId, text: `${fmt.time(run.finishedAt)} · ${run.backupType || 'full'} · ${run.runId.slice(0, 12)}`,
  })));
  if (chosen && backups.some((run) => run.runId === chosen)) select.value = chosen;
  if (select.value !== chosen) fillCollections(view);
}

export async function load(view) {
  const { $, api, state } = view;
  const [runs, schedules] = await Promise.allSettled([
    api('/api/v1/backups/runs'), api('/api/v1/backups/schedules'),
  ]);
  if (runs.status === 'fulfilled') {
    state.runs = camelCase(runs.value);
    fillTable($('bk-runs'), state.runs.map(runRow), 'No backup has run yet.');
    showLastBackup(view, state.runs);
    fillRestoreChoices(view);
  } else if (runs.reason.status !== 401) {
    tableError($('bk-runs'), runs.reason);
  }
  if (schedules.status === 'fulfilled') {
    state.schedules = schedules.value;
    showSchedules(view);
  } else if (schedules.reason.status !== 401) {
    tableError($('bk-schedules'), schedules.reason);
  }
}

function showProgress(view) {
  const items = [...view.state.progress.values()].slice(-5).map((item) => {
    const total = item.collections_total || 0;
    return el('div', { class: 'progress', 'data-progress': item.run_id || item.commandId },
      el('div', {}, el('strong', { text: item.operation }), ' ', badge(item.status), ' ',
        el('span', { class: 'muted', text: total ? `${item.collections_done}/${total} collections · ${fmt.int(item.rows)} rows · ${fmt.bytes(item.bytes)}` : '' })),
      el('progress', { max: total || 1, value: total ? item.collections_done : (item.status === 'succeeded' ? 1 : 0) }),
      item.errors && item.errors.length ? el('div', { class: 'error', text: item.errors.join('; ') }) : null);
  });
  view.$('bk-progress').replaceChildren(...items);
}

// A run's progress or outcome from the stream.
export function applyBackup(view, result) {
  // A command's first result replaces its "requested" placeholder.
  if (result.command_id) view.state.progress.delete(result.command_id);
  view.state.progress.set(result.run_id, result);
  showProgress(view);
  throttle(view, 'backups', 500, () => load(view));
}

async function sendAction(view, body) {
  const status = view.$('bk-run-status');
  try {
    const accepted = await view.api('/api/v1/backups/actions', { method: 'POST', body });
    status.textContent = `${body.operation} requested (${accepted.commandId.slice(0, 22)}…); progress appears below.`;
    view.state.progress.set(accepted.commandId, { commandId: accepted.commandId, operation: body.operation, status: 'requested' });
    showProgress(view);
  } catch (error) {
    status.textContent = `Not sent: ${error.message}`;
  }
}

function askRestore(view, event) {
  const { $ } = view;
  event.preventDefault();
  const collections = [...view.all('#bk-collections input:checked')].map((box) => box.value);
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
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'restore') return;
    sendAction(view, { operation: 'restore', runId, collections, restoreMode: $('bk-mode').value, confirm: true });
  }, { once: true, signal: view.signal });
}

export function init(view) {
  const { $, signal } = view;
  $('bk-run').addEventListener('click', async () => {
    const button = $('bk-run');
    button.disabled = true;
    await sendAction(view, { operation: 'backup' });
    button.disabled = false;
  }, { signal });
  $('bk-restore-run').addEventListener('change', () => fillCollections(view), { signal });
  $('bk-restore').addEventListener('submit', (event) => askRestore(view, event), { signal });
}
