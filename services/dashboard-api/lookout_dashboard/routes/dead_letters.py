"""Data quality: the events ingest and the aggregator dead-lettered, by reason code and
stage, per UTC hour, with the latest reasons. Reads what the aggregator counts from
`analytics.events.dlq.v1` (dead_letter_counts, dead_letter_reasons), never the topic.

An hour counts when its start lies in [from, to) (UTC-hour resolution); a range may
cover up to two years, like the daily series.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import Field

from lookout_common.contracts.models import Camel
from lookout_common.infra.auth import Reader
from lookout_dashboard.bootstrap import ServicesDep
from lookout_dashboard.queries.ranges import From, Granularity, Span, To, resolve_range
from lookout_dashboard.queries.rollups import RangeReader, Top
from lookout_dashboard.routes.responses import RANGE_ERRORS

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=RANGE_ERRORS)


class CodeCount(Camel):
    code: str = Field(
        description="Reason category: invalid, undecodable, timestamp_out_of_range, "
        "refused_by_database, processing_error"
    )
    letters: int = Field(description="Dead letters in the range")


class StageCount(Camel):
    stage: str = Field(
        description="Where it was rejected: ingest, aggregator ('unknown': a record on the "
        "dead-letter topic that is not a dead letter)"
    )
    letters: int = Field(description="Dead letters in the range")


class Cell(Camel):
    stage: str
    code: str
    letters: int


class HourCount(Camel):
    bucket: datetime = Field(description="Start of the UTC hour")
    letters: int = Field(description="Dead letters rejected in that hour")


class Reason(Camel):
    code: str
    stage: str
    reason: str = Field(description="What was wrong, as the stage said it (500 characters)")
    error_type: str | None = Field(description="Exception that isolated it (aggregator)")
    letters: int = Field(description="Dead letters with this reason since it was first kept")
    first_seen: datetime = Field(description="UTC hour it was first seen")
    last_seen: datetime = Field(description="UTC hour it was last seen")


class DeadLetters(Camel):
    range: Span
    total: int = Field(description="Dead letters in the range")
    by_code: list[CodeCount] = Field(description="Per reason code, most first")
    by_stage: list[StageCount] = Field(description="Per stage, most first")
    cells: list[Cell] = Field(description="Per stage and code, most first")
    series: list[HourCount] = Field(description="Hours with any dead letter, oldest first")
    recent_reasons: list[Reason] = Field(
        description="The latest reasons seen in the range, newest first (the aggregator keeps "
        "the 20 latest distinct reasons per code)"
    )


@router.get(
    "/dead-letters",
    response_model=DeadLetters,
    summary="Data quality: dead-lettered events by reason code and stage, per UTC hour, "
    "with the latest reasons",
)
async def dead_letters(
    services: ServicesDep, _: Reader, start: From = None, end: To = None, limit: Top = 20
) -> DeadLetters:
    reader = RangeReader.of(services, *resolve_range(start, end, Granularity.DAY))
    cells = await reader.models(
        Cell,
        """
        SELECT stage, code, sum(letters)::bigint AS letters FROM dead_letter_counts
        WHERE bucket >= $1 AND bucket < $2
        GROUP BY stage, code ORDER BY letters DESC, stage, code
        """,
    )
    series = await reader.models(
        HourCount,
        """
        SELECT bucket, sum(letters)::bigint AS letters FROM dead_letter_counts
        WHERE bucket >= $1 AND bucket < $2 GROUP BY bucket ORDER BY bucket
        """,
    )
    reasons = await reader.models(
        Reason,
        """
        SELECT code, stage, reason, error_type, letters, first_seen, last_seen
        FROM dead_letter_reasons WHERE last_seen >= $1 AND last_seen < $2
        ORDER BY last_seen DESC, letters DESC, code, stage, reason LIMIT $3
        """,
        limit,
    )
    by_code: dict[str, int] = {}
    by_stage: dict[str, int] = {}
    for cell in cells:
        by_code[cell.code] = by_code.get(cell.code, 0) + cell.letters
        by_stage[cell.stage] = by_stage.get(cell.stage, 0) + cell.letters
    return DeadLetters(
        range=reader.span(),
        total=sum(cell.letters for cell in cells),
        by_code=[CodeCount(code=c, letters=n) for c, n in _most_first(by_code)],
        by_stage=[StageCount(stage=s, letters=n) for s, n in _most_first(by_stage)],
        cells=cells,
        series=series,
        recent_reasons=reasons,
    )


def _most_first(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
