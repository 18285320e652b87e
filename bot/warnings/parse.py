"""Reading a warning: `#预警` arguments (key:value fields and/or free text pasted from the centre's
system), warning numbers, phone numbers and levels."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from bot.config import Config

LEVELS = {"红": "红", "红色": "红", "red": "红", "橙": "橙", "橙色": "橙", "orange": "橙",
          "黄": "黄", "黄色": "黄", "yellow": "黄"}

NUMBER = re.compile(r"YJ-?(\d{8})-?(\d{3,})", re.I)
MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?\d{7,8})(?!\d)")
FIELD_KEYS = {"姓名": "name", "名字": "name", "对象": "name", "电话": "phone", "手机": "phone", "号码": "phone",
              "手机号": "phone", "辖区": "place", "地址": "place", "地点": "place", "住址": "place",
              "类型": "type", "诈骗类型": "type", "级别": "level", "等级": "level", "说明": "note", "备注": "note",
              "情况": "note"}
_FIELD = re.compile(r"(" + "|".join(sorted(map(re.escape, FIELD_KEYS), key=len, reverse=True)) + r")\s*[:：]")
_UNITS = "县镇乡村路街巷组庄湾区"
_PLACE = re.compile(r"(?:[\u4e00-\u9fa5A-Za-z0-9]{1,8}?(?:街道|社区|小区|码头|花园|大厦|[县镇乡村路街巷组庄湾]))+"
                    r"(?:\d+(?:号楼|号|栋|单元|室|组))*")
_SEPS = " \t\r\n,，;；。、"


@dataclass
class Draft:
    phone: str = ""
    place: str = ""
    name: str = ""
    fraud_type: Optional[str] = None
    level: str = ""
    note: str = ""
    station: Optional[str] = None      # an explicit station id (API)
    missing: list[str] = field(default_factory=list)


def normalize_number(text: str) -> Optional[str]:
    """'yj20261128001', 'YJ-20261128-001' … → 'YJ-20261128-001'; None when there is none."""
    m = NUMBER.search(text or "")
    return f"YJ-{m.group(1)}-{m.group(2)}" if m else None


def parse_fields(text: str) -> dict[str, str]:
    """'姓名:张三 电话：138… 说明: a b' → {'name': '张三', 'phone': '138…', 'note': 'a b'}."""
    out: dict[str, str] = {}
    marks = list(_FIELD.finditer(text))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        value = text[m.end():end].strip(_SEPS)
        key = FIELD_KEYS[m.group(1)]
        if value and key not in out:
            out[key] = value
    return out


def match_type(text: str, matcher, library) -> Optional[str]:
    """A fraud type id from a 类型 value or free text: a scenario's id or name, else the Q&A matcher."""
    text = (text or "").strip()
    if not text:
        return None
    if library is not None:
        for sid, sc in library.scenarios.items():
            if sc.kind != "fraud":
                continue
            if text == sid or text in (sc.short, sc.name) or sc.short in text:
                return sid
    if matcher is not None:
        m = matcher.match(text)
        if m.intent in matcher.lib.fraud_intents:
            return m.intent
    return None


def guess_place(text: str, config: Config) -> str:
    """The place in free text: a place-like phrase (…村, …路12号), else a station keyword."""
    best = ""
    for m in _PLACE.finditer(text):
        end = m.end()
        while end < len(text) and text[end] in _UNITS:     # 柳湾|村: the lazy match stops one unit early
            end += 1
        found = text[m.start():end]
        if len(found) > len(best):
            best = found
    if best:
        return best
    for s in config.stations:
        for k in sorted(s.keywords, key=len, reverse=True):
            if k in text:
                return k
    return ""


def parse_warning(text: str, config: Config, matcher=None, library=None) -> Draft:
    """#预警 arguments as key:value fields and/or free text → Draft (missing lists what lacks)."""
    fields = parse_fields(text)
    # what is not a field is free text (a warning pasted from the centre's system)
    free = _FIELD.sub(" ", text) if not fields else ""
    d = Draft()
    phone_src = fields.get("phone") or text
    m = MOBILE.search(phone_src.replace(" ", "").replace("-", "")) or LANDLINE.search(phone_src)
    d.phone = m.group(1) if m else ""
    d.place = fields.get("place") or guess_place(MOBILE.sub(" ", text), config)
    d.name = (fields.get("name") or "")[:20]
    d.level = LEVELS.get((fields.get("level") or "").strip().lower(), "")
    if not d.level:
        lm = re.search(r"(红|橙|黄)色?(?:预警|级)", text)
        d.level = lm.group(1) if lm else config.warnings.default_level
    d.fraud_type = match_type(fields.get("type") or "", matcher, library) or \
        match_type(fields.get("note") or free or text, matcher, library)
    d.note = (fields.get("note") or free.strip(_SEPS) or "")[:500]
    if not d.phone:
        d.missing.append("电话")
    if not d.place:
        d.missing.append("辖区/地址")
    return d
