"""`lookout_client.admin.models` restates dashboard-api's answers (the client must not
import lookout_common). This test holds the two together: it builds dashboard-api's
OpenAPI document and compares every field of every admin model, reached from the
answer of each call the client makes, with the document's schema — wire name,
required-ness, type and default — both ways: a field the document lacks and a property of
the document the model lacks both fail, so renaming, retyping, adding or dropping a field
on either side does.

dashboard-api writes every field its response model declares (FastAPI serializes the
whole model, and its relay to health-monitor and backup-worker dumps the checked model
again), so a property of the document is always in the answer."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from lookout_client.admin import models
from pydantic import BaseModel

from lookout_dashboard.app import create_app

# Each answer the client reads, by the request that gets it, and the type it reads it as.
ANSWERS: dict[tuple[str, str], object] = {
    ("POST", "/api/v1/health/checks/run"): list[models.CheckResult],
    ("GET", "/api/v1/health/status"): models.SystemStatus,
    ("GET", "/api/v1/health/incidents"): list[models.Incident],
    ("GET", "/api/v1/health/checks"): list[models.CheckSummary],
    ("GET", "/api/v1/health/locations"): dict[str, list[models.CheckLocation]],
    ("POST", "/api/v1/backups/actions"): models.Accepted,
    ("POST", "/api/v1/backups/schedules"): models.Schedule,
    ("GET", "/api/v1/backups/runs"): list[models.Run],
    ("GET", "/api/v1/backups/runs/{run_id}"): models.RunDetail,
    ("GET", "/api/v1/backups/schedules"): list[models.Schedule],
}

# Optional in the document but always in the answer: dashboard-api's Schedule gives
# them defaults, and the answer carries every declared field. The client requires them.
FILLED_BY_THE_API = {
    ("Schedule", name)
    for name in (
        "minute",
        "weekday",
        "day_of_month",
        "timezone",
        "collections",
        "retention",
        "trial_restore",
        "enabled",
    )
}

Shape = frozenset[object]  # the JSON values a field may hold, one entry per alternative
REF = "#/components/schemas/"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # No lifespan: building the document needs neither the database nor the broker.
    return create_app().openapi()


def _schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].removeprefix(REF)]
    return schema


def _document_shape(document: dict[str, Any], schema: dict[str, Any]) -> Shape:
    """What the document lets a value be: scalars by JSON type (date-times apart), arrays
    and maps by what they hold, objects with properties by their schema's name."""
    if "anyOf" in schema:
        return frozenset().union(*(_document_shape(document, one) for one in schema["anyOf"]))
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(REF)
        target = _schema(document, schema)
        if "properties" in target:
            return frozenset({("model", name)})
        return _document_shape(document, target)
    kind = schema.get("type")
    if kind == "array":
        return frozenset({("array", _document_shape(document, schema["items"]))})
    if kind == "object":
        values = schema.get("additionalProperties", True)
        held = "anything" if values is True else _document_shape(document, values)
        return frozenset({("map", held)})
    if kind == "string" and schema.get("format") == "date-time":
        return frozenset({"date-time"})
    assert kind in ("string", "integer", "number", "boolean", "null"), schema
    return frozenset({kind})


SCALARS: dict[object, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    datetime: "date-time",
    type(None): "null",
}


