-- Trust in backups and in the record of who did what (issue 14).

-- The audit log is append-only: nothing legitimate updates or deletes an entry, so the
-- database refuses it (a restore of `audit_log` can only add missing entries).
CREATE FUNCTION lookout_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION lookout_audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION lookout_audit_log_append_only();

-- Erased people, as sha256 (hex) of each of their ids: written by an erasure in its
-- transaction, re-applied after every restore of an analytics table.
CREATE TABLE erasure_ledger (
    subject_hash text PRIMARY KEY CHECK (subject_hash ~ '^[0-9a-f]{64}$'),
    erased_at    timestamptz NOT NULL DEFAULT now()
);

-- Whether a backup run's manifest is authenticated (HMAC under the master key);
-- NULL for runs that are not backups or have no manifest.
ALTER TABLE backup_logs ADD COLUMN authenticated boolean;
