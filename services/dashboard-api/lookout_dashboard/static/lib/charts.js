// Charts: Plotly (a classic script, window.Plotly) drawing into a view's nodes.

export const EMPTY = 'No data in this range.';
export const COLORS = { accent: '#2457c5', bad: '#b3261e' };
export const CHART_LAYOUT = {
  margin: { l: 50, r: 20, t: 10, b: 40 },
  legend: { orientation: 'h', y: -0.2 },
  paper_bgcolor: 'rgba(0,0,0,0)',
  plot_bgcolor: 'rgba(0,0,0,0)',
  font: { family: 'system-ui, sans-serif', size: 12 },
};
const CHART_CONFIG = { responsive: true, displaylogo: false };

export function plot(view, id, traces, layout = {}) {
  if (!window.Plotly) return;
  window.Plotly.react(view.$(id), traces, { ...CHART_LAYOUT, ...layout }, CHART_CONFIG);
}

export function purge(view, id) {
  if (window.Plotly) window.Plotly.purge(view.$(id));
}

// A chart, or its "no data" note instead when there is nothing to draw.
export function chart(view, id, hasData, traces, layout) {
  const empty = view.$(`${id}-empty`);
  view.$(id).hidden = !hasData;
  if (empty) empty.hidden = hasData;
  if (hasData) plot(view, id, traces, layout);
  else purge(view, id);
}
