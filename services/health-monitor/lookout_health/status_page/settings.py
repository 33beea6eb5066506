"""The status page's settings (environment, `LOOKOUT_` prefix)."""

from __future__ import annotations

from functools import cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class StatusPageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", extra="ignore")

    status_key: SecretStr | None = Field(
        None,
        min_length=8,
        description="When set, /status, /status.json and the feed need this key "
        "(`?key=` or the `X-Status-Key` header); unset = public",
    )
    status_title: str = Field(
        "Lookout status", min_length=1, max_length=120, description="The page's heading"
    )
    status_cache_s: float = Field(
        5.0, ge=0, le=300, description="How long the page's data is reused between requests"
    )


@cache
def status_page_settings() -> StatusPageSettings:
    return StatusPageSettings()
