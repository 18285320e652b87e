"""Warning dispatch: parse, create, route, change state, escalate, summarise.

The functions take a session and `now` (tests inject a clock) and queue their messages in the
caller's transaction with `session=`, so a warning and the messages about it land together or
not at all; the caller commits and then wakes the sender (`outbox.notify()`). Every change is a
WarningEvent: who, when, from which message. Nothing is deleted.

Privacy: the linkage group sees the full phone number and name (the liaison must call); task
cards, other chats, logs and exports see 138****5678 and 张某.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import statistics
from dataclasses import dataclass, field
from typing import Iterable, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Config, StationConfig
from bot.db import insert_unless_exists, session_scope
from bot.channels.base import Unreachable, split_utf8
from bot.core.outbox import Outbox
from bot.privacy import mask_name, mask_phone
from bot.warning_models import Warning, WarningEvent

log = logging.getLogger(__name__)

STATE_NAMES = {"issued": "已下发", "signed": "已签收", "reported": "已反馈", "closed": "已办结"}
OPEN_STATES = ("issued", "signed", "reported")
RESULTS = {"已劝阻": "dissuaded", "未接通": "unreachable", "已被骗": "victimised", "无效预警": "invalid"}
RESULT_NAMES = {v: k for k, v in RESULTS.items()}
# a result that ends the warning; 未接通 leaves it open: the liaison keeps trying (relatives, contacts)
FINAL_RESULTS = {"dissuaded", "victimised", "invalid"}
LEVELS = {"红": "红", "红色": "红", "red": "红", "橙": "橙", "橙色": "橙", "orange": "橙",
          "黄": "黄", "黄色": "黄", "yellow": "黄"}
CENTRE_NAME = "反诈中心"

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
_TASK = re.compile(r"^(YJ-\d{8}-\d+)-a(\d+)-(sign|r\d+)$")
_SEPS = " \t\r\n,，;；。、"


class WarningError(Exception):
    """Something a user asked that cannot be done; str(e) is the Chinese answer."""


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


@dataclass
class Deps:
    """What the domain functions need besides a session: config, outbox, and the Q&A content."""
    config: Config
    outbox: Outbox
    matcher: object = None
    library: object = None


# --- look-ups ----------------------------------------------------------------------------
def tz(config: Config) -> ZoneInfo:
    return ZoneInfo(config.timezone)


def local(config: Config, t: dt.datetime) -> dt.datetime:
    return t.astimezone(tz(config))


def hhmm(config: Config, t: Optional[dt.datetime]) -> str:
    return local(config, t).strftime("%H:%M") if t else "-"


def linkage_group(config: Config) -> str:
    return config.groups_of_kind("linkage")[0].id


def person_name(config: Config, userid: Optional[str]) -> str:
    if not userid:
        return "-"
    if userid == "api":
        return "反诈中心系统"
    if userid == "system":
        return "系统"
    p = config.person(userid)
    return p.name if p else userid


def station_name(config: Config, station_id: Optional[str]) -> str:
    s = config.station(station_id) if station_id else None
    return s.name if s else CENTRE_NAME


def liaisons_of(config: Config, w: Warning) -> list[str]:
    s = config.station(w.station_id) if w.station_id else None
    if s:
        return list(s.liaisons)
    return [config.warnings.duty_officer] if config.warnings.duty_officer else []


def chief_of(config: Config, w: Warning) -> list[str]:
    s = config.station(w.station_id) if w.station_id else None
    return [s.chief] if s else []


def is_centre(config: Config, userid: str) -> bool:
    """A member of the anti-fraud centre or the 110 command centre: police (or admin) with no station."""
    p = config.person(userid)
    return bool(p and p.station is None and {"police", "admin"} & set(p.roles))


def may_act(config: Config, w: Warning, userid: str) -> bool:
    """Only the assigned station (liaisons, chief, its officers) or the centre may sign and report."""
    if is_centre(config, userid):
        return True
    p = config.person(userid)
    return bool(p and w.station_id and p.station == w.station_id)


def type_name(library, intent: Optional[str]) -> str:
    if not intent:
        return "未识别"
    sc = library.scenarios.get(intent) if library is not None else None
    return sc.short if sc else intent


def result_limit(config: Config, level: str) -> dt.timedelta:
    c = config.warnings
    return dt.timedelta(minutes=c.result_within_minutes_red if level == "红" else c.result_within_minutes)


def normalize_number(text: str) -> Optional[str]:
    m = NUMBER.search(text or "")
    return f"YJ-{m.group(1)}-{m.group(2)}" if m else None


def find(session: Session, number: str) -> Optional[Warning]:
    return session.scalar(select(Warning).where(Warning.number == number))


def get_or_fail(session: Session, text: str) -> Warning:
    number = normalize_number(text)
    if not number:
        raise WarningError("没有找到预警编号（形如 YJ-20261128-001）。")
    w = find(session, number)
    if w is None:
        raise WarningError(f"没有编号为 {number} 的预警。")
    return w


# --- parsing -------------------------------------------------------------------------------
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
            if sid in ("after_scam", "app"):
                continue
            if text == sid or text in (sc.short, sc.name) or sc.short in text:
                return sid
    if matcher is not None:
        m = matcher.match(text)
        if m.intent not in ("none", "after_scam", "app"):
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


def route(config: Config, place: str, extra: str = "") -> Optional[StationConfig]:
    """The station whose jurisdiction keyword (or name) matches the place best: the longest
    keyword wins, then the earliest in the text. None: no station matches (→ the duty officer)."""
    for text in (place, extra):
        if not text:
            continue
        best, score = None, None
        for s in config.stations:
            for k in [s.name, s.name.replace("派出所", "")] + list(s.keywords):
                pos = text.find(k) if k else -1
                if pos >= 0:
                    sc = (len(k), -pos)
                    if score is None or sc > score:
                        best, score = s, sc
        if best is not None:
            return best
    return None


def find_station(config: Config, text: str) -> tuple[bool, Optional[str]]:
    """'#转派 … 河口派出所' → (True, 'hekou'); the centre → (True, None); unknown → (False, None)."""
    t = (text or "").strip()
    if t in (CENTRE_NAME, "中心", "反诈中心值班", "值班员"):
        return True, None
    for s in config.stations:
        if t in (s.id, s.name, s.name.replace("派出所", "")) or (len(t) >= 2 and t in s.keywords):
            return True, s.id
    return False, None


# --- texts ---------------------------------------------------------------------------------
def level_text(level: str) -> str:
    return f"{level}色"


def dispatch_text(config: Config, library, w: Warning, reassigned_from: Optional[str] = None) -> str:
    """The linkage group's post: everything the liaison needs, the full phone number included."""
    who = "、".join(person_name(config, u) for u in liaisons_of(config, w)) or "值班员"
    lines = [f"【预警 {w.number}｜{level_text(w.level)}】" + (f"（由{station_name(config, reassigned_from)}转派）"
                                                           if reassigned_from is not None or w.assignment > 1 else ""),
             f"派：{station_name(config, w.station_id)}（{who}）",
             f"对象：{w.name or '姓名不详'} {w.phone}",
             f"地点：{w.place}",
             f"类型：{type_name(library, w.fraud_type)}"]
    if w.note:
        lines.append(f"说明：{w.note}")
    lines.append(f"请{_minutes(config.warnings.remind_after_minutes)}内签收：#签收 {w.number}，"
                 f"劝阻后反馈：#反馈 {w.number} 已劝阻/未接通/已被骗/无效预警 说明")
    return "\n".join(lines)


