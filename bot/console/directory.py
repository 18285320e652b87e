"""群与人员: the configured groups (venue kind, unit, how the bot reaches each, its last push), people,
stations and units. Read-only: everything comes from config.yaml and changes there, on restart.

How a group is reached is said by its channel adapter (README "What WeCom really allows"): a group robot
or an app group chat for internal groups, only @-answers for an intelligent-bot-only group, and for an
external group of WeChat residents only a mass-send task its owner confirms on the phone. A group's last
push is the last outbox row sent to it, unless its channel knows better (a customer group: the last task
its owner really sent to it; the outbox row only means WeCom created the task).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy import func, select

from bot.channels.base import Unreachable
from bot.console import access
from bot.console.access import ROLE_NAMES
from bot.models import OutboxMessage
from bot.privacy import mask_phone
from content import markup
from content.venues import VENUES

NAV = [("console.directory", "群与人员", "view")]

KIND_NAMES = {"community": "社区", "bank": "银行", "school": "学校", "square": "广场", "network": "网络",
              "station": "车站", "unit": "窗口单位", "enterprise": "企业", "linkage": "预警联动",
              "leadership": "领导小组"}
PREVIEW = 40


def hears(g) -> str:
    """How residents of the group ask the bot."""
    if g.external:
        return "不能在群里提问（企业微信不让机器人进客户群）：居民可关注公众号提问"
    return "在群里@智能机器人提问（机器人须在群里）"


def _preview(text: str, full: bool) -> str:
    text = " ".join(markup.plain(text or "").split())
    text = text if len(text) <= PREVIEW else text[:PREVIEW] + "…"
    return text if full else mask_phone(text)


def _payload_text(row: OutboxMessage) -> str:
    p = row.payload or {}
    if p.get("text"):
        return p["text"]
    if p.get("caption"):
        return f"[图片] {p['caption']}"
    if p.get("articles"):
        return "[图文] " + "；".join(a.get("title", "") for a in p["articles"])
    return {"image": "[图片]", "news": "[图文]"}.get(row.msgtype, "")


def source_name(source: str | None) -> str:
    s = source or ""
    if s.startswith("campaign:"):
        return f"定时推送「{s.split(':', 1)[1]}」"
    if s.startswith("inbound:"):
        return "回答群里的提问"
    if s.startswith("stats:"):
        return "统计报告"
    if s == "warnings:summary":
        return "预警日报"
    if s.startswith("YJ-"):
        return f"预警 {s}"
    return s


def last_pushes(session, channels, groups) -> dict[str, dict]:
    """{group id: {at, source, text[, pending]}} of the last push each group really got: the last outbox
    row sent to it, unless its channel says what was delivered (a customer group: what its owner sent)."""
    by_adapter: dict[str, tuple] = {}
    for g in groups:
        try:
            adapter, _ = channels.for_group(g)
        except Unreachable:
            continue
        by_adapter.setdefault(adapter.name, (adapter, []))[1].append(g.id)
    out: dict[str, dict] = {}
    for adapter, ids in by_adapter.values():
        own = adapter.delivered(session, ids)
        out.update(own if own is not None else _last_rows_sent(session, ids))
    return out


def _last_rows_sent(session, group_ids: list[str]) -> dict[str, dict]:
    last = (select(OutboxMessage.group_id, func.max(OutboxMessage.sent_at).label("at"))
            .where(OutboxMessage.state == "sent", OutboxMessage.group_id.in_(group_ids))
            .group_by(OutboxMessage.group_id).subquery())
    rows = session.scalars(select(OutboxMessage).join(
        last, (OutboxMessage.group_id == last.c.group_id) & (OutboxMessage.sent_at == last.c.at))
        .where(OutboxMessage.state == "sent").order_by(OutboxMessage.id))
    return {r.group_id: {"at": r.sent_at, "source": r.source, "text": _payload_text(r)} for r in rows}


def register(bp) -> None:
    @bp.get("/directory")
    @access.require("view")
    def directory():
        svc = access.service()
        cfg = svc.config
        full = access.current_user().can("warning.full")
        tz = ZoneInfo(cfg.timezone)
        with svc.sessions() as s:
            pushes = last_pushes(s, svc.channels, cfg.groups)
        names = {p.userid: p.name for p in cfg.people}
        groups = []
        for g in cfg.groups:
            how, means = svc.channels.reach(g)
            last = pushes.get(g.id, {})
            show_text = g.kind in VENUES or full        # the linkage group's posts name victims
            groups.append({
                "g": g, "kind": KIND_NAMES.get(g.kind, g.kind), "unit": cfg.unit_name(g.unit) if g.unit else "",
                "how": how, "means": means, "hears": hears(g), "venue": g.kind in VENUES,
                "members": [names.get(m, m) for m in g.members],
                "last_at": last["at"].astimezone(tz) if last.get("at") else None,
                "last_source": source_name(last.get("source")),
                "last_text": _preview(last.get("text", ""), full) if show_text and last.get("at") else "",
                "pending": last.get("pending", 0)})
        stations = [{"s": st, "unit": cfg.unit_name(st.unit) if st.unit else "",
                     "liaisons": [names.get(u, u) for u in st.liaisons], "chief": names.get(st.chief, st.chief),
                     "people": [p.name for p in cfg.people if p.station == st.id]} for st in cfg.stations]
        units = [{"u": u, "groups": [g.name for g in cfg.groups if g.unit == u.id],
                  "stations": [st.name for st in cfg.stations if st.unit == u.id]} for u in cfg.units]
        people = [{"p": p, "roles": "、".join(ROLE_NAMES.get(r, r) for r in p.roles),
                   "station": (cfg.station(p.station).name if p.station and cfg.station(p.station) else ""),
                   "mobile": (p.mobile if full else mask_phone(p.mobile)) if p.mobile else "",
                   "groups": [g.name for g in cfg.groups if p.userid in g.members]} for p in cfg.people]
        return render_template("console/directory.html", groups=groups, people=people, stations=stations,
                               units=units, full=full, source=cfg.source or "config.yaml", mp=cfg.mp)
