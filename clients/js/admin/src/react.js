/**
 * React hooks over an admin client (`createLookoutAdmin`), no provider needed:
 * `useHealthMonitoring(admin)` and `useBackupManagement(admin)` load their state on
 * mount, keep it fresh from the live stream (one shared connection per client), and
 * return the actions, each of which updates the state when it is done.
 */

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';

/**
 * Loads with `load()` on mount and whenever `refresh()` is called or a stream event for
 * which `wants(event)` is true arrives; at most one load at a time (a request made during
 * one runs once it ends). `onEvent` sees each event first.
 */
function useLiveResource(admin, load, { wants, onEvent }) {
  const [state, setState] = useState({ data: null, loading: Boolean(admin), error: null, connection: 'closed' });
  const mounted = useRef(true);
  const loader = useRef({ running: null, again: false });

  const refresh = useCallback(() => {
    if (!admin) return Promise.resolve(null);
    const current = loader.current;
    if (current.running) {
      current.again = true;
      return current.running;
    }
    const run = async () => {
      let data = null;
      do {
        current.again = false;
        try {
          data = await load(admin);
          if (mounted.current) setState((previous) => ({ ...previous, data, loading: false, error: null }));
        } catch (error) {
          if (mounted.current) setState((previous) => ({ ...previous, loading: false, error }));
        }
      } while (current.again);
      current.running = null;
      return data;
    };
    current.running = run();
    return current.running;
  }, [admin, load]);

  useEffect(() => {
    mounted.current = true;
    if (!admin) return undefined;
    setState((previous) => ({ ...previous, loading: true }));
    refresh();
    const stop = admin.subscribe(
      (event) => {
        onEvent?.(event);
        if (wants(event)) refresh();
      },
      {
        onError: (error) => mounted.current && setState((previous) => ({ ...previous, error })),
        onState: (connection) => mounted.current && setState((previous) => ({ ...previous, connection })),
      },
    );
    return () => {
      mounted.current = false;
      stop();
    };
  }, [admin, refresh, wants, onEvent]);

  /** Runs an action; its error is kept in `error` and rethrown; a success refreshes. */
  const perform = useCallback(
    async (action) => {
      if (!admin) throw new Error('no admin client yet: pass createLookoutAdmin(...) to the hook');
      try {
        const result = await action();
        refresh();
        return result;
      } catch (error) {
        if (mounted.current) setState((previous) => ({ ...previous, error }));
        throw error;
      }
    },
    [admin, refresh],
  );
  return { state, setState, refresh, perform, mounted };
}

const loadHealth = async (admin) => {
  const [status, incidents] = await Promise.all([admin.health.getSystemStatus(), admin.health.getIncidents()]);
  return { status, incidents };
};
const healthEvent = (event) => event.type === 'check' || event.type === 'incident';

/**
 * `{ status, incidents, results, loading, error, connection, performHealthCheck,
 * getSystemStatus, refresh }`: `status` is the brief's system status, `results` the
 * latest result of each check (from the last run and the live stream).
 */
export function useHealthMonitoring(admin) {
  const [results, setResults] = useState({});
  const onEvent = useCallback((event) => {
    if (event.type === 'check' && event.data && typeof event.data.service === 'string') {
      setResults((previous) => ({ ...previous, [event.data.service]: event.data }));
    }
  }, []);
  const { state, refresh, perform, mounted } = useLiveResource(admin, loadHealth, { wants: healthEvent, onEvent });

  const performHealthCheck = useCallback(
    (options) =>
      perform(async () => {
        const ran = await admin.health.performHealthCheck(options);
        if (mounted.current) {
          setResults((previous) => ({ ...previous, ...Object.fromEntries(ran.map((result) => [result.service, result])) }));
        }
        return ran;
      }),
    [admin, perform, mounted],
  );
  const getSystemStatus = useCallback(async () => (await refresh())?.status ?? null, [refresh]);

  return useMemo(
    () => ({
      status: state.data?.status ?? null,
      incidents: state.data?.incidents ?? [],
      results,
      loading: state.loading,
      error: state.error,
      connection: state.connection,
      performHealthCheck,
      getSystemStatus,
      refresh,
    }),
    [state, results, performHealthCheck, getSystemStatus, refresh],
  );
}

const loadBackups = async (admin) => {
  const [runs, schedules] = await Promise.all([admin.backups.list(), admin.backups.listSchedules()]);
  return { runs, schedules };
};
const FINISHED = new Set(['succeeded', 'partial', 'failed']);
// A run's queued and finished states change the history; progress in between does not.
const backupEvent = (event) =>
  event.type === 'backup' && (event.data?.status === 'queued' || FINISHED.has(event.data?.status));

/**
 * `{ runs, schedules, progress, loading, error, connection, performBackup,
 * scheduleBackup, restoreFromBackup, deleteSchedule, refresh }`: `progress` maps each
 * run id to its latest live state, as the worker reports it (`status`,
 * `collections_done`, `collections_total`, `rows`, `errors`, …).
 */
export function useBackupManagement(admin) {
  const [progress, setProgress] = useState({});
  const onEvent = useCallback((event) => {
    if (event.type === 'backup' && event.data && typeof event.data.run_id === 'string') {
      setProgress((previous) => ({ ...previous, [event.data.run_id]: event.data }));
    }
  }, []);
  const { state, refresh, perform } = useLiveResource(admin, loadBackups, { wants: backupEvent, onEvent });

  const performBackup = useCallback((options) => perform(() => admin.backups.performBackup(options)), [admin, perform]);
  const scheduleBackup = useCallback((config) => perform(() => admin.backups.scheduleBackup(config)), [admin, perform]);
  const restoreFromBackup = useCallback(
    (runId, collections, options) => perform(() => admin.backups.restoreFromBackup(runId, collections, options)),
    [admin, perform],
  );
  const deleteSchedule = useCallback((id) => perform(() => admin.backups.deleteSchedule(id)), [admin, perform]);

  return useMemo(
    () => ({
      runs: state.data?.runs ?? [],
      schedules: state.data?.schedules ?? [],
      progress,
      loading: state.loading,
      error: state.error,
      connection: state.connection,
      performBackup,
      scheduleBackup,
      restoreFromBackup,
      deleteSchedule,
      refresh,
    }),
    [state, progress, performBackup, scheduleBackup, restoreFromBackup, deleteSchedule, refresh],
  );
}