def _minutes(m: float) -> str:
    return f"{int(m)}分钟" if m == int(m) else f"{m:g}分钟"


def _duration(d: dt.timedelta) -> str:
    s = int(d.total_seconds())
    if s < 60:
        return f"{s}秒"
    if s < 3600:
        return f"{s // 60}分{s % 60:02d}秒"
    return f"{s // 3600}小时{(s % 3600) // 60:02d}分"


def _truncate_bytes(text: str, limit: int) -> str:
    return split_utf8(text, limit)[0] if len(text.encode("utf-8")) > limit else text


def card_message(config: Config, library, w: Warning, stage: str) -> dict:
    """A one-to-one task card (message/send msgtype interactive_taskcard) for the liaisons.

    WeCom allows 1-2 buttons per task card, and a task_id once per app; so the sign card
    (签收) and the result card (已劝阻 / 未接通) are two cards with their own task ids.
    The card is not the linkage group: phone and name are masked.
    """
    title = f"预警 {w.number}｜{level_text(w.level)}｜{station_name(config, w.station_id)}"
    desc = (f"对象：{mask_name(w.name) or '姓名不详'} {mask_phone(w.phone)}\n地点：{w.place}\n"
            f"类型：{type_name(library, w.fraud_type)}\n完整号码见联动预警群。")
    if stage == "sign":
        task_id = f"{w.number}-a{w.assignment}-sign"
        btn = [{"key": "sign", "name": "签收", "replace_name": "已签收", "color": "red", "is_bold": True}]
    else:
        task_id = f"{w.number}-a{w.assignment}-r{w.reports + 1}"
        title = "劝阻结果｜" + title
        btn = [{"key": "dissuaded", "name": "已劝阻", "replace_name": "已劝阻", "color": "blue", "is_bold": True},
               {"key": "unreachable", "name": "未接通", "replace_name": "未接通", "color": "red"}]
    return {"title": _truncate_bytes(title, 128), "description": _truncate_bytes(desc, 512), "task_id": task_id,
            "buttons": btn}


