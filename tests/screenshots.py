"""The screenshot set (tests/data/screenshots.jsonl): outside writers' scam and everyday messages
drawn as phone screenshots, and the figures read from it (bench/pictures.py and the tests)."""
from __future__ import annotations

import difflib
import json
import re
import statistics
import time
from pathlib import Path

from bot.pictures import Reader
from handlers.picture import answer
from tests import drawing

SET = Path(__file__).resolve().parent / "data" / "screenshots.jsonl"
_SKIP = re.compile(r"[\s\W_]+")


def characters_read(source: str, read: str) -> float:
    """The share of the source's characters (no punctuation or spaces) found in order in what was read."""
    a, b = _SKIP.sub("", source), _SKIP.sub("", read)
    if not a:
        return 1.0
    matched = sum(block.size for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    return matched / len(a)


def load_set(path=SET) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


def screenshot_set(items: list[dict], reader: Reader, lib, matcher) -> dict:
    """Read every item's picture; the figures the benchmark prints (also used by the tests)."""
    times, chars, typed_ok, pictured_ok, rows = [], [], 0, 0, []
    for item in items:
        picture = drawing.screenshot(item)
        started = time.perf_counter()
        reading = reader.read(picture)
        reply, _ = answer("", [reading], lib, matcher)
        times.append((time.perf_counter() - started) * 1000)
        chars.append(characters_read(item["text"], reading.text))
        typed = matcher.match(item["text"])
        typed_intent = "clarify" if typed.clarify else typed.intent
        typed_ok += typed_intent == item["intent"]
        pictured_ok += reply.intent == item["intent"]
        rows.append({"style": item["style"], "gold": item["intent"], "typed": typed_intent,
                     "pictured": reply.intent, "chars": round(chars[-1], 3)})
    n = len(items)
    return {"n": n, "ms": times, "chars": statistics.mean(chars), "chars_min": min(chars),
            "typed": typed_ok / n, "pictured": pictured_ok / n, "rows": rows}


