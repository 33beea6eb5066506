// The live stream (/api/v1/stream): Server-Sent Events read with fetch, reconnecting with
// backoff until the dashboard is unmounted.

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 15000;

// Calls onEvent(kind, data) for each complete event; a message that is not JSON goes to
// onBadMessage instead and the stream goes on.
export async function readEvents(stream, onEvent, onBadMessage) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) kind = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (!data.length) continue;
      let parsed;
      try {
        parsed = JSON.parse(data.join('\n'));
      } catch (error) {
        onBadMessage(kind, error);
        continue;
      }
      onEvent(kind, parsed);
    }
  }
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/**
 * Follows the stream of `client` until `signal` aborts or the key is refused (`unauthorized`).
 * `opened(afterLoss)` on each connection, `lost(error)` when it drops, before the backoff.
 */
export async function follow(client, { signal, opened, onEvent, onBadMessage, lost, unauthorized }) {
  let delay = FIRST_DELAY_MS;
  while (!signal.aborted) {
    let reason = new Error('the stream ended');
    try {
      const response = await client.stream(signal);
      if (response.status === 401) {
        unauthorized();
        return;
      }
      if (!response.ok) throw new Error(`stream answered ${response.status}`);
      opened(delay > FIRST_DELAY_MS);
      delay = FIRST_DELAY_MS;
      await readEvents(response.body, onEvent, onBadMessage);
    } catch (error) {
      if (signal.aborted) return;
      reason = error;
    }
    lost(reason);
    await pause(delay, signal);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}