def parse_task_id(task_id: str) -> Optional[tuple[str, int, str]]:
    m = _TASK.match(task_id or "")
    return (m.group(1), int(m.group(2)), m.group(3)) if m else None


# --- the outbox, inside the caller's transaction ----------------------------------------------
def _post(deps: Deps, session: Session, text: str, key: str, mentions: Iterable[str] = (),
          group: Optional[str] = None) -> None:
    group = group or linkage_group(deps.config)
    try:
        deps.outbox.to_group(group, text, dedupe_key=key, mentions=tuple(dict.fromkeys(mentions)), session=session,
                             source=key.split(":")[1] if key.startswith("wn:") else None)
    except Unreachable as e:
        log.warning("%s", e)


def _dm(deps: Deps, session: Session, users: Iterable[str], text: str, key: str) -> None:
    users = [u for u in dict.fromkeys(users) if u]
    if users:
        deps.outbox.to_members(users, mask_phone(text), dedupe_key=key, session=session)


def _card(deps: Deps, session: Session, w: Warning, stage: str, users: list[str]) -> None:
    if not users:
        return
    card = card_message(deps.config, deps.library, w, stage)
    deps.outbox.card_to_members(users, card, dedupe_key=f"wn:{w.number}:card:{card['task_id']}", source=w.number,
                                session=session)


def card_label(config: Config, actor: Optional[str], action: str) -> str:
    """The card's replacement text: WeCom keeps 18 bytes (6 Chinese characters), so the name
    goes in front of the action only when both fit: 陈警官已签收, else 已签收."""
    label = person_name(config, actor) + action if actor else action
    return label if len(label.encode("utf-8")) <= 18 else action


def _update_card(deps: Deps, session: Session, w: Warning, task_id: str, users: list[str], replace: str) -> None:
    """message/update_taskcard: the card shows who did what, for every liaison who got it."""
    if not users:
        return
    deps.outbox.update_card(users, task_id, _truncate_bytes(replace, 18), dedupe_key=f"wn:{w.number}:update:{task_id}",
                            source=w.number, session=session)


def _event(session: Session, w: Warning, *, actor: str, kind: str, now: dt.datetime, frm: Optional[str] = None,
           to: Optional[str] = None, channel: Optional[str] = None, ref: Optional[str] = None,
           detail: Optional[dict] = None) -> WarningEvent:
    ev = WarningEvent(warning_id=w.id, at=now, actor=actor, kind=kind, from_state=frm, to_state=to,
                      channel=channel, message_ref=ref, detail=detail)
    session.add(ev)
    session.flush()
    return ev


