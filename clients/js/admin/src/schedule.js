/**
 * The brief's BackupConfiguration as the backup worker's schedule (`ScheduleIn` in the
 * OpenAPI document): a pure mapping, so that what the library sends is tested alone.
 */

import { LookoutValidationError } from './errors.js';

export const DEFAULT_HOUR = 3; // the brief: "scheduled during low-traffic hours"
const FREQUENCIES = ['daily', 'weekly', 'monthly'];
const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

function refuse(field, reason) {
  return new LookoutValidationError(`scheduleBackup: ${field}: ${reason}`, {
    reasons: [{ field, reason }],
  });
}

function retentionOf(retention) {
  if (retention === undefined || retention === null) return undefined;
  if (typeof retention === 'number') return { retention_days: retention };
  if (typeof retention !== 'object') throw refuse('retention', 'a number of days or an object');
  const mapped = {
    retention_days: retention.retentionDays,
    keep_last: retention.keepLast,
    keep_daily: retention.keepDaily,
    keep_weekly: retention.keepWeekly,
    keep_monthly: retention.keepMonthly,
  };
  return Object.fromEntries(Object.entries(mapped).filter(([, value]) => value !== undefined));
}

function timetableOf(schedule, timezone) {
  const spec = typeof schedule === 'string' || schedule === undefined ? { frequency: schedule ?? 'daily' } : schedule;
  if (spec === null || typeof spec !== 'object' || !FREQUENCIES.includes(spec.frequency)) {
    throw refuse('schedule', "'daily', 'weekly', 'monthly' or { frequency, hour, minute, weekday, dayOfMonth, timezone }");
  }
  const timetable = {
    frequency: spec.frequency,
    hour: spec.hour ?? DEFAULT_HOUR,
    minute: spec.minute ?? 0,
    timezone: spec.timezone ?? timezone ?? 'UTC',
  };
  if (spec.frequency === 'weekly') timetable.weekday = spec.weekday ?? 6; // Sunday
  if (spec.frequency === 'monthly') timetable.day_of_month = spec.dayOfMonth ?? 1;
  return timetable;
}

function generatedName(frequency) {
  const suffix = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
  return `${frequency}-backup-${suffix}`;
}

/**
 * The schedule body for `config`. `format`, `compression` and `encryption` are the
 * backup worker's settings for every run, not a schedule's: they are not sent (see the
 * README). `incremental: true` makes an incremental schedule, whose runs due on
 * `fullWeekday` (0 = Monday), if given, are full.
 */
export function scheduleRequest(config = {}) {
  if (config === null || typeof config !== 'object') throw refuse('config', 'an object');
  if (config.incremental !== undefined && typeof config.incremental !== 'boolean') {
    throw refuse('incremental', 'true or false');
  }
  if (config.fullWeekday !== undefined && config.incremental !== true) {
    throw refuse('fullWeekday', 'needs incremental: true (the other runs are incremental)');
  }
  const timetable = timetableOf(config.schedule, config.timezone);
  const name = config.name ?? generatedName(timetable.frequency);
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw refuse('name', 'lower-case letters, digits, _ . - (at most 63, starting with a letter or digit)');
  }
  if (config.collections !== undefined && !Array.isArray(config.collections)) {
    throw refuse('collections', 'a list of collection names (empty: every collection)');
  }
  const body = { name, ...timetable, collections: config.collections ?? [] };
  const retention = retentionOf(config.retention);
  if (retention !== undefined) body.retention = retention;
  if (config.trialRestore !== undefined) body.trial_restore = config.trialRestore;
  if (config.enabled !== undefined) body.enabled = config.enabled;
  if (config.incremental === true) body.backup_type = 'incremental';
  if (config.fullWeekday !== undefined) body.full_weekday = config.fullWeekday;
  return body;
}
