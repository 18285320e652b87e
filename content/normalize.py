"""Text normalisation applied to every message and every keyword before matching.

Steps: NFKC (full-width -> half-width), lower case, traditional -> simplified
(OpenCC t2s, only when the text holds a traditional character), @-mentions,
emoji and WeChat ``[表情]`` codes stripped, common typos and abbreviations
mapped to canonical words (from content/lexicon.yaml), whitespace collapsed.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

_MENTION = re.compile(r"@[^\s@]{1,24}(?=\s|$)")
_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2190-\u21FF\u2300-\u23FF"
    "\uFE0E\uFE0F\u200B-\u200D\u20E3\U000E0000-\U000E007F]"
)
_WECHAT_EMOJI = re.compile(r"\[[\u4e00-\u9fff]{1,4}\]")
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s():
    """(set of traditional-only characters, converter). Loaded once, lazily."""
    import opencc

    path = Path(opencc.__file__).resolve().parent / "dictionary" / "TSCharacters.txt"
    trad = set()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2 and parts[0] != parts[1].split(" ")[0]:
                trad.add(parts[0])
    return frozenset(trad), opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    trad, cc = _t2s()
    if trad.isdisjoint(text):
        return text
    return cc.convert(text)


def base_normalize(text: str) -> str:
    """Normalisation that needs no lexicon (width, case, script, mentions, emoji, spaces)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).lower()
    text = to_simplified(text)
    text = _MENTION.sub(" ", text)
    text = _EMOJI.sub("", text)
    text = _WECHAT_EMOJI.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


class Normalizer:
    """base_normalize plus the lexicon's typo and abbreviation tables."""

    def __init__(self, lexicon=None):
        typos = dict(getattr(lexicon, "typos", {}) or {})
        abbreviations = dict(getattr(lexicon, "abbreviations", {}) or {})
        # the table entries themselves go through the base step so they meet messages in the same form
        # canonical words map to themselves so that "杀猪" -> "杀猪盘" leaves "杀猪盘" alone
        # (the alternation tries longer entries first)
        self._typos = {v: v for v in typos.values()}
        self._typos.update({base_normalize(k): v for k, v in typos.items() if base_normalize(k)})
        self._abbr = {k: v for k, v in abbreviations.items()}
        self._typo_rx = self._alternation(self._typos)
        # an abbreviation counts only as a whole latin token: "jc" yes, "jcb" or "abjc" no
        self._abbr_rx = (
            re.compile(r"(?<![a-z])(" + "|".join(sorted(map(re.escape, self._abbr), key=len, reverse=True))
                       + r")(?![a-z])")
            if self._abbr else None
        )

    @staticmethod
    def _alternation(table: dict[str, str]):
        if not table:
            return None
        return re.compile("|".join(sorted(map(re.escape, table), key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        text = base_normalize(text)
        if not text:
            return text
        if self._typo_rx is not None:
            text = self._typo_rx.sub(lambda m: self._typos[m.group(0)], text)
        if self._abbr_rx is not None:
            text = self._abbr_rx.sub(lambda m: self._abbr[m.group(1)], text)
        return text

