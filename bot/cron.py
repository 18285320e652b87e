"""Cron expressions read as standard cron, for APScheduler.

APScheduler's `CronTrigger.from_crontab` counts weekdays from Monday = 0, while standard cron counts
Sunday = 0 (and 7): "0 19 * * 5" would fire on Saturdays. Here the weekday field is read as cron reads
it and handed to APScheduler by name. Standard cron fires when either the day of the month or the
weekday matches if both are restricted; APScheduler needs both, so such an expression is refused.
"""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
CHINESE_DAYS = {"sun": "周日", "mon": "周一", "tue": "周二", "wed": "周三", "thu": "周四", "fri": "周五", "sat": "周六"}
_ITEM = re.compile(r"^(\*|[0-7]|[a-z]{3})(?:-([0-7]|[a-z]{3}))?(?:/(\d+))?$")


class CronError(ValueError):
    """An expression that is not standard cron, or one this service would run differently."""


def _day(token: str) -> int:
    if token.isdigit():
        return int(token) % 7                      # 0 and 7 are Sunday
    if token not in DAY_NAMES:
        raise CronError(f"{token!r} is not a weekday (0–7 or sun…sat)")
    return DAY_NAMES.index(token)


def weekdays(field: str) -> list[str]:
    """A cron weekday field → the names of the days it covers, Sunday first."""
    days: set[int] = set()
    for item in field.lower().split(","):
        m = _ITEM.match(item.strip())
        if not m:
            raise CronError(f"weekday {item!r}: write 0–7 (0 and 7 = Sunday), sun…sat, ranges a-b and steps /n")
        start, end, step = m.group(1), m.group(2), int(m.group(3) or 1)
        if step < 1:
            raise CronError(f"weekday {item!r}: a step must be at least 1")
        if start == "*":
            lo, hi = 0, 6
        else:
            lo = _day(start)
            hi = (7 if end == "7" else _day(end)) if end else (lo if m.group(3) is None else 6)
        if hi < lo:
            raise CronError(f"weekday {item!r}: a range goes from the earlier day to the later one")
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return [DAY_NAMES[d] for d in sorted(days)]


def cron_trigger(expr: str, tz: str | ZoneInfo) -> CronTrigger:
    """A trigger for "minute hour day month weekday" in standard cron's meaning; CronError says why not."""
    parts = expr.split()
    if len(parts) != 5:
        raise CronError(f"{expr!r}: write five fields, minute hour day month weekday")
    minute, hour, day, month, weekday = parts
    if day != "*" and weekday != "*":
        raise CronError(f"{expr!r}: both a day of the month and a weekday; cron would fire on either, this "
                        "service only on days that are both. Write one of them as *, or two campaigns")
    names = weekdays(weekday)
    dow = "*" if len(names) == 7 else ",".join(names)
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    try:
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=zone)
    except ValueError as e:
        raise CronError(f"{expr!r}: {e}")


def weekday_name(t) -> str:
    """周一 … 周日 for a datetime."""
    return CHINESE_DAYS[DAY_NAMES[(t.weekday() + 1) % 7]]
