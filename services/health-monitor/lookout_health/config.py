"""The checks configuration: a YAML file validated into pydantic models.

Errors name the file, the line and the reason, so an operator can fix a typo
without reading a traceback. `${VAR}` in a string is replaced by the environment
variable (DSNs and keys stay out of the file).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from lookout_common.infra.kafka import KafkaAuth
from lookout_health.jsonpath import Operator, check_operand, parse_path

CheckName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,62}$")]
# A component is shown on the public status page: a label, not markup.
ComponentName = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[^<>&\x00-\x1f]+$")]
# What a check watches, as the IETF health format names it (`componentType`).
ComponentType = Literal["datastore", "component", "system"]


class CheckBase(BaseModel):
    """What every check kind takes. A kind is one subclass with a `kind` literal, listed in
    `CheckConfig`, and one probe registered for the class in `lookout_health.checks`."""

    model_config = ConfigDict(extra="forbid")
    component_type: ClassVar[ComponentType] = "component"

    name: CheckName
    component: ComponentName | None = Field(
        None,
        description="The status page and SLA component this check belongs to; unset = its own name",
    )
    critical: bool = True
    interval_s: float = Field(60.0, gt=0, description="Time between runs")
    timeout_s: float = Field(10.0, gt=0, description="A run slower than this is a failure")
    degraded_after_ms: float | None = Field(
        None, gt=0, description="A successful run slower than this is `degraded`"
    )
    max_response_ms: float | None = Field(
        None, gt=0, description="A run slower than this fails, whatever it found"
    )
    failures_before_incident: int = Field(3, ge=1)
    successes_before_resolve: int = Field(2, ge=1)
    # Every value a `${VAR}` put into the config file: this check's messages never show it.
    _expanded: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @property
    def expanded(self) -> frozenset[str]:
        return self._expanded

    @property
    def component_name(self) -> str:
        """The component it is shown and reported under (`component`, else its own name)."""
        return self.component or self.name


class PostgresCheck(CheckBase):
    component_type: ClassVar[ComponentType] = "datastore"
    kind: Literal["postgres"]
    dsn: str


class TableCheck(CheckBase):
    """Each listed table readable with the configured role ("collection accessibility")."""

    component_type: ClassVar[ComponentType] = "datastore"
    kind: Literal["table"]
    dsn: str
    tables: list[
        Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")]
    ]


class KafkaCheck(CheckBase):
    kind: Literal["kafka"]
    bootstrap: str
    auth: KafkaAuth = Field(
        default_factory=KafkaAuth, description="SASL and TLS (Lookout's own in the defaults)"
    )
    canary_topic: str | None = Field(None, description="Produce and read back a canary here")


class S3Check(CheckBase):
    component_type: ClassVar[ComponentType] = "datastore"
    kind: Literal["s3"]
    bucket: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    canary: bool = Field(True, description="Put, get and delete a canary object")


class DirectoryCheck(CheckBase):
    """A local directory accepts a file (the embedded stack's backup target)."""

    component_type: ClassVar[ComponentType] = "datastore"
    kind: Literal["directory"]
    path: Path


class JsonCondition(BaseModel):
    """A condition on the JSON body (`lookout_health.jsonpath`): the value at `path` is
    present, and compares with `value` by `op`. `equals: x` is short for `op: "==",
    value: x`. Checked when the config loads: the path's syntax, the operand's type, the
    regular expression."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="`$.checks[0].status`, or the dotted form `checks.0.status`")
    op: Operator | None = Field(None, description="==, !=, <, > or matches (RE2)")
    value: Any = None
    equals: Any = None
    present: bool = Field(True, description="False: a missing value passes")

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        parse_path(path)  # raises PathError, a ValueError naming the character
        return path

    @model_validator(mode="after")
    def _comparison(self) -> JsonCondition:
        if self.equals is not None:
            if self.op is not None:
                raise ValueError("give either `equals` or `op` and `value`, not both")
            self.op, self.value = "==", self.equals
        elif self.op is not None:
            check_operand(self.op, self.value)
        elif self.value is not None:
            raise ValueError("`value` needs an `op` (==, !=, <, > or matches)")
        return self


class HttpCheck(CheckBase):
    kind: Literal["http"]
    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expect_status: list[int] = Field(default_factory=lambda: [200])
    json_conditions: list[JsonCondition] = Field(default_factory=list, alias="json")
    cert_expires_within_days: float | None = Field(
        None, gt=0, description="https: a certificate expiring sooner is `degraded`"
    )
    ca_file: Path | None = Field(None, description="Trust these CAs instead of the system's")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value


class TcpCheck(CheckBase):
    kind: Literal["tcp"]
    host: str
    port: int = Field(ge=1, le=65535)
    send: str | None = None
    expect: str | None = Field(None, description="Bytes the server must answer with")


class TlsCheck(CheckBase):
    """A TLS handshake: the certificate verifies for `server_name`, is not expired, and
    expires no sooner than `cert_expires_within_days` (else `degraded`)."""

    kind: Literal["tls"]
    host: str
    port: int = Field(443, ge=1, le=65535)
    server_name: str | None = Field(None, description="SNI and the name verified; unset = host")
    cert_expires_within_days: float = Field(14.0, gt=0)
    ca_file: Path | None = Field(None, description="Trust these CAs instead of the system's")
    verify: bool = Field(True, description="False: only the expiry dates are checked")


class DnsCheck(CheckBase):
    component_type: ClassVar[ComponentType] = "system"
    kind: Literal["dns"]
    host: str
    expect_addresses: list[str] = Field(default_factory=list)


class HeartbeatCheck(CheckBase):
    """A push check (`lookout_health.heartbeats`): something pings
    `/api/v1/health/heartbeats/{name}` with `token` at least every `period_s`; a ping
    that says `fail`, or silence longer than `period_s + grace_s`, fails the check. It is
    judged every `interval_s`, and at once when a ping arrives; one failed run opens the
    incident and one good ping resolves it."""

    kind: Literal["heartbeat"]
    period_s: float = Field(gt=0, le=366 * 86400, description="How often a ping is expected")
    grace_s: float = Field(60.0, ge=0, description="How late a ping may be")
    token: SecretStr = Field(
        min_length=16, max_length=512, description="The pings' secret (write it as ${VAR})"
    )
    interval_s: float = Field(10.0, gt=0, description="How often the silence is judged")
    failures_before_incident: int = Field(1, ge=1)
    successes_before_resolve: int = Field(1, ge=1)


class CustomCheck(CheckBase):
    """A Python coroutine function `async def check() -> str | CheckOutcome`."""

    kind: Literal["custom"]
    function: str | None = Field(None, description="`package.module:function`")
    entry_point: str | None = Field(None, description="A name in `lookout.health_checks`")


CheckConfig = Annotated[
    PostgresCheck
    | TableCheck
    | KafkaCheck
    | S3Check
    | DirectoryCheck
    | HttpCheck
    | TcpCheck
    | TlsCheck
    | DnsCheck
    | HeartbeatCheck
    | CustomCheck,
    Field(discriminator="kind"),
]
CHECK_CLASSES: tuple[type[CheckBase], ...] = get_args(get_args(CheckConfig)[0])


def kind_of(check_class: type[CheckBase]) -> str:
    """The `kind` a check class is written as in the config file."""
    (kind,) = get_args(check_class.model_fields["kind"].annotation)
    return str(kind)


KINDS: dict[str, type[CheckBase]] = {
    kind_of(check_class): check_class for check_class in CHECK_CLASSES
}


class HealthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checks: list[CheckConfig] = Field(default_factory=list)

    @field_validator("checks")
    @classmethod
    def _unique_names(cls, checks: list[CheckBase]) -> list[CheckBase]:
        seen: set[str] = set()
        for check in checks:
            if check.name in seen:
                raise ValueError(f"check name {check.name!r} is used twice")
            seen.add(check.name)
        return checks


class ConfigError(Exception):
    """An invalid configuration file: where and why."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.reason = str(path), line, reason


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(node: yaml.Node, path: Path, expanded: set[str]) -> Any:
    """The node as plain data, with `${VAR}` expanded in strings (each value put into
    `expanded`)."""
    if isinstance(node, yaml.MappingNode):
        return {
            _expand(key, path, expanded): _expand(value, path, expanded)
            for key, value in node.value
        }
    if isinstance(node, yaml.SequenceNode):
        return [_expand(item, path, expanded) for item in node.value]
    try:
        value = yaml.constructor.SafeConstructor().construct_object(node)
    except (yaml.YAMLError, ValueError, OverflowError) as error:
        # A scalar YAML types but Python cannot build: `host: 2024-13-01` is a "date".
        raise ConfigError(
            path, node.start_mark.line + 1, f"{node.value!r} is not a valid value: {error}"
        ) from None
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(
                    path, node.start_mark.line + 1, f"environment variable {name} is not set"
                )
            expanded.add(os.environ[name])
            return os.environ[name]

        return _VARIABLE.sub(substitute, value)
    return value


def _line_of(root: yaml.Node, location: tuple[Any, ...]) -> int | None:
    """The line of the deepest node of `location` that exists in the document."""
    node, line = root, root.start_mark.line + 1
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            match = node.value[part]
        else:
            match = None
        if match is None:
            break
        node, line = match, match.start_mark.line + 1
    return line


def parse_config(text: str, path: Path | str = "<config>") -> HealthConfig:
    """Validate a YAML document; raises ConfigError with the file, line and reason."""
    path = Path(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError(
            path, mark.line + 1 if mark else None, f"invalid YAML: {reason}"
        ) from None
    if root is None:
        return HealthConfig()
    expanded: set[str] = set()
    data = _expand(root, path, expanded)
    try:
        config = HealthConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        location = tuple(part for part in first["loc"] if not _is_union_tag(part, first["loc"]))
        field = ".".join(str(part) for part in location)
        raise ConfigError(path, _line_of(root, location), f"{field}: {first['msg']}") from None
    for check in config.checks:
        # Any value from the environment, whichever check it was written in.
        check._expanded = frozenset(expanded)
    return config


def _is_union_tag(part: Any, location: tuple[Any, ...]) -> bool:
    # pydantic puts the discriminator's value ("http") into the location of a tagged union
    return (
        isinstance(part, str)
        and part in KINDS
        and location.index(part) > 0
        and isinstance(location[location.index(part) - 1], int)
    )


def load_config(path: Path) -> HealthConfig:
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(path, None, f"cannot read: {error.strerror}") from None
    return parse_config(text, path)
