"""Charts (PNG, matplotlib) and workbooks (XLSX, openpyxl) of the statistics (issue 7).

Charts need a CJK font, or every Chinese label renders as empty boxes. `cjk_font()` finds one:
`reports.font` / $FANZHA_FONT, then known file paths (WenQuanYi Micro Hei, Noto Sans CJK …),
then fontconfig (`fc-match :lang=zh`), then the font shipped in bot/fonts/. None found (the
shipped file removed) → FontMissing with what to install.
"""
from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

from bot import stats
from bot.channels.base import Unreachable
from bot.db import session_scope
from bot.stats import DIMENSIONS, Analysis, StationStats, UnitScore, money

log = logging.getLogger(__name__)

FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
# shipped with the project (bot/fonts/README.md), so charts work with nothing installed
SHIPPED_FONT = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"
INSTALL_HINT = ("no CJK font found for the charts: install one (Debian/Ubuntu: apt-get install -y fonts-wqy-microhei) "
                "or set reports.font / FANZHA_FONT to a .ttf/.ttc/.otf file")

_lock = threading.Lock()
_font: Optional[tuple[str, str]] = None     # (path, family name) registered with matplotlib


class FontMissing(RuntimeError):
    pass


def _fontconfig() -> Optional[str]:
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    path = out.stdout.strip()
    return path if path and Path(path).is_file() else None


def _covers_chinese(path: str) -> bool:
    from matplotlib.ft2font import FT2Font
    try:
        f = FT2Font(path)
        return all(f.get_char_index(ord(c)) for c in "反诈统计乡镇")
    except Exception:
        return False


def find_font_file(configured: Optional[str] = None) -> str:
    wanted = configured or os.environ.get("FANZHA_FONT") or ""
    if wanted:
        if not Path(wanted).is_file():
            raise FontMissing(f"the configured chart font {wanted!r} does not exist; " + INSTALL_HINT)
        if not _covers_chinese(wanted):
            raise FontMissing(f"the configured chart font {wanted!r} has no Chinese characters; " + INSTALL_HINT)
        return wanted
    for p in FONT_PATHS:
        if Path(p).is_file() and _covers_chinese(p):
            return p
    p = _fontconfig()
    if p and _covers_chinese(p):
        return p
    if SHIPPED_FONT.is_file() and _covers_chinese(str(SHIPPED_FONT)):
        return str(SHIPPED_FONT)
    raise FontMissing(INSTALL_HINT)


def cjk_font(configured: Optional[str] = None) -> tuple[str, str]:
    """(path, family) of a CJK font registered with matplotlib; raises FontMissing."""
    global _font
    with _lock:
        if _font is not None and (not configured or _font[0] == configured):
            return _font
        import matplotlib
        matplotlib.use("Agg")
        from matplotlib import font_manager
        path = find_font_file(configured)
        font_manager.fontManager.addfont(path)
        family = font_manager.FontProperties(fname=path).get_name()
        _font = (path, family)
        return _font


# --- charts --------------------------------------------------------------------------------------

COLORS = ("#c0392b", "#2e86c1", "#7f8c8d", "#27ae60", "#f39c12")


def _figure(font: tuple[str, str], w: float, h: float):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    matplotlib.rcParams["font.family"] = [font[1]]
    matplotlib.rcParams["font.sans-serif"] = [font[1]]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return Figure(figsize=(w, h), dpi=100)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def _barh_compare(ax, rows, title: str, now_label: str = "本期", prev_label: str = "上期"):
    rows = list(rows)[::-1]
    ys = range(len(rows))
    ax.barh([y + 0.2 for y in ys], [r.count for r in rows], height=0.4, color=COLORS[0], label=now_label)
    ax.barh([y - 0.2 for y in ys], [r.prev_count for r in rows], height=0.4, color=COLORS[2], label=prev_label)
    ax.set_yticks(list(ys))
    ax.set_yticklabels([r.label for r in rows])
    for y, r in zip(ys, rows):
        ax.text(r.count, y + 0.2, f" {r.count}", va="center", fontsize=8)
    ax.set_title(title)
    ax.set_xlabel("案件数（起）")
    ax.legend(loc="lower right", fontsize=8)


def stats_chart(a: Analysis, font: Optional[tuple[str, str]] = None) -> bytes:
    """Cases by type and by township against the previous period, and the age groups."""
    font = font or cjk_font()
    fig = _figure(font, 12, 6.5)
    fig.suptitle(f"案件统计 {a.period.label}：发案 {a.total} 起，损失 {money(a.total_loss)}", fontsize=14)
    ax1, ax2, ax3 = fig.add_subplot(1, 3, 1), fig.add_subplot(1, 3, 2), fig.add_subplot(1, 3, 3)
    types = [r for r in a.tables["fraud_type"] if r.count or r.prev_count][:8]
    _barh_compare(ax1, types, "诈骗类型（前8）")
    _barh_compare(ax2, [r for r in a.tables["township"]][:8], "乡镇/街道")
    ages = [r for r in a.tables["age_group"] if r.count]
    if ages:
        ax3.pie([r.count for r in ages], labels=[f"{r.key}岁" if r.key != "未知" else r.key for r in ages],
                autopct="%1.1f%%", colors=COLORS[:len(ages)], startangle=90, counterclock=False)
    else:
        ax3.text(0.5, 0.5, "本期无案件", ha="center", va="center")
        ax3.axis("off")
    ax3.set_title("受害人年龄段")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _png(fig)


