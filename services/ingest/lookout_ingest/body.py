"""A request body from bytes to a JSON object, each step bounded: gunzip (cut off at the
request limit), then JSON. Every refusal is a `BodyRefused` naming why."""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

import orjson

# An escaped surrogate (`\uD800` to `\uDFFF`, any case): the one way a string parsed from
# UTF-8 can hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NUMBER_CLASSES = bytes(
    ord("d") if byte in b"0123456789" else ord("c") if byte in b":,[-" else ord("x")
    for byte in range(256)
)
_LONG_NUMBER = b"c" + b"d" * 19


class BodyRefused(Exception):
    """The body cannot be read at all; `too_large` tells a 413 from a 400 or 415."""

    def __init__(self, reason: str, *, too_large: bool = False, unsupported: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large
        self.unsupported = unsupported


def too_large_reason(limit: int) -> str:
    return f"request body exceeds {limit} bytes"


def decoded(raw: bytes, content_encoding: str, limit: int) -> bytes:
    """`raw` gunzipped when sent so, refused past `limit` bytes after decompression."""
    encoding = content_encoding.lower().strip()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise BodyRefused(f"unsupported Content-Encoding {encoding!r}; use gzip", unsupported=True)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error as error:
        raise BodyRefused(f"body is not valid gzip: {error}") from None
    if len(body) > limit or inflater.unconsumed_tail:
        raise BodyRefused(f"decompressed request body exceeds {limit} bytes", too_large=True)
    if not inflater.eof:
        raise BodyRefused("body is not valid gzip: truncated stream")
    return body


def parse_plain_json(body: bytes) -> tuple[dict[str, Any], bool]:
    """`parse_json(body)`, and whether its strings and keys are proven free of surrogates.

    The common body is read by orjson, about twice as fast as `json`. orjson refuses
    what is not UTF-8 and any escaped lone surrogate, so what it reads from a body without
    a surrogate escape holds no surrogate, which spares `bounds.shape_errors` its search of
    each string (see `bounds.fits`). It reads an integer past 64 bits as a float, where
    `json` keeps it an integer (and the bounds refuse it), so a body that may hold a number
    of 19 digits or more is left to `parse_json`, as is any body orjson refuses (a BOM,
    UTF-16, NaN, nesting past its 1,024 levels), so the result and every refusal are
    `parse_json`'s. The one difference: a body nested between Python's recursion limit
    (~1,000 levels) and orjson's 1,024 is read, and its too-deep items refused one by one."""
    if _SURROGATE_ESCAPE.search(body) is None and not _may_hold_long_number(body):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # parse_json words the refusal (and reads a BOM or UTF-16 as it does)
        else:
            if isinstance(data, dict):
                return data, True
    return parse_json(body), False


def _may_hold_long_number(body: bytes) -> bool:
    """Whether JSON `body` may hold a number of 19 or more digits (false positives only
    cost the slower parse). A number follows `:`, `,` or `[` and maybe `-` and JSON
    whitespace: with whitespace removed, those bytes as `c` and digits as `d`, such a
    number shows as `c` and 19 `d`."""
    return _LONG_NUMBER in body.translate(_NUMBER_CLASSES, b" \t\n\r")


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object: not UTF-8, not JSON, nested past the parser's recursion
    limit, or an integer past Python's 4,300-digit conversion limit is refused."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise BodyRefused("malformed JSON: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, integer too long
        raise BodyRefused(f"malformed JSON: {str(error)[:200]}") from None
    if not isinstance(data, dict):
        raise BodyRefused("request body must be a JSON object")
    return data
