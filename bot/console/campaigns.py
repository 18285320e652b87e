"""宣传推送: every configured campaign with its next fire times, its state (running or paused, by whom,
when) and quiet hours; a preview of what each target group gets at the next fire, shown as the
resident sees it; pause, resume and run now (the same state changes as #推送 暂停/恢复/立即, recorded
in the same transaction; run now once per form); and the delivery log of one day per group.

The decisions are bot.campaigns' own: the preview is `preview_slot` (what `run_slot` sends at that
time: priority, rotation, quiet hours, failing groups), the log is `deliveries` (the delivery-log rows
with their outbox rows and mass-send tasks). This module only shows them.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from zoneinfo import ZoneInfo

from flask import redirect, render_template, request, send_file, url_for
from markupsafe import Markup, escape

from bot import campaigns as cp
from bot.channels.base import Unreachable
from bot.console import access
from bot.db import session_scope
from bot.stats import priority_weights, weights_basis
from content import markup

NAV = [("console.campaigns", "宣传推送", "view")]

WEEKDAYS = "一二三四五六日"
MSGTYPE_NAMES = {"text": "文字", "markdown": "带格式文字（markdown）", "image": "宣传海报（图片）", "news": "图文链接"}
DRAW_NAMES = {"venue": "场所宣传内容", "scenario": "诈骗类型提醒"}
VIA_NAMES = {"webhook": "群机器人", "appchat": "应用群聊", "customer_group": "企业群发（群主在手机上确认后才发出）",
             "aibot": "仅智能机器人（不能主动推送）", "none": "不推送"}
STATUS_NAMES = {"sent": "已发送", "failed": "失败", "skipped": "跳过", "waiting": "待群主确认", "queued": "排队中"}
LOG_ROWS = 30          # rows per group on the day's log unless one group is chosen


def weekday_zh(t: dt.datetime) -> str:
    return "星期" + WEEKDAYS[t.weekday()]


def _tz():
    return ZoneInfo(access.service().config.timezone)


def person_name(config, userid: str | None) -> str:
    if not userid:
        return ""
    p = config.person(userid)
    return p.name if p else userid


def kind_name(venues, kind: str) -> str:
    v = getattr(venues, "venues", {}).get(kind) if venues is not None else None
    return v.name if v is not None else kind


def type_name(library, intent: str | None) -> str:
    if not intent:
        return ""
    if intent == "general":
        return "综合防骗"
    if intent == "app":
        return "国家反诈中心APP"
    sc = library.scenarios.get(intent)
    return sc.name if sc is not None else intent


# --- what a resident sees ----------------------------------------------------------------------------

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_FONT = re.compile(r"&lt;font color=(?:&#34;|&quot;|\")(\w+)(?:&#34;|&quot;|\")&gt;(.*?)&lt;/font&gt;")
_AT = re.compile(r"&lt;@[^&\s]+&gt;")


def markup_html(text: str) -> Markup:
    """The project's markup (bold, quote lines, warning lines) as a WeCom member's client shows it:
    rendered, never the raw marks."""
    out = []
    for line in text.split("\n"):
        quoted = line.startswith(">")
        if quoted:
            line = line[1:].lstrip(" ")
        heading = re.match(r"^#{1,6} ", line)
        if heading:
            line = line[heading.end():]
        h = str(escape(line)).replace("`", "")
        h = _BOLD.sub(r"<b>\1</b>", h)
        h = _FONT.sub(r'<span class="md-\1">\2</span>', h)
        h = _AT.sub("", h)
        if heading:
            h = f"<b>{h}</b>"
        out.append(f"<blockquote>{h}</blockquote>" if quoted else f"<div>{h or '&nbsp;'}</div>")
    return Markup("".join(out))


def shown(ctx, campaign, planned: cp.Planned) -> dict:
    """What the group's readers see of the planned item: text (plain), html (rendered markup), an
    image (the poster), or news (an article card, with its text where the channel carries it)."""
    item = planned.item
    try:
        adapter, _address = ctx.channels.for_group(planned.group)
        sees_markup = adapter.markup
    except Unreachable:
        sees_markup = False
    if campaign.msgtype == "image":
        return {"kind": "image", "url": url_for("console.campaigns_poster", item=item.id)}
    if campaign.msgtype == "news":
        desc = item.text.encode("utf-8")[:500].decode("utf-8", "ignore")
        return {"kind": "news", "title": item.title, "description": desc, "url": campaign.news_url,
                "text": None if sees_markup else markup.plain(item.text)}
    rich = campaign.msgtype == "markdown" and item.markdown is not None
    body = item.markdown if rich else item.text
    if rich and sees_markup:
        return {"kind": "html", "html": markup_html(body), "plain": markup.plain(body)}
    return {"kind": "text", "text": markup.plain(body) if rich else body, "plain": markup.plain(body)}


# --- the campaigns ---------------------------------------------------------------------------------

def campaign_view(ctx, c, now: dt.datetime) -> dict:
    tz = ZoneInfo(ctx.config.timezone)
    st = cp.pause_state(ctx.sessions, c.name)
    groups = ctx.config.campaign_groups(c)
    fires = [t.astimezone(tz) for t in cp.next_fires(c, ctx.config.timezone, now, 5)]
    return {
        "c": c, "groups": groups,
        "kinds": [kind_name(ctx.venues, k) for k in c.targets.kinds],
        "named_groups": [g.name for g in groups if g.id in c.targets.groups],
        "fires": [(t, weekday_zh(t)) for t in fires],
        "paused": bool(st and st.paused),
        "changed_by": person_name(ctx.config, st.changed_by) if st else "",
        "changed_at": st.changed_at.astimezone(tz) if st and st.changed_at else None,
        "draw": "、".join(DRAW_NAMES.get(d, d) for d in c.draw_from),
        "msgtype": MSGTYPE_NAMES.get(c.msgtype, c.msgtype),
    }


def _back(**msg):
    return redirect(url_for("console.campaigns", **msg))


def _set_paused(paused: bool):
    svc, u = access.service(), access.current_user()
    name = request.form.get("name", "")
    c = svc.config.campaign(name)
    if c is None:
        return _back(refused=f"没有名为“{name}”的推送。")
    st = cp.pause_state(svc.sessions, name)
    if bool(st and st.paused) == paused:
        who = person_name(svc.config, st.changed_by) if st else ""
        return _back(refused=f"“{name}”已经是{'暂停' if paused else '运行'}状态" + (f"（{who}设置）" if who else "")
                     + "，未做更改。")
    now = svc.clock()
    with session_scope(svc.sessions) as s:
        cp.set_paused(svc.sessions, name, paused, u.userid, now, session=s)
        access.record(s, "campaign.pause" if paused else "campaign.resume", name, {"paused": paused})
    if paused:
        return _back(said=f"已暂停“{name}”：到点时不再推送，推送记录中记为“已暂停”跳过。")
    return _back(said=f"已恢复“{name}”：下次到点时照常推送。")


def register(bp) -> None:
    @bp.get("/campaigns")
    @access.require("view")
    def campaigns():
        svc = access.service()
        ctx = svc.ctx
        now = svc.clock()
        return render_template(
            "console/campaigns.html", views=[campaign_view(ctx, c, now) for c in svc.config.campaigns],
            tz=svc.config.timezone, form_id=lambda: secrets.token_urlsafe(12),
            can_control=access.current_user().can("campaign.control"),
            said=request.args.get("said"), refused=request.args.get("refused"), notice=request.args.get("notice"))

    @bp.get("/campaigns/preview")
    @access.require("view")
    def campaigns_preview():
        svc = access.service()
        ctx = svc.ctx
        name = request.args.get("name", "")
        c = svc.config.campaign(name)
        if c is None:
            names = "、".join(x.name for x in svc.config.campaigns) or "无"
            return render_template("console/error.html", message=f"没有名为“{name}”的推送。现有：{names}。"), 404
        now = svc.clock()
        view = campaign_view(ctx, c, now)
        fires = cp.next_fires(c, svc.config.timezone, now, 1)
        rows, basis, weights = [], "", []
        slot = fires[0] if fires else None
        if slot is not None:
            w, source = priority_weights(svc.sessions, svc.config, slot)
            basis = weights_basis(svc.config, source)
            weights = sorted(((v, type_name(svc.library, k)) for k, v in w.items() if v), reverse=True)[:8]
            for p in cp.preview_slot(ctx, c, slot, w):
                rows.append({"p": p, "via": VIA_NAMES.get(p.group.send.via, p.group.send.via),
                             "state": cp.STATE_NAMES.get(p.state, p.state),
                             "type": type_name(svc.library, p.item.intent) if p.item else "",
                             "shown": shown(ctx, c, p) if p.item is not None and p.state == "queued" else None})
        return render_template("console/campaign_preview.html", v=view, rows=rows, basis=basis, weights=weights,
                               slot=slot.astimezone(_tz()) if slot else None,
                               weekday=weekday_zh(slot.astimezone(_tz())) if slot else "")

    @bp.get("/campaigns/poster")
    @access.require("view")
    def campaigns_poster():
        svc = access.service()
        item_id = request.args.get("item", "")
        kind, _, key = item_id.partition(":")
        item = svc.venues.items.get(key) if kind == "venue" and svc.venues is not None else None
        if item is None or item.image is None:
            return render_template("console/error.html", message="没有这张海报。"), 404
        return send_file(item.image, mimetype="image/png", max_age=3600)

    @bp.post("/campaigns/pause")
    @access.require("campaign.control")
    def campaigns_pause():
        return _set_paused(True)

    @bp.post("/campaigns/resume")
    @access.require("campaign.control")
    def campaigns_resume():
        return _set_paused(False)

    @bp.post("/campaigns/run")
    @access.require("campaign.control")
    def campaigns_run():
        svc, u = access.service(), access.current_user()
        name = request.form.get("name", "")
        c = svc.config.campaign(name)
        if c is None:
            return _back(refused=f"没有名为“{name}”的推送。")
        form_id = request.form.get("form_id", "").strip()
        if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", form_id):
            return _back(refused="表单缺少编号，未推送：请刷新页面后再点“立即推送”。")
        now = svc.clock()
        weights = priority_weights(svc.sessions, svc.config, now)[0]
        with session_scope(svc.sessions) as s:
            run = cp.run_now(svc.ctx, c, key=f"console:{form_id}", who=u.userid, now=now, weights=weights, session=s)
            if run.first:
                access.record(s, "campaign.run", name, {"form_id": form_id, "slot": run.run.slot.isoformat(),
                                                        "counts": dict(run.result.counts)})
        if not run.first:
            return _back(notice=f"这张表单已提交过（{person_name(svc.config, run.run.requested_by)}，"
                                f"{run.run.requested_at.astimezone(_tz()):%H:%M:%S}），没有重复推送："
                                f"{run.run.summary or ''}。")
        svc.outbox.notify()
        if run.result.counts["queued"]:
            return _back(said=f"“{name}”已立即推送：{run.result.summary()}。")
        return _back(notice=f"“{name}”本次没有发出任何消息：{run.result.summary()}。")

    @bp.get("/campaigns/log")
    @access.require("view")
    def campaigns_log():
        svc = access.service()
        tz = _tz()
        now = svc.clock()
        today = now.astimezone(tz).date()
        problem = None
        try:
            day = dt.date.fromisoformat(request.args.get("day") or today.isoformat())
        except ValueError:
            day, problem = today, f"日期“{request.args.get('day')}”看不懂，已显示今天。请写成 2026-12-04。"
        group_id = request.args.get("group", "")
        if group_id and svc.config.group(group_id) is None:
            problem, group_id = f"没有编号为“{group_id}”的群，已显示全部群。", ""
        start = dt.datetime.combine(day, dt.time(), tz)
        end = start + dt.timedelta(days=1)
        outcomes = cp.deliveries(svc.ctx, start, end, group=group_id or None)
        # the groups some campaign reaches, in config order, then any other group with rows
        reached = [g for g in svc.config.groups if any(g in svc.config.campaign_groups(c) for c in svc.config.campaigns)]
        seen = {o.group_id for o in outcomes}
        groups = [g for g in svc.config.groups if g in reached or g.id in seen]
        if group_id:
            groups = [g for g in groups if g.id == group_id] or [svc.config.group(group_id)]
        paused = {c.name for c in svc.config.campaigns if (st := cp.pause_state(svc.sessions, c.name)) and st.paused}
        blocks = []
        for g in groups:
            rows = [o for o in outcomes if o.group_id == g.id]
            counts = {k: sum(1 for o in rows if o.status == k) for k in STATUS_NAMES}
            ahead = []
            if end > now:
                for c in svc.config.campaigns:
                    if c.enabled and c.name not in paused and g in svc.config.campaign_groups(c):
                        ahead += [(t, c.name) for t in cp.next_fires(c, svc.config.timezone, max(now, start), 1500,
                                                                      until=end)]
            ahead.sort()
            shown_rows = rows if group_id else rows[-LOG_ROWS:]
            blocks.append({"g": g, "via": VIA_NAMES.get(g.send.via, g.send.via), "counts": counts,
                           "total": len(rows), "rows": [_log_row(svc, o, tz) for o in reversed(shown_rows)],
                           "ahead": len(ahead), "next": (ahead[0][0].astimezone(tz), ahead[0][1]) if ahead else None})
        return render_template("console/campaign_log.html", day=day, today=today, blocks=blocks, group_id=group_id,
                               groups=[g for g in svc.config.groups if g in reached], problem=problem,
                               status_names=STATUS_NAMES, limit=LOG_ROWS,
                               prev_day=day - dt.timedelta(days=1), next_day=day + dt.timedelta(days=1))


def _log_row(svc, o: cp.Outcome, tz) -> dict:
    """One delivery-log row as the page says it: status and the explanation."""
    what = {
        "sent": lambda: f"{o.sent_at.astimezone(tz):%H:%M:%S} 送达" + ("（群主已确认群发）" if o.owner else "")
        if o.sent_at else "已送达",
        "failed": lambda: (o.reason or "发送失败") + (f"（{o.detail}）" if o.detail else ""),
        "skipped": lambda: _skip_reason(o),
        "waiting": lambda: f"群发任务已创建，等待{person_name(svc.config, o.owner)}在手机上确认发送",
        "queued": lambda: (o.reason or ("等待群主的群发任务创建" if o.owner else "在发送队列中"))
        + (f"，{o.next_attempt_at.astimezone(tz):%H:%M:%S} 再发" if o.next_attempt_at and o.reason else ""),
    }[o.status]()
    return {"o": o, "at": o.slot.astimezone(tz), "status": STATUS_NAMES[o.status], "what": what,
            "item": cp.item_title(svc.library, svc.venues, o.item_id)}


def _skip_reason(o: cp.Outcome) -> str:
    name = cp.STATE_NAMES.get(o.state, o.state)
    if not o.reason or o.reason == name:
        return name
    return o.reason if name in o.reason or name.lstrip("已") in o.reason else f"{name}：{o.reason}"
