"""Scheduled rebroadcast campaigns: what a slot sends to each group, exactly once.

A slot (campaign, slot time) goes through its groups; each group gets one item chosen by
priority (fraud types with more weight get more slots, every type reaches every group at
least once in `floor_days`) and rotation (an item is not repeated to a group within
`rotation_days`, and the least-sent item of a type goes first). Each (campaign, slot, group)
is one delivery-log row and at most one outbox row, both keyed, so a slot that fires twice
(restart, second instance) sends nothing twice.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.campaign_models import CampaignDelivery, CampaignRun, CampaignState
from bot.channels.base import Unreachable
from bot.config import CampaignConfig, Config, GroupConfig
from bot.cron import cron_trigger
from bot.db import insert_unless_exists, session_scope, upsert
from bot.models import OutboxMessage
from bot.wechat_models import MassSendGroup, MassSendTask
from content import markup
from content.answers import FOOTER
from content.venues import SMS_MAX, VENUES, signed_sms

log = logging.getLogger(__name__)

HISTORY_DAYS = 62
FAILING_AFTER = 3           # this many permanent failures in a row mark a group as failing


@dataclass(frozen=True)
class PoolItem:
    """One thing a campaign can send: a venue template or a Q&A scenario summary."""
    id: str
    intent: str             # a fraud intent id, "app" or "general"
    title: str
    text: str
    markdown: Optional[str] = None
    image: Optional[Path] = None


# --- the pool ------------------------------------------------------------------------------

def scenario_items(library) -> list[PoolItem]:
    """Each fraud scenario of the Q&A library as a short push: type, red flags, what to do."""
    items = []
    for sc in library.scenarios.values():
        if sc.kind != "fraud":
            continue
        flags = "；".join(f"{i}.{f}" for i, f in enumerate(sc.red_flags[:2], 1))
        text = f"【防骗提醒·{sc.name}】{sc.summary}\n识别：{flags}\n{sc.now}\n{FOOTER}"
        md = "\n".join([markup.bold(f"防骗提醒·{sc.name}"), sc.summary, markup.quote(f"识别：{flags}"),
                        markup.warn(sc.now), FOOTER])
        items.append(PoolItem(id=f"scenario:{sc.id}", intent=sc.id, title=sc.name, text=text, markdown=md))
    return items


def venue_items(venues, kind: str, signature: Optional[str] = None) -> list[PoolItem]:
    """A venue's templates (plus the general ones); the network venue sends its SMS versions,
    signed with the bureau's `signature` (config: sms_signature)."""
    if venues is None or kind not in VENUES:
        return []
    out = []
    for it in venues.items_for(kind):
        if kind == "network" and it.sms:
            text = signed_sms(signature, it.sms) if signature else it.sms
        else:
            text = it.text
        out.append(PoolItem(id=f"venue:{it.id}", intent=it.intent, title=it.title, text=text.strip(),
                            markdown=(it.markdown or "").strip() or None, image=it.image))
    return out


def pool_for(campaign: CampaignConfig, group: GroupConfig, library, venues,
             signature: Optional[str] = None) -> list[PoolItem]:
    items: list[PoolItem] = []
    if "venue" in campaign.draw_from:
        items += venue_items(venues, group.kind, signature)
    if "scenario" in campaign.draw_from:
        items += scenario_items(library)
    if campaign.msgtype == "image":
        items = [i for i in items if i.image is not None]
    return items


def item_title(library, venues, item_id: Optional[str]) -> str:
    """The title of a pool item by its id (venue:… or scenario:…), as the delivery log names it."""
    if not item_id:
        return ""
    kind, _, key = item_id.partition(":")
    if kind == "venue" and venues is not None and key in venues.items:
        return venues.items[key].title
    if kind == "scenario" and library is not None and key in library.scenarios:
        return f"防骗提醒·{library.scenarios[key].name}"
    return item_id


