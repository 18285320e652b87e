"""Reading a warning: `#预警` arguments (key:value fields and/or free text pasted from the centre's
system) and the API's JSON fields, checked the same way; warning numbers, phone numbers and levels.

Nothing is guessed silently: a value that is wrong (an unknown level, a phone number of the wrong
length, a field longer than its column) is a problem that stops the warning, named with the field;
a value that is only unclear (a fraud type the bot does not know) is a remark in the answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from bot.config import Config
from bot.db import column_limit
from bot.warnings.models import Warning

LEVELS = {"红": "红", "红色": "红", "red": "红", "橙": "橙", "橙色": "橙", "orange": "橙",
          "黄": "黄", "黄色": "黄", "yellow": "黄"}

NUMBER = re.compile(r"YJ-?(\d{8})-?(\d{3,})", re.I)
MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?\d{7,8})(?!\d)")
# a run of digits (with spaces or hyphens inside) that someone meant as a phone number
_PHONEISH = re.compile(r"(?<![\dA-Za-z])(?:\+?86[\s-]?)?\d[\d\s-]{5,15}\d(?![\dA-Za-z])")
FIELD_KEYS = {"姓名": "name", "名字": "name", "对象": "name", "电话": "phone", "手机": "phone", "号码": "phone",
              "手机号": "phone", "辖区": "place", "地址": "place", "地点": "place", "住址": "place",
              "类型": "type", "诈骗类型": "type", "级别": "level", "等级": "level", "说明": "note", "备注": "note",
              "情况": "note"}
_FIELD = re.compile(r"(" + "|".join(sorted(map(re.escape, FIELD_KEYS), key=len, reverse=True)) + r")\s*[:：]")
_UNITS = "县镇乡村路街巷组庄湾区"
_PLACE = re.compile(r"(?:[\u4e00-\u9fa5A-Za-z0-9]{1,8}?(?:街道|社区|小区|码头|花园|大厦|[县镇乡村路街巷组庄湾]))+"
                    r"(?:\d+(?:号楼|号|栋|单元|室|组))*")
_SEPS = " \t\r\n,，;；。、"
# the commonest surnames: a free-text token of two to four characters that starts with one is a name
_SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
                "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
NAME_MAX, NOTE_MAX = 20, 2000


@dataclass
class Problem:
    """Why a warning cannot go out as written: the field, in Chinese for the chat, in English for the API."""
    field: str
    zh: str
    en: str


@dataclass
class Draft:
    phone: str = ""
    place: str = ""
    name: str = ""
    fraud_type: Optional[str] = None
    level: str = ""
    note: str = ""
    station: Optional[str] = None      # an explicit station id (API)
    problems: list[Problem] = field(default_factory=list)
    # said with the answer, not stopping it (a fraud type that was given but not recognised)
    remarks: list[str] = field(default_factory=list)

    def bad(self, f: str, zh: str, en: str) -> None:
        self.problems.append(Problem(f, zh, en))


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
    """A fraud type id from a 类型 value or free text: a scenario's id or name, a word that names the
    type (the scenario files' case_words: 刷单 …), else the Q&A matcher."""
    text = (text or "").strip()
    if not text:
        return None
    if library is not None:
        for sid, sc in library.scenarios.items():
            if sc.kind == "fraud" and (text == sid or text in (sc.short, sc.name) or sc.short in text):
                return sid
        by_word = library.catalog.case_type(text) if library.catalog is not None else None
        if by_word:
            return by_word
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


def guess_name(text: str, library=None) -> str:
    """A person's name standing on its own in free text (张三, 王某某): two to four Chinese
    characters starting with a common surname, not a place and not a fraud type's word."""
    words = set()
    if library is not None and library.catalog is not None:
        words = {w for i in library.catalog.fraud for w in library.catalog.by_id[i].case_words}
    for token in re.split(r"[\s,，;；、。:：]+", text):
        if (re.fullmatch(r"[\u4e00-\u9fa5]{2,4}", token) and token[0] in _SURNAMES and token[-1] not in _UNITS
                and not any(w in token for w in words)):
            return token
    return ""


def _phone(d: Draft, given: Optional[str], text: str) -> None:
    src = given if given is not None else text
    compact = src.replace(" ", "").replace("-", "")
    m = MOBILE.search(compact) if given is None else MOBILE.fullmatch(compact.removeprefix("+86"))
    land = LANDLINE.search(src) if given is None else LANDLINE.fullmatch(given.strip())
    if m:
        d.phone = m.group(1)
    elif land:
        d.phone = land.group(1)
    else:
        shown = (given or "").strip() or next((p.group(0).strip() for p in _PHONEISH.finditer(text)), "")
        if shown:
            d.bad("phone", f"电话“{shown}”不是手机号（11位）或带区号的座机号",
                  "not a mainland mobile (11 digits) or landline number with its area code")
        else:
            d.bad("phone", "缺少电话", "required")


def _level(d: Draft, given: Optional[str], text: str, config: Config) -> None:
    if given is not None and given.strip():
        d.level = LEVELS.get(given.strip().lower(), "")
        if not d.level:
            d.bad("level", f"级别“{given.strip()}”不认识：只能是 红、橙、黄（不写为{config.warnings.default_level}）",
                  "one of 红, 橙, 黄 (or red, orange, yellow)")
        return
    lm = re.search(r"(红|橙|黄)色?(?:预警|级)", text)
    d.level = lm.group(1) if lm else config.warnings.default_level


def _place(d: Draft, given: Optional[str], text: str, config: Config) -> None:
    limit = column_limit(Warning, "place")
    value = (given or "").strip() or guess_place(MOBILE.sub(" ", text), config)
    if len(value) > limit:
        # a paste where the story follows the address: the place is its first place-like phrase, and
        # the whole text stays in the note
        head = guess_place(value, config)
        if head and len(head) <= limit and value.startswith(head[:2]):
            d.note = (value + ("\n" + d.note if d.note else "")).strip()
            value = head
        else:
            d.bad("place", f"地址太长（{len(value)}字，最多{limit}字）", f"at most {limit} characters")
            return
    if not value:
        d.bad("place", "缺少辖区/地址", "required")
    d.place = value


def check_draft(d: Draft, fields: dict, text: str, config: Config, matcher=None, library=None,
                free: bool = False) -> Draft:
    """Fill and check a draft from fields (`phone`, `place`, `name`, `type`, `level`, `note`); what a
    field does not give is looked for in `text` (the whole message), and a name only in free text.
    Every problem is named on the draft."""
    d.note = (fields.get("note") or "").strip()
    _phone(d, fields.get("phone"), text)
    _level(d, fields.get("level"), text, config)
    _place(d, fields.get("place"), text, config)
    d.name = (fields.get("name") or "").strip() or (guess_name(MOBILE.sub(" ", text), library) if free else "")
    if len(d.name) > NAME_MAX:
        d.bad("name", f"姓名太长（{len(d.name)}字，最多{NAME_MAX}字）", f"at most {NAME_MAX} characters")
    given_type = (fields.get("type") or "").strip()
    d.fraud_type = match_type(given_type, matcher, library) or match_type(d.note or text, matcher, library)
    if given_type and not match_type(given_type, matcher, library):
        d.remarks.append(f"类型“{given_type}”未识别" + ("，按说明内容判断" if d.fraud_type else "，记为未识别"))
    if len(d.note) > NOTE_MAX:
        d.bad("note", f"说明太长（{len(d.note)}字，最多{NOTE_MAX}字）", f"at most {NOTE_MAX} characters")
    return d


def parse_warning(text: str, config: Config, matcher=None, library=None) -> Draft:
    """#预警 arguments as key:value fields and/or free text → a checked Draft."""
    fields = parse_fields(text)
    if fields:
        return check_draft(Draft(), fields, text, config, matcher, library)
    # no fields: free text (a warning pasted from the centre's system); all of it is the note
    return check_draft(Draft(), {"note": text.strip(_SEPS)}, text, config, matcher, library, free=True)
