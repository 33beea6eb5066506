"""Fields ingest derives for each published event, after screening (so from data that is
already consented and scrubbed), always overwriting what a client sent under those names:

- `context.ua`: browser, operating system and device class of `context.userAgent`
  (`useragent.py`); absent when the event has no user agent.
- `context.geo`: `{"country", "city"}`, only with geo consent (`geo.py`); absent otherwise.
- `properties.fingerprint` and `properties.topFrame` of `error_occurred`: errors that are
  the same bug share a fingerprint (see `error_fingerprint`).
- `properties.queryNormalized` of `search_performed`: the query as search terms are
  counted (see `normalized_query`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from typing import Any

from lookout_common.contracts.events import AnalyticsEvent, EventType
from lookout_ingest.geo import GeoDatabase, Place, place_from_location
from lookout_ingest.useragent import parse_user_agent

log = logging.getLogger("lookout.ingest.enrich")

FINGERPRINT_HEX_CHARS = 16
QUERY_MAX_CHARS = 200
# Longer stack lines are no frames worth reading (and would cost the event loop time).
FRAME_LINE_MAX_CHARS = 2048

# Variable parts of an error message, replaced in this order (quoted text first, so an id
# inside quotes goes with its quotes). A quote only opens after a non-word character, so
# the apostrophe of "can't" opens nothing.
_MESSAGE_PLACEHOLDERS = (
    # Curly quotes (U+201C/U+201D, U+2018/U+2019) count too.
    (
        re.compile(
            r"""(?<!\w)(["'`])[^"'`\n]*\1(?!\w)|\u201c[^\u201d\n]*\u201d|\u2018[^\u2019\n]*\u2019"""
        ),
        "<str>",
    ),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    # A run of 6+ hex digits with both a letter and a digit: object ids, hashes.
    (re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{6,}\b", re.I), "<hex>"),
    (re.compile(r"\d+(?:\.\d+)*"), "<num>"),
)
_PYTHON_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line \d+(?:, in (?P<function>.+))?$')
_V8_FRAME = re.compile(r"^\s*at (?:(?P<function>[^()]+?) \((?P<inner>.+)\)|(?P<bare>\S+))\s*$")
_V8_EVAL = re.compile(r"^eval at [^(]*\((?P<file>[^)]+)\)")
_GECKO_FRAME = re.compile(r"^\s*(?P<function>[^@\s][^@]*?)?@(?P<file>\S+)\s*$")
_LINE_COLUMN = re.compile(r"(?::\d+){1,2}$")
# Content hashes in bundle file names (`main.3f9a1c2b.js`) change on every deploy.
_FILE_HASH = re.compile(r"(?<=[.\-_])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{8,}(?=\.)")
_BRACKETS = {")": "(", "]": "[", "}": "{", "(": ")", "[": "]", "{": "}"}


def normalized_message(message: str) -> str:
    """`message` with quoted text, UUIDs, hex ids and numbers replaced by placeholders."""
    for pattern, placeholder in _MESSAGE_PLACEHOLDERS:
        message = pattern.sub(placeholder, message)
    return " ".join(message.split())


def _frame(function: str | None, location: str) -> str:
    location = _LINE_COLUMN.sub("", location.strip())
    location = location.split("?", 1)[0].split("#", 1)[0]
    location = _FILE_HASH.sub("<hash>", location)
    function = (function or "").strip().removeprefix("async ").strip() or "<anonymous>"
    return f"{function} ({location})"


def top_frame(stack: str) -> str | None:
    """The frame where the error was raised, as `function (file)` without line and column.

    Understands V8 (`    at fn (file:line:col)`), Firefox/Safari (`fn@file:line:col`) and
    Python (`File "file", line N, in fn`) stacks. JavaScript stacks list the innermost
    frame first; Python tracebacks list it last ("most recent call last"), so for those
    the last frame is taken.
    """
    lines = [line for line in stack.splitlines() if len(line) <= FRAME_LINE_MAX_CHARS]
    python = [match for line in lines if (match := _PYTHON_FRAME.match(line))]
    if python:
        return _frame(python[-1]["function"], python[-1]["file"])
    for line in lines:
        if match := _V8_FRAME.match(line):
            if match["bare"]:
                return _frame(None, match["bare"])
            inner = match["inner"]
            # `at eval (eval at run (file:1:2), <anonymous>:1:1)`: the file that ran eval.
            if evaluated := _V8_EVAL.match(inner):
                inner = evaluated["file"]
            return _frame(match["function"], inner)
    for line in lines:
        # `: ` tells a message line ("TypeError: bad@value") from a frame.
        if (match := _GECKO_FRAME.match(line)) and ": " not in (match["function"] or ""):
            return _frame(match["function"], match["file"])
    return None


