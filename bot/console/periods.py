"""The period a statistics page shows: a named range (the chat commands' own periods) or two dates.

`?range=7d|28d|week|lastweek|month|lastmonth`, or `?from=YYYY-MM-DD&to=YYYY-MM-DD` (local dates, both
days included). Each period is compared with the one before it (bot.stats.Period.previous): a named
range as the chat command does; two dates against the same number of days just before.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot import stats

# key → (label, what it is)
RANGES = {
    "7d": "近7天",
    "28d": "近28天（同 #研判）",
    "week": "本周（同 #统计、#考核）",
    "lastweek": "上周",
    "month": "本月",
    "lastmonth": "上月",
}
MAX_DAYS = 366


@dataclass
class Choice:
    period: stats.Period
    range: str                        # a key of RANGES, or "" for two dates
    start_day: dt.date                # the form's dates (local, both included)
    end_day: dt.date
    problem: str = ""                 # why the dates given were not used (the default was)
    args: dict = field(default_factory=dict)    # the query that gives this period again (links, charts)


def _named(key: str, config, now: dt.datetime) -> stats.Period:
    if key == "7d":
        return stats.days_period(now, 7, "近7天")
    if key == "28d":
        return stats.days_period(now, 28, "近28天")
    if key in ("week", "lastweek"):
        return stats.week_period(config, now, complete=key == "lastweek")
    return stats.month_period(config, now, complete=key == "lastmonth")


def _days(start: dt.date, end: dt.date, tz: ZoneInfo, today: dt.date) -> stats.Period:
    """From the start of `start` to the end of `end` (local days)."""
    def midnight(d):
        return dt.datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(dt.timezone.utc)
    fmt = "%m月%d日" if start.year == end.year == today.year else "%Y年%m月%d日"
    label = f"{start:{fmt}}" if start == end else f"{start:{fmt}}—{end:{fmt}}"
    return stats.Period(midnight(start), midnight(end + dt.timedelta(days=1)), label, "days")


def _date(text: str):
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def choose(args, config, now: dt.datetime, default: str = "7d") -> Choice:
    """The period asked for in the query `args` (a dict-like), or `default` with the reason why not."""
    tz = ZoneInfo(config.timezone)
    today = now.astimezone(tz).date()
    start_s, end_s = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    problem = ""
    if start_s or end_s:
        start, end = _date(start_s) if start_s else None, _date(end_s) if end_s else None
        if start_s and start is None or end_s and end is None:
            problem = f"日期格式不对（{start_s or end_s}），请用 年-月-日，如 {today:%Y-%m-%d}。"
        else:
            end = end or today
            start = start or end - dt.timedelta(days=6)
            if start > end:
                problem = f"开始日期 {start} 晚于结束日期 {end}。"
            elif (end - start).days + 1 > MAX_DAYS:
                problem = f"一次最多查看 {MAX_DAYS} 天（所选为 {(end - start).days + 1} 天）。"
            else:
                return Choice(_days(start, end, tz, today), "", start, end,
                              args={"from": start.isoformat(), "to": end.isoformat()})
    key = args.get("range") or default
    if key not in RANGES:
        problem = problem or f"不认识的时间范围“{key}”。"
        key = default
    p = _named(key, config, now)
    return Choice(p, key, p.start.astimezone(tz).date(),
                  (p.end - dt.timedelta(microseconds=1)).astimezone(tz).date(), problem, args={"range": key})


def span_text(p: stats.Period, tz_name: str) -> str:
    """The exact span of a period in local time, e.g. 2026-11-20 08:00 至 2026-11-27 08:00."""
    tz = ZoneInfo(tz_name)
    return f"{p.start.astimezone(tz):%Y-%m-%d %H:%M} 至 {p.end.astimezone(tz):%Y-%m-%d %H:%M}"
