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
