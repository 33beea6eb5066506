"""Browser, operating system and device class of a user agent string.

Parsing uses ua-parser (the uap-core rules) with its Rust regex engine when installed.
Results are cached per user agent string: a product's visitors send few distinct ones.

The device class is ours, derived from what ua-parser found, first rule wins:
1. `other`: the device is a TV, a games console or a crawler;
2. `tablet`: the device names a tablet (iPad, Kindle, an Android device whose user
   agent lacks the `Mobile` token, which uap-core calls `Generic_Android_Tablet`);
3. `mobile`: a phone operating system (iOS, Android, Windows Phone, …) or a phone;
4. `desktop`: a desktop operating system (Windows, macOS, Linux and its distributions,
   Chrome OS, the BSDs);
5. `other`: anything else, such as an HTTP library with no operating system.
An iPad in desktop mode sends a Mac user agent and is counted as a desktop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import Literal

from ua_parser import BasicResolver, Domain, Resolver, load_builtins, load_lazy_builtins

DeviceClass = Literal["desktop", "mobile", "tablet", "other"]

# Real user agents are a few hundred characters; anything past this is not parsed.
MAX_USER_AGENT_CHARS = 1024
CACHE_SIZE = 4096

_OTHER_DEVICE = re.compile(
    r"spider|smart-?tv|\btv\b|appletv|playstation|xbox|nintendo|ouya|roku|chromecast",
    re.IGNORECASE,
)
_TABLET_DEVICE = re.compile(r"ipad|tablet|kindle|playbook|xoom", re.IGNORECASE)
# uap-core's brand for an Android phone it cannot name is `Generic_Android`.
_PHONE_DEVICE = re.compile(r"phone|ipod|generic_android", re.IGNORECASE)
_PHONE_OS = frozenset(
    {
        "iOS",
        "Android",
        "Windows Phone",
        "Windows Mobile",
        "Windows CE",
        "BlackBerry OS",
        "Symbian OS",
        "KaiOS",
        "Firefox OS",
        "HarmonyOS",
        "Sailfish",
        "Ubuntu Touch",
    }
)
_DESKTOP_OS = frozenset(
    {
        "Mac OS X",
        "macOS",
        "Linux",
        "Ubuntu",
        "Debian",
        "Fedora",
        "Red Hat",
        "CentOS",
        "SUSE",
        "openSUSE",
        "Linux Mint",
        "Mint",
        "Arch Linux",
        "Gentoo",
        "Slackware",
        "Mandriva",
        "Chrome OS",
        "ChromeOS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Solaris",
    }
)


@dataclass(frozen=True)
class Software:
    browser: str
    browser_version: str | None
    os: str
    os_version: str | None
    device: DeviceClass

    def as_context(self) -> dict[str, str | None]:
        """The `context.ua` value published with the event (a new dict each time)."""
        return {
            "browser": self.browser,
            "browserVersion": self.browser_version,
            "os": self.os,
            "osVersion": self.os_version,
            "device": self.device,
        }


@cache
def _resolver() -> Resolver:
    """Built on first use (compiling the rules takes a tenth of a second)."""
    try:
        from ua_parser.regex import Resolver as RegexResolver
    except ImportError:  # ua-parser without its [regex] extra: pure-Python matching, slower
        return BasicResolver(load_builtins())
    return RegexResolver(load_lazy_builtins())


def _version(*parts: str | None) -> str | None:
    present = []
    for part in parts:
        if not part:
            break
        present.append(part)
    return ".".join(present) or None


def device_class(
    os_family: str | None, device_family: str | None, brand: str | None
) -> DeviceClass:
    """The device class by the rules in the module docstring."""
    device = f"{device_family or ''} {brand or ''}"
    if _OTHER_DEVICE.search(device):
        return "other"
    if _TABLET_DEVICE.search(device):
        return "tablet"
    if os_family in _PHONE_OS or _PHONE_DEVICE.search(device):
        return "mobile"
    if os_family is not None and (os_family in _DESKTOP_OS or os_family.startswith("Windows")):
        return "desktop"
    return "other"


@lru_cache(maxsize=CACHE_SIZE)
def _parse(user_agent: str) -> Software:
    result = _resolver()(user_agent, Domain.ALL)
    browser, system, device = result.user_agent, result.os, result.device
    software = Software("Other", None, "Other", None, "other")
    if browser is not None:
        version = _version(browser.major, browser.minor, browser.patch, browser.patch_minor)
        software = replace(software, browser=browser.family, browser_version=version)
    if system is not None:
        version = _version(system.major, system.minor, system.patch, system.patch_minor)
        software = replace(software, os=system.family, os_version=version)
    return replace(
        software,
        device=device_class(
            system.family if system else None,
            device.family if device else None,
            device.brand if device else None,
        ),
    )


def parse_user_agent(user_agent: str) -> Software:
    """What `user_agent` says about the browser, its operating system and the device class.

    Unknown parts are `"Other"` (names) and None (versions), as in uap-core.
    """
    return _parse(user_agent[:MAX_USER_AGENT_CHARS])