# --- creating --------------------------------------------------------------------------------
def next_number(session: Session, config: Config, now: dt.datetime) -> tuple[str, int, str]:
    day = local(config, now).strftime("%Y%m%d")
    seq = (session.scalar(select(func.max(Warning.seq)).where(Warning.day == day)) or 0) + 1
    return day, seq, f"YJ-{day}-{seq:03d}"


def create(session: Session, deps: Deps, d: Draft, *, actor: str, channel: str, ref: str, now: dt.datetime,
           external_id: Optional[str] = None, source: str = "chat") -> Warning:
    """Number, route and record a warning; queue its post in the linkage group and the task card."""
    config = deps.config
    station = config.station(d.station) if d.station else route(config, d.place, d.note)
    day, seq, number = next_number(session, config, now)
    w = Warning(number=number, day=day, seq=seq, external_id=external_id, source=source, source_ref=ref,
                created_by=actor, created_at=now, name=d.name or None, phone=d.phone, place=d.place,
                fraud_type=d.fraud_type, level=d.level or config.warnings.default_level, note=d.note or "",
                station_id=station.id if station else None, assignment=1, dispatched_at=now, state="issued",
                reports=0)
    session.add(w)
    session.flush()
    _event(session, w, actor=actor, kind="created", now=now, to="issued", channel=channel, ref=ref,
           detail={"station": w.station_id, "level": w.level, "type": w.fraud_type})
    _dispatch(session, deps, w)
    log.info("warning %s from %s routed to %s: %s %s, %s", number, actor, station_name(config, w.station_id),
             mask_name(w.name or ""), mask_phone(w.phone), w.fraud_type or "type unknown")
    return w


def _dispatch(session: Session, deps: Deps, w: Warning, reassigned_from: Optional[str] = None) -> None:
    users = liaisons_of(deps.config, w)
    _post(deps, session, dispatch_text(deps.config, deps.library, w, reassigned_from),
          f"wn:{w.number}:a{w.assignment}:post", mentions=users)
    _card(deps, session, w, "sign", users)


def create_with_retry(sessions, deps: Deps, d: Draft, **kw) -> tuple[Warning, bool]:
    """create() in its own transaction, retried when another process took the same number at the
    same moment; with an external id, a second request returns the first warning. → (warning, created)."""
    ext = kw.get("external_id")
    for attempt in range(8):
        try:
            with session_scope(sessions) as s:
                if ext is not None:
                    old = s.scalar(select(Warning).where(Warning.external_id == ext))
                    if old is not None:
                        return old, False
                w = create(s, deps, d, **kw)
            deps.outbox.notify()
            return w, True
        except IntegrityError:
            if attempt == 7:
                raise
            log.info("warning number or external id taken concurrently; trying again")
    raise AssertionError("unreachable")


# --- changing --------------------------------------------------------------------------------
def _check(config: Config, w: Warning, actor: str, what: str) -> None:
    if w.state == "closed":
        raise WarningError(f"{w.number} 已办结，不能再{what}。发送 #查询 {w.number} 查看记录。")
    if not may_act(config, w, actor):
        raise WarningError(f"{w.number} 派给{station_name(config, w.station_id)}，"
                           f"只有该所或反诈中心可以{what}。如不属本辖区，请让反诈中心 #转派。")


