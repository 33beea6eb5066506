import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

import { build } from '../scripts/build.mjs';
import { VERSION } from '../src/version.js';
import { ENDPOINT, WRITE_KEY, useFakeBrowser } from './support/browser.js';
import { render } from './support/render.js';

const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

let outDir;
let files;

before(() => {
  // Inside the package, so that dist/react.mjs's `import 'react'` finds node_modules.
  outDir = mkdtempSync(path.join(fileURLToPath(new URL('.', import.meta.url)), '.build-'));
  files = build(outDir);
});

after(() => rmSync(outDir, { recursive: true, force: true }));

const fake = useFakeBrowser();

describe('npm run build', () => {
  it('src/version.js matches package.json', () => {
    assert.equal(VERSION, packageJson.version);
  });

  it('dist/lookout.js is a classic script that sets window.Lookout', async () => {
    vm.runInThisContext(readFileSync(files['lookout.js'], 'utf8'), { filename: 'lookout.js' });
    const { Lookout } = fake.browser.window;
    assert.equal(Lookout.VERSION, packageJson.version);
    const tracker = Lookout.init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.trackSearch('thai', {}, 2);
    await tracker.flush();
    assert.deepEqual(
      fake.browser.sent().map((message) => message.event),
      ['search_performed'],
    );
    assert.equal(globalThis.Lookout, undefined, 'nothing leaks beyond window.Lookout');
  });

  it('dist/lookout.mjs is an ES module exporting init and VERSION', async () => {
    const module = await import(pathToFileURL(files['lookout.mjs']).href);
    assert.deepEqual(Object.keys(module).sort(), ['VERSION', 'init']);
    const tracker = module.init({ writeKey: WRITE_KEY, endpoint: ENDPOINT });
    tracker.page();
    fake.browser.pagehide();
    assert.equal(fake.browser.beacons.length, 1);
  });

  it("dist/react.mjs imports React from 'react' and exports useAnalytics", async () => {
    const text = readFileSync(files['react.mjs'], 'utf8');
    assert.match(text, /^import \{ useEffect, useMemo, useRef \} from 'react';$/m);
    const { useAnalytics } = await import(pathToFileURL(files['react.mjs']).href);
    const calls = [];
    render(() => useAnalytics({ page: (properties) => calls.push(properties) }, { path: '/' }));
    assert.deepEqual(calls, [{ path: '/' }]);
  });

  it('the built tracker imports nothing and uses no Node APIs', () => {
    for (const file of [files['lookout.js'], files['lookout.mjs']]) {
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /\bimport\b[^(]*\bfrom\b/);
      assert.doesNotMatch(text, /\brequire\(|node:/);
    }
  });
});
