// The library's calls, errors and stream against the real stack, beyond the README.
import assert from 'node:assert/strict';
import { act, useEffect, useState } from 'react';
import { describe, it } from 'node:test';

import {
  createLookoutAdmin,
  LookoutAuthenticationError,
  LookoutConflictError,
  LookoutNotFoundError,
  LookoutPermissionError,
  LookoutValidationError,
} from '../../src/index.js';
import { useHealthMonitoring } from '../../src/react.js';
import { ADMIN_KEY, DASHBOARD_URL, VIEWER_KEY, eventually, mount, textOf } from './support.js';

const admin = createLookoutAdmin({ url: DASHBOARD_URL, key: ADMIN_KEY });
const viewer = createLookoutAdmin({ url: DASHBOARD_URL, key: VIEWER_KEY });

describe('@lookout/admin against dashboard-api', () => {
  it('a viewer reads but may not act: 403 as a LookoutPermissionError with the reason', async () => {
    const status = await viewer.health.getSystemStatus();
    assert.equal(status.status, 'operational');
    await assert.rejects(viewer.backups.performBackup(), (error) => {
      assert.ok(error instanceof LookoutPermissionError, error);
      assert.equal(error.status, 403);
      assert.ok(error.reasons.length > 0 && error.reasons[0].reason !== '');
      return true;
    });
  });

  it('an unknown key is a LookoutAuthenticationError', async () => {
    const stranger = createLookoutAdmin({ url: DASHBOARD_URL, key: 'lk_not_a_key' });
    await assert.rejects(stranger.health.getIncidents(), LookoutAuthenticationError);
  });

  it('an unknown run is a LookoutNotFoundError', async () => {
    await assert.rejects(admin.backups.getRun('no-such-run'), (error) => {
      assert.ok(error instanceof LookoutNotFoundError, error);
      assert.equal(error.status, 404);
      return true;
    });
  });

  it('schedules: weekly means Sundays at 03:00; a second one of that name is a conflict; delete removes it', async () => {
    const id = await admin.backups.scheduleBackup({ name: 'weekly-full', schedule: 'weekly', timezone: 'Asia/Jakarta' });
    const created = (await admin.backups.listSchedules()).find((item) => item.id === id);
    assert.deepEqual([created.weekday, created.hour, created.timezone, created.collections], [6, 3, 'Asia/Jakarta', []]);
    await assert.rejects(admin.backups.scheduleBackup({ name: 'weekly-full', schedule: 'daily' }), (error) => {
      assert.ok(error instanceof LookoutConflictError, error);
      assert.equal(error.status, 409);
      assert.match(error.reasons[0].reason, /weekly-full/);
      return true;
    });
    await admin.backups.deleteSchedule(id);
    assert.ok(!(await admin.backups.listSchedules()).some((item) => item.id === id));
  });

  it('an incremental schedule is stored with its full weekday', async () => {
    const id = await admin.backups.scheduleBackup({
      name: 'nightly-incremental',
      schedule: 'daily',
      incremental: true,
      fullWeekday: 6,
    });
    const stored = (await admin.backups.listSchedules()).find((item) => item.id === id);
    assert.equal(stored.backup_type, 'incremental');
    assert.equal(stored.full_weekday, 6);
    await admin.backups.deleteSchedule(id);
  });

  it('a restore of an unknown collection list entry is the API\'s 422 with the field', async () => {
    await assert.rejects(admin.backups.restoreFromBackup('some-run', ['not a table']), (error) => {
      assert.ok(error instanceof LookoutValidationError, error);
      assert.equal(error.status, 422);
      assert.equal(error.reasons[0].field, 'collections.0');
      return true;
    });
  });

  it('subscribe hears the check a run produces', async () => {
    const events = [];
    const stop = admin.subscribe((event) => events.push(event));
    await eventually(() => events.some((event) => event.type === 'hello'), 'hello');
    await admin.health.performHealthCheck({ check: 'lookout-db' });
    const check = await eventually(
      () => events.find((event) => event.type === 'check' && event.data.service === 'lookout-db'),
      'the check event',
    );
    stop();
    assert.equal(check.data.status, 'healthy');
  });

  it('every check\'s locations in one request; an unknown check is a 404, a malformed name a 422 naming it', async () => {
    await admin.health.performHealthCheck({ check: 'lookout-db' });
    const every = await viewer.health.getLocations();
    const [seen] = every['lookout-db'];
    assert.deepEqual([seen.location, seen.failing, seen.since, seen.stale], ['default', null, null, false]);
    assert.equal(seen.latest.service, 'lookout-db');
    assert.deepEqual(await viewer.health.getLocations({ checks: ['lookout-db'] }), { 'lookout-db': every['lookout-db'] });
    await assert.rejects(viewer.health.getLocations({ checks: ['lookout-db', 'nope'] }), (error) => {
      assert.ok(error instanceof LookoutNotFoundError, error);
      assert.match(error.reasons[0].reason, /nope/);
      return true;
    });
    await assert.rejects(viewer.health.getLocations({ checks: ['Not a name'] }), (error) => {
      assert.ok(error instanceof LookoutValidationError, error);
      assert.equal(error.reasons[0].field, 'check.0');
      return true;
    });
  });

  it("the brief's HealthWidget: getSystemStatus() from the hook in an effect", async () => {
    function HealthWidget() {
      const { getSystemStatus } = useHealthMonitoring(admin);
      const [status, setStatus] = useState(null);
      useEffect(() => {
        const checkHealth = async () => {
          const healthStatus = await getSystemStatus();
          setStatus(healthStatus);
        };
        checkHealth();
      }, []);
      return `System Status: ${status?.status} Uptime: ${status?.uptime}%`;
    }
    const root = mount(HealthWidget);
    await eventually(() => textOf(root).startsWith('System Status: operational Uptime: '), 'the status');
    act(() => root.unmount());
  });
});
