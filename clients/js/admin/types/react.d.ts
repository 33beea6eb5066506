// Types of @lookout/admin/react.
import type {
  Accepted,
  BackupConfiguration,
  BackupOptions,
  BackupProgress,
  CheckResult,
  Incident,
  LookoutAdmin,
  RestoreOptions,
  Run,
  Schedule,
  StreamState,
  SystemStatus,
} from './index.js';

export interface HealthMonitoring {
  status: SystemStatus | null;
  incidents: Incident[];
  /** The latest result of each check, by name, from the last run and the live stream. */
  results: Record<string, CheckResult>;
  loading: boolean;
  error: Error | null;
  connection: StreamState;
  performHealthCheck(options?: { check?: string }): Promise<CheckResult[]>;
  getSystemStatus(): Promise<SystemStatus | null>;
  refresh(): Promise<unknown>;
}

export interface BackupManagement {
  runs: Run[];
  schedules: Schedule[];
  /** Each run's latest live state, by run id. */
  progress: Record<string, BackupProgress>;
  loading: boolean;
  error: Error | null;
  connection: StreamState;
  performBackup(options?: BackupOptions): Promise<Accepted>;
  scheduleBackup(config: BackupConfiguration): Promise<number>;
  restoreFromBackup(runId: string, collections?: string[] | null, options?: RestoreOptions): Promise<Accepted>;
  deleteSchedule(scheduleId: number): Promise<null>;
  refresh(): Promise<unknown>;
}

export declare function useHealthMonitoring(admin: LookoutAdmin | null | undefined): HealthMonitoring;
export declare function useBackupManagement(admin: LookoutAdmin | null | undefined): BackupManagement;
