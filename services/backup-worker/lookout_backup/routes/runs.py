"""The runs: the newest, one with its artifacts, and a backup's authenticated manifest."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from lookout_backup import store
from lookout_backup.bootstrap import PoolDep, RunnerDep
from lookout_backup.load import RestoreRefused
from lookout_backup.manifest import Manifest
from lookout_backup.restore import read_manifest
from lookout_common.contracts.backup_api import Run, RunDetail, StoredArtifact
from lookout_common.infra.auth import Reader

router = APIRouter(tags=["backups"])


def _run(row: Any) -> dict[str, Any]:
    return {key: row[key] for key in Run.model_fields}


@router.get("/api/v1/backups/runs", response_model=list[Run])
async def list_runs(
    pool: PoolDep,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=500, description="Newest runs to list")] = 50,
) -> list[Run]:
    rows = await store.runs(pool, limit)
    return [Run.model_validate(_run(row)) for row in rows]


@router.get(
    "/api/v1/backups/runs/{run_id}",
    response_model=RunDetail,
    responses={404: {"description": "No such run"}},
)
async def show_run(pool: PoolDep, run_id: str, _: Reader) -> RunDetail:
    row = await store.run(pool, run_id)
    if row is None:
        raise HTTPException(404, f"no run {run_id}")
    artifacts = await store.artifacts(pool, run_id)
    return RunDetail(
        **_run(row),
        artifacts=[StoredArtifact.model_validate(dict(a)) for a in artifacts],
    )


@router.get(
    "/api/v1/backups/runs/{run_id}/manifest",
    response_model=Manifest,
    responses={
        404: {
            "description": "No manifest it can trust (the run failed, is not a backup, or"
            " its manifest does not authenticate)"
        }
    },
)
async def manifest(pool: PoolDep, runner: RunnerDep, run_id: str, _: Reader) -> Manifest:
    try:
        recorded = await store.recorded_authentication(pool)
        return await read_manifest(runner.target, run_id, runner.keyring, recorded)
    except RestoreRefused as error:
        raise HTTPException(404, str(error)) from None
