-- The latest local day (LOOKOUT_TIMEZONE as the aggregator was configured) for which the
-- person's active_periods memberships (that day, its week, its month) were stored, in the
-- same transaction. The aggregator skips those three memberships for a later event on
-- the same day instead of re-inserting them (most events of a busy person). NULL (rows
-- stored before this migration, or restored from an older backup): nothing is skipped.
ALTER TABLE analytics_people ADD COLUMN active_day date;
