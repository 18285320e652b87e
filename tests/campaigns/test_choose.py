"""Choosing what a group gets: rotation without repeats, shares by weight, a floor for every type."""
import datetime as dt
from collections import Counter

from bot.campaigns import History, PoolItem, choose

START = dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.timezone.utc)
TYPES = ["shuadan", "touzi", "daikuan", "kefu", "gongjianfa", "zhengxin", "gouwu", "lingdao", "youxi", "jiaoyou",
         "luoliao", "zhongjiang", "butie", "laoshi", "liangka", "yanglao"]


def pool(per_type=3):
    items = [PoolItem(id=f"{t}-{n}", intent=t, title=t, text=t) for t in TYPES for n in range(per_type)]
    return items + [PoolItem(id=f"general-{n}", intent="general", title="g", text="g") for n in range(4)]


def simulate(days, per_day, weights, rotation_days=7, floor_days=30, items=None):
    items = items or pool()
    hist = History([])
    interval = dt.timedelta(days=1) / per_day
    sent = []
    now = START
    for _ in range(days * per_day):
        item = choose(items, hist, weights, now, rotation_days, floor_days, interval)
        if item is not None:
            hist.sends.append((item.id, item.intent, now))
            hist.start = hist.start or now
            sent.append((now, item))
        now += interval
    return sent


def test_an_item_is_not_repeated_within_the_rotation_days():
    sent = simulate(60, 2, {"shuadan": 6}, rotation_days=10)
    last = {}
    for when, item in sent:
        if item.id in last:
            assert when - last[item.id] >= dt.timedelta(days=10), item.id
        last[item.id] = when


def test_items_of_a_type_are_all_used_before_one_repeats():
    sent = simulate(60, 2, {"shuadan": 6}, rotation_days=0)
    shuadan = [item.id for _w, item in sent if item.intent == "shuadan"]
    for i in range(0, len(shuadan) - 2, 3):
        assert len(set(shuadan[i:i + 3])) == 3, shuadan[i:i + 3]


def test_shares_follow_the_weights_and_every_type_reaches_the_group_each_month():
    weights = {"shuadan": 6, "touzi": 5, "gouwu": 4}
    sent = simulate(60, 2, weights, rotation_days=0)
    counts = Counter(item.intent for _w, item in sent)
    assert counts["shuadan"] > counts["touzi"] > counts["gouwu"] > counts["yanglao"]
    assert counts["shuadan"] >= 2.5 * counts["yanglao"]
    # the floor: in every 30-day window after the first month, every type appears at least once
    for start_day in range(30, 31):
        lo = START + dt.timedelta(days=start_day)
        window = {item.intent for when, item in sent if lo <= when < lo + dt.timedelta(days=30)}
        assert set(TYPES) <= window
    first_month = {item.intent for when, item in sent if when < START + dt.timedelta(days=30)}
    assert set(TYPES) <= first_month


def test_nothing_left_within_rotation_gives_none():
    items = [PoolItem(id="only", intent="shuadan", title="t", text="t")]
    hist = History([("only", "shuadan", START)], start=START)
    assert choose(items, hist, {}, START + dt.timedelta(days=3), 7, 30, dt.timedelta(days=1)) is None
    assert choose(items, hist, {}, START + dt.timedelta(days=8), 7, 30, dt.timedelta(days=1)).id == "only"
