"""Statistics (issue 7): case analysis, warning statistics, propaganda coverage and unit assessment.

Case figures are aggregated in SQL (GROUP BY on plain columns: type, township, age group,
occupation, channel, month), so a week of a 100,000-case table costs a few indexed queries.
Warnings, deliveries and pledges are small tables and are combined in Python.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.campaigns import delivery_log
from bot.case_models import FraudCase, HouseholdPledge
from bot.cases import AGE_GROUPS, type_name
from bot.config import Config
from bot.models import InboundMessage
from bot.warnings.models import Warning

VENUE_KINDS = ("community", "bank", "school", "square", "network", "station", "unit", "enterprise")

DIMENSIONS = {          # key → (column, Chinese name of the dimension)
    "fraud_type": (FraudCase.fraud_type, "诈骗类型"),
    "township": (FraudCase.township, "乡镇/街道"),
    "age_group": (FraudCase.age_group, "年龄段"),
    "occupation": (FraudCase.occupation, "职业"),
    "channel": (FraudCase.channel, "联系渠道"),
}


# --- periods -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    start: dt.datetime          # UTC, inclusive
    end: dt.datetime            # UTC, exclusive
    label: str
    kind: str                   # week | month | days

    def previous(self, tz: ZoneInfo) -> "Period":
        if self.kind == "month":
            ls = self.start.astimezone(tz)
            prev_start = (ls.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
            span = self.end - self.start
            full = (self.start - prev_start.astimezone(dt.timezone.utc))
            end = prev_start.astimezone(dt.timezone.utc) + min(span, full)
            return Period(prev_start.astimezone(dt.timezone.utc), end, f"{prev_start:%Y年%m月}", "month")
        span = self.end - self.start
        step = dt.timedelta(days=7) if self.kind == "week" else span
        return Period(self.start - step, self.end - step, "上期", self.kind)


def _local_midnight(d: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(dt.timezone.utc)


def week_period(config: Config, now: dt.datetime, complete: bool = False) -> Period:
    """This week so far (Monday 00:00 to now), or with complete=True the last full week."""
    tz = ZoneInfo(config.timezone)
    today = now.astimezone(tz).date()
    monday = today - dt.timedelta(days=today.weekday())
    if complete:
        start = monday - dt.timedelta(days=7)
        return Period(_local_midnight(start, tz), _local_midnight(monday, tz),
                      f"{start:%m月%d日}—{monday - dt.timedelta(days=1):%m月%d日}", "week")
    return Period(_local_midnight(monday, tz), now, f"本周（{monday:%m月%d日}起）", "week")


def month_period(config: Config, now: dt.datetime, complete: bool = False) -> Period:
    tz = ZoneInfo(config.timezone)
    first = now.astimezone(tz).date().replace(day=1)
    if complete:
        prev = (first - dt.timedelta(days=1)).replace(day=1)
        return Period(_local_midnight(prev, tz), _local_midnight(first, tz), f"{prev:%Y年%m月}", "month")
    return Period(_local_midnight(first, tz), now, f"{first:%Y年%m月}（至今）", "month")


def days_period(now: dt.datetime, days: int, label: str) -> Period:
    return Period(now - dt.timedelta(days=days), now, label, "days")


# --- case analysis -------------------------------------------------------------------------------

@dataclass
class Row:
    key: str
    label: str
    count: int
    loss: float                 # yuan
    prev_count: int = 0
    prev_loss: float = 0.0

    @property
    def change(self) -> int:
        return self.count - self.prev_count

    @property
    def change_pct(self) -> Optional[float]:
        return None if self.prev_count == 0 else 100.0 * (self.count - self.prev_count) / self.prev_count


@dataclass
class Analysis:
    period: Period
    previous: Period
    total: int
    total_loss: float
    prev_total: int
    prev_loss: float
    tables: dict[str, list[Row]]          # dimension → rows, largest count first
    months: list[Row]                      # the 12 months up to the period's end
    top_types: list[Row]

    def change_pct(self) -> Optional[float]:
        return None if self.prev_total == 0 else 100.0 * (self.total - self.prev_total) / self.prev_total


def _grouped(s, col, start, end) -> dict[str, tuple[int, int]]:
    q = (select(col, func.count(), func.coalesce(func.sum(FraudCase.loss_fen), 0))
         .where(FraudCase.occurred_at >= start, FraudCase.occurred_at < end).group_by(col))
    return {k: (int(n), int(loss)) for k, n, loss in s.execute(q)}


def _label(dim: str, key: str, config: Config) -> str:
    return type_name(key, config) if dim == "fraud_type" else key


def _order(dim: str, rows: list[Row], config: Config) -> list[Row]:
    if dim == "age_group":
        return sorted(rows, key=lambda r: AGE_GROUPS.index(r.key) if r.key in AGE_GROUPS else 99)
    if dim == "township" and config.townships:
        known = {t: i for i, t in enumerate(config.townships)}
        return sorted(rows, key=lambda r: (-r.count, known.get(r.key, 99)))
    return sorted(rows, key=lambda r: (-r.count, -r.loss, r.key))


def analyse(sessions, config: Config, period: Period) -> Analysis:
    tz = ZoneInfo(config.timezone)
    prev = period.previous(tz)
    tables = {}
    with sessions() as s:
        for dim, (col, _name) in DIMENSIONS.items():
            cur, old = _grouped(s, col, period.start, period.end), _grouped(s, col, prev.start, prev.end)
            keys = set(cur) | set(old)
            if dim == "township":
                keys |= set(config.townships)
            if dim == "age_group":
                keys |= set(AGE_GROUPS[:4])
            rows = [Row(k, _label(dim, k, config), cur.get(k, (0, 0))[0], cur.get(k, (0, 0))[1] / 100,
                        old.get(k, (0, 0))[0], old.get(k, (0, 0))[1] / 100) for k in keys]
            tables[dim] = _order(dim, rows, config)
        end_local = (period.end - dt.timedelta(microseconds=1)).astimezone(tz).date().replace(day=1)
        first = end_local
        for _ in range(11):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        by_month = _grouped(s, FraudCase.month, _local_midnight(first, tz), period.end)
    months, m = [], first
    for _ in range(12):
        key = f"{m:%Y-%m}"
        n, loss = by_month.get(key, (0, 0))
        months.append(Row(key, key, n, loss / 100))
        m = (m + dt.timedelta(days=32)).replace(day=1)
    types = tables["fraud_type"]
    total, loss = sum(r.count for r in types), sum(r.loss for r in types)
    ptotal, ploss = sum(r.prev_count for r in types), sum(r.prev_loss for r in types)
    top = [r for r in types if r.count > 0][:3]
    return Analysis(period, prev, total, loss, ptotal, ploss, tables, months, top)


@dataclass
class Rising:
    dimension: str
    rows: list[Row]


def rising(sessions, config: Config, now: dt.datetime, days: int = 28, min_increase: int = 3) -> tuple[Analysis, list[Rising]]:
    """What is rising now: types and townships with more cases in the last `days` than in the
    `days` before (at least `min_increase` more and +20 %)."""
    a = analyse(sessions, config, days_period(now, days, f"近{days}天"))
    return a, rising_in(a, min_increase)


def rising_in(a: Analysis, min_increase: int = 3) -> list[Rising]:
    """The types and townships of an analysis that rose against its previous period (the rule of #研判)."""
    out = []
    for dim in ("fraud_type", "township"):
        up = [r for r in a.tables[dim] if r.change >= min_increase
              and (r.prev_count == 0 or r.count >= 1.2 * r.prev_count)]
        out.append(Rising(dim, sorted(up, key=lambda r: (-r.change, -r.count))))
    return out


def priority_weights(sessions, config: Config, now: dt.datetime) -> tuple[dict[str, float], str]:
    """Campaign weights: each fraud type's share (%) of the cases of the last case_window_days when
    there are at least min_cases of them, else the configured weights. → (weights, where from)."""
    p = config.priorities
    if not p.from_cases:
        return dict(p.weights), "config"
    since = now - dt.timedelta(days=p.case_window_days)
    with sessions() as s:
        counts = dict(s.execute(select(FraudCase.fraud_type, func.count())
                                .where(FraudCase.occurred_at >= since, FraudCase.occurred_at < now)
                                .group_by(FraudCase.fraud_type)).all())
    total = sum(counts.values())
    if total < p.min_cases:
        return dict(p.weights), "config"
    return ({t: max(round(100.0 * counts.get(t, 0) / total, 2), p.min_case_weight) for t in config.catalog().fraud},
            f"cases:{total}")


def weights_basis(config: Config, source: str) -> str:
    """Where priority_weights took the weights from, in words."""
    if source.startswith("cases"):
        return f"按近{config.priorities.case_window_days}天{source.split(':')[1]}起案件的类型占比"
    return "按配置的权重"


# --- warnings ------------------------------------------------------------------------------------

def _percentile(values: list[float], q: float) -> Optional[float]:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    v = sorted(values)
    return v[max(0, math.ceil(q / 100 * len(v)) - 1)]


@dataclass
class StationStats:
    station: str
    name: str
    total: int = 0
    dissuaded: int = 0
    victimised: int = 0
    unreachable: int = 0
    invalid: int = 0
    open: int = 0
    overdue: int = 0
    sign_minutes: list = field(default_factory=list)

    @property
    def dissuasion_rate(self) -> Optional[float]:
        """已劝阻 / (预警数 − 无效预警)."""
        base = self.total - self.invalid
        return None if base <= 0 else 100.0 * self.dissuaded / base

    @property
    def median_sign(self) -> Optional[float]:
        return _percentile(self.sign_minutes, 50)

    @property
    def p90_sign(self) -> Optional[float]:
        return _percentile(self.sign_minutes, 90)


def warning_stats(sessions, config: Config, period: Period, now: dt.datetime) -> list[StationStats]:
    out: dict[str, StationStats] = {}
    for st in config.stations:
        out[st.id] = StationStats(st.id, st.name)
    with sessions() as s:
        rows = list(s.scalars(select(Warning).where(Warning.created_at >= period.start,
                                                    Warning.created_at < period.end)))
    for w in rows:
        key = w.station_id or "_centre"
        st = out.setdefault(key, StationStats(key, "反诈中心"))
        st.total += 1
        if w.result in ("dissuaded", "victimised", "unreachable", "invalid"):
            setattr(st, w.result, getattr(st, w.result) + 1)
        if w.state != "closed":
            st.open += 1
        if w.signed_at is not None:
            st.sign_minutes.append((w.signed_at - w.dispatched_at).total_seconds() / 60)
        if w.was_overdue(config.warnings, min(now, period.end) if w.state != "closed" else now):
            st.overdue += 1
    return list(out.values())


# --- coverage and assessment ---------------------------------------------------------------------

@dataclass
class GroupCoverage:
    group_id: str
    name: str
    kind: str
    scheduled: int = 0
    sent: int = 0
    failed: int = 0
    pending: int = 0
    questions: int = 0
    last_sent: Optional[dt.date] = None
    fail_reasons: list = field(default_factory=list)


@dataclass
class Deduction:
    reason: str
    points: float


@dataclass
class UnitScore:
    unit: str
    name: str
    groups: list[GroupCoverage]
    pledges: int                # households recorded in the period
    pledges_total: int          # households recorded so far
    overdue_warnings: int
    deductions: list[Deduction]

    @property
    def score(self) -> float:
        return max(0.0, 100.0 - sum(d.points for d in self.deductions))

    @property
    def scheduled(self) -> int:
        return sum(g.scheduled for g in self.groups)

    @property
    def sent(self) -> int:
        return sum(g.sent for g in self.groups)

    @property
    def questions(self) -> int:
        return sum(g.questions for g in self.groups)


class _Svc:
    """What bot.campaigns.delivery_log needs from a Service."""

    def __init__(self, sessions, config):
        self.sessions, self.config = sessions, config


def assess(sessions, config: Config, period: Period, now: dt.datetime) -> list[UnitScore]:
    """Coverage and score of every responsible unit in the period (lowest score first)."""
    a = config.assessment
    tz = ZoneInfo(config.timezone)
    end = min(period.end, now)
    window_start = min(period.start, end - dt.timedelta(days=a.silent_days))
    log_lines = delivery_log(_Svc(sessions, config), window_start)
    cover: dict[str, GroupCoverage] = {g.id: GroupCoverage(g.id, g.name, g.kind) for g in config.groups}
    start_day, end_day = period.start.astimezone(tz).date(), (end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    silent_from = (end - dt.timedelta(days=a.silent_days)).astimezone(tz).date()
    recent_sent: Counter = Counter()
    for ln in log_lines:
        gc = cover.get(ln.group_id)
        if gc is None or ln.day > end_day:
            continue
        if ln.sent and ln.day >= silent_from:
            recent_sent[ln.group_id] += ln.sent
        if ln.sent and (gc.last_sent is None or ln.day > gc.last_sent):
            gc.last_sent = ln.day
        if ln.day < start_day:
            continue
        gc.scheduled += ln.scheduled
        gc.sent += ln.sent
        gc.failed += ln.failed
        gc.pending += ln.pending
        if ln.failed:
            gc.fail_reasons += [r for r in ln.reasons if r not in gc.fail_reasons]
    chat_to_group = {(g.aibot_chatid or g.id): g.id for g in config.groups}
    with sessions() as s:
        for chat, n in s.execute(select(InboundMessage.chat_id, func.count())
                                 .where(InboundMessage.received_at >= period.start, InboundMessage.received_at < end,
                                        InboundMessage.chat_id.in_(list(chat_to_group)),
                                        InboundMessage.intent.is_not(None), InboundMessage.intent != "none")
                                 .group_by(InboundMessage.chat_id)):
            cover[chat_to_group[chat]].questions += int(n)
        pledged = dict(s.execute(select(HouseholdPledge.unit, func.sum(HouseholdPledge.households))
                                 .where(HouseholdPledge.recorded_at >= period.start, HouseholdPledge.recorded_at < end)
                                 .group_by(HouseholdPledge.unit)).all())
        pledged_all = dict(s.execute(select(HouseholdPledge.unit, func.sum(HouseholdPledge.households))
                                     .where(HouseholdPledge.recorded_at < end).group_by(HouseholdPledge.unit)).all())
    overdue_by_station = {st.station: st.overdue for st in warning_stats(sessions, config, period, now)}
    scores = []
    for u in config.units:
        groups = [cover[g.id] for g in config.groups if g.unit == u.id]
        ded: list[Deduction] = []
        for g in groups:
            if g.kind not in VENUE_KINDS:
                continue
            if g.failed:
                why = "；".join(g.fail_reasons) or "未送达"
                ded.append(Deduction(f"{g.name}：{g.failed} 次推送未送达（{why}），每次扣 {a.missed_push:g} 分",
                                     g.failed * a.missed_push))
            if recent_sent[g.group_id] == 0:
                last = f"最近一次送达 {g.last_sent:%m月%d日}" if g.last_sent else "期内无送达记录"
                ded.append(Deduction(f"{g.name}：{a.silent_days} 天内没有送达任何推送（{last}）", a.silent_group))
        overdue = sum(overdue_by_station.get(st.id, 0) for st in config.stations if st.unit == u.id)
        if overdue:
            ded.append(Deduction(f"辖区预警超时 {overdue} 条（未按时签收或反馈），每条扣 {a.overdue_warning:g} 分",
                                 overdue * a.overdue_warning))
        has_community = any(g.kind == "community" for g in groups)
        if has_community and not pledged.get(u.id):
            ded.append(Deduction("期内未登记家庭防骗承诺书（#承诺书 户数 说明）", a.no_pledges))
        ded = [d for d in ded if d.points > 0]
        scores.append(UnitScore(u.id, u.name, groups, int(pledged.get(u.id) or 0), int(pledged_all.get(u.id) or 0),
                                overdue, ded))
    return sorted(scores, key=lambda x: (x.score, x.unit))


# --- texts ---------------------------------------------------------------------------------------

def money(yuan: float) -> str:
    return f"{yuan / 10000:.1f}万元" if abs(yuan) >= 10000 else f"{yuan:.0f}元"


def pct(v: Optional[float]) -> str:
    return "—" if v is None else f"{v:+.0f}%"


def stats_markdown(a: Analysis, stations: list[StationStats]) -> str:
    lines = [f"**案件统计 · {a.period.label}**",
             f"发案 **{a.total}** 起（上期 {a.prev_total}，{pct(a.change_pct())}），损失 **{money(a.total_loss)}**"
             f"（上期 {money(a.prev_loss)}）"]
    if a.top_types:
        lines.append("高发类型：" + "、".join(f"{r.label} {r.count}起" for r in a.top_types))
    towns = [r for r in a.tables["township"] if r.count][:3]
    if towns:
        lines.append("高发乡镇：" + "、".join(f"{r.key} {r.count}起" for r in towns))
    ages = {r.key: r.count for r in a.tables["age_group"]}
    if a.total:
        lines.append(f"受害人 18-40岁 {100 * ages.get('18-40', 0) / a.total:.0f}%，41-65岁 "
                     f"{100 * ages.get('41-65', 0) / a.total:.0f}%")
    w_total = sum(s.total for s in stations)
    if w_total:
        d = sum(s.dissuaded for s in stations)
        base = w_total - sum(s.invalid for s in stations)
        lines.append(f"> 预警 {w_total} 条，劝阻 {d} 条（劝阻率 {100 * d / base:.0f}%），超时 "
                     f"{sum(s.overdue for s in stations)} 条" if base else f"> 预警 {w_total} 条")
    return "\n".join(lines)


def rising_markdown(a: Analysis, rises: list[Rising]) -> str:
    lines = [f"**研判 · {a.period.label}对比前{(a.period.end - a.period.start).days}天**",
             f"发案 {a.total} 起（前期 {a.prev_total}，{pct(a.change_pct())}）"]
    names = {"fraud_type": "上升类型", "township": "上升乡镇"}
    for r in rises:
        if r.rows:
            lines.append(f'<font color="warning">{names[r.dimension]}</font>：' + "、".join(
                f"{x.label} {x.prev_count}→{x.count}" for x in r.rows[:4]))
        else:
            lines.append(f"{names[r.dimension]}：无明显上升")
    if a.top_types:
        lines.append("宣传重点：" + "、".join(r.label for r in a.top_types))
    return "\n".join(lines)


def assessment_markdown(period: Period, scores: list[UnitScore]) -> str:
    lines = [f"**督导考核 · {period.label}**"]
    for u in scores:
        lines.append(f"{u.name}：**{u.score:g}分**（推送 {u.sent}/{u.scheduled}，答疑 {u.questions}，承诺书 {u.pledges}户）")
    low = [u for u in scores if u.deductions][:3]
    for u in low:
        lines.append(f"> {u.name}：" + "；".join(f"{d.reason}（-{d.points:g}）" for d in u.deductions[:2])
                     + ("……" if len(u.deductions) > 2 else ""))
    return "\n".join(lines)