def check_pools(config: Config, library, venues) -> list[str]:
    """Config errors for what campaigns would send: nothing for one of their groups, or a reminder
    SMS longer than one SMS once the configured signature is in front of it."""
    errors = []
    for i, c in enumerate(config.campaigns):
        for g in config.campaign_groups(c):
            if not pool_for(c, g, library, venues):
                what = "+".join(c.draw_from) + (" with posters" if c.msgtype == "image" else "")
                errors.append(f"campaigns.{i}.draw_from: nothing to send to group {g.id} "
                              f"(kind {g.kind}) from {what}")
    signature = config.signature
    if signature and venues is not None:
        for it in venues.items_for("network"):
            n = len(signed_sms(signature, it.sms)) if it.sms else 0
            if n > SMS_MAX:
                errors.append(f"sms_signature: {signature} ({len(signature)} characters) and the sms of "
                              f"{it.venue}.yaml {it.id} ({len(it.sms)}) make {n} characters, over the "
                              f"{SMS_MAX} of one SMS; shorten the signature or that text")
    return errors


# --- choosing -----------------------------------------------------------------------------

@dataclass
class History:
    """What a group received: (item id, intent, slot) of queued deliveries, oldest first."""
    sends: list[tuple[str, str, dt.datetime]]
    start: Optional[dt.datetime] = None

    def last_sent(self, key, by_intent: bool) -> Optional[dt.datetime]:
        last = None
        for item_id, intent, slot in self.sends:
            if (intent if by_intent else item_id) == key:
                last = slot
        return last


def choose(pool: list[PoolItem], history: History, weights: dict[str, float], now: dt.datetime,
           rotation_days: int, floor_days: int, interval: dt.timedelta, general_weight: float = 1.0
           ) -> Optional[PoolItem]:
    """The item this group gets now, or None when everything was sent within rotation_days."""
    fresh_after = now - dt.timedelta(days=rotation_days)
    eligible = [i for i in pool if rotation_days == 0 or (history.last_sent(i.id, False) or dt.datetime.min.replace(
        tzinfo=dt.timezone.utc)) <= fresh_after]
    if not eligible:
        return None
    types = sorted({i.intent for i in eligible})
    # floor: earliest deadline first as soon as waiting any longer could miss a deadline
    start = history.start or now
    deadlines = sorted(((history.last_sent(t, True) or start) + dt.timedelta(days=floor_days), t) for t in types)
    if any(d <= now + k * interval for k, (d, _t) in enumerate(deadlines, 1)):
        chosen_type = deadlines[0][1]
    else:
        def weight(t):
            if t in ("general", "app"):
                return weights.get(t, general_weight)
            return weights.get(t, 1.0)
        total_w = sum(weight(t) for t in types) or 1.0
        counts = Counter(intent for _i, intent, _s in history.sends)
        sent_total = sum(counts[t] for t in types)
        # the type furthest behind its share of all slots so far
        chosen_type = max(types, key=lambda t: (weight(t) / total_w * (sent_total + 1) - counts[t], weight(t), t))
    candidates = [i for i in eligible if i.intent == chosen_type]
    uses = Counter(item_id for item_id, _t, _s in history.sends)
    return min(candidates, key=lambda i: (uses[i.id], history.last_sent(i.id, False) or dt.datetime.min.replace(
        tzinfo=dt.timezone.utc), i.id))


# --- time ---------------------------------------------------------------------------------

def trigger_for(campaign: CampaignConfig, tz: str):
    """The campaign's schedule, its cron read as standard cron (0 and 7 = Sunday)."""
    return cron_trigger(campaign.cron, tz)


def previous_slot(campaign: CampaignConfig, tz: str, now: dt.datetime) -> dt.datetime:
    """The latest scheduled time at or before now (the slot a late run belongs to)."""
    trig = trigger_for(campaign, tz)
    t = trig.get_next_fire_time(None, now - dt.timedelta(days=32))
    last = t
    while t is not None and t <= now:
        last = t
        t = trig.get_next_fire_time(t, t + dt.timedelta(seconds=1))
    return last.astimezone(dt.timezone.utc)


