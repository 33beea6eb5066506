// One mounted dashboard: the root its markup lives in (the page's document, or an embedding
// element's shadow root), its API client, its state, and how a part of it says it failed.
// Tab and section modules take a view instead of reaching for globals, so the page and the
// embeddable element run the same code.

import { el } from './format.js';

export function createView({ root, client, host, hashNavigation }) {
  const stopped = new AbortController();
  return {
    root,
    // The element the dashboard's classes go on (`viewer`): the page's body, or the embed's host.
    host,
    client,
    api: client.request,
    // Whether the tab and section are kept in the address (#analytics-search): the page only.
    hashNavigation,
    // Listeners added with { signal } are removed when the dashboard is unmounted.
    signal: stopped.signal,
    stop: () => stopped.abort(),
    $: (id) => root.getElementById(id),
    all: (selector) => root.querySelectorAll(selector),
    state: {
      me: null,
      tab: 'overview',
      pending: new Map(),
      checks: new Map(),
      runs: [],
      schedules: [],
      incidents: [],
      progress: new Map(),
      range: null,
      lazyLoaded: new Set(),
      lazyObserver: null,
      experiments: new Map(),
      pagesSeen: [],
      eventNames: [],
    },
    // A failure no section owns (a bug, not an answer): said in the banner, kept in the console.
    fail: (error) => {
      console.error(error);
      const banner = root.getElementById('banner');
      banner.textContent = `Something went wrong: ${error.message}`;
      banner.hidden = false;
    },
  };
}

// Says in `node` (a section, with its heading) that its data could not be read, or what
// else failed (`what`: "default not saved").
export function showError(node, error, what = 'Could not load') {
  let note = node.querySelector(':scope > .error');
  if (!note) {
    note = el('p', { class: 'error', role: 'alert' });
    const heading = node.querySelector(':scope > h2');
    if (heading) heading.after(note);
    else node.prepend(note);
  }
  note.textContent = `${what}: ${error.message}`;
}

export function clearError(node) {
  node.querySelector(':scope > .error')?.remove();
}

// Runs one part's loader; a failure is said in that part, not in the others. A 401 is not:
// the key is gone and the whole dashboard says so.
export async function loadInto(node, load) {
  try {
    await load();
    clearError(node);
  } catch (error) {
    if (error.status !== 401) showError(node, error);
  }
}

// Runs `work` at most once per `ms`, trailing call included. `work` reports its own failures;
// anything else it throws is a bug, shown by `view.fail`.
export function throttle(view, name, ms, work) {
  const { pending } = view.state;
  if (pending.has(name)) return;
  pending.set(name, setTimeout(() => {
    pending.delete(name);
    work().catch(view.fail);
  }, ms));
}

export function cancelPending(view) {
  for (const timer of view.state.pending.values()) clearTimeout(timer);
  view.state.pending.clear();
}
