"""The project's rich-text markup and its plain form.

Texts for readers who see emphasis (WeCom members) use a small subset: **bold**, a "> "
quote line, numbered lines "1. …", a warning line made by `warn()`, and `<@userid>` mentions
appended by a channel adapter. It is the subset of WeCom markdown that every WeCom client
renders, so the WeCom adapters send it as is; every other reader gets `plain(text)`.
"""
from __future__ import annotations

import re

_MARKUP = re.compile(r"\*\*|<font[^>]*>|</font>|^> ?|^#{1,6} |`", re.M)
_VISIBLE = re.compile(r"\*\*|<font[^>]*>|</font>|^> ", re.M)
_AT = re.compile(r"<@([^>\s]+)>")


def bold(text: str) -> str:
    return f"**{text}**"


def warn(text: str) -> str:
    """A line the reader must not miss (shown in the warning colour where markup is seen)."""
    return f'<font color="warning">{text}</font>'


def quote(text: str) -> str:
    return f"> {text}"


def plain(text: str) -> str:
    """The text as a reader without markup sees it: emphasis and mentions removed."""
    return _AT.sub("", _MARKUP.sub("", text)).strip()


def visible_len(text: str) -> int:
    """Characters a reader sees (markup not counted)."""
    return len(_VISIBLE.sub("", text))


# a web address, with or without its scheme: sf-lp.cc/a8, http://t.cn/A6abc, www.example.com
_LINK = re.compile(r"(?:https?://)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![A-Za-z0-9-])"
                   r"(?:/[A-Za-z0-9_\-./?%&=#~+]*)?")


def untappable(text: str) -> str:
    """Every web address in text written sf-lp[.]cc/a8: still readable, no longer a link that a chat
    app makes tappable (a reply quoting a scam message must not carry its link)."""
    return _LINK.sub(lambda m: re.sub(r"^https?://", "", m.group(0), flags=re.I).replace(".", "[.]"), text)