def next_fires(campaign: CampaignConfig, tz: str, now: dt.datetime, n: int = 5,
               until: Optional[dt.datetime] = None) -> list[dt.datetime]:
    """The next n scheduled times after now (in the timezone tz), as the scheduler will fire them;
    with `until`, only those before it."""
    trig = trigger_for(campaign, tz)
    out: list[dt.datetime] = []
    t = trig.get_next_fire_time(None, now + dt.timedelta(microseconds=1))
    while t is not None and len(out) < n and (until is None or t < until):
        out.append(t)
        t = trig.get_next_fire_time(t, t + dt.timedelta(seconds=1))
    return out


def slot_interval(campaign: CampaignConfig, tz: str, now: dt.datetime) -> dt.timedelta:
    trig = trigger_for(campaign, tz)
    a = trig.get_next_fire_time(None, now)
    b = trig.get_next_fire_time(a, a + dt.timedelta(seconds=1))
    return (b - a) if a and b else dt.timedelta(days=1)


def in_quiet_hours(campaign: CampaignConfig, tz: str, when: dt.datetime) -> bool:
    window = campaign.quiet_window()
    if window is None:
        return False
    local = when.astimezone(ZoneInfo(tz))
    m = local.hour * 60 + local.minute
    a, b = window[0][0] * 60 + window[0][1], window[1][0] * 60 + window[1][1]
    return (a <= m < b) if a <= b else (m >= a or m < b)


# --- running a slot -----------------------------------------------------------------------

def is_paused(sessions, name: str) -> bool:
    with sessions() as s:
        return bool(s.scalar(select(CampaignState.paused).where(CampaignState.name == name)))


def pause_state(sessions, name: str) -> Optional[CampaignState]:
    """The campaign's recorded state (paused or not, by whom, when), or None when never changed."""
    with sessions() as s:
        return s.get(CampaignState, name)


def set_paused(sessions, name: str, paused: bool, who: str, now: dt.datetime,
               session: Optional[Session] = None) -> None:
    """Pause or resume a campaign (#推送 暂停/恢复, the console); in `session` when given."""
    if session is not None:
        upsert(session, CampaignState, dict(name=name, paused=paused, changed_by=who, changed_at=now), key=["name"])
        return
    with session_scope(sessions) as s:
        upsert(s, CampaignState, dict(name=name, paused=paused, changed_by=who, changed_at=now), key=["name"])


def record_paused(svc, campaign: CampaignConfig, slot: dt.datetime, now: dt.datetime) -> bool:
    """A scheduled slot of a paused campaign: record it per group as skipped (state paused, with who
    paused it and when) and send nothing. False when the campaign is not paused."""
    with session_scope(svc.sessions) as s:
        st = s.get(CampaignState, campaign.name)
        if st is None or not st.paused:
            return False
        person = svc.config.person(st.changed_by or "")
        who = person.name if person else (st.changed_by or "")
        when = st.changed_at.astimezone(ZoneInfo(svc.config.timezone)) if st.changed_at else None
        reason = "推送已暂停" + (f"（{who}于{when:%m-%d %H:%M}暂停）" if when else "")
        for g in svc.config.campaign_groups(campaign):
            insert_unless_exists(s, CampaignDelivery, dict(
                campaign=campaign.name, slot=slot, group_id=g.id, state="paused", reason=reason, created_at=now),
                ["campaign", "slot", "group_id"])
    log.info("campaign %s slot %s: paused, nothing sent", campaign.name, slot.isoformat())
    return True


