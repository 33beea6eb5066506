"""Recently published event ids, so that a client's resend is acknowledged without
being published again.

Bounded (least recently seen forgotten first) and per process: with several ingest
replicas, or after a restart, a resend can still reach Kafka, and the aggregator's
unique `event_id` in Postgres stays the guarantee. Ids are recorded only once Kafka
acknowledged them, so the retry of a request that got a 503 is never taken for a
duplicate.
"""

from __future__ import annotations

from collections import OrderedDict

EventKey = tuple[str, str]  # (write key name, messageId)


class RecentIds:
    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: OrderedDict[EventKey, None] = OrderedDict()

    def __contains__(self, key: EventKey) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, key: EventKey) -> None:
        if self.size <= 0:
            return
        self._ids[key] = None
        self._ids.move_to_end(key)
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)