def sign(session: Session, deps: Deps, w: Warning, *, actor: str, channel: str, ref: str, now: dt.datetime,
         announce: bool = False) -> str:
    """已下发 → 已签收. The sign card shows who signed; the result card goes to the liaisons."""
    config = deps.config
    if w.state != "issued":
        if w.state == "closed":
            raise WarningError(f"{w.number} 已办结，无需签收。")
        return f"{w.number} 已由{person_name(config, w.signed_by)}于{hhmm(config, w.signed_at)}签收，无需重复签收。"
    _check(config, w, actor, "签收")
    w.state, w.signed_by, w.signed_at = "signed", actor, now
    ev = _event(session, w, actor=actor, kind="signed", now=now, frm="issued", to="signed", channel=channel, ref=ref)
    users = liaisons_of(config, w)
    _update_card(deps, session, w, f"{w.number}-a{w.assignment}-sign", users, card_label(config, actor, "已签收"))
    _card(deps, session, w, "result", users)
    took = _duration(now - w.dispatched_at)
    text = (f"{w.number} 已签收：{person_name(config, actor)} {hhmm(config, now)}（用时{took}）。"
            f"劝阻后请反馈：#反馈 {w.number} 已劝阻 说明")
    if announce:
        _post(deps, session, text, f"wn:{w.number}:ev{ev.id}:post")
    log.info("warning %s signed by %s", w.number, actor)
    return text


def report(session: Session, deps: Deps, w: Warning, *, actor: str, result: str, note: str, channel: str,
           ref: str, now: dt.datetime, announce: bool = False) -> str:
    """已签收 → 已反馈; a final result (已劝阻 / 已被骗 / 无效预警) closes it (已办结)."""
    config = deps.config
    _check(config, w, actor, "反馈")
    if w.state == "issued":     # a result implies the warning was received
        sign(session, deps, w, actor=actor, channel=channel, ref=ref, now=now)
    frm = w.state
    card_task = f"{w.number}-a{w.assignment}-r{w.reports + 1}"
    w.state, w.result, w.result_note = "reported", result, (note or "")[:500] or None
    w.reported_by, w.reported_at, w.reports = actor, now, w.reports + 1
    ev = _event(session, w, actor=actor, kind="reported", now=now, frm=frm, to="reported", channel=channel, ref=ref,
                detail={"result": result, "note": note or ""})
    name = RESULT_NAMES[result]
    users = liaisons_of(config, w)
    _update_card(deps, session, w, card_task, users, card_label(config, actor, name))
    if result in FINAL_RESULTS:
        w.state, w.closed_by, w.closed_at = "closed", actor, now
        _event(session, w, actor=actor, kind="closed", now=now, frm="reported", to="closed", channel=channel, ref=ref,
               detail={"result": result})
        text = f"{w.number} 已反馈：{name}（{person_name(config, actor)} {hhmm(config, now)}），已办结。"
    else:
        _card(deps, session, w, "result", users)   # a fresh card for the next attempt's result
        text = (f"{w.number} 已反馈：{name}（{person_name(config, actor)} {hhmm(config, now)}）。"
                f"请继续联系（可通过亲友、村社干部），有结果再 #反馈 {w.number} 结果 说明。")
    if note:
        text += f"\n说明：{note[:200]}"
    if announce:
        _post(deps, session, text, f"wn:{w.number}:ev{ev.id}:post")
    log.info("warning %s reported by %s: %s", w.number, actor, result)
    return text


def reassign(session: Session, deps: Deps, w: Warning, *, actor: str, station_id: Optional[str], channel: str,
             ref: str, now: dt.datetime) -> str:
    """#转派: back to 已下发 for the new station, with a new post, new cards and a fresh escalation clock."""
    config = deps.config
    _check(config, w, actor, "转派")
    if station_id == w.station_id:
        raise WarningError(f"{w.number} 已经派给{station_name(config, station_id)}。")
    old_station, old_users, old_assign = w.station_id, liaisons_of(config, w), w.assignment
    frm = w.state
    w.station_id, w.assignment, w.dispatched_at, w.state = station_id, w.assignment + 1, now, "issued"
    w.signed_by = w.signed_at = None
    _event(session, w, actor=actor, kind="reassigned", now=now, frm=frm, to="issued", channel=channel, ref=ref,
           detail={"from": old_station, "to": station_id})
    # the old cards show that they are no longer this station's
    mark = card_label(config, None, "已转派")
    if frm == "issued":
        _update_card(deps, session, w, f"{w.number}-a{old_assign}-sign", old_users, mark)
    else:
        _update_card(deps, session, w, f"{w.number}-a{old_assign}-r{w.reports + 1}", old_users, mark)
    _dispatch(session, deps, w, reassigned_from=old_station)
    log.info("warning %s reassigned by %s: %s -> %s", w.number, actor, old_station, station_id)
    return (f"{w.number} 已由{station_name(config, old_station)}转派{station_name(config, station_id)}"
            f"（{person_name(config, actor)}），已通知该所。")


