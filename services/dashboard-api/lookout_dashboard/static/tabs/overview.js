// The Overview tab: the headline cards, critical alerts and today's top pages.

import { badge, cell, el, fillTable, fmt } from '../lib/format.js';
import { clearError, showError } from '../lib/view.js';

export function showMetrics(view, metrics) {
  const { $ } = view;
  clearError($('panel-overview'));
  $('ov-active').textContent = fmt.int(metrics.activeUsers);
  $('ov-bookings').textContent = fmt.int(metrics.todayBookings);
  $('ov-chats').textContent = fmt.int(metrics.chatSessions);
  $('ov-errors').textContent = fmt.pct(metrics.errorRate);
  fillTable($('ov-pages'), metrics.topPages.map((page) => el('tr', {},
    cell(page.page), cell(fmt.int(page.views), 'num'))));
}

export function showStatus(view, status) {
  const { $ } = view;
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

function alertsError(view, error) {
  view.$('ov-alerts').replaceChildren(el('li', { class: 'error', text: `Could not load: ${error.message}` }));
}

export function showLastBackup(view, runs) {
  const { $ } = view;
  const last = runs.find((run) => run.operation === 'backup' && run.status === 'succeeded');
  $('ov-backup').textContent = last ? fmt.time(last.finishedAt || last.finished_at) : 'none yet';
  $('ov-backup-sub').textContent = last ? `${last.collections.length} collections, ${fmt.bytes(last.bytes)}` : '';
}

// The status card and alerts again (a check result or an incident arrived).
export async function refreshStatus(view) {
  try {
    showStatus(view, await view.api('/api/v1/health/status'));
  } catch (error) {
    if (error.status !== 401) alertsError(view, error);
  }
}

export async function load(view) {
  const { $, api } = view;
  const [metrics, status, runs] = await Promise.allSettled([
    api('/api/v1/dashboard/metrics'), api('/api/v1/health/status'), api('/api/v1/backups/runs'),
  ]);
  if (metrics.status === 'fulfilled') showMetrics(view, metrics.value);
  else showError($('panel-overview'), metrics.reason);
  if (status.status === 'fulfilled') showStatus(view, status.value);
  else alertsError(view, status.reason);
  if (runs.status === 'fulfilled') showLastBackup(view, runs.value);
  else {
    $('ov-backup').textContent = 'unavailable';
    $('ov-backup-sub').textContent = `Could not load: ${runs.reason.message}`;
  }
}

export function init() {}