def rising_chart(a: Analysis, font: Optional[tuple[str, str]] = None) -> bytes:
    """Types and townships, now against the period before, and the monthly trend."""
    font = font or cjk_font()
    fig = _figure(font, 12, 6.5)
    fig.suptitle(f"研判：{a.period.label} 与前期对比", fontsize=14)
    ax1, ax2, ax3 = fig.add_subplot(1, 3, 1), fig.add_subplot(1, 3, 2), fig.add_subplot(1, 3, 3)
    types = sorted([r for r in a.tables["fraud_type"] if r.count or r.prev_count], key=lambda r: -r.change)[:8]
    _barh_compare(ax1, types, "诈骗类型（按增幅）", "近期", "前期")
    _barh_compare(ax2, sorted(a.tables["township"], key=lambda r: -r.change)[:8], "乡镇/街道（按增幅）", "近期", "前期")
    xs = [r.key[2:] for r in a.months]
    ax3.plot(xs, [r.count for r in a.months], marker="o", color=COLORS[1])
    ax3.set_ylim(bottom=0, top=max([r.count for r in a.months] + [1]) * 1.15)
    ax3.annotate("当月至今", (xs[-1], a.months[-1].count), textcoords="offset points", xytext=(-10, 10),
                 ha="right", fontsize=8, color=COLORS[2])
    ax3.set_title("近12个月发案趋势")
    ax3.set_ylabel("案件数（起）")
    ax3.tick_params(axis="x", labelrotation=60, labelsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _png(fig)


def assessment_chart(label: str, scores: list[UnitScore], font: Optional[tuple[str, str]] = None) -> bytes:
    font = font or cjk_font()
    rows = sorted(scores, key=lambda u: (u.score, u.unit), reverse=True)
    fig = _figure(font, 10, max(3.5, 0.5 * len(rows) + 1.5))
    ax = fig.add_subplot(1, 1, 1)
    ys = range(len(rows))
    colors = [COLORS[3] if u.score >= 90 else COLORS[4] if u.score >= 70 else COLORS[0] for u in rows]
    ax.barh(list(ys), [u.score for u in rows], color=colors)
    ax.set_yticks(list(ys))
    ax.set_yticklabels([u.name for u in rows])
    for y, u in zip(ys, rows):
        ax.text(u.score, y, f" {u.score:g}", va="center", fontsize=9)
    ax.set_xlim(0, 110)
    ax.set_xlabel("得分（满分100，绿 ≥90，橙 ≥70，红 <70）")
    ax.set_title(f"督导考核得分 {label}")
    fig.tight_layout()
    return _png(fig)


# --- workbook ------------------------------------------------------------------------------------

def _sheet(wb, title: str, header: list[str], rows: list[list]):
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    ws = wb.create_sheet(title)
    ws.append(header)
    for c in ws[1]:
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = PatternFill("solid", fgColor="2E86C1")
        c.alignment = Alignment(horizontal="center")
    for r in rows:
        ws.append(r)
    for i, h in enumerate(header, 1):
        width = max([len(str(h)) * 2 + 2] + [min(60, len(str(r[i - 1])) * 2 + 2) for r in rows if i - 1 < len(r)])
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    return ws


def _change(r) -> Optional[float]:
    return None if r.change_pct is None else round(r.change_pct, 1)


SHEETS = {"fraud_type": "诈骗类型", "township": "乡镇街道", "age_group": "年龄段", "occupation": "职业",
          "channel": "联系渠道"}


def workbook(a: Analysis, stations: list[StationStats], scores: list[UnitScore], title: str,
             tz: str = "Asia/Shanghai") -> bytes:
    """An XLSX with a sheet per table and Chinese headers."""
    from openpyxl import Workbook
    zone = ZoneInfo(tz)
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, "概览", ["项目", "数值"], [
        ["报表", title], ["统计期", a.period.label],
        ["起（含）", f"{a.period.start.astimezone(zone):%Y-%m-%d %H:%M}"],
        ["止（不含）", f"{a.period.end.astimezone(zone):%Y-%m-%d %H:%M}"],
        ["发案数（起）", a.total], ["上期发案数（起）", a.prev_total],
        ["损失金额（元）", round(a.total_loss, 2)], ["上期损失金额（元）", round(a.prev_loss, 2)],
        ["高发类型前三", "、".join(r.label for r in a.top_types) or "无"]])
    for dim, sheet in SHEETS.items():
        name = DIMENSIONS[dim][1]
        _sheet(wb, sheet, [name, "案件数（起）", "占比（%）", "损失金额（元）", "上期案件数（起）", "上期损失金额（元）",
                           "案件数变化（起）", "案件数环比（%）"],
               [[r.label, r.count, round(100 * r.count / a.total, 1) if a.total else 0, round(r.loss, 2),
                 r.prev_count, round(r.prev_loss, 2), r.change, _change(r)] for r in a.tables[dim]])
    _sheet(wb, "月度趋势", ["月份", "案件数（起）", "损失金额（元）"],
           [[r.key, r.count, round(r.loss, 2)] for r in a.months])
    _sheet(wb, "预警统计", ["派出所", "预警数", "已劝阻", "已被骗", "未接通", "无效预警", "未办结", "劝阻率（%）",
                        "签收用时中位数（分钟）", "签收用时P90（分钟）", "超时数"],
           [[s.name, s.total, s.dissuaded, s.victimised, s.unreachable, s.invalid, s.open,
             None if s.dissuasion_rate is None else round(s.dissuasion_rate, 1),
             None if s.median_sign is None else round(s.median_sign, 1),
             None if s.p90_sign is None else round(s.p90_sign, 1), s.overdue] for s in stations])
    _sheet(wb, "宣传覆盖", ["责任单位", "群", "群类型", "计划推送", "已送达", "未送达", "待确认", "居民问答", "最近送达"],
           [[u.name, g.name, g.kind, g.scheduled, g.sent, g.failed, g.pending, g.questions,
             g.last_sent.isoformat() if g.last_sent else ""] for u in scores for g in u.groups])
    _sheet(wb, "考核得分", ["责任单位", "得分", "扣分", "群数", "计划推送", "已送达", "居民问答", "承诺书户数（本期）",
                        "承诺书户数（累计）", "超时预警"],
           [[u.name, u.score, round(100 - u.score, 1), len(u.groups), u.scheduled, u.sent, u.questions, u.pledges,
             u.pledges_total, u.overdue_warnings] for u in sorted(scores, key=lambda x: -x.score)])
    _sheet(wb, "扣分明细", ["责任单位", "扣分原因", "扣分"],
           [[u.name, d.reason, d.points] for u in scores for d in u.deductions])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- reports -------------------------------------------------------------------------------------

