"""案件研判: the figures of #统计 / #研判 for a chosen period (bot.stats, the same functions), their charts
(bot.reports, the PNGs the bot posts), the case list with search and pages, the import of a case file
(bot.cases.import_file, as `python -m bot cases import`) and victim follow-ups (回访, as #回访).

Every change (an import that writes, a follow-up) is one ConsoleAction row in the same transaction.
Without "warning.full" a follow-up's note (it may name the victim) is not shown and phone numbers in
the method text are masked.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import secrets
import tempfile
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Response, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot import cases as cs
from bot import reports, stats
from bot.case_models import CaseFollowUp, FraudCase
from bot.config import CASE_REQUIRED
from bot.console import access, periods
from bot.console_models import ConsoleAction
from bot.db import session_scope

NAV = [("console.cases", "案件研判", "view")]

PER_PAGE = 50
# a case file may be far larger than a WeCom callback (the app's MAX_CONTENT_LENGTH): 100,000 cases are
# about 14 MB of CSV
IMPORT_MAX_BYTES = 32 * 1024 * 1024
# the row errors kept with an import's record (and shown); the rest are counted
ERRORS_KEPT = 1000
CHARTS = {"stats": "案件统计图（同 #统计）", "rising": "研判图（同 #研判）"}

_draw = threading.Lock()        # matplotlib's settings are global: one chart at a time


def font_problem(config) -> str:
    """Why the charts cannot be drawn, or ""."""
    try:
        reports.cjk_font(config.reports.font)
        return ""
    except reports.FontMissing as e:
        return f"图表未生成：服务器缺少中文字体（{e}）"


def png(draw) -> Response:
    """A chart as a PNG answer, or 503 with the reason (no CJK font)."""
    try:
        with _draw:
            data = draw()
    except reports.FontMissing as e:
        return Response(f"图表未生成：服务器缺少中文字体（{e}）", 503, mimetype="text/plain")
    return Response(data, mimetype="image/png", headers={"Cache-Control": "private, max-age=60"})


# --- the analysis ---------------------------------------------------------------------------------

def analysis(svc, choice: periods.Choice):
    a = stats.analyse(svc.sessions, svc.config, choice.period)
    return a, stats.rising_in(a)


# --- the case list --------------------------------------------------------------------------------

FILTERS = ("no", "township", "type", "text", "from", "to")


def list_filters(args) -> dict:
    return {k: (args.get(k) or "").strip()[:100] for k in FILTERS}


def case_number_condition(session, no: str):
    """A case number as typed: that case when it exists (the unique index), else every case number
    that starts with it, in any case. The prefix is matched in a subquery that reads only the case
    numbers' index, not every row in the order of the list (about 60 ms → 13 ms over 100,000 cases)."""
    for exact in dict.fromkeys((no, no.upper())):
        if session.scalar(select(FraudCase.id).where(FraudCase.case_no == exact)) is not None:
            return FraudCase.case_no == exact
    return FraudCase.id.in_(select(FraudCase.id).where(FraudCase.case_no.istartswith(no, autoescape=True)))


def case_conditions(session, f: dict, tz: ZoneInfo) -> tuple[list, list[str]]:
    """SQL conditions of the list's search, and what was not understood."""
    conds, problems = [], []
    if f["no"]:
        conds.append(case_number_condition(session, f["no"]))
    if f["township"]:
        conds.append(FraudCase.township == f["township"])
    if f["type"]:
        conds.append(FraudCase.fraud_type == f["type"])
    if f["text"]:
        conds.append(FraudCase.method.contains(f["text"], autoescape=True))
    for key, op in (("from", "__ge__"), ("to", "__lt__")):
        if not f[key]:
            continue
        try:
            d = dt.date.fromisoformat(f[key])
        except ValueError:
            problems.append(f"日期格式不对（{f[key]}），请用 年-月-日")
            continue
        if key == "to":
            d += dt.timedelta(days=1)
        at = dt.datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(dt.timezone.utc)
        conds.append(getattr(FraudCase.occurred_at, op)(at))
    return conds, problems