def _histories(s, group_ids: list[str], now: dt.datetime) -> dict[str, History]:
    since = now - dt.timedelta(days=HISTORY_DAYS)
    rows = s.execute(select(CampaignDelivery.group_id, CampaignDelivery.item_id, CampaignDelivery.intent,
                            CampaignDelivery.slot)
                     .where(CampaignDelivery.group_id.in_(group_ids), CampaignDelivery.state == "queued",
                            CampaignDelivery.slot >= since)
                     .order_by(CampaignDelivery.slot, CampaignDelivery.id))
    out: dict[str, History] = defaultdict(lambda: History([]))
    for gid, item, intent, slot in rows:
        out[gid].sends.append((item, intent, slot))
    firsts = s.execute(select(CampaignDelivery.group_id, func.min(CampaignDelivery.slot))
                       .where(CampaignDelivery.group_id.in_(group_ids)).group_by(CampaignDelivery.group_id))
    for gid, first in firsts:
        out[gid].start = first
    return out


def _failing(s, group_ids: list[str], now: dt.datetime) -> dict[str, str]:
    """Groups whose last campaign pushes all ended dead with a permanent error: group → reason."""
    since = now - dt.timedelta(days=7)
    rows = s.execute(select(OutboxMessage.group_id, OutboxMessage.state, OutboxMessage.last_error)
                     .where(OutboxMessage.group_id.in_(group_ids), OutboxMessage.source.like("campaign:%"),
                            OutboxMessage.created_at >= since, OutboxMessage.state.in_(("sent", "dead")))
                     .order_by(OutboxMessage.id.desc()))
    recent: dict[str, list] = defaultdict(list)
    for gid, state, err in rows:
        if len(recent[gid]) < FAILING_AFTER:
            recent[gid].append((state, err))
    return {gid: r[0][1] or "dead" for gid, r in recent.items()
            if len(r) == FAILING_AFTER and all(st == "dead" for st, _e in r)}


def outbox_key(name: str, slot: dt.datetime, group_id: str) -> str:
    return f"campaign:{name}:{slot.astimezone(dt.timezone.utc):%Y%m%dT%H%MZ}:{group_id}"


def _queue(outbox, campaign: CampaignConfig, group: GroupConfig, item: PoolItem, key: str, session) -> None:
    """Put the item into the outbox in the message type the campaign asks for (the outbox picks
    what each group's channel renders: a customer group gets plain text in a mass-send task)."""
    source = f"campaign:{campaign.name}"
    if campaign.msgtype == "image":
        outbox.to_group_image(group.id, item.image.read_bytes(), dedupe_key=key, source=source, session=session)
    elif campaign.msgtype == "news":
        desc = item.text.encode("utf-8")[:500].decode("utf-8", "ignore")
        outbox.to_group_news(group.id, [{"title": item.title, "description": desc, "url": campaign.news_url}],
                             dedupe_key=key, text=item.text, source=source, session=session)
    else:
        md = campaign.msgtype == "markdown" and item.markdown is not None
        outbox.to_group(group.id, item.markdown if md else item.text, rich=md, dedupe_key=key, source=source,
                        session=session)


@dataclass
class SlotResult:
    slot: dt.datetime
    counts: Counter
    new: int

    def summary(self) -> str:
        return "，".join(f"{STATE_NAMES.get(k, k)}{v}个群" for k, v in self.counts.items()) or "没有目标群"


# what a delivery-log row's state means (duplicate: the slot had already run for that group)
STATE_NAMES = {"queued": "已排队发送", "unreachable": "机器人无法触达", "quiet": "静默时段", "failing": "群发送持续失败",
               "empty": "无可发内容", "duplicate": "此前已发", "paused": "已暂停", "missed": "停机错过"}


@dataclass
class Planned:
    """What a slot does for one group: the item it sends (state queued), or why it sends nothing."""
    group: GroupConfig
    item: Optional[PoolItem]
    state: str
    reason: Optional[str] = None


