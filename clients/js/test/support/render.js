/**
 * Renders a hook's component with real React (react-test-renderer, no DOM needed) and
 * returns what the hook returned on the last render, with `rerender` and `unmount`.
 */

import { StrictMode, act, createElement } from 'react';
import TestRenderer from 'react-test-renderer';

globalThis.IS_REACT_ACT_ENVIRONMENT = true;

// React 19 prints this on every create(); it is the renderer's notice, not the hook's fault.
const DEPRECATION = 'react-test-renderer is deprecated';

function create(element) {
  const original = console.error;
  console.error = (...args) => {
    if (!String(args[0]).includes(DEPRECATION)) original(...args);
  };
  try {
    return TestRenderer.create(element);
  } finally {
    console.error = original;
  }
}

export function render(hook, props, { strict = false } = {}) {
  const rendered = { result: undefined, renders: 0 };
  function Probe(current) {
    rendered.result = hook(current);
    rendered.renders += 1;
    return null;
  }
  const element = (next) =>
    strict ? createElement(StrictMode, null, createElement(Probe, next)) : createElement(Probe, next);
  let root;
  act(() => {
    root = create(element(props));
  });
  rendered.rerender = (next) => act(() => root.update(element(next)));
  rendered.unmount = () => act(() => root.unmount());
  return rendered;
}

/** Runs `action` inside act() and waits for the updates it causes (promises, effects). */
export async function during(action) {
  let value;
  await act(async () => {
    value = await action();
  });
  return value;
}
