// The range the Analytics tab shows: chosen at the top, one [from, to) per load, so every
// section of that load shows the same span, and each section says which span it shows.

const RANGES = { '1h': [1 / 24, 'minute'], '24h': [1, 'hour'], '7d': [7, 'hour'], '30d': [30, 'day'] };

export function currentRange(view) {
  const [days, granularity] = RANGES[view.$('an-range').value];
  const to = new Date();
  const from = new Date(to.getTime() - days * 86400e3);
  return { from: from.toISOString(), to: to.toISOString(), granularity };
}

// The range of this load, or (a section asked for before the tab loaded) the chosen one now.
export function activeRange(view) {
  return view.state.range || currentRange(view);
}

export function rangeQuery(range, extra = {}) {
  return new URLSearchParams({ from: range.from, to: range.to, ...extra }).toString();
}

// Which range a section's numbers are for, on the section itself (people and tests read it).
export function stamp(node, range) {
  node.dataset.from = range.from;
  node.dataset.to = range.to;
}

// A newer load (another range) may finish first; an older answer is then dropped.
export function stale(view, range) {
  return range !== view.state.range;
}
