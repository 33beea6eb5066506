// The live stream's parser and its reconnection, the latter against a real HTTP server
// on loopback that answers each connection as the test says (dashboard-api's own stream
// is exercised in test/live/, driven by tests/integration/clients).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { afterEach, describe, it } from 'node:test';

import { backoffMs } from '../src/backoff.js';
import { createLookoutAdmin, LookoutAuthenticationError, LookoutPermissionError } from '../src/index.js';
import { SseParser } from '../src/stream.js';

describe('SseParser', () => {
  it('parses events split across any chunks, skipping comments and reading retry', () => {
    const events = [];
    const parser = new SseParser((event) => events.push(event));
    const text =
      'retry: 3000\n\nevent: hello\ndata: {"at":"2026-01-01T00:00:00Z","kafka":true}\n\n: keep-alive\n\n' +
      'id: 1\nevent: backup\ndata: {"run_id":"r1","status":"running"}\n\nevent: note\ndata: a\ndata: b\n\n';
    for (let index = 0; index < text.length; index += 7) parser.push(text.slice(index, index + 7));
    assert.equal(parser.retryMs, 3000);
    assert.deepEqual(events, [
      { type: 'hello', data: { at: '2026-01-01T00:00:00Z', kafka: true }, id: null },
      { type: 'backup', data: { run_id: 'r1', status: 'running' }, id: '1' },
      { type: 'note', data: 'a\nb', id: null },
    ]);
  });

  it('accepts CRLF line ends', () => {
    const events = [];
    new SseParser((event) => events.push(event)).push('event: check\r\ndata: {"service":"db"}\r\n\r\n');
    assert.deepEqual(events, [{ type: 'check', data: { service: 'db' }, id: null }]);
  });
});

describe('backoffMs', () => {
  it('doubles from the first delay up to the cap, each between half and all of it', () => {
    const options = { initialMs: 1000, maxMs: 8000 };
    assert.equal(backoffMs(1, options, () => 0), 500);
    assert.equal(backoffMs(1, options, () => 1), 1000);
    assert.equal(backoffMs(3, options, () => 1), 4000);
    assert.equal(backoffMs(10, options, () => 1), 8000);
    assert.equal(backoffMs(10, options, () => 0), 4000);
    assert.equal(backoffMs(1, { ...options, atLeastMs: 5000 }, () => 0), 5000);
  });
});

/** A loopback server; `answer(request, response, index)` handles the index-th connection. */
async function server(answer) {
  const seen = [];
  const listening = http.createServer((request, response) => {
    seen.push({ url: request.url, authorization: request.headers.authorization, at: Date.now() });
    answer(request, response, seen.length - 1);
  });
  listening.listen(0, '127.0.0.1');
  await once(listening, 'listening');
  const { port } = listening.address();
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((done) => listening.close(done)), listening };
}

function sse(response, ...events) {
  response.writeHead(200, { 'Content-Type': 'text/event-stream' });
  for (const [type, data] of events) response.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
}

const open = [];
afterEach(async () => {
  for (const item of open.splice(0)) {
    item.listening.closeAllConnections();
    await item.close();
  }
});

function waitFor(predicate, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (predicate()) resolve();
      else if (Date.now() - started > 5000) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe('subscribe', () => {
  it('reconnects with backoff after the stream drops, and keeps delivering', async () => {
    const stub = await server((request, response, index) => {
      sse(response, ['hello', { kafka: true }], ['backup', { run_id: `r${index}`, status: 'running' }]);
      if (index < 2) response.end(); // the first two connections drop
    });
    open.push(stub);
    const admin = createLookoutAdmin({ url: stub.url, key: 'adm_secret', stream: { initialDelayMs: 20, maxDelayMs: 40 } });
    const events = [];
    const states = [];
    const stop = admin.subscribe((event) => events.push(event), { onState: (state) => states.push(state) });
    await waitFor(() => events.filter((event) => event.type === 'backup').length === 3, 'three connections');
    stop();
    assert.deepEqual(
      events.filter((event) => event.type === 'backup').map((event) => event.data.run_id),
      ['r0', 'r1', 'r2'],
    );
    assert.equal(stub.seen.length, 3);
    assert.ok(stub.seen.every((request) => request.url === '/api/v1/stream'));
    assert.ok(stub.seen.every((request) => request.authorization === 'Bearer adm_secret'));
    assert.ok(stub.seen[1].at - stub.seen[0].at >= 10, 'waited before reconnecting');
    assert.deepEqual(states.slice(0, 3), ['open', 'reconnecting', 'open']);
  });

  it("waits at least a 429's Retry-After", async () => {
    const stub = await server((request, response, index) => {
      if (index === 0) {
        response.writeHead(429, { 'Retry-After': '1', 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ detail: 'this key holds 5 live streams' }));
      } else sse(response, ['hello', {}]);
    });
    open.push(stub);
    const admin = createLookoutAdmin({ url: stub.url, key: 'k', stream: { initialDelayMs: 10, maxDelayMs: 10 } });
    const errors = [];
    const stop = admin.subscribe(() => {}, { onError: (error) => errors.push(error) });
    await waitFor(() => stub.seen.length === 2, 'the second connection');
    stop();
    assert.ok(stub.seen[1].at - stub.seen[0].at >= 950, `${stub.seen[1].at - stub.seen[0].at} ms`);
    assert.equal(errors[0].retryAfterMs, 1000);
    assert.deepEqual(errors[0].reasons, [{ field: null, reason: 'this key holds 5 live streams' }]);
  });

  it('stops for good on 403 and on a revoked key, with a typed error', async () => {
    const refused = await server((request, response) => {
      response.writeHead(403, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ detail: 'this key may not read the stream' }));
    });
    const revoking = await server((request, response) => {
      sse(response, ['hello', {}], ['revoked', { reason: 'the API key was revoked' }]);
    });
    open.push(refused, revoking);
    for (const [stub, kind] of [
      [refused, LookoutPermissionError],
      [revoking, LookoutAuthenticationError],
    ]) {
      const admin = createLookoutAdmin({ url: stub.url, key: 'k', stream: { initialDelayMs: 10, maxDelayMs: 10 } });
      const errors = [];
      const states = [];
      admin.subscribe(() => {}, { onError: (error) => errors.push(error), onState: (state) => states.push(state) });
      await waitFor(() => states.includes('closed'), 'closed');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(stub.seen.length, 1, 'no reconnection');
      assert.ok(errors[0] instanceof kind, errors[0]);
    }
  });

  it('shares one connection between subscribers and closes it with the last', async () => {
    let closed = 0;
    const stub = await server((request, response) => {
      request.on('close', () => {
        closed += 1;
      });
      sse(response, ['hello', {}]);
    });
    open.push(stub);
    const admin = createLookoutAdmin({ url: stub.url, key: 'k' });
    const first = [];
    const second = [];
    const stopFirst = admin.subscribe((event) => first.push(event));
    await waitFor(() => first.length === 1, 'hello');
    const stopSecond = admin.subscribe((event) => second.push(event));
    stopFirst();
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(closed, 0, 'still open for the second subscriber');
    stopSecond();
    await waitFor(() => closed === 1, 'the connection to close');
    assert.equal(stub.seen.length, 1);
  });
});
