-- Schedules that make a full backup on one weekday and incrementals on the others, and
-- trial-restore on one weekday; and the defaults the backup worker has seeded, so a
-- default schedule an operator deleted is never created again (issue 18).
ALTER TABLE backup_schedules
    ADD COLUMN full_weekday smallint CHECK (full_weekday BETWEEN 0 AND 6),
    ADD COLUMN trial_restore_weekday smallint CHECK (trial_restore_weekday BETWEEN 0 AND 6),
    ADD CONSTRAINT backup_schedules_backup_type CHECK (backup_type IN ('full', 'incremental'));

CREATE TABLE backup_seeds (
    name      text PRIMARY KEY,
    seeded_at timestamptz NOT NULL DEFAULT now()
);
