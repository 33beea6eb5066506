"""Per-person state the aggregator keeps beside the raw events: sessions by inactivity,
identity links, traits, first/last seen, active periods, per-person event times and
experiment exposures — each checked against answers worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from support.events import event, store

from lookout_aggregator.store import (
    STORE_EVENTS,
    STORE_ROLLUPS,
    batch_document,
    ensure_partitions,
    prepare,
)

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


async def _rows(dsn: str, query: str, *args) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


async def _sessions(dsn: str, actor: str) -> list[str]:
    rows = await _rows(
        dsn,
        "SELECT session_id FROM user_analytics WHERE coalesce(user_id, anonymous_id) = $1 "
        "ORDER BY occurred_at",
        actor,
    )
    return [row["session_id"] for row in rows]


async def test_sessions_split_after_thirty_minutes_of_inactivity(database_url: str) -> None:
    # a: 0, 10, 39 (gap 29) | 70 (gap 31) | 71.  Stored in two batches to cross the
    # boundary between what is in the batch and what the people table remembers.
    first = [
        event("page_view", minutes(m), anonymous="a", properties={"path": "/"}) for m in (0, 10, 39)
    ]
    second = [
        event("page_view", minutes(m), anonymous="a", properties={"path": "/"}) for m in (70, 71)
    ]
    await store(database_url, first)
    await store(database_url, second)
    sessions = await _sessions(database_url, "a")
    assert sessions[0] == sessions[1] == sessions[2]
    assert sessions[3] == sessions[4] != sessions[0]
    assert all(session.startswith("s-") for session in sessions)

    # Within one batch the same rule holds, and a client's sessionId wins.
    await store(
        database_url,
        [
            event("page_view", minutes(0), anonymous="b", properties={"path": "/"}),
            event("page_view", minutes(45), anonymous="b", properties={"path": "/"}),
            event("page_view", minutes(46), anonymous="b", context={"sessionId": "client-s"}),
        ],
    )
    b = await _sessions(database_url, "b")
    assert b[0] != b[1]
    assert b[2] == "client-s"

    people = await _rows(
        database_url,
        "SELECT actor, first_seen, last_seen, session_id FROM analytics_people ORDER BY actor",
    )
    assert [(p["actor"], p["first_seen"], p["last_seen"]) for p in people] == [
        ("a", minutes(0), minutes(71)),
        ("b", minutes(0), minutes(46)),
    ]
    assert people[0]["session_id"] == sessions[-1]


async def test_a_shorter_timeout_and_redelivery_change_nothing_twice(database_url: str) -> None:
    events = [
        event("page_view", minutes(m), anonymous="c", properties={"path": "/"}) for m in (0, 6, 20)
    ]
    assert await store(database_url, events, session_timeout=timedelta(minutes=5)) == 3
    assert await store(database_url, events, session_timeout=timedelta(minutes=5)) == 0
    sessions = await _sessions(database_url, "c")
    assert len(set(sessions)) == 3
    totals = await _rows(database_url, "SELECT period, actives FROM rollup_active_totals")
    assert sorted((t["period"], t["actives"]) for t in totals) == [
        ("day", 1),
        ("month", 1),
        ("week", 1),
    ]


async def test_identify_links_the_anonymous_id_and_merges_traits(database_url: str) -> None:
    await store(
        database_url,
        [
            event("page_view", minutes(0), anonymous="anon-1", properties={"path": "/"}),
            event(
                "identify",
                minutes(5),
                user="u-1",
                anonymous="anon-1",
                kind="identify",
                traits={"plan": "free", "city": "Lyon"},
            ),
            event("identify", minutes(9), user="u-1", kind="identify", traits={"plan": "pro"}),
            # The same device later signs in as someone else: the first link stays.
            event("identify", minutes(20), user="u-2", anonymous="anon-1", kind="identify"),
        ],
    )
    # An older identify arriving late does not override newer traits.
    await store(
        database_url,
        [
            event(
                "identify",
                minutes(1),
                user="u-1",
                kind="identify",
                traits={"plan": "trial", "age": 30},
            )
        ],
    )
    links = await _rows(database_url, "SELECT anonymous_id, user_id FROM identity_links")
    assert [(row["anonymous_id"], row["user_id"]) for row in links] == [("anon-1", "u-1")]
    traits = await _rows(
        database_url, "SELECT traits::text AS t FROM user_traits WHERE user_id = 'u-1'"
    )
    assert json.loads(traits[0]["t"]) == {"plan": "pro", "city": "Lyon", "age": 30}


async def test_active_periods_count_each_person_once_per_local_period(database_url: str) -> None:
    zone = "America/New_York"  # UTC-5 in March before DST (8 March 2026)
    events = [
        # 2026-03-02 04:30 UTC is 23:30 on Sunday 1 March in New York: the previous ISO week
        # (from Monday 23 February), the same month.
        event("page_view", datetime(2026, 3, 2, 4, 30, tzinfo=UTC), user="p"),
        event("page_view", datetime(2026, 3, 2, 5, 30, tzinfo=UTC), user="p"),  # Mon 2 Mar
        event("page_view", datetime(2026, 3, 2, 6, 0, tzinfo=UTC), user="p"),
        event("page_view", datetime(2026, 3, 2, 6, 0, tzinfo=UTC), user="q"),
        event("page_view", datetime(2026, 3, 3, 12, 0, tzinfo=UTC), user="q"),  # Tue 3 Mar
    ]
    await store(database_url, events, timezone=zone, batch=2)
    totals = await _rows(
        database_url, "SELECT period, start::text, actives FROM rollup_active_totals ORDER BY 1, 2"
    )
    assert [(t["period"], t["start"], t["actives"]) for t in totals] == [
        ("day", "2026-03-01", 1),
        ("day", "2026-03-02", 2),
        ("day", "2026-03-03", 1),
        ("month", "2026-03-01", 2),
        ("week", "2026-02-23", 1),
        ("week", "2026-03-02", 2),
    ]


async def test_person_events_and_first_exposure_win(database_url: str) -> None:
    await store(
        database_url,
        [
            event(
                "experiment_exposure",
                minutes(10),
                user="x",
                properties={"experiment": "cta", "variant": "B"},
            ),
            event(
                "experiment_exposure",
                minutes(5),
                user="x",
                properties={"experiment": "cta", "variant": "A"},
            ),
            event("booking_completed", minutes(12), user="x"),
            event("booking_completed", minutes(30), user="x"),
        ],
    )
    await store(
        database_url,
        [
            event(
                "experiment_exposure",
                minutes(1),
                user="x",
                properties={"experiment": "cta", "variant": "C"},
            )
        ],
    )
    exposure = await _rows(database_url, "SELECT variant, exposed_at FROM experiment_exposures")
    assert [(row["variant"], row["exposed_at"]) for row in exposure] == [("C", minutes(1))]
    person = await _rows(
        database_url,
        "SELECT event, first_at, last_at, events FROM person_events WHERE actor = 'x' "
        "ORDER BY event",
    )
    assert [tuple(row.values()) for row in person] == [
        ("booking_completed", minutes(12), minutes(30), 2),
        ("experiment_exposure", minutes(1), minutes(10), 3),
    ]


async def test_registration_time_is_the_first_user_registered(database_url: str) -> None:
    await store(
        database_url,
        [
            event("user_registered", minutes(50), user="r", properties={"userType": "client"}),
            event("page_view", minutes(0), user="r", properties={"path": "/"}),
        ],
    )
    await store(
        database_url,
        [event("user_registered", minutes(40), user="r", properties={"userType": "client"})],
    )
    rows = await _rows(database_url, "SELECT registered_at, first_seen FROM analytics_people")
    assert (rows[0]["registered_at"], rows[0]["first_seen"]) == (minutes(40), minutes(0))


async def _store_explained(dsn: str, events: list) -> dict[str, tuple[int, int]]:
    """Store `events` as one batch under EXPLAIN ANALYZE: for each table the per-person
    statement inserts into with ON CONFLICT, (rows inserted, rows found already there).
    A membership the statement skipped is in neither."""
    connection = await asyncpg.connect(dsn)
    try:
        await ensure_partitions(connection, {e.timestamp.astimezone(UTC).date() for e in events})
        async with connection.transaction():
            await prepare(connection)
            [plan] = json.loads(
                await connection.fetchval(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + STORE_EVENTS,
                    batch_document([e.model_dump_json().encode() for e in events]),
                    "UTC",
                    timedelta(minutes=30),
                )
            )
            await connection.fetchval(STORE_ROLLUPS)
    finally:
        await connection.close()
    found: dict[str, tuple[int, int]] = {}
    nodes = [plan["Plan"]]
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("Plans", []))
        if node.get("Operation") == "Insert" and "Conflicting Tuples" in node:
            found[node["Relation Name"]] = (node["Tuples Inserted"], node["Conflicting Tuples"])
    return found


async def test_memberships_already_stored_are_skipped_and_nothing_else(database_url: str) -> None:
    """The aggregator skips an event's active-day and active-minute memberships only when
    the person's stored state says they exist (same local day as `active_day`, same minute
    as `last_seen`): those are never even tried, which the statement's own counts of rows
    inserted and rows found already stored show. A later minute, a late event for an
    earlier minute or day, and a new day are still counted, each once."""
    await store(database_url, [event("page_view", minutes(5), user="r")])
    tried = await _store_explained(
        database_url,
        [
            event("page_view", minutes(5.5), user="r"),  # same minute, same day: skipped
            event("page_view", minutes(6), user="r"),  # a later minute
            event("page_view", minutes(1), user="r"),  # late: an earlier minute
            event("page_view", minutes(-24 * 60), user="r"),  # late: the day before
        ],
    )
    # Minutes 6, 1 and the day before's are new; minute 5 is not tried (it would conflict).
    assert tried["rollup_distinct"] == (3, 0)
    # The day before brings its day and its week (Sunday 1 March: the week of 23 February)
    # and tries its month, which the first batch stored. 2 March's day, week and month are
    # not tried: tried, they would be three more conflicts.
    assert tried["active_periods"] == (2, 1)
    await store(database_url, [event("page_view", minutes(24 * 60), user="r")])  # next day
    actor_minutes = await _rows(
        database_url,
        "SELECT bucket FROM rollup_distinct WHERE kind = 'actor' AND member = 'r' ORDER BY 1",
    )
    assert [row["bucket"] for row in actor_minutes] == [
        minutes(-24 * 60),
        minutes(1),
        minutes(5),
        minutes(6),
        minutes(24 * 60),
    ]
    days = await _rows(
        database_url,
        "SELECT start::text, actives FROM rollup_active_totals WHERE period = 'day' ORDER BY 1",
    )
    assert [(d["start"], d["actives"]) for d in days] == [
        ("2026-03-01", 1),
        ("2026-03-02", 1),
        ("2026-03-03", 1),
    ]
    [person] = await _rows(
        database_url, "SELECT active_day::text FROM analytics_people WHERE actor = 'r'"
    )
    assert person["active_day"] == "2026-03-03"
