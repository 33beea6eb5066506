/**
 * The few React hooks src/react.js uses (useEffect, useMemo, useRef), with React's
 * rules — hooks in call order per component, dependencies compared with Object.is,
 * effects after render, cleanup before the next run and on unmount, StrictMode's
 * mount → unmount → mount of effects — and `render` to drive a component.
 * Loaded in place of 'react' by ./react-hooks.js.
 */

let current = null;

function nextSlot() {
  if (!current) throw new Error('hooks can only be called while rendering a component');
  const index = current.cursor;
  current.cursor += 1;
  return index;
}

function changed(previous, next) {
  if (!previous || !next) return true;
  return (
    previous.length !== next.length ||
    next.some((value, index) => !Object.is(value, previous[index]))
  );
}

export function useRef(initial) {
  const index = nextSlot();
  if (!(index in current.slots)) current.slots[index] = { current: initial };
  return current.slots[index];
}

export function useMemo(factory, deps) {
  const index = nextSlot();
  const slot = current.slots[index];
  if (slot && !changed(slot.deps, deps)) return slot.value;
  current.slots[index] = { value: factory(), deps };
  return current.slots[index].value;
}

export function useEffect(effect, deps) {
  const index = nextSlot();
  const slot = current.slots[index];
  if (slot && !changed(slot.deps, deps)) return;
  current.slots[index] = { deps, cleanup: slot ? slot.cleanup : undefined };
  current.pendingEffects.push({ index, effect });
}

function runEffect(instance, { index, effect }) {
  const slot = instance.slots[index];
  if (typeof slot.cleanup === 'function') slot.cleanup();
  const cleanup = effect();
  slot.cleanup = cleanup;
  slot.effect = effect;
}

function cleanupAll(instance) {
  for (const slot of instance.slots) {
    if (slot && typeof slot.cleanup === 'function') slot.cleanup();
    if (slot) slot.cleanup = undefined;
  }
}

/** Renders `component(props)`; returns { result, rerender(props), unmount() }. */
export function render(component, props, { strict = false } = {}) {
  const instance = { slots: [], cursor: 0, pendingEffects: [], result: undefined };
  const renderOnce = (nextProps) => {
    instance.cursor = 0;
    instance.pendingEffects = [];
    current = instance;
    try {
      instance.result = component(nextProps);
    } finally {
      current = null;
    }
    for (const pending of instance.pendingEffects) runEffect(instance, pending);
  };
  renderOnce(props);
  if (strict) {
    // React 18+ StrictMode in development: effects are torn down and run again on mount.
    cleanupAll(instance);
    for (const slot of instance.slots) {
      if (slot && typeof slot.effect === 'function') slot.cleanup = slot.effect();
    }
  }
  return {
    get result() {
      return instance.result;
    },
    rerender: renderOnce,
    unmount: () => cleanupAll(instance),
  };
}
