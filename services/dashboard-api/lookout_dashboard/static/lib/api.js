// The Lookout API as the dashboard reads it: one client per key, for this origin or another.
// The key travels only in the Authorization header, never in a URL or a cookie.

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail));
    this.status = status;
  }
}

// An error answer's `detail`, when its body is JSON; a proxy's HTML page has none.
async function errorDetail(response) {
  const text = await response.text();
  try {
    const data = JSON.parse(text);
    if (data && data.detail) return data.detail;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  return response.statusText || `HTTP ${response.status}`;
}

/**
 * A client for the API at `url` ('' for the page's own origin) with the API key `key`.
 * `events` are told what the user should see: `unreachable(error)` when a request could not
 * be sent (the API is down, or the browser refused it: CORS), `reachable()` after an answer,
 * `unauthorized()` on a 401 and `answered()` after a successful one.
 */
export function createClient({ url = '', key, events = {} }) {
  const base = url.replace(/\/+$/, '');
  const tell = (name, ...args) => events[name] && events[name](...args);

  async function request(path, { method = 'GET', body } = {}) {
    const headers = { Authorization: `Bearer ${key}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(`${base}${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      tell('unreachable', error);
      throw error;
    }
    tell('reachable');
    if (response.status === 401) {
      tell('unauthorized');
      throw new ApiError(401, 'unauthorized');
    }
    if (!response.ok) throw new ApiError(response.status, await errorDetail(response));
    const data = response.status === 204 ? null : await response.json();
    tell('answered');
    return data;
  }

  // The live stream's response (Server-Sent Events), read with fetch so the key stays a header.
  function stream(signal) {
    return fetch(`${base}/api/v1/stream`, { headers: { Authorization: `Bearer ${key}` }, signal });
  }

  return { url: base, request, stream };
}
