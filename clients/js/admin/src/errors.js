/**
 * Typed errors: every failed call rejects with a LookoutAdminError subclass that carries
 * the HTTP status and the API's reasons as `[{ field, reason }]` (`field` is null when the
 * reason is about the whole request).
 */

export class LookoutAdminError extends Error {
  constructor(message, { status = null, reasons = [], body = null } = {}) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.reasons = reasons;
    this.body = body;
  }
}

/** 401: the key is missing, unknown or revoked. */
export class LookoutAuthenticationError extends LookoutAdminError {}
/** 403: the key's role may not do this (viewers read, admins act). */
export class LookoutPermissionError extends LookoutAdminError {}
/** 404: no such run, schedule, check or incident. */
export class LookoutNotFoundError extends LookoutAdminError {}
/** 409: a schedule of that name exists. */
export class LookoutConflictError extends LookoutAdminError {}
/** 400 or 422 from the API, or a request the library refuses before sending it. */
export class LookoutValidationError extends LookoutAdminError {}
/** 429: too many requests or live streams for this key; `retryAfterMs` when the API said. */
export class LookoutRateLimitError extends LookoutAdminError {
  constructor(message, options = {}) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}
/** The API or a worker behind it cannot answer: 5xx, a network failure or a timeout (status 0). */
export class LookoutUnavailableError extends LookoutAdminError {}

function fieldOf(location) {
  if (!Array.isArray(location)) return null;
  // FastAPI's locations start with where the value was: body, query, path.
  const parts = location.filter(
    (part, index) => !(index === 0 && ['body', 'query', 'path', 'header'].includes(part)),
  );
  return parts.length > 0 ? parts.join('.') : null;
}

/** The reasons an error body gives, as `[{ field, reason }]`. */
export function reasonsOf(body) {
  if (body === null || typeof body !== 'object') {
    return typeof body === 'string' && body !== '' ? [{ field: null, reason: body }] : [];
  }
  const { detail } = body;
  if (typeof detail === 'string') return [{ field: null, reason: detail }];
  if (Array.isArray(detail)) {
    return detail.map((item) =>
      item !== null && typeof item === 'object'
        ? { field: fieldOf(item.loc), reason: String(item.msg ?? JSON.stringify(item)) }
        : { field: null, reason: String(item) },
    );
  }
  if (detail !== null && typeof detail === 'object') {
    const reason = typeof detail.reason === 'string' ? detail.reason : JSON.stringify(detail);
    return [{ field: typeof detail.field === 'string' ? detail.field : null, reason }];
  }
  if (Array.isArray(body.errors)) {
    return body.errors.map((item) => ({
      field: typeof item?.field === 'string' ? item.field : null,
      reason: String(item?.reason ?? item?.message ?? JSON.stringify(item)),
    }));
  }
  return [];
}

function retryAfterMs(value) {
  if (value === null || value === undefined || value === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}

/** The error for an HTTP answer that is not a success. */
export function errorFor(status, body, { method, path, retryAfter } = {}) {
  const reasons = reasonsOf(body);
  const said = reasons
    .map(({ field, reason }) => (field ? `${field}: ${reason}` : reason))
    .join('; ');
  const message = `${method ?? 'GET'} ${path ?? ''} answered HTTP ${status}${said ? `: ${said}` : ''}`;
  const options = { status, reasons, body };
  if (status === 401) return new LookoutAuthenticationError(message, options);
  if (status === 403) return new LookoutPermissionError(message, options);
  if (status === 404) return new LookoutNotFoundError(message, options);
  if (status === 409) return new LookoutConflictError(message, options);
  if (status === 400 || status === 422) return new LookoutValidationError(message, options);
  if (status === 429) {
    return new LookoutRateLimitError(message, { ...options, retryAfterMs: retryAfterMs(retryAfter) });
  }
  if (status >= 500) return new LookoutUnavailableError(message, options);
  return new LookoutAdminError(message, options);
}
