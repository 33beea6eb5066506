"""dashboard-api's settings: browser origins, the services its tabs read, the backup
command key and the live stream's limits."""

import re
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from lookout_common.infra.settings.base import LookoutSettings, list_or_commas

# An exact browser origin, as in its Origin header: https://admin.example.com or http://127.0.0.1:8080.
CORS_ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?"
)


class DashboardSettings(LookoutSettings):
    http_port: int = 8000
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port], exact, comma separated or a JSON list) whose"
        " pages may call the API and the live stream from a browser, e.g. a host admin page"
        " embedding <lookout-dashboard>; none by default",
    )
    active_window_s: int = Field(300, ge=60, description="'Active users' look-back window")
    health_monitor_url: str = Field(
        "http://127.0.0.1:8003", description="health-monitor's API (the health tab reads it)"
    )
    backup_worker_url: str = Field(
        "http://127.0.0.1:8004", description="backup-worker's API (the backups tab reads it)"
    )
    backup_command_key: SecretStr | None = Field(
        None, description="Key that signs backup commands (shared with the backup worker)"
    )
    stream_tick_s: float = Field(
        5.0, gt=0, le=60, description="How often the live stream sends fresh overview metrics"
    )
    stream_key_check_s: float = Field(
        5.0, gt=0, le=300, description="How often a live stream re-checks its API key"
    )
    stream_max_per_key: int = Field(
        5, ge=1, le=1000, description="Live streams one API key may hold open at once"
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins_list_or_commas(cls, value: Any) -> Any:
        return list_or_commas(value)

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not CORS_ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port], exactly as the"
                    " browser sends it (no path, no trailing slash, no wildcard)"
                )
        return value
