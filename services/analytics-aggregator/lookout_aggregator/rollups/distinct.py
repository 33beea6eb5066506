"""Who was active (`actor`) and which chats started (`chat`), per UTC minute."""

from lookout_aggregator.rollups import Fragment, literal
from lookout_common.contracts.events import EventType

DISTINCT = Fragment(
    "distinct",
    f"""
members AS (
    INSERT INTO rollup_distinct (kind, bucket, member)
    SELECT DISTINCT kind, minute, member FROM (
        SELECT 'actor' AS kind, minute, actor AS member FROM new
        UNION ALL
        SELECT 'chat', minute, props ->> 'chatId' FROM new
        WHERE event = {literal(EventType.CHAT_STARTED)}
    ) AS seen
    WHERE member IS NOT NULL AND member <> ''
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
)""",
)
