// Every example of the README, run against the real stack.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';

import { act } from 'react';

import { createLookoutAdmin } from '../../src/index.js';
import {
  ADMIN_KEY,
  DASHBOARD_URL,
  eventually,
  installLocalStorage,
  mount,
  readmeBlocks,
  runBlock,
  textOf,
} from './support.js';

const [healthExample, backupExample, errorExample, debugExample, ...others] = readmeBlocks('js');
const [reactExample, ...moreJsx] = readmeBlocks('jsx');
const admin = createLookoutAdmin({ url: DASHBOARD_URL, key: ADMIN_KEY });

describe('README examples against dashboard-api, the health monitor and the backup worker', () => {
  it('has the examples these tests know', () => {
    assert.deepEqual([others.length, moreJsx.length], [0, 0], 'a new README example needs its test here');
    assert.match(healthExample, /performHealthCheck/);
    assert.match(backupExample, /scheduleBackup/);
    assert.match(errorExample, /LookoutValidationError/);
    assert.match(debugExample, /health_debug/);
  });

  it('health: runs the checks, reads the brief\'s status shape and the incidents', async () => {
    const { results, status, incidents } = await runBlock(healthExample);
    assert.deepEqual(
      results.map((result) => [result.service, result.status, typeof result.responseTime]),
      [['lookout-db', 'healthy', 'number']],
    );
    assert.deepEqual(Object.keys(status).sort(), ['activeIncidents', 'criticalIssues', 'lastCheck', 'status', 'uptime']);
    assert.equal(status.status, 'operational');
    assert.deepEqual(status.criticalIssues, []);
    assert.ok(Array.isArray(incidents));
  });

  it('backups: schedules the brief\'s daily backup, backs up, waits on the stream, restores', async () => {
    const logged = mock.method(console, 'log', () => {});
    const { scheduleId, outcome, runs } = await runBlock(backupExample);
    logged.mock.restore();
    assert.equal(typeof scheduleId, 'number');
    const schedule = (await admin.backups.listSchedules()).find((item) => item.id === scheduleId);
    assert.deepEqual(
      [schedule.frequency, schedule.hour, schedule.minute, schedule.timezone, schedule.collections, schedule.retention.retention_days],
      ['daily', 3, 0, 'UTC', ['users', 'places'], 30],
    );
    assert.equal(outcome.status, 'succeeded');
    assert.equal(outcome.collections_done, 2);
    assert.ok(logged.mock.calls.some((call) => call.arguments[0] === 'succeeded'));
    assert.ok(runs.some((run) => run.run_id === outcome.run_id && run.status === 'succeeded'));
    const restored = await eventually(async () => {
      const all = await admin.backups.list();
      return all.find(
        (run) => run.operation === 'restore' && run.target_run_id === outcome.run_id && run.status === 'succeeded',
      );
    }, 'the restore to succeed');
    assert.deepEqual(restored.collections, ['places']);
  });

  it('errors: a 422 arrives as a LookoutValidationError naming the field', async () => {
    const logged = mock.method(console, 'log', () => {});
    await runBlock(errorExample);
    logged.mock.restore();
    const [status, reasons] = logged.mock.calls[0].arguments;
    assert.equal(status, 422);
    assert.equal(reasons[0].field, 'hour');
    assert.match(reasons[0].reason, /23/);
  });

  it('debug: the switches log what is sent and received, never the key', async () => {
    installLocalStorage();
    const debug = mock.method(console, 'debug', () => {});
    await runBlock(debugExample);
    debug.mock.restore();
    const lines = debug.mock.calls.map((call) => call.arguments[0]);
    assert.deepEqual(lines, [
      `[lookout-admin:health] → GET ${DASHBOARD_URL}/api/v1/health/status`,
      `[lookout-admin:health] ← 200 GET ${DASHBOARD_URL}/api/v1/health/status`,
    ]);
    assert.equal(debug.mock.calls[1].arguments[1].status, 'operational');
    assert.ok(!JSON.stringify(debug.mock.calls.map((call) => call.arguments)).includes(ADMIN_KEY));
    assert.equal(localStorage.getItem('health_debug'), null, 'the example turns them off again');
  });

  it('react: the HealthWidget shows the live status and runs a check', async () => {
    const { HealthWidget } = await runBlock(reactExample, { jsx: true });
    const root = mount(HealthWidget);
    await eventually(() => textOf(root).includes('System Status: operational, uptime'), 'the status');
    const before = (await admin.health.getSystemStatus()).lastCheck;
    const button = root.root.findByType('button');
    await act(async () => {
      button.props.onClick();
    });
    await eventually(async () => (await admin.health.getSystemStatus()).lastCheck !== before, 'a new check');
    assert.ok(!textOf(root).includes('Lookout:'), textOf(root));
    act(() => root.unmount());
  });

  it('react: the BackupsPanel lists a new backup as the stream reports it done', async () => {
    const { BackupsPanel } = await runBlock(reactExample, { jsx: true });
    const root = mount(BackupsPanel);
    const items = () => root.root.findAllByType('li').map((item) => item.children.join(''));
    await eventually(() => items().length > 0, 'the history');
    const done = items().filter((text) => text.startsWith('backup succeeded')).length;
    await act(async () => {
      root.root.findByType('button').props.onClick();
    });
    // Only the stream's `backup` events refresh the list once the run is under way.
    await eventually(
      () => items().filter((text) => text.startsWith('backup succeeded')).length === done + 1,
      'the new backup in the list',
    );
    assert.ok(items().some((text) => text === 'backup succeeded 2'), items().join(' | '));
    act(() => root.unmount());
  });
});
