"""Questions about people rather than counts: funnels, journeys, retention cohorts and
A/B experiments. Each follows one person across the login (an anonymous id linked by
`identify` is the same person as its user id) and reads bounded data: per-person state
(analytics_people, active_periods, person_events, experiment_exposures), or for funnels
and journeys the raw events of the few event names or people involved, through indexes,
matched in SQL (funnels.py, journeys.py) — never a scan of every raw event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import Field, ValidationError

from lookout_common.contracts.models import Camel
from lookout_common.contracts.validation import IsoDatetime
from lookout_common.infra.auth import Reader
from lookout_dashboard.analysis.funnels import (
    FunnelError,
    FunnelStep,
    FunnelStepResult,
    count_funnel,
)
from lookout_dashboard.analysis.journeys import (
    MAX_JOURNEY_PEOPLE,
    JourneyError,
    Journeys,
    follow_journeys,
)
from lookout_dashboard.analysis.stats import (
    Experiment,
    ExperimentResult,
    VariantCounts,
    analyze_experiment,
)
from lookout_dashboard.bootstrap import ServicesDep
from lookout_dashboard.queries.ranges import From, Granularity, To, resolve_range
from lookout_dashboard.routes.responses import RANGE_ERRORS

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=RANGE_ERRORS)


# ---------------------------------------------------------------- funnels


class FunnelQuery(Camel):
    steps: list[FunnelStep] = Field(min_length=2, max_length=10)
    window_s: int = Field(
        86_400, ge=1, le=90 * 86_400, description="Conversion window from step 1, seconds"
    )
    start: IsoDatetime | None = Field(None, alias="from", description="Step 1 at or after")
    end: IsoDatetime | None = Field(None, alias="to", description="Step 1 before (default now)")


class FunnelAnswer(Camel):
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    window_s: int
    steps: list[FunnelStepResult]


def _too_slow(kind: str) -> HTTPException:
    # The pool's statement timeout (LOOKOUT_IO_TIMEOUT_S, at least 30 s) cancelled the query.
    return HTTPException(422, f"this {kind} takes too long over this range: narrow the time range")


@router.post(
    "/funnels",
    response_model=FunnelAnswer,
    summary="A funnel: people per ordered step within a conversion window, drop-off, times",
)
async def funnels(services: ServicesDep, _: Reader, query: FunnelQuery) -> FunnelAnswer:
    start, end = resolve_range(query.start, query.end, Granularity.DAY)
    window = timedelta(seconds=query.window_s)
    try:
        steps = await count_funnel(services.pool, query.steps, window, start, end)
    except FunnelError as error:
        raise HTTPException(422, str(error)) from None
    except TimeoutError:
        raise _too_slow("funnel") from None
    return FunnelAnswer(start=start, end=end, window_s=query.window_s, steps=steps)


# ---------------------------------------------------------------- journeys


class JourneyAnswer(Journeys):
    people: int = Field(description="People whose sessions were followed")
    truncated: bool = Field(
        description=f"True when more than {MAX_JOURNEY_PEOPLE} people matched and only the "
        "first (by their first start) were followed"
    )


StartStep = Annotated[
    str,
    Query(
        alias="startStep",
        min_length=6,
        max_length=2100,
        pattern=r"^(page:/|event:[A-Za-z])[^\x00]*$",
        description='Where paths start: "page:<path>" (a page view) or "event:<name>"',
    ),
]


@router.get(
    "/journeys",
    response_model=JourneyAnswer,
    summary="The most common paths after a start step, per session, with Sankey nodes/links",
)
async def user_journeys(
    services: ServicesDep,
    _: Reader,
    start_step: StartStep,
    start: From = None,
    end: To = None,
    depth: Annotated[int, Query(ge=2, le=8)] = 4,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
) -> JourneyAnswer:
    start, end = resolve_range(start, end, Granularity.DAY)
    try:
        found, people, truncated = await follow_journeys(
            services.pool, start_step, start, end, depth=depth, top=top
        )
    except JourneyError as error:
        raise HTTPException(422, str(error)) from None
    except TimeoutError:
        raise _too_slow("journey") from None
    return JourneyAnswer(**found.model_dump(), people=people, truncated=truncated)


# ---------------------------------------------------------------- retention


class CohortBy(StrEnum):
    FIRST_SEEN = "first_seen"
    REGISTERED = "registered"


class Cohort(Camel):
    week: date = Field(description="Monday the cohort's week starts on (LOOKOUT_TIMEZONE)")
    people: int
    active: list[int] = Field(description="People of the cohort active in week 0, 1, 2, …")
    rates: list[float] = Field(description="active / people for each week, as fractions")


class Retention(Camel):
    cohort_by: CohortBy
    weeks: int
    cohorts: list[Cohort]


@router.get(
    "/retention",
    response_model=Retention,
    summary="Weekly retention cohorts, by first seen or by registration",
)
async def retention(
    services: ServicesDep,
    _: Reader,
    start: From = None,
    end: To = None,
    cohort_by: Annotated[CohortBy, Query(alias="cohortBy")] = CohortBy.FIRST_SEEN,
    weeks: Annotated[int, Query(ge=1, le=26, description="Weeks followed after week 0")] = 8,
) -> Retention:
    start, end = resolve_range(start or (end or _now()) - timedelta(weeks=8), end, Granularity.DAY)
    joined = "registered_at" if cohort_by is CohortBy.REGISTERED else "first_seen"
    rows = await services.pool.fetch(
        f"""
        WITH people AS (
            SELECT coalesce(link.user_id, p.actor) AS person, min(p.{joined}) AS joined
            FROM analytics_people AS p
            LEFT JOIN identity_links AS link ON link.anonymous_id = p.actor
            GROUP BY 1
        ),
        cohort AS (
            SELECT person, date_trunc('week', joined AT TIME ZONE $3)::date AS week
            FROM people WHERE joined >= $1 AND joined < $2
        ),
        activity AS (
            SELECT DISTINCT coalesce(link.user_id, a.actor) AS person, a.start AS week
            FROM active_periods AS a
            LEFT JOIN identity_links AS link ON link.anonymous_id = a.actor
            WHERE a.period = 'week' AND a.start >= date_trunc('week', $1 AT TIME ZONE $3)::date
        )
        SELECT cohort.week, (activity.week - cohort.week) / 7 AS offset,
               grouping((activity.week - cohort.week) / 7) = 1 AS whole,
               count(DISTINCT cohort.person) AS people
        FROM cohort LEFT JOIN activity
          ON activity.person = cohort.person AND activity.week >= cohort.week
         AND activity.week <= cohort.week + 7 * $4
        -- Per cohort: its size, and the people active in each week after it joined.
        GROUP BY GROUPING SETS ((cohort.week), (cohort.week, (activity.week - cohort.week) / 7))
        ORDER BY 1, 2
        """,
        start,
        end,
        services.settings.timezone,
        weeks,
    )
    sizes = {row["week"]: row["people"] for row in rows if row["whole"]}
    active: dict[date, list[int]] = {week: [0] * (weeks + 1) for week in sizes}
    for row in rows:
        if not row["whole"] and row["offset"] is not None:
            active[row["week"]][row["offset"]] = row["people"]
    cohorts = [
        Cohort(
            week=week,
            people=size,
            active=active[week],
            rates=[round(n / size, 6) for n in active[week]],
        )
        for week, size in sorted(sizes.items())
    ]
    return Retention(cohort_by=cohort_by, weeks=weeks, cohorts=cohorts)


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- experiments


class ExperimentSummary(Camel):
    experiment: str
    variants: dict[str, int] = Field(description="People exposed per variant")
    first_exposure: datetime
    last_exposure: datetime


class ExperimentAnswer(ExperimentResult):
    experiment: str
    goal: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")


@router.get(
    "/experiments",
    response_model=list[ExperimentSummary],
    summary="Experiments seen in exposure events, with people per variant",
)
async def experiments(services: ServicesDep, _: Reader) -> list[ExperimentSummary]:
    rows = await services.pool.fetch(
        """
        SELECT experiment, jsonb_object_agg(variant, people) AS variants,
               min(first) AS first, max(last) AS last
        FROM (SELECT experiment, variant, count(*) AS people, min(exposed_at) AS first,
                     max(exposed_at) AS last
              FROM experiment_exposures GROUP BY 1, 2) AS per_variant
        GROUP BY 1 ORDER BY 1 LIMIT 500
        """
    )
    return [
        ExperimentSummary(
            experiment=row["experiment"],
            variants=row["variants"],
            first_exposure=row["first"],
            last_exposure=row["last"],
        )
        for row in rows
    ]


ExperimentName = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]
GoalEvent = Annotated[
    str,
    Query(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z][A-Za-z0-9_.:\- ]*$",
        description="The conversion: this event at or after the person's first exposure",
    ),
]


@router.get(
    "/experiments/{experiment}",
    response_model=ExperimentAnswer,
    summary="An A/B test: conversion per variant, uplift with 95% CI, p-value, SRM check",
    responses={404: {"description": "No exposures to this experiment in the range"}},
)
async def experiment(
    services: ServicesDep,
    _: Reader,
    experiment: ExperimentName,
    goal: GoalEvent,
    start: From = None,
    end: To = None,
    control: Annotated[str | None, Query(max_length=100)] = None,
) -> ExperimentAnswer:
    start, end = resolve_range(start or (end or _now()) - timedelta(days=90), end, Granularity.DAY)
    rows = await services.pool.fetch(
        """
        WITH exposed AS (
            SELECT DISTINCT ON (person) person, variant, exposed_at
            FROM (SELECT coalesce(link.user_id, x.actor) AS person, x.variant, x.exposed_at
                  FROM experiment_exposures AS x
                  LEFT JOIN identity_links AS link ON link.anonymous_id = x.actor
                  WHERE x.experiment = $1) AS exposures
            ORDER BY person, exposed_at, variant
        ),
        in_range AS (SELECT * FROM exposed WHERE exposed_at >= $2 AND exposed_at < $3),
        -- Every id a person's events may carry: theirs and the anonymous ids linked to it.
        ids AS (
            SELECT person, person AS actor FROM in_range
            UNION
            SELECT in_range.person, link.anonymous_id FROM in_range
            JOIN identity_links AS link ON link.user_id = in_range.person
        ),
        converted AS (
            SELECT DISTINCT ids.person FROM ids
            JOIN in_range USING (person)
            JOIN person_events AS pe
              ON pe.actor = ids.actor AND pe.event = $4 AND pe.last_at >= in_range.exposed_at
        )
        SELECT variant, count(*) AS exposures, count(converted.person) AS conversions
        FROM in_range LEFT JOIN converted USING (person)
        GROUP BY variant ORDER BY variant
        """,
        experiment,
        start,
        end,
        goal,
    )
    if not rows:
        raise HTTPException(404, f"no exposures to experiment {experiment!r} in the range")
    if len(rows) < 2:
        raise HTTPException(
            422,
            f"only variant {rows[0]['variant']!r} has exposures in the range: nothing to compare",
        )
    try:
        design = Experiment(
            variants=[
                VariantCounts(
                    name=row["variant"],
                    exposures=row["exposures"],
                    conversions=row["conversions"],
                )
                for row in rows
            ],
            control=control,
        )
    except ValidationError as error:
        reasons = "; ".join(item["msg"].removeprefix("Value error, ") for item in error.errors())
        raise HTTPException(422, reasons) from None
    result = analyze_experiment(design)
    return ExperimentAnswer(
        **result.model_dump(), experiment=experiment, goal=goal, start=start, end=end
    )
