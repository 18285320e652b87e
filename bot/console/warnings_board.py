"""预警看板: open warnings with their level, station, age and the next escalation step, updating live;
a warning's page with its whole history; the chat commands' actions (sign, report, reassign, close) and a
form for a new warning. Each action goes through bot.warnings like the chat command: the same checks,
event rows and group posts; the console adds its own record (who, when) in the same transaction.
"""
from __future__ import annotations

import secrets

from flask import redirect, render_template, request, url_for
from sqlalchemy import select

from bot import warnings as wn
from bot.console import access
from bot.db import session_scope
from bot.privacy import mask_phone
from bot.warnings.models import OPEN_STATES

NAV = [("console.warnings", "预警看板", "view")]

LEVELS = ("红", "橙", "黄")
RESULT_CHOICES = [(k, v) for k, v in wn.RESULT_NAMES.items()]


def _filters() -> dict:
    return {k: request.args.get(k, "") for k in ("station", "level", "state")}


def board_rows(session, config, now, f: dict) -> list[dict]:
    """The open warnings that pass the filters, oldest first, as the board shows them."""
    q = select(wn.Warning).where(wn.Warning.state.in_(OPEN_STATES))
    if f.get("station"):
        q = q.where(wn.Warning.station_id == (None if f["station"] == "centre" else f["station"]))
    if f.get("level"):
        q = q.where(wn.Warning.level == f["level"])
    if f.get("state"):
        q = q.where(wn.Warning.state == f["state"])
    rows = []
    for w in session.scalars(q.order_by(wn.Warning.dispatched_at, wn.Warning.id)):
        nxt = wn.next_step(config.warnings, w, now)
        rows.append({"w": w, "station": wn.station_name(config, w.station_id), "age": now - w.dispatched_at,
                     "next": (wn.texts.EVENT_NAMES[wn.texts.STEP_EVENTS[nxt[0].kind]], nxt[1] - now) if nxt else None,
                     "overdue": w.overdue_now(config.warnings, now)})
    return rows


DETAIL_NAMES = {"station": "派出所", "from": "原派出所", "to": "转派给", "level": "级别", "type": "类型",
                "result": "结果", "note": "说明", "step": "步骤"}


def event_detail(config, library, e, full: bool) -> str:
    """An event row's detail in words: 派出所：城关派出所 级别：红 … (phones masked unless full)."""
    out = []
    for k, v in (e.detail or {}).items():
        if v in (None, ""):
            continue
        if k in ("station", "from", "to"):
            v = wn.station_name(config, v)
        elif k == "type":
            v = wn.type_name(library, v)
        elif k == "result":
            v = wn.RESULT_NAMES.get(v, v)
        elif not full:
            v = mask_phone(str(v))
        out.append(f"{DETAIL_NAMES.get(k, k)}：{v}")
    return "  ".join(out)


def _board(template: str):
    svc = access.service()
    f = _filters()
    now = svc.clock()
    with svc.sessions() as s:
        rows = board_rows(s, svc.config, now, f)
        return render_template(template, rows=rows, f=f, stations=svc.config.stations, levels=LEVELS,
                               states=[(k, wn.STATE_NAMES[k]) for k in OPEN_STATES], now=now,
                               live=svc.config.console.live_seconds, state_names=wn.STATE_NAMES, full=access.current_user().can("warning.full"),
                               type_name=lambda t: wn.type_name(svc.library, t), duration=wn.texts.duration)


def _act(number: str, what: str, fn):
    """Run one action on a warning in one transaction with its console record; the answer shows on its page."""
    svc = access.service()
    try:
        with session_scope(svc.sessions) as s:
            w = wn.find(s, number)
            if w is None:
                return render_template("console/error.html", message=f"没有编号为 {number} 的预警。"), 404
            text = fn(s, w, svc.clock())
            access.record(s, f"warning.{what}", number, {"form": {k: v for k, v in request.form.items()
                                                                   if k != "csrf_token"}})
        svc.outbox.notify()
        return redirect(url_for("console.warning", number=number, said=text))
    except wn.WarningError as e:
        return redirect(url_for("console.warning", number=number, refused=str(e)))


