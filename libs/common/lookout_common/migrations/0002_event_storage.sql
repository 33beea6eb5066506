-- The aggregator lets Postgres check what it stores from each batch's JSON:
-- properties and context are always JSON objects.
ALTER TABLE user_analytics
    ADD CONSTRAINT user_analytics_properties_object CHECK (jsonb_typeof(properties) = 'object'),
    ADD CONSTRAINT user_analytics_context_object CHECK (jsonb_typeof(context) = 'object');

-- The ledger's occurred_at index only serves retention's range deletes. Ids arrive
-- roughly in time order, so a BRIN index does that job at a fraction of a B-tree's
-- cost on every insert.
DROP INDEX event_ids_occurred_idx;
CREATE INDEX event_ids_occurred_brin ON event_ids USING brin (occurred_at);
