"""The settings both clients take, checked once when the client is built."""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from lookout_client.delivery import RetryPolicy
from lookout_client.outbox import REQUEST_OVERHEAD
from lookout_client.version import __version__

# ingest's defaults (LOOKOUT_MAX_EVENT_BYTES, LOOKOUT_MAX_REQUEST_BYTES).
MAX_EVENT_BYTES = 32_768
MAX_REQUEST_BYTES = 512_000


class ClientOptions(BaseModel):
    """Constructor arguments; a bad one raises ValueError when the client is built."""

    model_config = ConfigDict(frozen=True)

    write_key: SecretStr
    endpoint: str
    flush_at: int = Field(100, ge=1)
    flush_interval_s: float = Field(5.0, gt=0)
    max_queue: int = Field(10_000, ge=1)
    max_retries: int = Field(10, ge=0)
    timeout_s: float = Field(10.0, gt=0)
    backoff_s: float = Field(0.5, gt=0)
    max_backoff_s: float = Field(30.0, gt=0)
    max_event_bytes: int = Field(MAX_EVENT_BYTES, ge=1)
    max_request_bytes: int = Field(MAX_REQUEST_BYTES, ge=1)

    @field_validator("write_key")
    @classmethod
    def _key_given(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("write_key is empty")
        return value

    @field_validator("endpoint")
    @classmethod
    def _base_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as error:
            raise ValueError(f"endpoint is not a URL: {error}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("endpoint must be an http(s) URL such as http://ingest:8001")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _event_fits_request(self) -> ClientOptions:
        if self.max_event_bytes + REQUEST_OVERHEAD > self.max_request_bytes:
            raise ValueError("max_request_bytes must leave room for one max_event_bytes event")
        return self

    @property
    def batch_url(self) -> str:
        return f"{self.endpoint}/v1/batch"

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.max_retries, self.backoff_s, self.max_backoff_s)

    @property
    def auth(self) -> httpx.BasicAuth:
        # Segment's convention: the write key is the Basic user name, the password empty.
        return httpx.BasicAuth(self.write_key.get_secret_value(), "")

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": f"lookout-client/{__version__} (python)",
        }
