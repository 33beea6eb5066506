"""Recognising crawlers by their user agent, so that they do not count as visitors.

Only agents that say they are robots are dropped: search engines, SEO and link
preview crawlers, and any product token ending in `bot` or naming a crawler or a
spider. HTTP libraries (curl, wget, python-requests, httpx) are not bots here: back
ends and the README's curl example send events with them. Headless browsers
(`HeadlessChrome`) are not dropped either: that is how the product's own browser
tests run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

KNOWN_BOTS = (
    r"googlebot",
    r"google-inspectiontool",
    r"bingbot",
    r"baiduspider",
    r"yandex(?:bot|images|mobilebot)",
    r"duckduckbot",
    r"slurp",
    r"facebookexternalhit",
    r"facebot",
    r"ahrefsbot",
    r"semrushbot",
    r"applebot",
    r"petalbot",
    r"mj12bot",
    r"gptbot",
    r"ccbot",
    r"bytespider",
    r"ia_archiver",
    # Generic: a product token ending in "bot" followed by its version or a separator
    # ("Twitterbot/1.0", "SomeBot;"), the word "bot" on its own, crawlers and spiders.
    r"[a-z]bot[/;]",
    r"\bbot\b",
    r"crawler",
    r"spider",
)


class BotFilter:
    """Matches a user agent against the known bots plus `extra` regexes (any case)."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._pattern = re.compile(
            "|".join(f"(?:{pattern})" for pattern in (*KNOWN_BOTS, *extra)), re.IGNORECASE
        )

    def is_bot(self, user_agent: str | None) -> bool:
        if not user_agent:
            return False
        return self._pattern.search(user_agent) is not None


def user_agent_of(context: dict[str, Any], header: str | None) -> str | None:
    """The event's own `context.userAgent`, else the request's User-Agent header."""
    declared = context.get("userAgent")
    return declared if isinstance(declared, str) and declared else header
