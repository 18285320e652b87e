"""Cron as cron means it: 0 and 7 are Sunday, 5 is Friday; an expression this service would run
differently from cron is refused with the reason."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.cron import CronError, cron_trigger, weekday_name, weekdays

TZ = ZoneInfo("Asia/Shanghai")
THURSDAY = dt.datetime(2026, 12, 3, 12, 0, tzinfo=TZ)


def next_fire(expr, after=THURSDAY):
    return cron_trigger(expr, "Asia/Shanghai").get_next_fire_time(None, after)


def test_friday_evening_is_friday():
    t = next_fire("0 19 * * 5")
    assert (t.date(), t.hour, weekday_name(t)) == (dt.date(2026, 12, 4), 19, "周五")


@pytest.mark.parametrize("field,days", [
    ("0", ["sun"]), ("7", ["sun"]), ("1-5", ["mon", "tue", "wed", "thu", "fri"]), ("5-7", ["sun", "fri", "sat"]),
    ("*/2", ["sun", "tue", "thu", "sat"]), ("1,3,5", ["mon", "wed", "fri"]), ("sat,sun", ["sun", "sat"]),
    ("mon-wed", ["mon", "tue", "wed"]), ("*", ["sun", "mon", "tue", "wed", "thu", "fri", "sat"])])
def test_weekday_fields_read_as_cron_reads_them(field, days):
    assert weekdays(field) == days


def test_sunday_as_0_and_7_fires_on_sunday():
    assert weekday_name(next_fire("30 9 * * 0")) == weekday_name(next_fire("30 9 * * 7")) == "周日"


@pytest.mark.parametrize("expr,reason", [
    ("0 9 1 * 1", "both a day of the month and a weekday"),
    ("0 9 * * 8", "weekday"), ("0 9 * * 5-1", "earlier day to the later"), ("0 9 * *", "five fields"),
    ("61 9 * * *", "61")])
def test_expressions_it_cannot_run_as_cron_would_are_refused_with_the_reason(expr, reason):
    with pytest.raises(CronError, match=reason):
        cron_trigger(expr, "Asia/Shanghai")


def test_the_campaign_list_shows_the_next_time_with_its_weekday(config):
    from bot.app import Service
    from handlers.campaigns import list_text
    svc = Service(config)
    try:
        text = list_text(svc.ctx, dt.datetime(2026, 12, 3, 4, 0, tzinfo=dt.timezone.utc))
    finally:
        svc.engine.dispose()
    assert "家长群宣传" in text and "12-04 19:00（周五）" in text
