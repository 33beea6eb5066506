/**
 * `createLookoutAdmin({ url, key })`: the brief's healthMonitoringService and
 * automatedBackupService over dashboard-api's REST API, and its live stream.
 */

import { BACKUP_DEBUG, HEALTH_DEBUG } from './debug.js';
import { Http } from './http.js';
import { scheduleRequest } from './schedule.js';
import { LiveStream } from './stream.js';

export {
  LookoutAdminError,
  LookoutAuthenticationError,
  LookoutConflictError,
  LookoutNotFoundError,
  LookoutPermissionError,
  LookoutRateLimitError,
  LookoutUnavailableError,
  LookoutValidationError,
} from './errors.js';
export { scheduleRequest } from './schedule.js';

export const VERSION = '0.1.0';

const RUN_CHECKS_TIMEOUT_MS = 60000; // dashboard-api gives the monitor 60 s to run them all

function healthService(http, debug) {
  const call = (method, path, options = {}) =>
    http.request(method, `/api/v1/health${path}`, { ...options, debug: debug ?? HEALTH_DEBUG, area: 'health' });
  return {
    /** Runs every check now (or the one named) and resolves with their results. */
    performHealthCheck: ({ check } = {}) =>
      call('POST', '/checks/run', {
        body: check === undefined ? undefined : { check },
        timeoutMs: RUN_CHECKS_TIMEOUT_MS,
      }),
    /** `{ status, uptime, lastCheck, criticalIssues, activeIncidents }`. */
    getSystemStatus: () => call('GET', '/status'),
    getIncidents: () => call('GET', '/incidents'),
    getChecks: () => call('GET', '/checks'),
    /** What each monitor location last saw of every check (or of each of `checks`, at most
     * 100), by check name, in one request; a check not run yet has an empty list. */
    getLocations: ({ checks } = {}) =>
      call('GET', checks === undefined ? '/locations'
        : `/locations?${new URLSearchParams(checks.map((name) => ['check', name]))}`),
  };
}

function backupService(http, debug) {
  const call = (method, path, options = {}) =>
    http.request(method, `/api/v1/backups${path}`, { ...options, debug: debug ?? BACKUP_DEBUG, area: 'backup' });
  const act = (body) => call('POST', '/actions', { body });
  return {
    /** Asks the worker for a backup; resolves with `{ commandId, operation }` (202). */
    performBackup: ({ collections, incremental = false, trialRestore } = {}) =>
      act({
        operation: 'backup',
        ...(collections === undefined ? {} : { collections }),
        backupType: incremental ? 'incremental' : 'full',
        ...(trialRestore === undefined ? {} : { trialRestore }),
      }),
    /** Creates a schedule from the brief's BackupConfiguration; resolves with its id. */
    scheduleBackup: async (config) => {
      const created = await call('POST', '/schedules', { body: scheduleRequest(config) });
      return created.id;
    },
    /** Restores `collections` (all of the run's when omitted) from backup `runId`. Calling
     * it is the confirmation the API asks for. */
    restoreFromBackup: (runId, collections, { mode, targetSchema } = {}) =>
      act({
        operation: 'restore',
        runId,
        ...(collections === undefined || collections === null ? {} : { collections }),
        ...(mode === undefined ? {} : { restoreMode: mode }),
        ...(targetSchema === undefined ? {} : { targetSchema }),
        confirm: true,
      }),
    /** Runs of every kind, newest first. */
    list: () => call('GET', '/runs'),
    getRun: (runId) => call('GET', `/runs/${encodeURIComponent(runId)}`),
    listSchedules: () => call('GET', '/schedules'),
    deleteSchedule: (scheduleId) => call('DELETE', `/schedules/${encodeURIComponent(scheduleId)}`),
  };
}

/**
 * An admin client for dashboard-api at `url` with an admin or viewer `key`. Options:
 * `timeoutMs` (30000), `stream: { initialDelayMs, maxDelayMs }`, `debug` (true or false
 * overrides the localStorage switches), `fetch` (default: the global one).
 */
export function createLookoutAdmin({ url, key, timeoutMs, stream, debug, fetch } = {}) {
  const http = new Http({ url, key, timeoutMs, fetch });
  const live = new LiveStream(http, stream);
  return {
    url: http.base,
    health: healthService(http, debug),
    backups: backupService(http, debug),
    /** Every live-stream event as `{ type, data, id }`; returns the function that stops. */
    subscribe: (onEvent, options) => live.subscribe(onEvent, options),
  };
}
