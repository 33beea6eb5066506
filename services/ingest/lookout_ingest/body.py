"""A request body from bytes to a JSON object, each step bounded: gunzip (cut off at the
request limit), then JSON. Every refusal is a `BodyRefused` naming why."""

from __future__ import annotations

import json
import zlib
from typing import Any

from lookout_ingest.bounds import escapes_surrogates


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

    UTF-8 text without a surrogate escape is parsed as text, the common case: then no
    string holds a surrogate, which spares `bounds.shape_errors` its search of each one
    (see `bounds.fits`). Any other body, or any failure, is read by `parse_json` itself,
    so the result and every refusal are exactly `parse_json`'s."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return parse_json(body), False
    if not escapes_surrogates(text):
        try:
            data = json.loads(text)
        except (RecursionError, ValueError):
            pass  # parse_json words the refusal (and reads a BOM or UTF-16 as it does)
        else:
            if isinstance(data, dict):
                return data, True
    return parse_json(body), False


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
