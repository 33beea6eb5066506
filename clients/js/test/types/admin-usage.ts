// Compiled by `tsc -p test/types` only: the admin README's calls type-check against the .d.ts.
import {
  createLookoutAdmin,
  LookoutAdminError,
  LookoutValidationError,
  type IncidentState,
  type Run,
  type SystemStatus,
} from '@lookout/admin';
import { useBackupManagement, useHealthMonitoring } from '@lookout/admin/react';

const admin = createLookoutAdmin({ url: 'https://lookout.example.com', key: 'ADMIN_KEY' });

async function brief(): Promise<void> {
  const results = await admin.health.performHealthCheck();
  const first: number = results[0].responseTime;
  const status: SystemStatus = await admin.health.getSystemStatus();
  const state: 'operational' | 'degraded' | 'outage' | 'maintenance' = status.status;
  const uptime: number | null = status.uptime;
  const incidents = await admin.health.getIncidents();
  const opened: string = incidents[0].openedAt;
  const work: IncidentState = incidents[0].state;
  const acknowledgedBy: string | null = incidents[0].acknowledgedBy;
  const reminders: number = incidents[0].reminders;
  const escalatedAt: string | null = incidents[0].escalatedAt;
  const location: string = results[0].location;
  const accepted = await admin.backups.performBackup();
  const commandId: string = accepted.commandId;
  const scheduleId: number = await admin.backups.scheduleBackup({
    collections: ['therapists', 'places', 'bookings'],
    format: 'json',
    schedule: 'daily',
    retention: 30,
  });
  await admin.backups.restoreFromBackup('backup_123', ['therapists']);
  const runs: Run[] = await admin.backups.list();
  try {
    await admin.backups.scheduleBackup({ schedule: { frequency: 'weekly', hour: 2, weekday: 6 } });
  } catch (error) {
    if (error instanceof LookoutValidationError) {
      const field: string | null = error.reasons[0].field;
      void field;
    }
    if (error instanceof LookoutAdminError) void error.status;
  }
  // @ts-expect-error: schedules are 'daily', 'weekly' or 'monthly'
  await admin.backups.scheduleBackup({ schedule: 'hourly' });
  void [first, state, uptime, opened, work, acknowledgedBy, reminders, escalatedAt, location];
  void [commandId, scheduleId, runs];
}

const stop: () => void = admin.subscribe((event) => {
  if (event.type === 'backup') {
    const done: number = event.data.collections_done;
    void done;
  }
  if (event.type === 'check') void event.data.responseTime;
});

function Widget(): string {
  const { status, performHealthCheck } = useHealthMonitoring(admin);
  const { runs, progress, performBackup } = useBackupManagement(admin);
  void performHealthCheck;
  void performBackup;
  void progress;
  return `${status?.status} ${status?.uptime}% ${runs.length}`;
}

export { brief, stop, Widget };
