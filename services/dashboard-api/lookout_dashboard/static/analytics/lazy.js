// The heavy sections (funnels, journeys, retention, experiments): loaded when they first come
// into view or are asked for, and again with every new range once loaded.

import { loadInto } from '../lib/view.js';

export function observeLazySections(view) {
  const { state } = view;
  if (state.lazyObserver) return;
  state.lazyObserver = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting || !state.range) continue;
      state.lazyObserver.unobserve(entry.target);
      state.lazyLoaded.add(entry.target.id);
      loadInto(entry.target, () => state.lazyLoaders[entry.target.id](view));
    }
  }, { rootMargin: '200px 0px' });
  for (const id of Object.keys(state.lazyLoaders)) state.lazyObserver.observe(view.$(id));
}

export function forgetLazySections(view) {
  const { state } = view;
  if (state.lazyObserver) state.lazyObserver.disconnect();
  state.lazyObserver = null;
  state.lazyLoaded.clear();
}

// Asked for explicitly (a button): it is loaded from now on, observed or not.
export function loadNow(view, id) {
  const { state } = view;
  state.lazyLoaded.add(id);
  if (state.lazyObserver) state.lazyObserver.unobserve(view.$(id));
  return loadInto(view.$(id), () => state.lazyLoaders[id](view));
}

// The sections already loaded, again (the range changed).
export function reloadLoaded(view) {
  return Promise.all([...view.state.lazyLoaded].map((id) => loadInto(view.$(id), () => view.state.lazyLoaders[id](view))));
}
