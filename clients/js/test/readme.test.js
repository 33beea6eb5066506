// The README's page example, run as a browser would: the built dist/lookout.js, then the
// example's inline script, in the fake browser; what it tracks must reach the endpoint.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

import { build } from '../scripts/build.mjs';
import { settle, useFakeBrowser } from './support/browser.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const fake = useFakeBrowser();
let outDir;
let files;

before(() => {
  outDir = mkdtempSync(path.join(fileURLToPath(new URL('.', import.meta.url)), '.build-'));
  files = build(outDir);
});
after(() => rmSync(outDir, { recursive: true, force: true }));

/** The html code blocks of the README that call Lookout.init. */
function pageExamples() {
  const blocks = [...readme.matchAll(/```html\n([\s\S]*?)```/g)].map((match) => match[1]);
  return blocks.filter((block) => block.includes('Lookout.init('));
}

describe('README examples', () => {
  it('the page example sends its page view and search to the endpoint it names', async () => {
    const [example] = pageExamples();
    assert.ok(example, 'the README has a page example');
    assert.match(example, /<script src="[^"]*lookout\.js"><\/script>/);
    vm.runInThisContext(readFileSync(files['lookout.js'], 'utf8'), { filename: 'lookout.js' });
    const inline = [...example.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]);
    assert.equal(inline.length, 1);
    // As a page's script: `Lookout` is the global the classic script set.
    new vm.Script(`(function (Lookout) {${inline[0]}\n})(window.Lookout);`, { filename: 'README.md' }).runInThisContext();
    fake.time.tick(5000); // flushIntervalMs
    await settle();
    const endpoint = /endpoint: '([^']+)'/.exec(inline[0])[1];
    assert.deepEqual(
      fake.browser.requests.map((request) => request.url),
      [`${endpoint}/v1/batch`],
    );
    const [request] = fake.browser.requests;
    assert.equal(request.body.writeKey, /writeKey: '([^']+)'/.exec(inline[0])[1]);
    assert.deepEqual(
      request.body.batch.map((message) => [message.type, message.event ?? null]),
      [
        ['page', null],
        ['track', 'search_performed'],
      ],
    );
    assert.deepEqual(request.body.batch[1].properties, {
      query: 'thai massage',
      filters: { city: 'Berlin' },
      resultsCount: 12,
    });
  });
});
