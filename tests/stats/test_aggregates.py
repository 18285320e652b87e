"""The analysis on a small hand-checked data set (tests/stats/conftest.py: SMALL)."""
import datetime as dt

from bot import stats
from tests.stats.conftest import NOW


def rows(a, dim):
    return {r.key: (r.count, r.loss, r.prev_count) for r in a.tables[dim] if r.count or r.prev_count}


def test_this_week_by_type_township_age_occupation_channel_against_the_week_before(small):
    a = stats.analyse(small.sessions, small.config, stats.week_period(small.config, NOW))
    # this week: Mon 23 Nov 00:00 to Fri 27 Nov 16:00; the previous period is the same span a week earlier
    # (16 Nov 00:00 to 20 Nov 16:00), so B3 on Sunday 22 Nov is in neither
    assert (a.total, a.prev_total) == (5, 2)
    assert a.total_loss == 127800.50 and a.prev_loss == 21000
    assert rows(a, "fraud_type") == {"shuadan": (3, 17800.50, 1), "touzi": (1, 80000, 1), "gongjianfa": (1, 30000, 0)}
    assert [r.label for r in a.top_types] == ["刷单返利", "虚假投资理财", "冒充公检法"]
    assert rows(a, "township") == {"城关镇": (2, 17000.50, 2), "河口镇": (2, 80800, 0), "石桥乡": (1, 30000, 0)}
    assert [r.key for r in a.tables["township"]][:3] == ["城关镇", "河口镇", "石桥乡"]
    assert {k: v[0] for k, v in rows(a, "age_group").items()} == {"18-40": 2, "41-65": 1, ">65": 1, "未知": 1}
    assert rows(a, "channel")["QQ"] == (2, 5800, 1)
    assert rows(a, "occupation")["学生"] == (1, 5000, 1)
    assert round(a.change_pct()) == 150
    months = {r.key: r.count for r in a.months}
    assert len(a.months) == 12 and a.months[-1].key == "2026-11" and months["2026-11"] == 8
    assert months["2026-10"] == 1 and a.months[0].key == "2025-12"


def test_the_last_full_week_and_month(small):
    w = stats.analyse(small.sessions, small.config, stats.week_period(small.config, NOW, complete=True))
    assert w.period.label == "11月16日—11月22日" and (w.total, w.prev_total) == (3, 0)
    m = stats.analyse(small.sessions, small.config, stats.month_period(small.config, NOW, complete=True))
    assert m.period.label == "2026年10月" and m.total == 1 and rows(m, "township") == {"柳湾乡": (1, 6000, 0)}


def test_rising_types_and_places(small):
    a, rises = stats.rising(small.sessions, small.config, NOW)
    by = {r.dimension: [x.key for x in r.rows] for r in rises}
    assert by["fraud_type"] == ["shuadan"]              # 0 → 4 in the last 28 days
    assert by["township"] == ["城关镇", "河口镇"]          # 0 → 4 and 0 → 3; 柳湾乡 went down
    text = stats.rising_markdown(a, rises)
    assert "刷单返利 0→4" in text and "城关镇 0→4" in text


def test_case_shares_replace_the_config_weights_when_there_are_enough_cases(small):
    weights, source = stats.priority_weights(small.sessions, small.config, NOW)
    assert source == "config" and weights == dict(small.config.priorities.weights)    # 9 cases < min_cases 30
    cfg = small.config.model_copy(update={"priorities": small.config.priorities.model_copy(update={"min_cases": 5})})
    weights, source = stats.priority_weights(small.sessions, cfg, NOW)
    assert source == "cases:9"
    assert weights["shuadan"] == round(100 * 4 / 9, 2) and weights["touzi"] == round(100 * 2 / 9, 2)
    assert weights["laoshi"] == 0.5                          # no cases: the minimum, and the floor still applies
    assert len(weights) == 16


def test_the_campaign_job_uses_the_case_shares(small):
    """A slot run with the case weights sends the type the cases say, not the config's favourite."""
    from bot import campaigns as cp
    from bot.config import CampaignConfig
    c = CampaignConfig.model_validate(dict(name="t", targets={"groups": ["bank_staff"]}, cron="0 12 * * *",
                                           draw_from=["scenario"]))
    cfg = small.config.model_copy(update={"priorities": small.config.priorities.model_copy(
        update={"min_cases": 5, "weights": {"laoshi": 100}}), "campaigns": [c]})
    small.config = cfg
    weights, _ = stats.priority_weights(small.sessions, cfg, NOW)
    picked = [cp.run_slot(small, c, NOW + dt.timedelta(days=d), weights=weights) for d in range(3)]
    from bot.campaign_models import CampaignDelivery
    from sqlalchemy import select
    with small.sessions() as s:
        intents = [r for r in s.scalars(select(CampaignDelivery.intent).order_by(CampaignDelivery.slot))]
    assert len(picked) == 3 and intents[0] == "shuadan" and "laoshi" not in intents
