"""Who was active (`actor`) and which chats started (`chat`), per UTC minute.

An event in the minute of the person's stored last event (`known_seen`) adds nothing:
that event stored the membership, so it is skipped without an index probe."""

from lookout_aggregator.rollups import UTC_ORIGIN, Fragment, literal
from lookout_common.contracts.events import EventType

DISTINCT = Fragment(
    "distinct",
    f"""
members AS (
    INSERT INTO rollup_distinct (kind, bucket, member)
    SELECT DISTINCT kind, minute, member FROM (
        SELECT 'actor' AS kind, minute, actor AS member FROM new
        WHERE minute IS DISTINCT FROM date_bin('1 minute', known_seen, {UTC_ORIGIN})
        UNION ALL
        SELECT 'chat', minute, props ->> 'chatId' FROM new
        WHERE event = {literal(EventType.CHAT_STARTED)}
    ) AS seen
    WHERE member IS NOT NULL AND member <> ''
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
)""",
)
