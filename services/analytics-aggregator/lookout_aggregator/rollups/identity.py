"""Anonymous id → the first user id it was seen with; each user's traits merged key by key
in event-time order."""

from lookout_aggregator.rollups import Fragment, literal

IDENTIFY = literal("identify")  # a MessageKind: traits arrive with identify calls

IDENTITY = Fragment(
    "identity",
    f"""
links AS (
    INSERT INTO identity_links (anonymous_id, user_id, linked_at)
    SELECT DISTINCT ON (anonymous_id) anonymous_id, user_id, "timestamp" FROM new
    WHERE user_id <> '' AND anonymous_id <> ''
    ORDER BY anonymous_id, "timestamp"
    ON CONFLICT (anonymous_id) DO NOTHING
),
traits AS (
    INSERT INTO user_traits AS t (user_id, traits, updated_at)
    SELECT user_id, jsonb_object_agg(key, value ORDER BY "timestamp"), max("timestamp")
    FROM new CROSS JOIN LATERAL jsonb_each(new.traits)
    WHERE kind = {IDENTIFY} AND user_id <> ''
      AND jsonb_typeof(new.traits) = 'object'
    GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET
        traits = CASE WHEN EXCLUDED.updated_at >= t.updated_at THEN t.traits || EXCLUDED.traits
                      ELSE EXCLUDED.traits || t.traits END,
        updated_at = greatest(t.updated_at, EXCLUDED.updated_at)
)""",
)
