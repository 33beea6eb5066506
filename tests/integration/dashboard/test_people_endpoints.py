"""Funnels, journeys, retention and experiments over crafted histories, each answer
worked out by hand; people are followed across the login (anonymous id → user id)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from support.db import create_keys
from support.events import event, store
from support.services import settings_env

from lookout_common.infra.apikeys import Role
from lookout_common.infra.settings import LookoutSettings
from lookout_dashboard.analysis.stats import Experiment, VariantCounts, analyze_experiment

pytestmark = pytest.mark.integration

W0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # Monday of week 0
RANGE = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-16T00:00:00Z"}


def at(minutes: float = 0, weeks: int = 0, days: int = 0) -> datetime:
    return W0 + timedelta(weeks=weeks, days=days, minutes=minutes)


def page(path: str, when: datetime, **who) -> object:
    return event("page_view", when, properties={"path": path}, **who)


def funnel_history() -> list:
    search = {"query": "thai"}
    booking = {"therapistId": "t1", "serviceType": "thai"}
    return [
        # d1 searches anonymously, signs in as u1, then books: one person, full funnel.
        event("search_performed", at(0), anonymous="d1", properties=search),
        event("identify", at(1), user="u1", anonymous="d1", kind="identify"),
        event("booking_attempt", at(5), user="u1", properties=booking),
        event(
            "booking_completed",
            at(10),
            user="u1",
            properties={**booking, "totalPrice": 50, "currency": "EUR"},
        ),
        # u2 attempts two hours later: outside the one-hour window.
        event("search_performed", at(0), user="u2", properties=search),
        event("booking_attempt", at(120), user="u2", properties=booking),
        # u3 attempts first (does not count), searches, attempts again 2 minutes later.
        event("booking_attempt", at(0), user="u3", properties=booking),
        event("search_performed", at(1), user="u3", properties=search),
        event(
            "booking_attempt", at(3), user="u3", properties={**booking, "serviceType": "swedish"}
        ),
        # u4: the whole funnel, ten minutes per step.
        event("search_performed", at(30), user="u4", properties=search),
        event("booking_attempt", at(40), user="u4", properties=booking),
        event(
            "booking_completed",
            at(50),
            user="u4",
            properties={**booking, "totalPrice": 80, "currency": "EUR"},
        ),
        # u5 completes without searching.
        event(
            "booking_completed",
            at(5),
            user="u5",
            properties={**booking, "totalPrice": 80, "currency": "EUR"},
        ),
    ]


def journey_history() -> list:
    day = timedelta(days=1)
    return [
        page("/search", at(0) + day, user="j1"),
        page("/search", at(1) + day, user="j1"),
        # Telemetry between two steps is not a step.
        event("performance", at(1.5) + day, user="j1", properties={"path": "/search", "lcp": 900}),
        page("/therapist/1", at(2) + day, user="j1"),
        event(
            "booking_attempt",
            at(3) + day,
            user="j1",
            properties={"therapistId": "t1", "serviceType": "thai"},
        ),
        page("/search", at(0) + day, user="j2"),
        page("/therapist/1", at(1) + day, user="j2"),
        event(
            "booking_attempt",
            at(2) + day,
            user="j2",
            properties={"therapistId": "t1", "serviceType": "thai"},
        ),
        event(
            "booking_completed",
            at(3) + day,
            user="j2",
            properties={
                "therapistId": "t1",
                "serviceType": "thai",
                "totalPrice": 10,
                "currency": "EUR",
            },
        ),
        page("/therapist/9", at(4) + day, user="j2"),
        page("/home", at(0) + day, user="j3"),
        page("/search", at(1) + day, user="j3"),
        page("/faq", at(2) + day, user="j3"),
        # An hour later j3 starts a new session that does not include /search.
        page("/home", at(70) + day, user="j3"),
        page("/home", at(0) + day, user="j4"),
    ]


def retention_history() -> list:
    return [
        page("/", at(0), user="a"),
        page("/", at(days=9), user="a"),  # week 1
        event("user_registered", at(days=8), user="a", properties={"userType": "client"}),
        page("/", at(weeks=3), user="a"),
        page("/", at(days=2), user="b"),
        page("/", at(weeks=1), user="c"),
        event(
            "user_registered", at(weeks=1, minutes=1), user="c", properties={"userType": "client"}
        ),
        page("/", at(weeks=2), user="c"),
        # An anonymous device first seen in week 2 that turns out to be a.
        page("/", at(weeks=2, days=1), anonymous="d"),
        event("identify", at(weeks=2, days=1, minutes=1), user="a", anonymous="d", kind="identify"),
    ]


def experiment_history() -> list:
    def exposure(variant: str, when: datetime, **who) -> object:
        return event(
            "experiment_exposure", when, properties={"experiment": "cta", "variant": variant}, **who
        )

    booked = {"therapistId": "t1", "serviceType": "thai", "totalPrice": 10, "currency": "EUR"}
    return [
        exposure("A", at(0), anonymous="x1"),
        event("identify", at(1), user="ux1", anonymous="x1", kind="identify"),
        event("booking_completed", at(2), user="ux1", properties=booked),
        exposure("A", at(0), user="y"),
        event("booking_completed", at(-5), user="z", properties=booked),
        exposure("B", at(0), user="z"),
        exposure("B", at(0), user="w"),
        event("booking_completed", at(30), user="w", properties=booked),
        exposure("B", at(0), user="v"),
        event("booking_completed", at(60 * 24 * 3), user="v", properties=booked),
    ]


@pytest.fixture
async def api(settings: LookoutSettings, service_factory):
    history = funnel_history() + journey_history() + retention_history() + experiment_history()
    assert await store(settings.dsn(), history) == len(history)
    (viewer,) = await create_keys(settings.dsn(), (Role.VIEWER, "analyst"))
    dashboard = service_factory("lookout_dashboard", settings_env(settings))
    async with httpx.AsyncClient(
        base_url=dashboard.url, headers={"Authorization": f"Bearer {viewer}"}, timeout=20
    ) as client:
        yield client


async def test_funnel_counts_people_in_order_within_the_window(api: httpx.AsyncClient) -> None:
    body = {
        "steps": [
            {"event": "search_performed"},
            {"event": "booking_attempt"},
            {"event": "booking_completed"},
        ],
        "windowS": 3600,
        **RANGE,
    }
    answer = await api.post("/api/v1/analytics/funnels", json=body)
    assert answer.status_code == 200, answer.text
    steps = answer.json()["steps"]
    assert [s["people"] for s in steps] == [4, 3, 2]
    assert [s["dropOff"] for s in steps] == [0, 1, 1]
    assert [s["conversionFromStart"] for s in steps] == [1.0, 0.75, 0.5]
    assert [s["medianSecondsFromPrevious"] for s in steps] == [None, 300.0, 450.0]

    # A property filter on a step: u3's later attempt was for a Swedish massage.
    body["steps"][1]["filters"] = {"serviceType": "thai"}
    steps = (await api.post("/api/v1/analytics/funnels", json=body)).json()["steps"]
    assert [s["people"] for s in steps] == [4, 2, 2]

    one_step = await api.post(
        "/api/v1/analytics/funnels", json={**body, "steps": body["steps"][:1]}
    )
    assert one_step.status_code == 422


async def test_journeys_follow_sessions_from_the_start_step(api: httpx.AsyncClient) -> None:
    answer = await api.get(
        "/api/v1/analytics/journeys", params={"startStep": "page:/search", "depth": 4, **RANGE}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["people"], body["sequences"], body["truncated"]) == (3, 3, False)
    assert [(p["steps"], p["count"]) for p in body["paths"]] == [
        (["page:/search", "page:/faq"], 1),
        (["page:/search", "page:/therapist/1", "event:booking_attempt"], 1),
        (
            [
                "page:/search",
                "page:/therapist/1",
                "event:booking_attempt",
                "event:booking_completed",
            ],
            1,
        ),
    ]
    links = {(link["source"], link["target"]): link["value"] for link in body["links"]}
    assert links[("1:page:/search", "2:page:/therapist/1")] == 2
    assert links[("1:page:/search", "2:page:/faq")] == 1
    assert links[("2:page:/faq", "3:(exit)")] == 1
    assert links[("3:event:booking_attempt", "4:(exit)")] == 1

    bad = await api.get("/api/v1/analytics/journeys", params={"startStep": "nowhere"})
    assert bad.status_code == 422


async def test_weekly_retention_by_first_seen_and_by_registration(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/v1/analytics/retention", params={"weeks": 3, **RANGE})
    assert answer.status_code == 200, answer.text
    cohorts = [(c["week"], c["people"], c["active"]) for c in answer.json()["cohorts"]]
    # Week 0 holds a and b; c joined in week 1 (the experiment, funnel and journey
    # people of week 0 are in it too, so look at the retention people alone).
    found = {week: (people, active) for week, people, active in cohorts}
    assert found["2026-03-09"] == (1, [1, 1, 0, 0])
    retention_only = await api.get(
        "/api/v1/analytics/retention",
        params={"weeks": 3, "cohortBy": "registered", **RANGE},
    )
    registered = retention_only.json()["cohorts"]
    assert [(c["week"], c["people"], c["active"], c["rates"]) for c in registered] == [
        ("2026-03-09", 2, [2, 2, 1, 0], [1.0, 1.0, 0.5, 0.0])
    ]
    week0 = found["2026-03-02"]
    # a and b, plus the 5 funnel people and the 6 experiment people, all first seen in
    # week 0 (j1..j4 on day 1 too): a is the only one back in weeks 1, 2 (as d) and 3.
    everyone_w0 = {"a", "b", "u1", "u2", "u3", "u4", "u5", "ux1", "y", "z", "w", "v"}
    everyone_w0 |= {"j1", "j2", "j3", "j4"}
    assert week0 == (len(everyone_w0), [len(everyone_w0), 1, 1, 1])


async def test_experiment_counts_people_and_converts_after_exposure(
    api: httpx.AsyncClient,
) -> None:
    listed = (await api.get("/api/v1/analytics/experiments")).json()
    assert [(e["experiment"], e["variants"]) for e in listed] == [("cta", {"A": 2, "B": 3})]

    answer = await api.get(
        "/api/v1/analytics/experiments/cta", params={"goal": "booking_completed", **RANGE}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # A: x1 (booked as ux1 after signing in) and y (never) → 1 of 2.
    # B: z booked only before exposure; w and v after → 2 of 3.
    assert [(v["name"], v["exposures"], v["conversions"]) for v in body["variants"]] == [
        ("A", 2, 1),
        ("B", 3, 2),
    ]
    expected = analyze_experiment(
        Experiment(
            variants=[
                VariantCounts(name="A", exposures=2, conversions=1),
                VariantCounts(name="B", exposures=3, conversions=2),
            ]
        )
    ).model_dump(by_alias=True, mode="json")
    assert body["variants"] == expected["variants"]
    assert body["sampleRatio"] == expected["sampleRatio"]
    assert body["control"] == "A"
    # The wiring, in numbers worked out by hand: 1/2 against 2/3.
    rates = {v["name"]: v["conversionRate"] for v in body["variants"]}
    assert rates == {"A": 0.5, "B": pytest.approx(2 / 3)}
    assert body["variants"][1]["versusControl"]["absoluteUplift"] == pytest.approx(1 / 6)

    missing = await api.get(
        "/api/v1/analytics/experiments/none", params={"goal": "booking_completed", **RANGE}
    )
    assert missing.status_code == 404