def plan_slot(svc, s: Session, campaign: CampaignConfig, slot: dt.datetime, now: dt.datetime,
              weights: dict) -> list[Planned]:
    """For each of the campaign's groups, what this slot sends there, chosen by priority and rotation
    from what the groups received so far (nothing is written). run_slot sends exactly this."""
    cfg: Config = svc.config
    groups = cfg.campaign_groups(campaign)
    interval = slot_interval(campaign, cfg.timezone, now)
    quiet = in_quiet_hours(campaign, cfg.timezone, slot)
    hist = _histories(s, [g.id for g in groups], now)
    failing = _failing(s, [g.id for g in groups], now)
    out = []
    for g in groups:
        if quiet:
            out.append(Planned(g, None, "quiet", f"静默时段 {campaign.quiet_hours}"))
            continue
        if g.id in failing:
            out.append(Planned(g, None, "failing", f"最近{FAILING_AFTER}次推送均失败：{failing[g.id]}"))
            continue
        item = choose(pool_for(campaign, g, svc.library, svc.venues, cfg.signature), hist[g.id], weights, now,
                      campaign.rotation_days, cfg.priorities.floor_days, interval, cfg.priorities.general_weight)
        if item is None:
            out.append(Planned(g, None, "empty", f"{campaign.rotation_days}天内内容已全部发过"))
            continue
        try:
            svc.outbox.channels.for_group(g)
        except Unreachable as e:
            out.append(Planned(g, item, "unreachable", str(e)))
            continue
        out.append(Planned(g, item, "queued"))
    return out


def run_slot(svc, campaign: CampaignConfig, slot: dt.datetime, now: Optional[dt.datetime] = None,
             weights: Optional[dict] = None, session: Optional[Session] = None) -> SlotResult:
    """Enqueue one slot of a campaign for all its groups (idempotent per campaign, slot, group).
    In `session` when given (the caller commits and wakes the sender), else in a transaction of its own."""
    now = now or slot
    weights = svc.config.priorities.weights if weights is None else weights
    if session is not None:
        result = _run_slot(svc, session, campaign, slot, now, weights)
    else:
        with session_scope(svc.sessions) as s:
            result = _run_slot(svc, s, campaign, slot, now, weights)
        if result.counts["queued"]:
            svc.outbox.notify()
    log.info("campaign %s slot %s: %s", campaign.name, slot.isoformat(), dict(result.counts))
    return result


def _run_slot(svc, s: Session, campaign: CampaignConfig, slot: dt.datetime, now: dt.datetime,
              weights: dict) -> SlotResult:
    counts: Counter = Counter()
    new = 0
    for p in plan_slot(svc, s, campaign, slot, now, weights):
        g, item, state = p.group, p.item, p.state
        key = outbox_key(campaign.name, slot, g.id)
        row = dict(campaign=campaign.name, slot=slot, group_id=g.id, item_id=item.id if item else None,
                   intent=item.intent if item else None, state=state, reason=p.reason,
                   outbox_key=key if state == "queued" else None, created_at=now)
        if insert_unless_exists(s, CampaignDelivery, row, ["campaign", "slot", "group_id"]) is None:
            counts["duplicate"] += 1          # this slot already ran for this group
            continue
        if state == "queued":
            try:
                _queue(svc.outbox, campaign, g, item, key, s)
            except Unreachable as e:          # raised before anything was queued
                s.execute(CampaignDelivery.__table__.update()
                          .where(CampaignDelivery.campaign == campaign.name, CampaignDelivery.slot == slot,
                                 CampaignDelivery.group_id == g.id)
                          .values(state="unreachable", outbox_key=None, reason=str(e)))
                state = "unreachable"
        counts[state] += 1
        new += 1
    return SlotResult(slot, counts, new)


@dataclass
class RunNow:
    """A slot run by hand: the run's record, what it did (None when the request had run before)."""
    run: CampaignRun
    result: Optional[SlotResult]

    @property
    def first(self) -> bool:
        return self.result is not None