def close(session: Session, deps: Deps, w: Warning, *, actor: str, note: str, channel: str, ref: str,
          now: dt.datetime) -> str:
    """#办结 by the centre: ends a warning that stays open (e.g. 未接通 after every attempt)."""
    config = deps.config
    if w.state == "closed":
        raise WarningError(f"{w.number} 已办结。")
    if not is_centre(config, actor):
        raise WarningError("#办结 由反诈中心使用；派出所请用 #反馈 报告结果。")
    frm = w.state
    w.state, w.closed_by, w.closed_at = "closed", actor, now
    _event(session, w, actor=actor, kind="closed", now=now, frm=frm, to="closed", channel=channel, ref=ref,
           detail={"note": note or ""})
    return f"{w.number} 已办结（{person_name(config, actor)} {hhmm(config, now)}）。"


# --- escalation --------------------------------------------------------------------------------
def due_steps(config: Config, w: Warning, now: dt.datetime) -> list[str]:
    c = config.warnings
    elapsed = now - w.dispatched_at
    steps = []
    if w.state == "issued" and elapsed >= dt.timedelta(minutes=c.remind_after_minutes):
        steps.append("remind")
    if w.state == "issued" and elapsed >= dt.timedelta(minutes=c.escalate_after_minutes):
        steps.append("escalate")
    if w.state in ("issued", "signed") and elapsed >= result_limit(config, w.level):
        steps.append("overdue")
    return steps


def sweep(session: Session, deps: Deps, now: dt.datetime) -> list[tuple[str, str]]:
    """Take every escalation step that is due and not yet taken; → [(number, step)] taken now.

    A step is an event row unique per (warning, "a<assignment>:<step>"): a second sweep, a sweep
    after a restart or on another process finds it and sends nothing again.
    """
    config = deps.config
    earliest = now - dt.timedelta(minutes=config.warnings.remind_after_minutes)
    taken = []
    rows = session.scalars(select(Warning).where(Warning.state.in_(("issued", "signed")),
                                                 Warning.dispatched_at <= earliest).order_by(Warning.id))
    for w in list(rows):
        for step in due_steps(config, w, now):
            key = f"a{w.assignment}:{step}"
            kind = {"remind": "reminded", "escalate": "escalated", "overdue": "overdue"}[step]
            added = insert_unless_exists(session, WarningEvent, dict(
                warning_id=w.id, at=now, actor="system", kind=kind, from_state=w.state, to_state=w.state,
                channel="sweep", message_ref=None, step=key, detail={"elapsed_minutes": round(
                    (now - w.dispatched_at).total_seconds() / 60, 1)}), ["warning_id", "step"])
            if added is None:
                continue
            _escalation_messages(session, deps, w, step, now)
            taken.append((w.number, step))
            log.info("warning %s: escalation step %s", w.number, key)
    return taken