def error_fingerprint(error_type: str | None, message: str, frame: str | None) -> str:
    """16 hex digits over the error's type, its normalised message and its top frame.

    The frame keeps the file and function but not the line and column, so a deploy
    that only shifts lines keeps the fingerprint; a different function or file does not.
    """
    material = "\n".join((error_type or "", normalized_message(message), frame or ""))
    return hashlib.sha256(material.encode()).hexdigest()[:FINGERPRINT_HEX_CHARS]


def _strippable(text: str, index: int) -> bool:
    char = text[index]
    if char.isspace():
        return True
    if not unicodedata.category(char).startswith("P"):
        return False
    # A bracket that closes (or opens) a pair inside the query stays: "[redacted:email]".
    partner = _BRACKETS.get(char)
    return partner is None or partner not in text


def normalized_query(query: str) -> str:
    """NFKC, case-folded, whitespace collapsed, leading and trailing punctuation removed
    (except an end of a bracket pair), at most 200 characters."""
    text = " ".join(unicodedata.normalize("NFKC", query).casefold().split())
    start, end = 0, len(text)
    while start < end and _strippable(text, start):
        start += 1
    while end > start and _strippable(text, end - 1):
        end -= 1
    return text[start:end][:QUERY_MAX_CHARS].rstrip()


class Enricher:
    """Derives the fields above; holds the GeoIP database (None: no IP lookups)."""

    def __init__(self, geo_database: GeoDatabase | None = None) -> None:
        self.geo_database = geo_database

    def close(self) -> None:
        if self.geo_database is not None:
            self.geo_database.close()

    def place(self, context: dict[str, Any], client_ip: str | None) -> Place | None:
        declared = place_from_location(context.get("location"))
        if declared is not None:
            return declared
        if client_ip and self.geo_database is not None:
            return self.geo_database.locate(client_ip)
        return None

    def enrich(self, event: AnalyticsEvent, client_ip: str | None, *, geo: bool) -> AnalyticsEvent:
        """`event` with its derived fields; `geo` is the person's geo consent.

        `client_ip` is the full address the event came from (its own `context.ip` as
        sent, else the request's), before truncation; it is used only with geo consent
        and never published.
        """
        context, properties = self.derived(
            event.event,
            event.context,
            event.properties,
            client_ip,
            geo=geo,
            event_id=event.event_id,
        )
        return event.model_copy(update={"context": context, "properties": properties})

    def derived(
        self,
        event: str,
        context: dict[str, Any],
        properties: dict[str, Any],
        client_ip: str | None,
        *,
        geo: bool,
        event_id: str = "",
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The `context` and `properties` an event named `event` is published with (see
        `enrich`): new dicts where anything is derived, the inputs are never changed."""
        context = {key: value for key, value in context.items() if key not in ("ua", "geo")}
        user_agent = context.get("userAgent")
        if isinstance(user_agent, str) and user_agent:
            context["ua"] = parse_user_agent(user_agent).as_context()
        if geo and (place := self.place(context, client_ip)) is not None:
            context["geo"] = place.as_context()
        if event == EventType.ERROR_OCCURRED:
            stack = properties.get("stack")
            frame = top_frame(stack) if isinstance(stack, str) else None
            error_type = properties.get("type")
            properties = {
                **properties,
                "fingerprint": error_fingerprint(
                    error_type if isinstance(error_type, str) else None,
                    str(properties.get("message", "")),
                    frame,
                ),
                "topFrame": frame,
            }
        elif event == EventType.SEARCH_PERFORMED:
            query = properties.get("query")
            properties = {
                **properties,
                "queryNormalized": normalized_query(query if isinstance(query, str) else ""),
            }
        if log.isEnabledFor(logging.DEBUG):
            # Names only: values may be personal even after scrubbing.
            log.debug(
                "event enriched",
                extra={"event_id": event_id, "derived": sorted({"ua", "geo"} & context.keys())},
            )
        return context, properties
