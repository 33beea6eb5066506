// Types of @lookout/admin (hand-written; the sources are plain ES modules). Field names
// are dashboard-api's, as its OpenAPI document (/openapi.json) gives them.

export declare const VERSION: string;

export interface Reason {
  /** The field the reason is about (`hour`, `retention.retention_days`), or null. */
  field: string | null;
  reason: string;
}

export declare class LookoutAdminError extends Error {
  /** The HTTP status; 0 for a network failure or a timeout; null when nothing was sent. */
  readonly status: number | null;
  readonly reasons: Reason[];
  /** The answer's body as the API sent it. */
  readonly body: unknown;
}
export declare class LookoutAuthenticationError extends LookoutAdminError {}
export declare class LookoutPermissionError extends LookoutAdminError {}
export declare class LookoutNotFoundError extends LookoutAdminError {}
export declare class LookoutConflictError extends LookoutAdminError {}
export declare class LookoutValidationError extends LookoutAdminError {}
export declare class LookoutRateLimitError extends LookoutAdminError {
  readonly retryAfterMs: number | null;
}
export declare class LookoutUnavailableError extends LookoutAdminError {}

export type CheckStatus = 'healthy' | 'degraded' | 'unhealthy';

/** One run of one check (the brief's "Health Check Results"). */
export interface CheckResult {
  service: string;
  status: CheckStatus;
  /** Milliseconds. */
  responseTime: number;
  message: string;
  timestamp: string;
  kind: string;
  critical: boolean;
  details: Record<string, string | number | boolean | null>;
  /** The monitor location that ran the check (its LOOKOUT_HEALTH_LOCATION; `default`). */
  location: string;
}

export interface CriticalIssue {
  service: string;
  status: CheckStatus;
  message: string;
  since: string;
}

/** The brief's system status. */
export interface SystemStatus {
  status: 'operational' | 'degraded' | 'outage' | 'maintenance';
  /** The lowest 30-day uptime of the critical checks; null before any check ran. */
  uptime: number | null;
  lastCheck: string | null;
  criticalIssues: CriticalIssue[];
  activeIncidents: number;
}

export type IncidentState = 'investigating' | 'identified' | 'monitoring' | 'resolved';

/**
 * An incident of one check, open (`resolvedAt` null) or resolved. `status` is the check's
 * status that opened or last updated it; `state` is where the admins' work on it stands.
 */
export interface Incident {
  id: number;
  check: string;
  critical: boolean;
  status: CheckStatus;
  message: string;
  openedAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  durationS: number | null;
  updates: Record<string, unknown>[];
  state: IncidentState;
  /** Null until acknowledged. */
  acknowledgedAt: string | null;
  /** The name of the key that acknowledged. */
  acknowledgedBy: string | null;
  /** Reminders sent while unacknowledged. */
  reminders: number;
  /** Null unless it was escalated (once, while unacknowledged). */
  escalatedAt: string | null;
}

export interface CheckSummary {
  name: string;
  kind: string;
  critical: boolean;
  intervalS: number;
  latest: CheckResult | null;
  uptime: { '24h': number | null; '7d': number | null; '30d': number | null };
}

/** What one monitor location last saw of a check. */
export interface CheckLocation {
  location: string;
  /** Its verdict towards the quorum; null while only one location runs checks. */
  failing: boolean | null;
  /** When the verdict last changed. */
  since: string | null;
  /** The verdict was not updated within the quorum window: the location stopped running
   * the check, and its verdict counts for nothing. */
  stale: boolean;
  latest: CheckResult;
}

export interface HealthService {
  performHealthCheck(options?: { check?: string }): Promise<CheckResult[]>;
  getSystemStatus(): Promise<SystemStatus>;
  getIncidents(): Promise<Incident[]>;
  getChecks(): Promise<CheckSummary[]>;
  /** By check name; `[]` for a check not run yet. At most 100 `checks`. */
  getLocations(options?: { checks?: string[] }): Promise<Record<string, CheckLocation[]>>;
}

/** What dashboard-api answers when it has sent a command to the backup worker (202). */
export interface Accepted {
  commandId: string;
  operation: 'backup' | 'restore' | 'verify' | 'prune';
}

export interface Run {
  run_id: string;
  operation: string;
  status: string;
  backup_type: 'full' | 'incremental' | null;
  target_run_id: string | null;
  requested_by: string;
  collections: string[];
  rows: number;
  bytes: number;
  errors: string[];
  target: string | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  authenticated: boolean | null;
}

export interface StoredArtifact {
  collection: string;
  format: string;
  object_key: string;
  rows: number;
  bytes: number;
  sha256_plain: string;
  sha256_stored: string;
  compression: string;
  encrypted: boolean;
}

export interface RunDetail extends Run {
  artifacts: StoredArtifact[];
}

export interface Retention {
  retention_days?: number | null;
  keep_last?: number;
  keep_daily?: number;
  keep_weekly?: number;
  keep_monthly?: number;
}

