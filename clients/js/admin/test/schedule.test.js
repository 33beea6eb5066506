import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { LookoutValidationError } from '../src/errors.js';
import { scheduleRequest } from '../src/schedule.js';

describe('scheduleRequest: the brief\'s BackupConfiguration as a Lookout schedule', () => {
  it("maps the brief's daily example to 03:00 with 30 days' retention", () => {
    const body = scheduleRequest({
      collections: ['therapists', 'places', 'bookings'],
      format: 'json',
      schedule: 'daily',
      retention: 30,
      name: 'nightly',
    });
    assert.deepEqual(body, {
      name: 'nightly',
      frequency: 'daily',
      hour: 3,
      minute: 0,
      timezone: 'UTC',
      collections: ['therapists', 'places', 'bookings'],
      retention: { retention_days: 30 },
    });
  });

  it('does not send format, compression or encryption: they are the worker\'s settings', () => {
    const body = scheduleRequest({ schedule: 'daily', format: 'csv', compression: true, encryption: true });
    for (const key of ['format', 'compression', 'encryption']) assert.equal(key in body, false);
  });

  it('runs weekly schedules on Sundays and monthly ones on the 1st unless told', () => {
    const weekly = scheduleRequest({ schedule: 'weekly', timezone: 'Asia/Jakarta' });
    assert.equal(weekly.weekday, 6);
    assert.equal(weekly.timezone, 'Asia/Jakarta');
    assert.equal(scheduleRequest({ schedule: 'monthly' }).day_of_month, 1);
    const custom = scheduleRequest({
      schedule: { frequency: 'weekly', hour: 22, minute: 30, weekday: 2, timezone: 'Europe/Berlin' },
      retention: { keepDaily: 7, keepWeekly: 4 },
      trialRestore: true,
      enabled: false,
    });
    assert.deepEqual(
      [custom.hour, custom.minute, custom.weekday, custom.timezone, custom.trial_restore, custom.enabled],
      [22, 30, 2, 'Europe/Berlin', true, false],
    );
    assert.deepEqual(custom.retention, { keep_daily: 7, keep_weekly: 4 });
  });

  it('generates a valid unique name and means every collection when none are given', () => {
    const first = scheduleRequest({ schedule: 'daily' });
    const second = scheduleRequest({ schedule: 'daily' });
    assert.match(first.name, /^daily-backup-[0-9a-f]{8}$/);
    assert.notEqual(first.name, second.name);
    assert.deepEqual(first.collections, []);
  });

  it('makes an incremental schedule whose runs on fullWeekday are full', () => {
    const body = scheduleRequest({ name: 'nightly', schedule: 'daily', incremental: true, fullWeekday: 6 });
    assert.equal(body.backup_type, 'incremental');
    assert.equal(body.full_weekday, 6);
    assert.equal(scheduleRequest({ name: 'plain', schedule: 'daily' }).backup_type, undefined);
  });

  it('refuses what no schedule can do, naming the field', () => {
    const cases = [
      [{ schedule: 'hourly' }, 'schedule'],
      [{ schedule: 'daily', incremental: 'yes' }, 'incremental'],
      [{ schedule: 'daily', fullWeekday: 6 }, 'fullWeekday'],
      [{ schedule: 'daily', name: 'Nightly Backup' }, 'name'],
      [{ schedule: 'daily', collections: 'users' }, 'collections'],
      [{ schedule: 'daily', retention: 'forever' }, 'retention'],
    ];
    for (const [config, field] of cases) {
      assert.throws(
        () => scheduleRequest(config),
        (error) => error instanceof LookoutValidationError && error.reasons[0].field === field,
        JSON.stringify(config),
      );
    }
  });
});
