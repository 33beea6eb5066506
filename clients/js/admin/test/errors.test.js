import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  LookoutAdminError,
  LookoutAuthenticationError,
  LookoutConflictError,
  LookoutNotFoundError,
  LookoutPermissionError,
  LookoutRateLimitError,
  LookoutUnavailableError,
  LookoutValidationError,
  errorFor,
  reasonsOf,
} from '../src/errors.js';

describe('errors carry the API reasons', () => {
  it("names each field of a 422's validation errors, without FastAPI's location prefix", () => {
    const body = {
      detail: [
        { type: 'less_than_equal', loc: ['body', 'hour'], msg: 'Input should be less than or equal to 23' },
        { type: 'missing', loc: ['body', 'retention', 'keep_last'], msg: 'Field required' },
        { type: 'value_error', loc: ['body'], msg: 'Value error, unknown IANA time zone' },
      ],
    };
    assert.deepEqual(reasonsOf(body), [
      { field: 'hour', reason: 'Input should be less than or equal to 23' },
      { field: 'retention.keep_last', reason: 'Field required' },
      { field: null, reason: 'Value error, unknown IANA time zone' },
    ]);
    const error = errorFor(422, body, { method: 'POST', path: '/api/v1/backups/schedules' });
    assert.ok(error instanceof LookoutValidationError);
    assert.ok(error instanceof LookoutAdminError);
    assert.equal(error.status, 422);
    assert.equal(error.name, 'LookoutValidationError');
    assert.match(error.message, /POST \/api\/v1\/backups\/schedules answered HTTP 422: hour: Input should/);
  });

  it('keeps a plain detail string as the reason', () => {
    const error = errorFor(409, { detail: "a schedule named 'nightly' exists" });
    assert.ok(error instanceof LookoutConflictError);
    assert.deepEqual(error.reasons, [{ field: null, reason: "a schedule named 'nightly' exists" }]);
  });

  it('reads field and reason from an errors list (ingest) and a detail object', () => {
    assert.deepEqual(reasonsOf({ errors: [{ index: 0, field: 'event', reason: 'unknown' }] }), [
      { field: 'event', reason: 'unknown' },
    ]);
    assert.deepEqual(reasonsOf({ detail: { field: 'runId', reason: 'no such run' } }), [
      { field: 'runId', reason: 'no such run' },
    ]);
    assert.deepEqual(reasonsOf(null), []);
    assert.deepEqual(reasonsOf('Bad Gateway'), [{ field: null, reason: 'Bad Gateway' }]);
  });

  it('maps each status to its class', () => {
    assert.ok(errorFor(401, null) instanceof LookoutAuthenticationError);
    assert.ok(errorFor(403, null) instanceof LookoutPermissionError);
    assert.ok(errorFor(404, null) instanceof LookoutNotFoundError);
    assert.ok(errorFor(400, null) instanceof LookoutValidationError);
    assert.ok(errorFor(502, { detail: 'backup-worker is unreachable' }) instanceof LookoutUnavailableError);
    assert.ok(errorFor(504, null) instanceof LookoutUnavailableError);
    const other = errorFor(418, null);
    assert.equal(other.constructor, LookoutAdminError);
  });

  it("gives a 429's Retry-After in milliseconds", () => {
    const limited = errorFor(429, { detail: 'too many live streams' }, { retryAfter: '7' });
    assert.ok(limited instanceof LookoutRateLimitError);
    assert.equal(limited.retryAfterMs, 7000);
    assert.equal(errorFor(429, null).retryAfterMs, null);
  });
});
