"""Names from a manifest or the catalog: one quoting function, column types only in the
shapes format_type() prints, run ids prune may touch, file-safe table stems."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from lookout_backup.manifest import CollectionDDL, Column
from lookout_backup.names import ColumnType, is_run_id, object_stem, qualified, quote

TYPES = TypeAdapter(ColumnType)


def test_quote_doubles_embedded_quotes_so_a_name_never_ends_the_identifier() -> None:
    assert quote("users") == '"users"'
    assert quote('a"; DROP TABLE users; --') == '"a""; DROP TABLE users; --"'
    assert qualified("public", 'we"ird') == '"public"."we""ird"'
    with pytest.raises(ValueError, match="NUL"):
        quote("a\x00b")


@pytest.mark.parametrize(
    "shape",
    [
        "integer",
        "bigint",
        "text",
        "numeric(10,2)",
        "character varying(255)",
        "character(3)",
        "double precision",
        "timestamp with time zone",
        "timestamp(3) without time zone",
        "time without time zone",
        "interval",
        "interval year to month",
        "jsonb",
        "text[]",
        "integer[][]",
        '"char"',
        "public.mood",
        '"Weird Schema"."Mood"',
        "bit varying(8)",
        "uuid",
    ],
)
def test_every_shape_format_type_prints_is_accepted(shape: str) -> None:
    assert TYPES.validate_python(shape) == shape


@pytest.mark.parametrize(
    "hostile",
    [
        "text); COPY (SELECT 1) TO PROGRAM 'id'; --",
        "text NOT NULL, evil int",
        "integer primary key",
        "text references users",
        'text collate "C"',
        "int DEFAULT 1",
        '"a"b"',
        "text -- comment",
        "text/**/",
        "",
    ],
)
def test_anything_else_in_a_column_type_is_refused(hostile: str) -> None:
    with pytest.raises(ValidationError, match="not a type name"):
        TYPES.validate_python(hostile)


def test_ddl_quotes_every_name_and_checks_the_primary_key() -> None:
    ddl = CollectionDDL(
        columns=[
            Column(name='id"; DROP TABLE users; --', type="integer", nullable=False),
            Column(name="note", type="text", nullable=True),
        ],
        primary_key=['id"; DROP TABLE users; --'],
    )
    statement = ddl.create_statement('"s"."t"')
    assert statement == (
        'CREATE TABLE IF NOT EXISTS "s"."t" ("id""; DROP TABLE users; --" integer NOT NULL,'
        ' "note" text, PRIMARY KEY ("id""; DROP TABLE users; --"))'
    )
    with pytest.raises(ValidationError, match="primary key names columns"):
        CollectionDDL(columns=[Column(name="a", type="text", nullable=True)], primary_key=["b"])


def test_prune_touches_only_names_new_run_id_makes() -> None:
    assert is_run_id("20261201T075859Z-backup-619e97")
    for name in ("notes", "2019-report", "20261201T075859Z-backup-619e97/..", "..", "other-app"):
        assert not is_run_id(name), name


def test_object_stem_keeps_plain_names_and_hashes_the_rest() -> None:
    assert object_stem("users") == "users"
    for hostile in ("../../etc/passwd", "a/b", 'we"ird', "ünïcode"):
        stem = object_stem(hostile)
        assert stem.startswith("t-")
        assert len(stem) == 18
        assert "/" not in stem
        assert "." not in stem
