"""Dashboard query latency on a large event history, against the same answers from raw events.

Loads --events (default 10 M) generated marketplace events over --days (default 30) through
the aggregator's own batch statement (so every rollup and per-person table is filled exactly
as in production), starts the real dashboard-api, then for each metric endpoint prints:
  p50 / p95 over --runs HTTP calls (target: p95 <= 50 ms; funnels and journeys over 30 days
  200 ms; an endpoint slower than a second is called 5 times),
  the median time of one SQL query computing the same answer from raw `user_analytics`,
  and the ratio endpoint p50 / raw median (lower is better).

Usage: .venv/bin/python bench/dashboard.py [--events 10000000] [--days 30] [--runs 20]
Env LOOKOUT_BENCH_DATABASE_URL / LOOKOUT_BENCH_KAFKA_BOOTSTRAP use existing servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from _stack import Service, clock, fresh_database, infrastructure, median, percentile

from lookout_aggregator.store import ensure_partitions, store_batch
from lookout_common.infra.apikeys import Role, create_key
from lookout_common.infra.kafka import ensure_topics
from lookout_common.infra.settings import LookoutSettings

BATCH = 5000
PATHS = ["/", "/search", "/therapists", "/book", "/chat", "/account", "/faq"] + [
    f"/therapist/{n}" for n in range(40)
]
SERVICES = ["thai", "swedish", "deep-tissue", "hot-stone", "sports"]
CITIES = [("DE", "Berlin"), ("FR", "Paris"), ("GB", "London"), ("ES", "Madrid"), ("IT", "Rome")]
TERMS = ["thai massage", "swedish", "deep tissue", "hot stone", "near me", "couples", "sports"]
# (event name, share of events)
MIX = [
    ("page_view", 0.50),
    ("search_performed", 0.12),
    ("chat_message_sent", 0.10),
    ("performance", 0.08),
    ("booking_attempt", 0.03),
    ("booking_completed", 0.015),
    ("chat_started", 0.02),
    ("error_occurred", 0.02),
    ("experiment_exposure", 0.02),
    ("login_attempt", 0.02),
    ("identify", 0.01),
    ("therapist_favorited", 0.065),
]


def properties(name: str, rng: random.Random, actor: int) -> dict:
    if name == "page_view":
        return {"path": rng.choice(PATHS), "loadTime": round(rng.lognormvariate(6.5, 0.5), 1)}
    if name == "search_performed":
        term = rng.choice(TERMS) + ("" if rng.random() < 0.9 else f" {rng.randint(1, 500)}")
        return {
            "query": term,
            "queryNormalized": term,
            "resultsCount": 0 if rng.random() < 0.08 else rng.randint(1, 150),
            "filters": {"city": "Berlin"} if rng.random() < 0.3 else {},
        }
    if name in ("booking_attempt", "booking_completed"):
        return {
            "therapistId": f"t{rng.randint(1, 40)}",
            "serviceType": rng.choice(SERVICES),
            "totalPrice": rng.choice([45, 60, 75, 90]),
            "currency": "EUR" if rng.random() < 0.8 else "GBP",
        }
    if name in ("chat_started", "chat_message_sent"):
        return {"chatId": f"c{actor}-{rng.randint(1, 3)}", "messageLength": rng.randint(1, 300)}
    if name == "performance":
        return {
            "path": rng.choice(PATHS),
            "lcp": round(rng.lognormvariate(7.6, 0.4), 1),
            "inp": round(rng.lognormvariate(5.0, 0.6), 1),
            "cls": round(rng.random() * 0.3, 3),
            "ttfb": round(rng.lognormvariate(6.0, 0.5), 1),
            "fcp": round(rng.lognormvariate(7.0, 0.4), 1),
        }
    if name == "error_occurred":
        kind = rng.randint(1, 30)
        return {
            "message": f"failure {kind}",
            "type": "TypeError",
            "fingerprint": f"{kind:016x}",
            "topFrame": f"app.js:fn{kind}",
        }
    if name == "experiment_exposure":
        return {"experiment": "cta-colour", "variant": "A" if actor % 2 else "B"}
    if name == "login_attempt":
        return {"success": rng.random() < 0.9}
    return {"therapistId": f"t{rng.randint(1, 40)}"}


def documents(count: int, days: int, people: int, seed: int, end: datetime):
    """Generated events as the JSON ingest publishes, oldest first."""
    rng = random.Random(seed)
    names = [name for name, _ in MIX]
    weights = [share for _, share in MIX]
    start = end - timedelta(days=days)
    step = (end - start) / count
    for index in range(count):
        at = start + step * index
        actor = int(rng.paretovariate(1.2) * 7) % people
        name = rng.choices(names, weights)[0]
        anonymous = rng.random() < 0.3
        ids = (
            {"user_id": None, "anonymous_id": f"a{actor}"}
            if anonymous
            else {
                "user_id": f"u{actor}",
                "anonymous_id": f"a{actor}" if name == "identify" else None,
            }
        )
        country, city = rng.choice(CITIES)
        stamp = at.isoformat()
        yield json.dumps(
            {
                "schema_version": 1,
                "event_id": f"b{seed}-{index}",
                "kind": "identify" if name == "identify" else "track",
                "event": name,
                **ids,
                "properties": {} if name == "identify" else properties(name, rng, actor),
                "traits": {"plan": "pro"} if name == "identify" else {},
                "context": {"geo": {"country": country, "city": city}}
                if rng.random() < 0.4
                else {},
                "timestamp": stamp,
                "received_at": stamp,
                "source": "bench",
                "request_id": "bench",
            }
        ).encode()


async def load(dsn: str, count: int, days: int, end: datetime) -> float:
    """Store the events through the aggregator's statement with two writers; events/s."""
    connection = await asyncpg.connect(dsn)
    first = (end - timedelta(days=days)).date()
    await ensure_partitions(connection, [first + timedelta(days=d) for d in range(days + 2)])
    await connection.close()
    queue: asyncio.Queue = asyncio.Queue(maxsize=4)

    async def writer() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            while (batch := await queue.get()) is not None:
                async with connection.transaction():
                    await store_batch(connection, batch)
        finally:
            await connection.close()

    started = clock()
    writers = [asyncio.create_task(writer()) for _ in range(2)]
    batch: list[bytes] = []
    done = 0
    for document in documents(count, days, max(count // 50, 100), 7, end):
        batch.append(document)
        if len(batch) == BATCH:
            await queue.put(batch)
            done += len(batch)
            batch = []
            if done % 500_000 == 0:
                rate = done / (clock() - started)
                print(f"  loaded {done:>10,} events ({rate:,.0f}/s)", flush=True)
    if batch:
        await queue.put(batch)
    for _ in writers:
        await queue.put(None)
    await asyncio.gather(*writers)
    connection = await asyncpg.connect(dsn)
    await connection.execute("VACUUM ANALYZE")
    await connection.close()
    return count / (clock() - started)


def endpoints(end: datetime) -> list[tuple[str, str, str, dict | None, str]]:
    """(label, method, path with query, JSON body, raw SQL computing the same answer)."""
    day = (end - timedelta(days=1)).isoformat()
    week = (end - timedelta(days=7)).isoformat()
    month = (end - timedelta(days=30)).isoformat()
    to = end.isoformat()
    range_week = f"from={week}&to={to}".replace("+00:00", "Z")
    range_month = f"from={month}&to={to}".replace("+00:00", "Z")
    raw_range = f"occurred_at >= '{week}' AND occurred_at < '{to}'"
    return [
        (
            "overview metrics",
            "GET",
            "/api/v1/dashboard/metrics",
            None,
            "SELECT count(DISTINCT coalesce(user_id, anonymous_id)) FROM user_analytics "
            f"WHERE occurred_at >= '{day}'",
        ),
        (
            "events by hour (7 d)",
            "GET",
            f"/api/v1/analytics/events?{range_week}&granularity=hour",
            None,
            "SELECT date_trunc('hour', occurred_at), event, count(*) FROM user_analytics "
            f"WHERE {raw_range} GROUP BY 1, 2",
        ),
        (
            "realtime (DAU/WAU/MAU)",
            "GET",
            "/api/v1/analytics/realtime",
            None,
            "SELECT count(DISTINCT coalesce(user_id, anonymous_id)) FILTER (WHERE occurred_at >= "
            f"'{day}'), count(DISTINCT coalesce(user_id, anonymous_id)) FILTER (WHERE "
            f"occurred_at >= '{week}'), count(DISTINCT coalesce(user_id, anonymous_id)) "
            f"FROM user_analytics WHERE occurred_at >= '{month}'",
        ),
        (
            "active per day (30 d)",
            "GET",
            f"/api/v1/analytics/active?{range_month}&granularity=day",
            None,
            "SELECT occurred_at::date, count(DISTINCT coalesce(user_id, anonymous_id)) "
            f"FROM user_analytics WHERE occurred_at >= '{month}' GROUP BY 1",
        ),
        (
            "bookings breakdown (30 d)",
            "GET",
            f"/api/v1/analytics/bookings/breakdown?{range_month}",
            None,
            "SELECT properties->>'serviceType', properties->>'currency', count(*), "
            "sum((properties->>'totalPrice')::numeric) FROM user_analytics WHERE event IN "
            f"('booking_attempt', 'booking_completed') AND occurred_at >= '{month}' "
            "GROUP BY 1, 2",
        ),
        (
            "chat (7 d)",
            "GET",
            f"/api/v1/analytics/chat?{range_week}&granularity=day",
            None,
            "SELECT count(DISTINCT properties->>'chatId') FILTER (WHERE event = 'chat_started'), "
            "count(*) FILTER (WHERE event = 'chat_message_sent') FROM user_analytics "
            f"WHERE {raw_range}",
        ),
        (
            "search (7 d)",
            "GET",
            f"/api/v1/analytics/search?{range_week}",
            None,
            "SELECT properties->>'queryNormalized', count(*), count(*) FILTER (WHERE "
            "(properties->>'resultsCount')::int = 0) FROM user_analytics WHERE event = "
            f"'search_performed' AND {raw_range} GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
        ),
        (
            "pages + visitors + load p50/p95 (7 d)",
            "GET",
            f"/api/v1/analytics/pages?{range_week}",
            None,
            "SELECT properties->>'path', count(*), count(DISTINCT coalesce(user_id, "
            "anonymous_id)), percentile_disc(0.5) WITHIN GROUP (ORDER BY (properties->>"
            "'loadTime')::float8), percentile_disc(0.95) WITHIN GROUP (ORDER BY (properties->>"
            "'loadTime')::float8) FROM user_analytics WHERE event = 'page_view' AND "
            f"{raw_range} GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
        ),
        (
            "web vitals p75 (7 d)",
            "GET",
            f"/api/v1/analytics/performance?{range_week}",
            None,
            "SELECT properties->>'path', "
            + ", ".join(
                f"percentile_disc(0.75) WITHIN GROUP (ORDER BY (properties->>'{m}')::float8)"
                for m in ("lcp", "inp", "cls", "ttfb", "fcp")
            )
            + f" FROM user_analytics WHERE event = 'performance' AND {raw_range} GROUP BY 1",
        ),
        (
            "errors (7 d)",
            "GET",
            f"/api/v1/analytics/errors?{range_week}&granularity=hour",
            None,
            "SELECT properties->>'fingerprint', count(*) FROM user_analytics WHERE event = "
            f"'error_occurred' AND {raw_range} GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
        ),
        (
            "geography (7 d)",
            "GET",
            f"/api/v1/analytics/geography?{range_week}",
            None,
            "SELECT context->'geo'->>'country', context->'geo'->>'city', count(*) FROM "
            f"user_analytics WHERE context ? 'geo' AND {raw_range} GROUP BY 1, 2",
        ),
        (
            "retention (8 weeks)",
            "GET",
            "/api/v1/analytics/retention?weeks=4",
            None,
            "WITH f AS (SELECT coalesce(user_id, anonymous_id) AS p, min(occurred_at) AS j "
            "FROM user_analytics GROUP BY 1), a AS (SELECT DISTINCT coalesce(user_id, "
            "anonymous_id) AS p, date_trunc('week', occurred_at) AS w FROM user_analytics) "
            "SELECT date_trunc('week', f.j), a.w, count(*) FROM f JOIN a USING (p) GROUP BY 1, 2",
        ),
        (
            "experiment (30 d)",
            "GET",
            f"/api/v1/analytics/experiments/cta-colour?goal=booking_completed&{range_month}",
            None,
            "WITH x AS (SELECT coalesce(user_id, anonymous_id) AS p, min(occurred_at) AS at, "
            "min(properties->>'variant') AS v FROM user_analytics WHERE event = "
            "'experiment_exposure' GROUP BY 1), g AS (SELECT coalesce(user_id, anonymous_id) "
            "AS p, max(occurred_at) AS last FROM user_analytics WHERE event = "
            "'booking_completed' GROUP BY 1) SELECT v, count(*), count(*) FILTER (WHERE "
            "g.last >= x.at) FROM x LEFT JOIN g USING (p) GROUP BY 1",
        ),
        *people_questions(day, month, to),
    ]


def people_questions(day: str, month: str, to: str) -> list:
    """Funnels and journeys over one day and over 30 days: the answers matched in SQL, against
    a plain fetch of the rows the Python matcher used to read for them (ordered by person)."""
    questions = []
    for span, since in (("1 d", day), ("30 d", month)):
        window = f"from={since}&to={to}".replace("+00:00", "Z")
        questions.append(
            (
                f"funnel search→attempt→completed ({span})",
                "POST",
                "/api/v1/analytics/funnels",
                {
                    "steps": [
                        {"event": "search_performed"},
                        {"event": "booking_attempt"},
                        {"event": "booking_completed"},
                    ],
                    "windowS": 3600,
                    "from": since,
                    "to": to,
                },
                "SELECT coalesce(user_id, anonymous_id), occurred_at, event FROM user_analytics "
                "WHERE event IN ('search_performed', 'booking_attempt', 'booking_completed') "
                f"AND occurred_at >= '{since}' ORDER BY 1, 2",
            )
        )
        questions.append(
            (
                f"journeys from /search ({span})",
                "GET",
                f"/api/v1/analytics/journeys?startStep=page:/search&{window}",
                None,
                "SELECT coalesce(user_id, anonymous_id), session_id, event, properties->>'path' "
                f"FROM user_analytics WHERE occurred_at >= '{since}' ORDER BY 1, occurred_at",
            )
        )
    return questions


def target_s(label: str) -> float:
    """p95 target: 50 ms, except funnels and journeys over 30 days (200 ms)."""
    if label.endswith("(30 d)") and label.startswith(("funnel", "journeys")):
        return 0.200
    return 0.050


async def time_raw(dsn: str, sql: str, runs: int) -> float:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET max_parallel_workers_per_gather = 2")
        times = []
        for _ in range(runs):
            started = clock()
            await connection.fetch(sql)
            times.append(clock() - started)
        return median(times)
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20, help="calls per endpoint")
    parser.add_argument("--raw-runs", type=int, default=3, help="runs of each raw query")
    parser.add_argument(
        "--reuse", metavar="DSN", help="a database an earlier run loaded (skips loading)"
    )
    parser.add_argument(
        "--only", help="only endpoints whose label contains one of these comma-separated texts"
    )
    args = parser.parse_args()
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    with infrastructure() as (server_url, bootstrap, scratch):
        if args.reuse:
            dsn = args.reuse
            connection = await asyncpg.connect(dsn)
            end = await connection.fetchval("SELECT max(occurred_at) FROM event_ids")
            end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
            await connection.close()
        else:
            dsn = await fresh_database(server_url)
            print(f"loading {args.events:,} events over {args.days} days through the aggregator")
            rate = await load(dsn, args.events, args.days, end)
            print(f"loaded at {rate:,.0f} events/s into {dsn}")
        connection = await asyncpg.connect(dsn)
        key = await create_key(connection, Role.VIEWER, "bench")
        size = await connection.fetchval(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        )
        await connection.close()
        print(f"database size {size}")
        settings = LookoutSettings(database_url=dsn, kafka_bootstrap=bootstrap, topic_prefix="bd.")
        await ensure_topics(settings)
        dashboard = await Service("lookout_dashboard", settings, scratch).start()
        try:
            print(
                f"\n{'endpoint':40} {'p50 ms':>8} {'p95 ms':>8} {'raw ms':>9} {'ratio':>7}  target"
            )
            misses = 0
            async with httpx.AsyncClient(
                base_url=dashboard.url, headers={"Authorization": f"Bearer {key}"}, timeout=120
            ) as client:
                for label, method, path, body, raw in endpoints(end):
                    if args.only and not any(text in label for text in args.only.split(",")):
                        continue
                    started = clock()
                    answer = await client.request(method, path, json=body)  # warm up
                    warm_up = clock() - started
                    if answer.status_code != 200:
                        print(f"{label:40} HTTP {answer.status_code}: {answer.text[:200]}")
                        misses += 1
                        continue
                    # An answer slower than a second is timed fewer times (at most 5).
                    runs = args.runs if warm_up < 1 else min(args.runs, 5)
                    times = []
                    for _ in range(runs):
                        started = clock()
                        await client.request(method, path, json=body)
                        times.append(clock() - started)
                    raw_s = await time_raw(dsn, raw, args.raw_runs)
                    p50, p95 = median(times), percentile(times, 0.95)
                    ok = p95 <= target_s(label)
                    misses += not ok
                    print(
                        f"{label:40} {p50 * 1000:8.1f} {p95 * 1000:8.1f} {raw_s * 1000:9.1f} "
                        f"{p50 / raw_s:7.3f}  {'ok' if ok else 'MISSED'}",
                        flush=True,
                    )
            print(f"\n{misses} endpoint(s) above their p95 target")
        finally:
            dashboard.stop()


if __name__ == "__main__":
    asyncio.run(main())