export interface Schedule {
  id: number;
  name: string;
  frequency: 'daily' | 'weekly' | 'monthly';
  hour: number;
  minute: number;
  weekday: number | null;
  day_of_month: number | null;
  timezone: string;
  collections: string[];
  retention: Retention;
  trial_restore: boolean;
  enabled: boolean;
  next_run_at: string | null;
  backup_type: 'full' | 'incremental';
  full_weekday: number | null;
  trial_restore_weekday: number | null;
}

export interface Timetable {
  frequency: 'daily' | 'weekly' | 'monthly';
  /** 0–23; default 3 (03:00). */
  hour?: number;
  minute?: number;
  /** Weekly: 0 = Monday; default 6 (Sunday). */
  weekday?: number;
  /** Monthly: 1–31; default 1. */
  dayOfMonth?: number;
  /** An IANA zone; default the config's `timezone`, else UTC. */
  timezone?: string;
}

/** The brief's BackupConfiguration, plus what a Lookout schedule also has. */
export interface BackupConfiguration {
  /** Empty or left out: every collection. */
  collections?: string[];
  /** The backup worker's setting for every run (LOOKOUT_BACKUP_FORMAT): not sent. */
  format?: 'json' | 'csv' | 'both';
  /** The backup worker's setting (LOOKOUT_BACKUP_COMPRESSION): not sent. */
  compression?: boolean;
  /** The backup worker's (a key in LOOKOUT_BACKUP_KEY encrypts every run): not sent. */
  encryption?: boolean;
  schedule?: 'daily' | 'weekly' | 'monthly' | Timetable;
  /** Days to keep backups, or a keep policy. */
  retention?: number | { retentionDays?: number; keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number };
  /** An incremental schedule (`backup_type: 'incremental'`). */
  incremental?: boolean;
  /** With `incremental`: the weekday (0 = Monday) whose runs are full. */
  fullWeekday?: number;
  timezone?: string;
  /** Unique; generated (`daily-backup-1a2b3c4d`) when left out. */
  name?: string;
  trialRestore?: boolean;
  enabled?: boolean;
}

export interface BackupOptions {
  collections?: string[];
  incremental?: boolean;
  trialRestore?: boolean;
}

export interface RestoreOptions {
  /** `replace` (default) or `merge`. */
  mode?: 'replace' | 'merge';
  /** Restore into this schema instead of over the live tables. */
  targetSchema?: string;
}

export interface BackupService {
  performBackup(options?: BackupOptions): Promise<Accepted>;
  /** Resolves with the new schedule's id. */
  scheduleBackup(config: BackupConfiguration): Promise<number>;
  restoreFromBackup(runId: string, collections?: string[] | null, options?: RestoreOptions): Promise<Accepted>;
  list(): Promise<Run[]>;
  getRun(runId: string): Promise<RunDetail>;
  listSchedules(): Promise<Schedule[]>;
  deleteSchedule(scheduleId: number): Promise<null>;
}

/** A run's progress or outcome on the live stream (`backup` events), as the worker sends it. */
export interface BackupProgress {
  run_id: string;
  operation: 'backup' | 'restore' | 'verify' | 'prune';
  status: 'queued' | 'running' | 'succeeded' | 'partial' | 'failed';
  command_id: string | null;
  backup_type: 'full' | 'incremental' | null;
  collections_done: number;
  collections_total: number;
  rows: number;
  bytes: number;
  errors: string[];
  started_at: string | null;
  finished_at: string | null;
  at: string;
}

export type LiveEvent =
  | { type: 'hello'; data: { at: string; kafka: boolean }; id: string | null }
  | { type: 'metrics'; data: Record<string, unknown>; id: string | null }
  | { type: 'check'; data: CheckResult; id: string | null }
  | { type: 'incident'; data: Record<string, unknown>; id: string | null }
  | { type: 'backup'; data: BackupProgress; id: string | null }
  | { type: 'missed'; data: { messages: number }; id: string | null }
  | { type: 'revoked'; data: { reason: string }; id: string | null };

export type StreamState = 'open' | 'reconnecting' | 'closed';

export interface SubscribeOptions {
  /** Every failure; after a 401, 403 or `revoked` the stream stops (state `closed`). */
  onError?: (error: LookoutAdminError) => void;
  onState?: (state: StreamState) => void;
}

export interface LookoutAdmin {
  readonly url: string;
  readonly health: HealthService;
  readonly backups: BackupService;
  /** Returns the function that unsubscribes. */
  subscribe(onEvent: (event: LiveEvent) => void, options?: SubscribeOptions): () => void;
}

export interface LookoutAdminOptions {
  /** dashboard-api's base URL. */
  url: string;
  /** An admin key (actions) or a viewer key (reads). */
  key: string;
  /** Per request (30000; running every health check: 60000). */
  timeoutMs?: number;
  /** Reconnection backoff of the live stream (1000 doubling up to 30000). */
  stream?: { initialDelayMs?: number; maxDelayMs?: number };
  /** true or false overrides the localStorage switches `health_debug` and `backup_debug`. */
  debug?: boolean;
  fetch?: typeof globalThis.fetch;
}

export declare function createLookoutAdmin(options: LookoutAdminOptions): LookoutAdmin;

/** The schedule body scheduleBackup sends for `config` (dashboard-api's ScheduleIn). */
export declare function scheduleRequest(config: BackupConfiguration): Record<string, unknown>;