def run_now(svc, campaign: CampaignConfig, *, key: str, who: str, now: dt.datetime, weights: Optional[dict],
            session: Session) -> RunNow:
    """Run a slot of the campaign now, once per request `key` (a form sent twice runs once): the slot is
    the current minute, through the outbox like a scheduled one, in the caller's transaction."""
    slot = now.replace(second=0, microsecond=0)
    rid = insert_unless_exists(session, CampaignRun, dict(key=key, campaign=campaign.name, slot=slot,
                                                          requested_by=who, requested_at=now), ["key"])
    if rid is None:
        return RunNow(session.scalar(select(CampaignRun).where(CampaignRun.key == key)), None)
    result = run_slot(svc, campaign, slot, now, weights=weights, session=session)
    session.execute(update(CampaignRun).where(CampaignRun.id == rid).values(summary=result.summary()))
    return RunNow(session.get(CampaignRun, rid), result)


def record_missed(svc, campaign: CampaignConfig, slot: dt.datetime) -> None:
    """A slot the service could not run in time: recorded per group, nothing sent."""
    with session_scope(svc.sessions) as s:
        for g in svc.config.campaign_groups(campaign):
            insert_unless_exists(s, CampaignDelivery, dict(
                campaign=campaign.name, slot=slot, group_id=g.id, state="missed",
                reason="服务停机，超过补发时限", created_at=slot), ["campaign", "slot", "group_id"])


def preview(svc, campaign: CampaignConfig, now: dt.datetime, weights: Optional[dict] = None
            ) -> list[tuple[GroupConfig, Optional[PoolItem]]]:
    """What the next slot would send to each group (nothing is recorded)."""
    groups = svc.config.campaign_groups(campaign)
    weights = svc.config.priorities.weights if weights is None else weights
    interval = slot_interval(campaign, svc.config.timezone, now)
    with svc.sessions() as s:
        hist = _histories(s, [g.id for g in groups], now)
    return [(g, choose(pool_for(campaign, g, svc.library, svc.venues, svc.config.signature), hist[g.id], weights,
                       now, campaign.rotation_days, svc.config.priorities.floor_days, interval,
                       svc.config.priorities.general_weight)) for g in groups]


def preview_slot(svc, campaign: CampaignConfig, slot: dt.datetime, weights: Optional[dict] = None
                 ) -> list[Planned]:
    """What the scheduled slot at `slot` will do for each group, decided as run_slot decides it when
    the job runs at that time (quiet hours, failing groups, priority and rotation); nothing is written."""
    weights = svc.config.priorities.weights if weights is None else weights
    with svc.sessions() as s:
        return plan_slot(svc, s, campaign, slot, slot, weights)


# --- the delivery log -----------------------------------------------------------------------

@dataclass
class Outcome:
    """What became of one delivery-log row (one campaign slot for one group).

    status: sent (sent_at: when), failed (reason), skipped (the slot sent nothing there: state and
    reason say why), waiting (a customer group's mass-send task waits for `owner` to confirm it on
    the phone), queued (in the outbox, not sent yet: reason says why when it was deferred or retried).
    """
    slot: dt.datetime
    campaign: str
    group_id: str
    item_id: Optional[str]
    state: str
    status: str
    reason: Optional[str] = None
    detail: Optional[str] = None
    sent_at: Optional[dt.datetime] = None
    next_attempt_at: Optional[dt.datetime] = None
    owner: Optional[str] = None


