"""`lookout up`'s settings: the one-machine stack's drain, embedded broker storage and
watchdog (flags of `lookout up` override these)."""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from lookout_common.infra.settings.base import LOOKOUT_ENVIRONMENT


class StackSettings(BaseSettings):
    """`lookout up`, the one-machine stack (flags of `lookout up` override these)."""

    model_config = LOOKOUT_ENVIRONMENT

    drain_timeout_s: float = Field(
        60.0,
        ge=0,
        description="On stop, how long to wait for the aggregator to store what the broker holds",
    )
    embedded_broker: Literal["s3", "memory"] = Field(
        "s3", description="Embedded broker's storage: s3 (durable, on SeaweedFS) or memory"
    )
    watchdog_interval_s: float = Field(
        5.0,
        gt=0,
        description="How often `lookout up` probes each service's /healthz (and how long a "
        "probe waits for an answer)",
    )
    watchdog_failures: int = Field(
        3,
        ge=1,
        description="Probes in a row answered 503 or not at all after which `lookout up` "
        "restarts the service",
    )
    watchdog_start_grace_s: float = Field(
        120.0,
        gt=0,
        description="A service that has never answered /healthz 200 is left to start this long",
    )
