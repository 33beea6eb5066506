// Real time: now, whatever the range; refreshed while the tab is open.

import { fmt } from '../lib/format.js';

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

export async function load(view) {
  const { $ } = view;
  const now = await view.api('/api/v1/analytics/realtime');
  $('rt-active').textContent = fmt.int(now.activeUsers);
  $('rt-dau').textContent = fmt.int(now.dau);
  $('rt-wau').textContent = fmt.int(now.wau);
  $('rt-mau').textContent = fmt.int(now.mau);
  $('rt-epm').textContent = fmt.int(now.eventsPerMinute);
  const events = now.lastHour.reduce((sum, point) => sum + point.events, 0);
  $('rt-errors').textContent = events ? fmt.pct(now.errorRate) : '–';
  sparkline($('rt-spark'), now.lastHour.map((point) => point.events));
}
