"""单位考核: each responsible unit's score for a period with every deduction and its reason (bot.stats.assess,
as #考核), the score chart the bot posts, and the household pledges (承诺书): the list and a form to record
one (as #承诺书 and `python -m bot cases pledge`), recorded with the console's own record in one transaction.
"""
from __future__ import annotations

import secrets
from zoneinfo import ZoneInfo

from flask import redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot import cases as cs
from bot import reports, stats
from bot.case_models import HouseholdPledge
from bot.console import access, periods
from bot.console.cases import font_problem, png
from bot.db import session_scope

NAV = [("console.assessment", "单位考核", "view")]

PLEDGES_SHOWN = 200
HOUSEHOLDS_MAX = 99999          # #承诺书 takes up to five digits


def source_name(ref: str) -> str:
    kind = (ref or "").split(":", 1)[0]
    return {"console": "控制台", "cli": "命令行"}.get(kind, "群内 #承诺书")


def pledges_in(session, period: stats.Period):
    """(the period's pledges, newest first, at most PLEDGES_SHOWN; how many; households in all)."""
    where = (HouseholdPledge.recorded_at >= period.start, HouseholdPledge.recorded_at < period.end)
    n, households = session.execute(select(func.count(), func.coalesce(func.sum(HouseholdPledge.households), 0))
                                    .where(*where)).one()
    rows = list(session.scalars(select(HouseholdPledge).where(*where)
                                .order_by(HouseholdPledge.recorded_at.desc(), HouseholdPledge.id.desc())
                                .limit(PLEDGES_SHOWN)))
    return rows, int(n), int(households)


def register(bp) -> None:
    @bp.get("/assessment")
    @access.require("view")
    def assessment():
        svc, u = access.service(), access.current_user()
        now = svc.clock()
        tz = ZoneInfo(svc.config.timezone)
        choice = periods.choose(request.args, svc.config, now, default="week")
        scores = stats.assess(svc.sessions, svc.config, choice.period, now)
        with svc.sessions() as s:
            pledges, n_pledges, households = pledges_in(s, choice.period)
        return render_template(
            "console/assessment.html", scores=scores, choice=choice, ranges=periods.RANGES,
            span=lambda p: periods.span_text(p, svc.config.timezone), rules=svc.config.assessment,
            pledges=pledges, n_pledges=n_pledges, households=households, shown=PLEDGES_SHOWN,
            unit_name=svc.config.unit_name, units=svc.config.units, source_name=source_name, tz=tz,
            person=lambda uid: (svc.config.person(uid).name if svc.config.person(uid) else uid),
            can_pledge=u.can("assessment.pledge"), form_id=secrets.token_urlsafe(12), note_max=cs.NOTE_MAX,
            households_max=HOUSEHOLDS_MAX, font_problem=font_problem(svc.config),
            said=request.args.get("said"), refused=request.args.get("refused"))

    @bp.get("/assessment/chart.png")
    @access.require("view")
    def assessment_chart():
        svc = access.service()
        now = svc.clock()
        choice = periods.choose(request.args, svc.config, now, default="week")
        scores = stats.assess(svc.sessions, svc.config, choice.period, now)
        return png(lambda: reports.assessment_chart(choice.period.label, scores,
                                                    reports.cjk_font(svc.config.reports.font)))

    @bp.post("/assessment/pledge")
    @access.require("assessment.pledge")
    def assessment_pledge():
        svc, u = access.service(), access.current_user()
        unit = request.form.get("unit", "")
        raw = request.form.get("households", "").strip()
        note = request.form.get("note", "").strip()
        back = {k: request.form[k] for k in ("range", "from", "to") if request.form.get(k)}

        def refuse(why: str):
            return redirect(url_for("console.assessment", refused=why, **back) + "#pledges")
        if not any(x.id == unit for x in svc.config.units):
            return refuse("请选择责任单位，承诺书没有登记。")
        if not raw.isdigit() or not 1 <= int(raw) <= HOUSEHOLDS_MAX:
            return refuse(f"户数应为 1 到 {HOUSEHOLDS_MAX} 之间的整数（填的是“{raw}”），承诺书没有登记。")
        if len(note) > cs.NOTE_MAX:
            return refuse(f"说明太长（{len(note)}字，最多{cs.NOTE_MAX}字），承诺书没有登记。")
        households = int(raw)
        ref = f"console:{request.form.get('form_id') or secrets.token_urlsafe(12)}"
        with session_scope(svc.sessions) as s:
            new = cs.pledge_in(s, unit=unit, households=households, note=note, by=u.userid, source_ref=ref,
                               at=svc.clock())
            if new:
                access.record(s, "assessment.pledge", unit, {"households": households, "note": note})
        said = (f"已登记：{svc.config.unit_name(unit)} 家庭防骗承诺书 {households} 户。" if new
                else "这份承诺书已经登记过（重复提交），没有再记一次。")
        return redirect(url_for("console.assessment", said=said, **back) + "#pledges")