class Report:
    """One weekly or monthly report: its figures, its text and its charts."""

    def __init__(self, sessions, config, kind: str, now, complete: bool = True):
        self.config = config
        self.kind = kind
        self.period = (stats.week_period if kind == "weekly" else stats.month_period)(config, now, complete)
        self.analysis = stats.analyse(sessions, config, self.period)
        self.stations = stats.warning_stats(sessions, config, self.period, now)
        self.scores = stats.assess(sessions, config, self.period, now)
        self.title = f"反诈{'周' if kind == 'weekly' else '月'}报 {self.period.label}"

    def markdown(self) -> str:
        return "\n".join([f"**{self.title}**", stats.stats_markdown(self.analysis, self.stations).split("\n", 1)[1],
                          stats.assessment_markdown(self.period, self.scores).split("\n", 1)[1]])

    def charts(self) -> dict[str, bytes]:
        font = cjk_font(self.config.reports.font)
        return {"cases.png": stats_chart(self.analysis, font),
                "trend.png": rising_chart(self.analysis, font),
                "assessment.png": assessment_chart(self.period.label, self.scores, font)}

    def workbook(self) -> bytes:
        return workbook(self.analysis, self.stations, self.scores, self.title, self.config.timezone)


def push_weekly(svc, now) -> int:
    """The last full week's report to the leadership group(s): markdown + the case chart + the scores.
    Keyed per ISO week and group: a second run sends nothing twice."""
    rep = Report(svc.sessions, svc.config, "weekly", now, complete=True)
    charts = rep.charts()
    start = rep.period.start.astimezone(ZoneInfo(svc.config.timezone))
    week = f"{start.isocalendar().year}W{start.isocalendar().week:02d}"
    n = 0
    with session_scope(svc.sessions) as s:
        for g in svc.config.groups_of_kind("leadership"):
            key = f"stats:weekly:{week}:{g.id}"
            try:
                n += svc.outbox.to_group(g.id, rep.markdown(), rich=True, dedupe_key=key, session=s,
                                         source="stats:weekly")
                n += svc.outbox.to_group_image(g.id, charts["cases.png"], dedupe_key=f"{key}:cases", session=s,
                                               source="stats:weekly")
                n += svc.outbox.to_group_image(g.id, charts["assessment.png"], dedupe_key=f"{key}:assessment",
                                               session=s, source="stats:weekly")
            except Unreachable as e:
                log.warning("weekly report: %s", e)
    if n:
        svc.outbox.notify()
    return n
