// The dashboard's shell: mounts the four tabs on a root (the page's document or an embedding
// element's shadow root) for one API key, switches tabs, and routes the live stream's events
// to the tab that shows them. The page (main.js) and <lookout-dashboard> (lookout-dashboard.js) both use it.

import { createClient } from './api.js';
import { cancelPending, createView, throttle } from './view.js';
import { follow } from './stream.js';
import { forgetLazySections } from '../analytics/lazy.js';
import * as overview from '../tabs/overview.js';
import * as analytics from '../tabs/analytics.js';
import * as health from '../tabs/health.js';
import * as backups from '../tabs/backups.js';

// Each tab module exports init(view), called once per mount, and load(view), called whenever
// the tab is shown or refreshed; load reports its failures in the tab's own error displays.
const TABS = { overview, analytics, health, backups };
const TAB_NAMES = Object.keys(TABS);
const REFRESH_MS = 30000;
const UNAUTHORIZED = 'That key is unknown or was revoked.';

function touch(view) {
  const now = new Date();
  const stamp = view.$('updated');
  stamp.textContent = now.toLocaleTimeString();
  stamp.dateTime = now.toISOString();
}

function offline(view, reason) {
  view.state.offlineReason = reason;
  const banner = view.$('banner');
  banner.textContent = reason;
  banner.hidden = false;
}

// An answer arrived: the "unreachable" banner goes, but not the stream's own (it reconnects).
function online(view) {
  const reason = view.state.offlineReason;
  if (reason && !reason.startsWith('Live')) {
    view.state.offlineReason = null;
    view.$('banner').hidden = true;
  }
}

function setLive(view, on) {
  const live = view.$('live');
  live.classList.toggle('on', on);
  live.textContent = on ? 'live' : 'offline';
}

function reloadTab(view) {
  return TABS[view.state.tab].load(view);
}

// `name` is a tab, or a section of one ("analytics-search"): the tab, scrolled to it.
export function showTab(view, name) {
  const [tabName] = name.split('-');
  const tab = TAB_NAMES.includes(tabName) ? tabName : 'overview';
  view.state.tab = tab;
  for (const other of TAB_NAMES) {
    const button = view.$(`tab-${other}`);
    const selected = other === tab;
    button.setAttribute('aria-selected', String(selected));
    button.tabIndex = selected ? 0 : -1;
    view.$(`panel-${other}`).hidden = !selected;
  }
  const target = name !== tab && view.$(name) ? name : tab;
  if (view.hashNavigation && location.hash.slice(1) !== target) history.replaceState(null, '', `#${target}`);
  reloadTab(view).catch(view.fail);
  if (target !== tab) analytics.goToSection(view, target);
}

function liveHandlers(view) {
  const refreshStatus = () => overview.refreshStatus(view);
  return {
    hello: () => {},
    metrics: (data) => {
      overview.showMetrics(view, data);
      if (view.state.tab === 'analytics') throttle(view, 'realtime', 10000, () => analytics.loadRealtime(view));
    },
    check: (data) => {
      health.applyCheck(view, data);
      throttle(view, 'status', 2000, refreshStatus);
    },
    incident: () => {
      throttle(view, 'incidents', 500, () => health.loadIncidents(view));
      throttle(view, 'status', 500, refreshStatus);
    },
    backup: (data) => backups.applyBackup(view, data),
    missed: () => throttle(view, 'reload', 500, () => reloadTab(view)),
  };
}

function followStream(view, unauthorized) {
  const handlers = liveHandlers(view);
  follow(view.client, {
    signal: view.signal,
    opened: (afterLoss) => {
      setLive(view, true);
      if (view.state.offlineReason) {
        view.state.offlineReason = null;
        view.$('banner').hidden = true;
      }
      if (afterLoss) reloadTab(view).catch(view.fail);
    },
    onEvent: (kind, data) => {
      touch(view);
      const handler = handlers[kind];
      if (!handler) return;
      try {
        handler(data);
      } catch (error) {
        view.fail(error);
      }
    },
    onBadMessage: (kind, error) => console.warn(`live stream: a ${kind} message was not JSON`, error),
    lost: () => {
      setLive(view, false);
      offline(view, 'Live updates lost: the Lookout API is unreachable. Reconnecting…');
    },
    unauthorized: () => unauthorized(UNAUTHORIZED),
  }).catch(view.fail);
}

/**
 * Mounts the dashboard in `root` for `key` against the API at `url` ('' for this origin):
 * reads who the key is, shows `tab`, follows the live stream. `host` carries the `viewer`
 * class. `ready(me)` is called once the key is known good, before the first tab loads (show
 * the dashboard then: a hidden one cannot scroll to a section). `unauthorized(reason)` is
 * called when the key is refused, now or later. Rejects when the key cannot be read (then
 * nothing stays running). Returns { me, stop }.
 */
export async function mountDashboard({
  root, host, url = '', key, tab = 'overview', hashNavigation = false, ready = () => {}, unauthorized,
}) {
  let view = null;
  const client = createClient({
    url,
    key,
    events: {
      unreachable: () => view && offline(view, 'The Lookout API is unreachable. Retrying…'),
      reachable: () => view && online(view),
      unauthorized: () => unauthorized(UNAUTHORIZED),
      answered: () => view && touch(view),
    },
  });
  const me = await client.request('/api/v1/me');
  view = createView({ root, client, host, hashNavigation });
  view.state.me = me;
  const { $, signal } = view;
  $('whoami').textContent = `${me.name} · ${me.role}`;
  host.classList.toggle('viewer', me.role !== 'admin');
  for (const node of view.all('.admin-only')) node.hidden = me.role !== 'admin';
  touch(view);
  ready(me);

  for (const module of Object.values(TABS)) module.init(view);
  for (const button of view.all('[role=tab]')) {
    button.addEventListener('click', () => showTab(view, button.dataset.tab), { signal });
    button.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = TAB_NAMES[(TAB_NAMES.indexOf(view.state.tab) + step + TAB_NAMES.length) % TAB_NAMES.length];
      showTab(view, next);
      $(`tab-${next}`).focus();
    }, { signal });
  }
  showTab(view, tab);
  followStream(view, unauthorized);
  // Tabs the user is not looking at are refreshed when shown; the visible one every 30 s
  // as a safety net behind the stream.
  const refresh = setInterval(() => reloadTab(view).catch(view.fail), REFRESH_MS);

  function stop() {
    clearInterval(refresh);
    cancelPending(view);
    forgetLazySections(view);
    view.stop();
  }
  return { me, stop };
}
