"""What police do with a warning: create, sign, report a result, reassign, close.

Each takes a session and the service's Context (config, outbox, matcher, library) and `now` (tests
inject a clock). It checks who may act, has the warning make the transition (the model checks the
state and writes the event row), and queues the messages about it in the same transaction.
Answers are Chinese texts; a refusal raises WarningError whose text is the answer.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Config
from bot.db import session_scope
from bot.privacy import mask_name, mask_phone
from bot.warnings import notify, texts
from bot.warnings.models import CLOSED, FINAL_RESULTS, ISSUED, TransitionRefused, Warning
from bot.warnings.parse import Draft, normalize_number
from bot.warnings.people import is_centre, liaisons_of, may_act, route, station_name

log = logging.getLogger(__name__)


class WarningError(Exception):
    """Something a user asked that cannot be done; str(e) is the Chinese answer."""


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


# --- creating --------------------------------------------------------------------------------------
def next_number(session: Session, config: Config, now: dt.datetime) -> tuple[str, int, str]:
    day = texts.local(config, now).strftime("%Y%m%d")
    seq = (session.scalar(select(func.max(Warning.seq)).where(Warning.day == day)) or 0) + 1
    return day, seq, f"YJ-{day}-{seq:03d}"


def create(session: Session, ctx, d: Draft, *, actor: str, channel: str, ref: str, now: dt.datetime,
           external_id: Optional[str] = None, source: str = "chat") -> Warning:
    """Number, route and record a warning; queue its post in the linkage group and the task card."""
    config = ctx.config
    station = config.station(d.station) if d.station else route(config, d.place, d.note)
    day, seq, number = next_number(session, config, now)
    w = Warning(number=number, day=day, seq=seq, external_id=external_id, source=source, source_ref=ref,
                created_by=actor, created_at=now, name=d.name or None, phone=d.phone, place=d.place,
                fraud_type=d.fraud_type, level=d.level or config.warnings.default_level, note=d.note or "",
                station_id=station.id if station else None, assignment=1, dispatched_at=now, reports=0)
    session.add(w)
    w.record_created(session, actor=actor, at=now, channel=channel, ref=ref)
    notify.dispatch(ctx, session, w)
    log.info("warning %s from %s routed to %s: %s %s, %s", number, actor, station_name(config, w.station_id),
             mask_name(w.name or ""), mask_phone(w.phone), w.fraud_type or "type unknown")
    return w


def create_with_retry(sessions, ctx, d: Draft, **kw) -> tuple[Warning, bool]:
    """create() in its own transaction, retried when another process took the same number at the
    same moment. The same external id (the API), or the same message (`ref`, a chat message taken up
    again after a crash, a console form sent twice), returns the warning made the first time.
    `also(session, warning)` runs in the same transaction (the console's own record). → (warning, created)."""
    ext, ref = kw.get("external_id"), kw.get("ref")
    also = kw.pop("also", None)
    for attempt in range(8):
        try:
            with session_scope(sessions) as s:
                old = s.scalar(select(Warning).where(Warning.external_id == ext)) if ext is not None else None
                old = old or (s.scalar(select(Warning).where(Warning.source_ref == ref)) if ref else None)
                if old is not None:
                    return old, False
                w = create(s, ctx, d, **kw)
                if also is not None:
                    also(s, w)
            ctx.outbox.notify()
            return w, True
        except IntegrityError:
            if attempt == 7:
                raise
            log.info("warning number or external id taken concurrently; trying again")
    raise AssertionError("unreachable")


# --- changing --------------------------------------------------------------------------------------
def _check(config: Config, w: Warning, actor: str, what: str) -> None:
    if w.state == CLOSED:
        raise WarningError(texts.refusal_text(config, w, what))
    if not may_act(config, w, actor):
        raise WarningError(texts.not_allowed_text(config, w, what))


def _refused(config: Config, w: Warning, what: str, e: TransitionRefused) -> WarningError:
    return WarningError(texts.refusal_text(config, w, what))


def sign(session: Session, ctx, w: Warning, *, actor: str, channel: str, ref: str, now: dt.datetime,
         announce: bool = False) -> str:
    """已下发 → 已签收. The sign card shows who signed; the result card goes to the liaisons."""
    config = ctx.config
    if w.state == CLOSED:
        raise WarningError(texts.refusal_text(config, w, "签收"))
    if w.state != ISSUED:
        return texts.already_signed_text(config, w)
    _check(config, w, actor, "签收")
    ev = w.sign(session, actor=actor, at=now, channel=channel, ref=ref)
    users = liaisons_of(config, w)
    notify.update_card(ctx, session, w, texts.task_id(w, "sign"), users, texts.card_labels(config, actor, "已签收"))
    notify.card(ctx, session, w, "result", users)
    text = texts.signed_text(config, w, actor, now)
    if announce:
        notify.post(ctx, session, text, f"wn:{w.number}:ev{ev.id}:post")
    log.info("warning %s signed by %s", w.number, actor)
    return text


def report(session: Session, ctx, w: Warning, *, actor: str, result: str, note: str, channel: str,
           ref: str, now: dt.datetime, announce: bool = False) -> str:
    """已签收 → 已反馈; a final result (已劝阻 / 已被骗 / 无效预警) closes it (已办结)."""
    config = ctx.config
    _check(config, w, actor, "反馈")
    users = liaisons_of(config, w)
    if w.state == ISSUED:     # a result implies the warning was received
        sign(session, ctx, w, actor=actor, channel=channel, ref=ref, now=now)
    card_task = texts.task_id(w, "result")
    try:
        events = w.report(session, actor=actor, result=result, note=note, at=now, channel=channel, ref=ref)
    except TransitionRefused as e:
        raise _refused(config, w, "反馈", e)
    notify.update_card(ctx, session, w, card_task, users, texts.card_labels(config, actor, texts.RESULT_NAMES[result]))
    if result not in FINAL_RESULTS:
        notify.card(ctx, session, w, "result", users)   # a fresh card for the next attempt's result
    text = texts.reported_text(config, w, actor, result, note, now)
    if announce:
        reported = next(e for e in events if e.kind == "reported")
        notify.post(ctx, session, text, f"wn:{w.number}:ev{reported.id}:post")
    log.info("warning %s reported by %s: %s", w.number, actor, result)
    return text


def reassign(session: Session, ctx, w: Warning, *, actor: str, station_id: Optional[str], channel: str,
             ref: str, now: dt.datetime) -> str:
    """#转派: back to 已下发 for the new station, with a new post, new cards and a fresh escalation clock."""
    config = ctx.config
    _check(config, w, actor, "转派")
    if station_id == w.station_id:
        raise WarningError(f"{w.number} 已经派给{station_name(config, station_id)}。")
    old_station, old_users, old_assign, old_state = w.station_id, liaisons_of(config, w), w.assignment, w.state
    # the card the old station holds: the sign card if not yet signed, else the open result card
    old_card = texts.task_id(w, "sign" if old_state == ISSUED else "result", assignment=old_assign)
    try:
        w.reassign(session, actor=actor, station_id=station_id, at=now, channel=channel, ref=ref)
    except TransitionRefused as e:
        raise _refused(config, w, "转派", e)
    notify.update_card(ctx, session, w, old_card, old_users, texts.card_labels(config, None, "已转派"))
    notify.dispatch(ctx, session, w, reassigned_from=old_station)
    log.info("warning %s reassigned by %s: %s -> %s", w.number, actor, old_station, station_id)
    return texts.reassigned_text(config, w, actor, old_station)


def close(session: Session, ctx, w: Warning, *, actor: str, note: str, channel: str, ref: str,
          now: dt.datetime, announce: bool = False) -> str:
    """#办结 by the centre: ends a warning that stays open (e.g. 未接通 after every attempt)."""
    config = ctx.config
    if w.state == CLOSED:
        raise WarningError(texts.refusal_text(config, w, "办结"))
    if not is_centre(config, actor):
        raise WarningError("#办结 由反诈中心使用；派出所请用 #反馈 报告结果。")
    ev = w.close(session, actor=actor, note=note, at=now, channel=channel, ref=ref)
    text = texts.closed_text(config, w, actor, now)
    if announce:
        notify.post(ctx, session, text, f"wn:{w.number}:ev{ev.id}:post")
    return text
