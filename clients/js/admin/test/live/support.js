/**
 * What the live tests share: the real stack's URL and keys (from the environment that
 * tests/integration/clients/test_admin_clients.py sets), a localStorage for Node, real
 * React rendering, and the README's code blocks made runnable against that stack.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { act, createElement } from 'react';
import TestRenderer from 'react-test-renderer';
import ts from 'typescript';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through tests/integration/clients`);
  return value;
}

export const DASHBOARD_URL = required('LOOKOUT_ADMIN_URL');
export const ADMIN_KEY = required('LOOKOUT_ADMIN_KEY');
export const VIEWER_KEY = required('LOOKOUT_VIEWER_KEY');

/** Node 20 has no localStorage: a Map behind the Storage methods the switches read. */
export function installLocalStorage() {
  const items = new Map();
  globalThis.localStorage = {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
    clear: () => items.clear(),
  };
  return globalThis.localStorage;
}

/** Polls `check` (inside act, so React's updates land) until it returns a truthy value. */
export async function eventually(check, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 25));
    });
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
  }
}

globalThis.IS_REACT_ACT_ENVIRONMENT = true;
const DEPRECATION = 'react-test-renderer is deprecated';

/** Mounts `Component` with real React; returns the renderer. */
export function mount(Component, props = {}) {
  const original = console.error;
  console.error = (...args) => {
    if (!String(args[0]).includes(DEPRECATION)) original(...args);
  };
  let root;
  try {
    act(() => {
      root = TestRenderer.create(createElement(Component, props));
    });
  } finally {
    console.error = original;
  }
  return root;
}

/** The text a rendered tree shows. */
export function textOf(root) {
  const walk = (node) => {
    if (node === null || node === undefined) return '';
    if (typeof node === 'string') return node;
    if (Array.isArray(node)) return node.map(walk).join('');
    return walk(node.children);
  };
  return walk(root.toJSON());
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PACKAGE = path.resolve(HERE, '../..');
const README = readFileSync(path.join(PACKAGE, 'README.md'), 'utf8');

/** The README's code blocks of `language` (`js` or `jsx`), in order. */
export function readmeBlocks(language) {
  return [...README.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1]);
}

/**
 * Runs a README block as a module against the real stack: its placeholder URL and key
 * become the stack's, `@lookout/admin` its sources, JSX is transpiled by TypeScript, and
 * the block's top-level constants are exported. Resolves with the module.
 */
export async function runBlock(code, { jsx = false } = {}) {
  let source = code
    .replaceAll('http://localhost:8000', DASHBOARD_URL)
    .replaceAll("'ADMIN_KEY'", JSON.stringify(ADMIN_KEY))
    .replaceAll("'@lookout/admin/react'", JSON.stringify(pathToFileURL(path.join(PACKAGE, 'src/react.js')).href))
    .replaceAll("'@lookout/admin'", JSON.stringify(pathToFileURL(path.join(PACKAGE, 'src/index.js')).href));
  const constants = [...source.matchAll(/^const ([A-Za-z_$][\w$]*) =/gm)].map((match) => match[1]);
  if (constants.length > 0) source += `\nexport { ${constants.join(', ')} };\n`;
  if (jsx) {
    source = ts.transpileModule(source, {
      compilerOptions: { jsx: ts.JsxEmit.ReactJSX, module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
  }
  // Inside the package, so that `react` resolves from clients/js/node_modules.
  const directory = mkdtempSync(path.join(HERE, '.readme-'));
  const file = path.join(directory, 'example.mjs');
  writeFileSync(file, source);
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