def deliveries(svc, since: dt.datetime, until: Optional[dt.datetime] = None, group: Optional[str] = None,
               campaign: Optional[str] = None) -> list[Outcome]:
    """Every delivery-log row with a slot in [since, until), with what became of it, oldest first."""
    with svc.sessions() as s:
        q = select(CampaignDelivery).where(CampaignDelivery.slot >= since)
        if until is not None:
            q = q.where(CampaignDelivery.slot < until)
        if group:
            q = q.where(CampaignDelivery.group_id == group)
        if campaign:
            q = q.where(CampaignDelivery.campaign == campaign)
        rows = list(s.scalars(q.order_by(CampaignDelivery.slot, CampaignDelivery.id)))
        keys = [d.outbox_key for d in rows if d.outbox_key]
        outbox: dict[str, list] = defaultdict(list)
        confirmed: dict[tuple, tuple] = {}
        for chunk in _chunks(keys, 500):
            for r in s.execute(select(OutboxMessage.dedupe_key, OutboxMessage.state, OutboxMessage.last_error,
                                      OutboxMessage.sent_at, OutboxMessage.next_attempt_at)
                               .where(OutboxMessage.dedupe_key.in_(chunk + [f"{k}#1" for k in chunk]))):
                outbox[r[0].split("#")[0]].append(tuple(r[1:]))
            # a customer group counts only when its owner really sent the mass-send task
            for r in s.execute(
                    select(MassSendTask.dedupe_key, MassSendGroup.group_id, MassSendGroup.status, MassSendGroup.sent_at,
                           MassSendTask.state, MassSendTask.owner, MassSendTask.error)
                    .join(MassSendGroup, MassSendGroup.task_id == MassSendTask.id)
                    .where(MassSendTask.dedupe_key.in_(chunk))):
                confirmed[(r[0], r[1])] = tuple(r[2:])
    return [_outcome(d, outbox.get(d.outbox_key, []), confirmed.get((d.outbox_key, d.group_id))) for d in rows]


def _outcome(d: CampaignDelivery, parts: list, member: Optional[tuple]) -> Outcome:
    o = Outcome(d.slot, d.campaign, d.group_id, d.item_id, d.state, "queued")
    if d.state != "queued":
        o.status, o.reason = "skipped", d.reason or STATE_NAMES.get(d.state, d.state)
        return o
    dead = [p for p in parts if p[0] == "dead"]
    if member is not None and not dead:
        status, sent_at, task_state, owner, error = member
        o.owner = owner
        if status == "sent":
            o.status, o.sent_at = "sent", sent_at
        elif status == "pending":
            o.status = "waiting" if task_state == "waiting" else "queued"
        else:
            o.status = "failed"
            o.reason = "群主未确认发送" if status == "not_sent" else "群发任务失败"
            o.detail = error
        return o
    if parts and all(p[0] == "sent" for p in parts):
        o.status, o.sent_at = "sent", max(p[2] for p in parts if p[2]) if any(p[2] for p in parts) else None
    elif dead:
        o.status, o.reason = "failed", dead[0][1]
    else:
        waiting = [p for p in parts if p[0] != "sent"]
        o.reason = next((p[1] for p in waiting if p[1]), None)
        o.next_attempt_at = min((p[3] for p in waiting if p[3]), default=None)
    return o


@dataclass
class LogLine:
    day: dt.date
    group_id: str
    scheduled: int
    sent: int
    failed: int
    pending: int
    other: Counter
    reasons: list[str]


def delivery_log(svc, since: dt.datetime, group: Optional[str] = None) -> list[LogLine]:
    """Per group and day (service timezone): scheduled, sent, failed with the reason, and the rest."""
    tz = ZoneInfo(svc.config.timezone)
    lines: dict[tuple, LogLine] = {}
    for o in deliveries(svc, since, group=group):
        day = o.slot.astimezone(tz).date()
        line = lines.setdefault((day, o.group_id), LogLine(day, o.group_id, 0, 0, 0, 0, Counter(), []))
        if o.status == "skipped":
            line.other[o.state] += 1
        else:
            line.scheduled += 1
            if o.status == "sent":
                line.sent += 1
            elif o.status == "failed":
                line.failed += 1
            else:
                line.pending += 1
        if o.status in ("skipped", "failed") and o.reason and o.reason not in line.reasons:
            line.reasons.append(o.reason)
    return sorted(lines.values(), key=lambda x: (x.day, x.group_id))


def _chunks(seq: list, n: int) -> Iterable[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]