def _escalation_messages(session: Session, deps: Deps, w: Warning, step: str, now: dt.datetime) -> None:
    config = deps.config
    c = config.warnings
    st = station_name(config, w.station_id)
    liaisons, chief, centre = liaisons_of(config, w), chief_of(config, w), list(c.command_centre)
    elapsed = _minutes(round((now - w.dispatched_at).total_seconds() / 60))
    key = f"wn:{w.number}:a{w.assignment}:{step}"
    if step == "remind":
        text = (f"【催办】{w.number}（{level_text(w.level)}，{w.place}）已下发{elapsed}，{st}仍未签收。"
                f"请立即签收：#签收 {w.number}")
        _post(deps, session, text, key + ":post", mentions=liaisons)
        _dm(deps, session, liaisons, f"预警 {w.number} 已下发{elapsed}仍未签收，请立即到联动预警群签收并劝阻。", key + ":dm")
    elif step == "escalate":
        who = "、".join(person_name(config, u) for u in chief + centre) or "反诈中心"
        text = (f"【升级】{w.number}（{level_text(w.level)}，{w.place}）已下发{elapsed}，{st}仍未签收。"
                f"请{who}督办。")
        _post(deps, session, text, key + ":post", mentions=chief + centre)
        _dm(deps, session, chief + centre, f"预警 {w.number} 派{st}，已下发{elapsed}仍未签收，请督办。", key + ":dm")
    else:
        limit = _minutes(result_limit(config, w.level).total_seconds() / 60)
        text = (f"【再次升级】{w.number}（{level_text(w.level)}，{w.place}）下发已超过{limit}，仍无劝阻结果"
                f"（{STATE_NAMES[w.state]}）。请{st}立即反馈：#反馈 {w.number} 结果 说明")
        _post(deps, session, text, key + ":post", mentions=liaisons + chief + centre)
        _dm(deps, session, chief + centre, f"预警 {w.number} 派{st}，超过{limit}仍无劝阻结果，请督办。", key + ":dm")


# --- queries and reports -----------------------------------------------------------------------
def events_of(session: Session, w: Warning) -> list[WarningEvent]:
    return list(session.scalars(select(WarningEvent).where(WarningEvent.warning_id == w.id)
                                .order_by(WarningEvent.at, WarningEvent.id)))


EVENT_NAMES = {"created": "下发", "signed": "签收", "reported": "反馈", "closed": "办结", "reassigned": "转派",
               "reminded": "催办", "escalated": "升级", "overdue": "再次升级"}


def query_text(session: Session, config: Config, library, w: Warning, full: bool = True) -> str:
    """#查询: the warning and its history. full=False masks phone and name (outside the linkage group)."""
    phone = w.phone if full else mask_phone(w.phone)
    name = (w.name if full else mask_name(w.name or "")) or "姓名不详"
    lines = [f"【{w.number}】{STATE_NAMES[w.state]}｜{level_text(w.level)}｜{station_name(config, w.station_id)}",
             f"对象：{name} {phone}", f"地点：{w.place}", f"类型：{type_name(library, w.fraud_type)}"]
    if w.note:
        lines.append(f"说明：{w.note if full else mask_phone(w.note)}")
    if w.result:
        lines.append(f"结果：{RESULT_NAMES[w.result]}" + (f"（{w.result_note}）" if w.result_note else ""))
    lines.append("记录：")
    for e in events_of(session, w):
        what = EVENT_NAMES.get(e.kind, e.kind)
        d = e.detail or {}
        if e.kind == "reported":
            what += f" {RESULT_NAMES.get(d.get('result'), '')}"
        if e.kind == "reassigned":
            what += f" {station_name(config, d.get('from'))}→{station_name(config, d.get('to'))}"
        lines.append(f"{local(config, e.at).strftime('%m-%d %H:%M')} {what} {person_name(config, e.actor)}")
    return "\n".join(lines)


def open_list_text(session: Session, config: Config, now: dt.datetime, limit: int = 30) -> str:
    rows = list(session.scalars(select(Warning).where(Warning.state.in_(OPEN_STATES))
                                .order_by(Warning.dispatched_at, Warning.id)))
    if not rows:
        return "没有未办结的预警。"
    lines = [f"未办结预警 {len(rows)} 条："]
    for w in rows[:limit]:
        lines.append(f"{w.number} {STATE_NAMES[w.state]} {level_text(w.level)} {station_name(config, w.station_id)} "
                     f"{w.place} 已{_duration(now - w.dispatched_at)}")
    if len(rows) > limit:
        lines.append(f"……另有 {len(rows) - limit} 条，#查询 编号 查看详情。")
    return "\n".join(lines)


