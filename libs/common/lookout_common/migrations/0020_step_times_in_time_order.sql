-- Each step_times row holds its records in time order (the aggregator writes them so from
-- now on): funnels then group a range's records by person and find each person's already
-- in time order but for a few runs, which sorts in a fraction of the time random order
-- takes. The rows 0019 copied from user_analytics are put in that order here. Records are
-- 17 bytes; bytes 9-16 are the time as a big-endian int8 of microseconds since 2000, so
-- their byte order is time order for every time after 2000 (as every stored event is).
UPDATE step_times SET records = (
    SELECT string_agg(substr(records, at, 17), ''::bytea ORDER BY substr(records, at + 8, 8), at)
    FROM generate_series(1, length(records), 17) AS at
);
