-- Incident lifecycle (investigating -> identified -> monitoring -> resolved, written by an
-- admin), acknowledgement, reminders and escalation (issue 17 item 4). Reminders and
-- escalations go through incident_outbox like every other transition.
ALTER TABLE incidents
    ADD COLUMN state text NOT NULL DEFAULT 'investigating'
        CHECK (state IN ('investigating', 'identified', 'monitoring', 'resolved')),
    ADD COLUMN acknowledged_at timestamptz,
    ADD COLUMN acknowledged_by text,
    ADD COLUMN reminded_at timestamptz,  -- the last reminder (none yet: NULL)
    ADD COLUMN reminders integer NOT NULL DEFAULT 0,
    ADD COLUMN escalated_at timestamptz;
UPDATE incidents SET state = 'resolved' WHERE resolved_at IS NOT NULL;
-- What the reminder loop scans: open incidents nobody acknowledged.
CREATE INDEX incidents_unacknowledged_idx ON incidents (opened_at)
    WHERE resolved_at IS NULL AND acknowledged_at IS NULL;