def overdue(config: Config, w: Warning, now: dt.datetime) -> bool:
    elapsed = now - w.dispatched_at
    return (w.state == "issued" and elapsed >= dt.timedelta(minutes=config.warnings.escalate_after_minutes)) or \
        (w.state in ("issued", "signed") and elapsed >= result_limit(config, w.level))


def summary(session: Session, config: Config, now: dt.datetime) -> dict:
    """Figures of the 24 hours before `now`: new, signed, results, median time to sign, overdue by station."""
    since = now - dt.timedelta(hours=24)
    new = session.scalar(select(func.count()).select_from(Warning).where(Warning.created_at >= since,
                                                                          Warning.created_at < now))
    signed = list(session.scalars(select(Warning).where(Warning.signed_at >= since, Warning.signed_at < now)))
    results = {k: 0 for k in RESULT_NAMES}
    for d in session.scalars(select(WarningEvent.detail).where(WarningEvent.kind == "reported",
                                                               WarningEvent.at >= since, WarningEvent.at < now)):
        r = (d or {}).get("result")
        if r in results:
            results[r] += 1
    waits = [(w.signed_at - w.dispatched_at).total_seconds() for w in signed if w.signed_at >= w.dispatched_at]
    open_rows = list(session.scalars(select(Warning).where(Warning.state.in_(OPEN_STATES))))
    late: dict[str, int] = {}
    for w in open_rows:
        if overdue(config, w, now):
            late[station_name(config, w.station_id)] = late.get(station_name(config, w.station_id), 0) + 1
    return {"since": since, "until": now, "new": new or 0, "signed": len(signed), "results": results,
            "median_sign_seconds": statistics.median(waits) if waits else None, "overdue": late,
            "open": len(open_rows)}


def summary_text(config: Config, s: dict) -> str:
    a, b = local(config, s["since"]), local(config, s["until"])
    r = s["results"]
    median = _duration(dt.timedelta(seconds=s["median_sign_seconds"])) if s["median_sign_seconds"] is not None else "无"
    late = "、".join(f"{k} {v} 条" for k, v in sorted(s["overdue"].items())) or "无"
    return "\n".join([
        f"【预警日报】{a:%m月%d日 %H:%M} 至 {b:%m月%d日 %H:%M}",
        f"新增 {s['new']} 条，签收 {s['signed']} 条",
        f"已劝阻 {r['dissuaded']}，未接通 {r['unreachable']}，已被骗 {r['victimised']}，无效预警 {r['invalid']}",
        f"签收用时中位数：{median}",
        f"超时未办：{late}",
        f"目前未办结 {s['open']} 条（联动群发送 #未办结 查看）。"])


def send_daily_summary(session: Session, deps: Deps, now: dt.datetime) -> int:
    """Queue the summary to the linkage and leadership groups, once per local day."""
    config = deps.config
    text = summary_text(config, summary(session, config, now))
    day = local(config, now).strftime("%Y%m%d")
    n = 0
    for g in config.groups_of_kind("linkage") + config.groups_of_kind("leadership"):
        try:
            n += deps.outbox.to_group(g.id, text, dedupe_key=f"wn:summary:{day}:{g.id}", session=session,
                                      source="warnings:summary")
        except Unreachable as e:
            log.warning("daily warning summary: %s", e)
    return n


# --- exports (masked) --------------------------------------------------------------------------
def export(config: Config, library, w: Warning) -> dict:
    """A warning as JSON for anything that is not the linkage group: phone and name masked."""
    return {"number": w.number, "external_id": w.external_id, "state": w.state, "state_name": STATE_NAMES[w.state],
            "level": w.level, "station": w.station_id, "station_name": station_name(config, w.station_id),
            "name": mask_name(w.name or ""), "phone": mask_phone(w.phone), "place": w.place,
            "type": w.fraud_type, "type_name": type_name(library, w.fraud_type),
            "result": w.result, "created_at": w.created_at.isoformat(),
            "signed_at": w.signed_at.isoformat() if w.signed_at else None,
            "closed_at": w.closed_at.isoformat() if w.closed_at else None}