def _client_shape(annotation: object, names: dict[type[BaseModel], str]) -> Shape:
    """The same, for a type of the client's models; `names` pairs each client model
    with the document's schema it was found against."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return frozenset().union(
            *(_client_shape(one, names) for one in typing.get_args(annotation))
        )
    if origin is list:
        (item,) = typing.get_args(annotation)
        return frozenset({("array", _client_shape(item, names))})
    if origin is dict:
        key, value = typing.get_args(annotation)
        assert key is str
        held = "anything" if value is object else _client_shape(value, names)
        return frozenset({("map", held)})
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return frozenset({("model", names.get(annotation, f"(client) {annotation.__name__}"))})
    return frozenset({SCALARS[annotation]})


def _nested_models(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _nested_models(argument)


def _pair(
    document: dict[str, Any],
    annotation: object,
    schema: dict[str, Any],
    names: dict[type[BaseModel], str],
) -> None:
    """Records which document schema each client model inside `annotation` stands for."""
    if "anyOf" in schema:
        for one in schema["anyOf"]:
            _pair(document, annotation, one, names)
        return
    if "$ref" in schema and "properties" in _schema(document, schema):
        for model in _nested_models(annotation):
            names.setdefault(model, schema["$ref"].removeprefix(REF))
        return
    if schema.get("type") == "array":
        for argument in typing.get_args(annotation) or (annotation,):
            _pair(document, argument, schema["items"], names)
    if isinstance(schema.get("additionalProperties"), dict):
        for argument in typing.get_args(annotation)[1:]:
            _pair(document, argument, schema["additionalProperties"], names)


def _answer_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses = document["paths"][path][method.lower()]["responses"]
    (success,) = [answer for status, answer in responses.items() if status.startswith("2")]
    schema: dict[str, Any] = success["content"]["application/json"]["schema"]
    return schema


def _mismatches(document: dict[str, Any]) -> tuple[list[str], set[type[BaseModel]]]:
    """Every difference between the client's models and the document, and the models
    that were compared."""
    names: dict[type[BaseModel], str] = {}
    problems: list[str] = []
    for (method, path), answer in ANSWERS.items():
        schema = _answer_schema(document, method, path)
        _pair(document, answer, schema, names)
        if _client_shape(answer, names) != _document_shape(document, schema):
            problems.append(f"{method} {path}: the answer is not a {answer}")
    compared: set[type[BaseModel]] = set()
    while pending := [model for model in names if model not in compared]:
        for model in pending:
            compared.add(model)
            problems += _field_mismatches(document, model, names)
    return problems, compared


def _field_mismatches(
    document: dict[str, Any], model: type[BaseModel], names: dict[type[BaseModel], str]
) -> list[str]:
    name = names[model]
    schema = document["components"]["schemas"][name]
    required = set(schema.get("required", []))
    problems = []
    declared = {field.alias or field_name for field_name, field in model.model_fields.items()}
    for wire in schema["properties"]:
        if wire not in declared:
            problems.append(f"{model.__name__} ({name}): the client has no field for `{wire}`")
    for field_name, field in model.model_fields.items():
        wire = field.alias or field_name
        where = f"{model.__name__}.{field_name} (`{wire}` of {name})"
        if wire not in schema["properties"]:
            problems.append(f"{where}: the document has no such property")
            continue
        property_schema = schema["properties"][wire]
        _pair(document, field.annotation, property_schema, names)
        filled = (model.__name__, wire) in FILLED_BY_THE_API
        if field.is_required() != (wire in required or filled):
            problems.append(
                f"{where}: {'required' if field.is_required() else 'optional'} in the client,"
                f" {'required' if wire in required else 'optional'} in the document"
            )
        if _client_shape(field.annotation, names) != _document_shape(document, property_schema):
            problems.append(f"{where}: {field.annotation} in the client, {property_schema}")
        if "default" in property_schema and not field.is_required():
            default = field.get_default(call_default_factory=True)
            if default != property_schema["default"]:
                problems.append(
                    f"{where}: defaults to {default!r} in the client,"
                    f" {property_schema['default']!r} in the document"
                )
    return problems


def test_every_admin_model_field_matches_dashboard_apis_answer(document: dict[str, Any]) -> None:
    problems, _ = _mismatches(document)
    assert not problems, "\n".join(problems)


def test_every_admin_model_is_compared(document: dict[str, Any]) -> None:
    _, compared = _mismatches(document)
    exported = {
        value
        for value in vars(models).values()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == models.__name__
        and not value.__name__.startswith("_")
    }
    assert compared == exported


def test_each_field_the_api_fills_is_optional_in_the_document(document: dict[str, Any]) -> None:
    # An entry the document now requires is no longer an exception: remove it.
    schemas = document["components"]["schemas"]
    for model, wire in FILLED_BY_THE_API:
        assert wire in schemas[model]["properties"]
        assert wire not in schemas[model].get("required", [])


def test_a_renamed_or_retyped_field_is_found(document: dict[str, Any]) -> None:
    # The comparison itself, on a client model that drifted three ways.
    class Drifted(models._CamelAnswer):
        command: str  # renamed from command_id
        operation: int  # retyped from str
        queued: bool = False  # not in the document

    problems = _field_mismatches(document, Drifted, {Drifted: "Accepted"})
    assert [problem.split(":")[0] for problem in problems] == [
        "Drifted (Accepted)",
        "Drifted.command (`command` of Accepted)",
        "Drifted.operation (`operation` of Accepted)",
        "Drifted.queued (`queued` of Accepted)",
    ]
    assert "the client has no field for `commandId`" in problems[0]


def test_a_property_the_client_lacks_or_a_different_default_is_found(
    document: dict[str, Any],
) -> None:
    # A model that never learnt of a field the API added, and one whose default drifted.
    class Behind(models._CamelAnswer):
        command_id: str

    class Retention(models._Answer):
        retention_days: int | None = None
        keep_last: int = 1  # the document's default is 0
        keep_daily: int = 0
        keep_weekly: int = 0
        keep_monthly: int = 0

    retention = "lookout_common__contracts__backup_events__Retention"
    assert _field_mismatches(document, Behind, {Behind: "Accepted"}) == [
        "Behind (Accepted): the client has no field for `operation`"
    ]
    assert _field_mismatches(document, Retention, {Retention: retention}) == [
        f"Retention.keep_last (`keep_last` of {retention}): defaults to 1 in the client,"
        " 0 in the document"
    ]