def register(bp) -> None:
    @bp.get("/warnings")
    @access.require("view")
    def warnings():
        return _board("console/warnings.html")

    @bp.get("/warnings/rows")
    @access.require("view")
    def warnings_rows():
        return _board("console/_warning_rows.html")

    @bp.get("/warnings/<number>")
    @access.require("view")
    def warning(number: str):
        svc = access.service()
        u = access.current_user()
        now = svc.clock()
        with svc.sessions() as s:
            w = wn.find(s, number)
            if w is None:
                return render_template("console/error.html", message=f"没有编号为 {number} 的预警。"), 404
            events = wn.queries.events_of(s, w)
            nxt = wn.next_step(svc.config.warnings, w, now) if w.state in OPEN_STATES else None
            may = wn.people.may_act(svc.config, w, u.userid)
            return render_template(
                "console/warning.html", w=w, events=events, state_names=wn.STATE_NAMES, result_names=wn.RESULT_NAMES, full=u.can("warning.full"), now=now,
                station=wn.station_name(svc.config, w.station_id), type=wn.type_name(svc.library, w.fraud_type),
                next=(wn.texts.EVENT_NAMES[wn.texts.STEP_EVENTS[nxt[0].kind]], nxt[1]) if nxt else None,
                can_act=w.state in OPEN_STATES and u.can("warning.act") and may,
                can_manage=w.state in OPEN_STATES and u.can("warning.manage") and wn.people.is_centre(svc.config, u.userid),
                results=RESULT_CHOICES, stations=svc.config.stations, person=lambda uid: wn.person_name(svc.config, uid),
                station_name=lambda sid: wn.station_name(svc.config, sid), event_name=wn.texts.EVENT_NAMES,
                local=lambda t: wn.texts.local(svc.config, t), said=request.args.get("said"),
                detail=lambda e: event_detail(svc.config, svc.library, e, u.can("warning.full")),
                refused=request.args.get("refused"))

    @bp.post("/warnings/<number>/sign")
    @access.require("warning.act")
    def warning_sign(number: str):
        svc, u = access.service(), access.current_user()
        return _act(number, "sign", lambda s, w, now: wn.sign(s, svc.ctx, w, actor=u.userid, channel="console",
                                                               ref=f"console:{u.userid}", now=now, announce=True))

    @bp.post("/warnings/<number>/report")
    @access.require("warning.act")
    def warning_report(number: str):
        svc, u = access.service(), access.current_user()
        result = request.form.get("result", "")
        if result not in wn.RESULT_NAMES:
            return redirect(url_for("console.warning", number=number, refused="请选择反馈结果。"))
        note = request.form.get("note", "").strip()[:500]
        return _act(number, "report", lambda s, w, now: wn.report(
            s, svc.ctx, w, actor=u.userid, result=result, note=note, channel="console", ref=f"console:{u.userid}",
            now=now, announce=True))

    @bp.post("/warnings/<number>/reassign")
    @access.require("warning.manage")
    def warning_reassign(number: str):
        svc, u = access.service(), access.current_user()
        station = request.form.get("station", "")
        station_id = None if station == "centre" else station
        if station_id is not None and svc.config.station(station_id) is None:
            return redirect(url_for("console.warning", number=number, refused="请选择要转派的派出所。"))
        return _act(number, "reassign", lambda s, w, now: wn.reassign(
            s, svc.ctx, w, actor=u.userid, station_id=station_id, channel="console", ref=f"console:{u.userid}",
            now=now))

    @bp.post("/warnings/<number>/close")
    @access.require("warning.manage")
    def warning_close(number: str):
        svc, u = access.service(), access.current_user()
        note = request.form.get("note", "").strip()[:500]
        return _act(number, "close", lambda s, w, now: wn.close(
            s, svc.ctx, w, actor=u.userid, note=note, channel="console", ref=f"console:{u.userid}", now=now,
            announce=True))

    @bp.route("/warnings/new", methods=["GET", "POST"])
    @access.require("warning.create")
    def warning_new():
        svc, u = access.service(), access.current_user()
        form = {k: request.form.get(k, "").strip() for k in ("name", "phone", "place", "type", "level", "note",
                                                             "station")}
        problems = []
        if request.method == "POST":
            station = form["station"] or None
            if station is not None and svc.config.station(station) is None:
                problems.append("派出所：不认识")
            fields = {k: form[k] for k in ("phone", "place", "name", "type", "level", "note") if form[k]}
            d = wn.check_draft(wn.Draft(station=station), fields, "", svc.config, svc.matcher, svc.library)
            problems += [p.zh for p in d.problems]
            if not problems:
                now = svc.clock()
                ref = f"console:{request.form.get('form_id') or now.timestamp()}"
                w, _ = wn.create_with_retry(
                    svc.sessions, svc.ctx, d, actor=u.userid, channel="console", ref=ref, now=now, source="console",
                    also=lambda s, w: access.record(s, "warning.create", w.number,
                                                    {"level": w.level, "station": w.station_id}))
                remarks = "".join(f"（{r}）" for r in d.remarks)
                return redirect(url_for("console.warning", number=w.number,
                                        said=f"已下发 {w.number}：{wn.station_name(svc.config, w.station_id)}，"
                                             f"{wn.level_text(w.level)}，{wn.type_name(svc.library, w.fraud_type)}。{remarks}"))
        return render_template("console/warning_new.html", form=form, problems=problems, levels=LEVELS,
                               stations=svc.config.stations, form_id=secrets.token_urlsafe(12),
                               types=sorted((sc.short, k) for k, sc in svc.library.scenarios.items()))