def list_cases(session, conds: list, page: int, per_page: int = PER_PAGE):
    """(rows of (case, follow-ups), total, page, pages): newest first; the page is kept within range.

    A page in the older half is read from the other end (oldest first, then turned round): no page
    skips more than half the cases (PostgreSQL's last page of 100,000: 150 ms → as the first)."""
    total = session.scalar(select(func.count()).select_from(FraudCase).where(*conds)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    offset = (page - 1) * per_page
    follow = (select(func.count()).where(CaseFollowUp.case_id == FraudCase.id)
              .correlate(FraudCase).scalar_subquery())
    q = select(FraudCase, follow).where(*conds)
    if offset > total // 2:
        n = min(per_page, total - offset)
        rows = session.execute(q.order_by(FraudCase.occurred_at.asc(), FraudCase.id.asc())
                               .limit(n).offset(total - offset - n)).all()[::-1]
    else:
        rows = session.execute(q.order_by(FraudCase.occurred_at.desc(), FraudCase.id.desc())
                               .limit(per_page).offset(offset)).all()
    return rows, total, page, pages


def page_links(page: int, pages: int) -> list:
    """The page numbers the pager shows (None for a gap): the first, the last and two around this one."""
    want = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out, last = [], 0
    for n in want:
        if n - last > 1:
            out.append(None)
        out.append(n)
        last = n
    return out


# --- import -----------------------------------------------------------------------------------------

def upload_name(filename: str) -> str:
    """The uploaded file's own name, without any folder (the browser may send a path)."""
    name = os.path.basename((filename or "").replace("\\", "/")).strip().lstrip(".").replace("\x00", "")
    return name[:200]


def import_detail(name: str, res: cs.ImportResult, skip_bad: bool) -> dict:
    """What the import's record keeps: the counts and the row errors (the first ERRORS_KEPT)."""
    bad_rows = {e.row for e in res.errors}
    return {"file": name, "rows": res.rows, "inserted": res.inserted, "updated": res.updated,
            "refused": len(bad_rows), "error_count": len(res.errors), "written": res.written,
            "skip_bad": skip_bad, "unknown_types": dict(res.unknown_types.most_common()),
            "errors": [[e.row, e.column, e.reason] for e in res.errors[:ERRORS_KEPT]]}


def do_import(svc, storage, skip_bad: bool):
    """Import an uploaded file with bot.cases.import_file; → (ConsoleAction id, None) or (None, refusal)."""
    name = upload_name(storage.filename)
    if not name:
        return None, "请选择要导入的案件文件（CSV 或 XLSX）。"
    with tempfile.TemporaryDirectory(prefix="fanzha-import-") as tmp:
        path = Path(tmp) / name
        storage.save(str(path))
        if path.stat().st_size == 0:
            return None, f"{name}：文件为空，未导入。"
        holder = {}

        def also(s, res):
            holder["id"] = _record_import(s, name, res, skip_bad)
        try:
            res = cs.import_file(svc.sessions, svc.config, path, skip_bad=skip_bad, now=svc.clock(), also=also)
        except cs.ImportFailed as e:
            return None, "导入失败，未写入任何数据：" + str(e).replace(f"{tmp}/", "")
    if not res.written:
        # nothing changed; the attempt is still recorded, so that its row errors can be shown
        with session_scope(svc.sessions) as s:
            holder["id"] = _record_import(s, name, res, skip_bad)
    return holder["id"], None


def _record_import(s, name: str, res: cs.ImportResult, skip_bad: bool) -> int:
    row = access.record(s, "cases.import", name, import_detail(name, res, skip_bad))
    s.flush()
    return row.id


def recent_imports(session, n: int = 20) -> list[ConsoleAction]:
    return list(session.scalars(select(ConsoleAction).where(ConsoleAction.action == "cases.import")
                                .order_by(ConsoleAction.at.desc(), ConsoleAction.id.desc()).limit(n)))


# --- follow-ups --------------------------------------------------------------------------------------

def follow_up_time(day: str, now: dt.datetime, tz: ZoneInfo):
    """When a follow-up was made: now, or noon of an earlier day (as `cases followup --date`)."""
    if not day:
        return now, ""
    try:
        d = dt.date.fromisoformat(day)
    except ValueError:
        return None, f"回访日期格式不对（{day}），请用 年-月-日"
    today = now.astimezone(tz).date()
    if d > today:
        return None, f"回访日期 {d} 还没到"
    return (now if d == today else dt.datetime.combine(d, dt.time(12), tz).astimezone(dt.timezone.utc)), ""


def register(bp) -> None:
    @bp.before_request
    def _allow_case_files():
        # before the blueprint's CSRF check reads the form: a case file may exceed the callbacks' limit
        if request.endpoint == "console.cases_import" and request.method == "POST":
            u = access.current_user()
            if u is not None and u.can("cases.import"):
                request.max_content_length = IMPORT_MAX_BYTES

    @bp.errorhandler(413)
    def _too_large(_e):
        if request.endpoint == "console.cases_import":
            msg = f"文件太大：案件文件最大 {IMPORT_MAX_BYTES // (1024 * 1024)} MB，请分成几个文件导入。"
        else:
            msg = "提交的内容太大。"
        return render_template("console/error.html", message=msg), 413

    @bp.get("/cases")
    @access.require("view")
    def cases():
        svc, u = access.service(), access.current_user()
        now = svc.clock()
        choice = periods.choose(request.args, svc.config, now, default="7d")
        a, rises = analysis(svc, choice)
        st = stats.warning_stats(svc.sessions, svc.config, choice.period, now)
        w_total = sum(x.total for x in st)
        w_base = w_total - sum(x.invalid for x in st)
        return render_template(
            "console/cases.html", a=a, rises=rises, stations=st, choice=choice, ranges=periods.RANGES,
            span=lambda p: periods.span_text(p, svc.config.timezone), dims=stats.DIMENSIONS, money=stats.money,
            pct=stats.pct, charts=CHARTS, font_problem=font_problem(svc.config), can_import=u.can("cases.import"),
            warnings={"total": w_total, "dissuaded": sum(x.dissuaded for x in st),
                      "rate": None if w_base <= 0 else 100 * sum(x.dissuaded for x in st) / w_base,
                      "overdue": sum(x.overdue for x in st)},
            list_args={"from": choice.start_day.isoformat(), "to": choice.end_day.isoformat()})

    @bp.get("/cases/chart/<kind>.png")
    @access.require("view")
    def cases_chart(kind: str):
        svc = access.service()
        if kind not in CHARTS:
            return render_template("console/error.html", message=f"没有“{kind}”这种图表。"), 404
        choice = periods.choose(request.args, svc.config, svc.clock(), default="7d")
        a = stats.analyse(svc.sessions, svc.config, choice.period)
        font = svc.config.reports.font
        if kind == "stats":
            return png(lambda: reports.stats_chart(a, reports.cjk_font(font)))
        return png(lambda: reports.rising_chart(a, reports.cjk_font(font)))

    @bp.get("/cases/list")
    @access.require("view")
    def cases_list():
        svc, u = access.service(), access.current_user()
        tz = ZoneInfo(svc.config.timezone)
        f = list_filters(request.args)
        try:
            page = int(request.args.get("page", "1"))
        except ValueError:
            page = 1
        with svc.sessions() as s:
            conds, problems = case_conditions(s, f, tz)
            rows, total, page, pages = list_cases(s, conds, page)
        searched = {k: v for k, v in f.items() if v}
        return render_template(
            "console/cases_list.html", rows=rows, total=total, page=page, pages=pages, f=f, searched=searched,
            problems=problems, links=page_links(page, pages), townships=svc.config.townships,
            types=sorted(((k, cs.type_name(k, svc.config)) for k in svc.config.catalog().fraud), key=lambda x: x[1]),
            type_name=lambda k: cs.type_name(k, svc.config), full=u.can("warning.full"), tz=tz,
            per_page=PER_PAGE)

    @bp.get("/cases/case/<path:case_no>")
    @access.require("view")
    def cases_case(case_no: str):
        svc, u = access.service(), access.current_user()
        try:
            case, items = cs.follow_ups(svc.sessions, case_no)
        except cs.CaseError as e:
            return render_template("console/error.html", message=f"{e}。"), 404
        return render_template(
            "console/case.html", c=case, items=items, full=u.can("warning.full"),
            can_follow=u.can("cases.followup"), methods=cs.FOLLOW_UP_METHODS, note_max=cs.NOTE_MAX,
            type_name=cs.type_name(case.fraud_type, svc.config), tz=ZoneInfo(svc.config.timezone),
            person=lambda uid: (svc.config.person(uid).name if svc.config.person(uid) else uid),
            form_id=secrets.token_urlsafe(12), said=request.args.get("said"), refused=request.args.get("refused"),
            today=svc.clock().astimezone(ZoneInfo(svc.config.timezone)).date())

    @bp.post("/cases/followup")
    @access.require("cases.followup")
    def cases_followup():
        svc, u = access.service(), access.current_user()
        tz = ZoneInfo(svc.config.timezone)
        case_no = request.form.get("case_no", "").strip()
        method = request.form.get("method", "")
        note = request.form.get("note", "").strip()

        def refuse(why: str):
            return redirect(url_for("console.cases_case", case_no=case_no, refused=why) if case_no
                            else url_for("console.cases_list"))
        if method not in cs.FOLLOW_UP_METHODS:
            return refuse("请选择回访方式。")
        if not note:
            return refuse("请填写回访情况，没有记录。")
        if len(note) > cs.NOTE_MAX:
            return refuse(f"说明太长（{len(note)}字，最多{cs.NOTE_MAX}字），没有记录。请精简后再提交。")
        at, problem = follow_up_time(request.form.get("date", "").strip(), svc.clock(), tz)
        if problem:
            return refuse(problem + "，没有记录。")
        ref = f"console:{request.form.get('form_id') or secrets.token_urlsafe(12)}"
        try:
            with session_scope(svc.sessions) as s:
                new = cs.follow_up_in(s, case_no, by=u.userid, note=note, method=method, at=at, source_ref=ref)
                if new:
                    access.record(s, "cases.followup", case_no, {"method": method, "at": at.isoformat(),
                                                                 "note_chars": len(note)})
        except cs.CaseError as e:
            return render_template("console/error.html", message=f"{e}，回访没有记录。"), 404
        said = f"已记录{method}回访。" if new else "这次回访已经记录过（重复提交），没有再记一次。"
        return redirect(url_for("console.cases_case", case_no=case_no, said=said))

    @bp.get("/cases/import")
    @access.require("cases.import")
    def cases_import_form():
        svc = access.service()
        with svc.sessions() as s:
            recent = recent_imports(s)
        return render_template("console/cases_import.html", recent=recent, result=None,
                               refused=request.args.get("refused"), columns=svc.config.cases.columns,
                               required=[svc.config.cases.columns[c] for c in CASE_REQUIRED],
                               person=lambda uid: (svc.config.person(uid).name if svc.config.person(uid) else uid),
                               tz=ZoneInfo(svc.config.timezone), max_mb=IMPORT_MAX_BYTES // (1024 * 1024))

    @bp.post("/cases/import")
    @access.require("cases.import")
    def cases_import():
        svc = access.service()
        storage = request.files.get("file")
        if storage is None:
            return redirect(url_for("console.cases_import_form", refused="请选择要导入的案件文件（CSV 或 XLSX）。"))
        action_id, refused = do_import(svc, storage, request.form.get("skip_bad") == "1")
        if refused:
            return redirect(url_for("console.cases_import_form", refused=refused))
        return redirect(url_for("console.cases_import_result", action_id=action_id))

    @bp.get("/cases/import/<int:action_id>")
    @access.require("cases.import")
    def cases_import_result(action_id: int):
        svc = access.service()
        with svc.sessions() as s:
            row = s.get(ConsoleAction, action_id)
            if row is None or row.action != "cases.import":
                return render_template("console/error.html", message=f"没有编号为 {action_id} 的导入记录。"), 404
            recent = recent_imports(s)
        return render_template("console/cases_import.html", recent=recent, result=row, d=row.detail or {},
                               refused=None, columns=svc.config.cases.columns,
                               required=[svc.config.cases.columns[c] for c in CASE_REQUIRED],
                               person=lambda uid: (svc.config.person(uid).name if svc.config.person(uid) else uid),
                               tz=ZoneInfo(svc.config.timezone), max_mb=IMPORT_MAX_BYTES // (1024 * 1024))
