"""Warning statistics by station and the assessment of the responsible units with every deduction."""
import datetime as dt

from bot import cases, stats
from bot.campaign_models import CampaignDelivery
from bot.db import session_scope
from bot.models import InboundMessage, OutboxMessage
from bot.warnings.models import Warning
from bot.wechat_models import MassSendGroup, MassSendTask
from tests.stats.conftest import NOW

M = dt.timedelta(minutes=1)


def warning(s, n, station, dispatched, signed=None, result=None, state="closed", level="橙"):
    s.add(Warning(number=f"YJ-20261125-{n:03d}", day="20261125", seq=n, source="chat", created_by="police_duty",
                  created_at=dispatched, phone="13800000000", place="x", level=level, station_id=station,
                  dispatched_at=dispatched, state=state, signed_at=signed, result=result,
                  reported_at=(signed + 10 * M) if result else None, reports=1 if result else 0))


def seed(svc):
    t = NOW - dt.timedelta(days=2)
    with session_scope(svc.sessions) as s:
        warning(s, 1, "chengguan", t, t + 3 * M, "dissuaded")
        warning(s, 2, "chengguan", t, t + 20 * M, "victimised")          # signed after 15 minutes: overdue
        warning(s, 3, "hekou", t, t + 10 * M, "invalid")
        warning(s, 4, "chengguan", NOW - 60 * M, state="issued")          # nobody signed for an hour: overdue
        # dongguan_grid (a robot): two pushes sent, one dead; a question answered there
        for i, state in enumerate(["sent", "sent", "dead"]):
            key = f"campaign:c:{i}:dongguan_grid"
            s.add(CampaignDelivery(campaign="c", slot=t + i * 60 * M, group_id="dongguan_grid", item_id="x",
                                   intent="shuadan", state="queued", outbox_key=key, created_at=t))
            s.add(OutboxMessage(dedupe_key=key, channel="webhook", target="dongguan_robot", group_id="dongguan_grid",
                                msgtype="text", payload={}, state=state,
                                last_error="93000 invalid webhook url" if state == "dead" else None))
        # binhe_residents (a customer group): the task was created, but the grid worker never sent it
        key = "campaign:c:0:binhe_residents"
        s.add(CampaignDelivery(campaign="c", slot=t, group_id="binhe_residents", item_id="x", intent="touzi",
                               state="queued", outbox_key=key, created_at=t))
        task = MassSendTask(dedupe_key=key, owner="gridli", text="x", state="expired")
        s.add(task)
        s.flush()
        s.add(MassSendGroup(task_id=task.id, group_id="binhe_residents", chat_id="wrDemoBinheResidents0001",
                            status="not_sent"))
        for i, intent in enumerate(["shuadan", "none", "kefu"]):
            s.add(InboundMessage(channel="aibot", dedupe_key=f"q{i}", chat_id="dongguan_grid", sender="res_liu",
                                 text="?", received_at=t, state="done", intent=intent))
    cases.record_pledge(svc.sessions, unit="dongguan_vc", households=35, note="三组", by="gridwang",
                        source_ref="aibot:p1", at=t)
    assert not cases.record_pledge(svc.sessions, unit="dongguan_vc", households=35, note="三组", by="gridwang",
                                   source_ref="aibot:p1", at=t)          # the same message again: nothing twice


def test_warning_statistics_by_station(svc):
    seed(svc)
    by = {s.station: s for s in stats.warning_stats(svc.sessions, svc.config, stats.week_period(svc.config, NOW), NOW)}
    cg, hk = by["chengguan"], by["hekou"]
    assert (cg.total, cg.dissuaded, cg.victimised, cg.open, cg.overdue) == (3, 1, 1, 1, 2)
    assert round(cg.dissuasion_rate, 1) == 33.3
    assert (cg.median_sign, cg.p90_sign) == (3.0, 20.0)
    assert (hk.total, hk.invalid, hk.overdue, hk.dissuasion_rate) == (1, 1, 0, None)
    assert by["shiqiao"].total == 0


def test_scores_are_100_minus_every_listed_deduction(svc):
    seed(svc)
    scores = {u.unit: u for u in stats.assess(svc.sessions, svc.config, stats.week_period(svc.config, NOW), NOW)}
    dg = scores["dongguan_vc"]
    assert (dg.scheduled, dg.sent, dg.questions, dg.pledges) == (3, 2, 2, 35)
    assert dg.score == 98 and len(dg.deductions) == 1 and "93000" in dg.deductions[0].reason
    bh = scores["hekou_sq"]
    assert bh.score == 100 - 2 - 5 - 5
    reasons = " | ".join(d.reason for d in bh.deductions)
    assert "群主未确认发送" in reasons and "7 天内没有送达" in reasons and "承诺书" in reasons
    assert scores["chengguan_ps"].score == 94 and "超时 2 条" in scores["chengguan_ps"].deductions[0].reason
    assert scores["hekou_ps"].score == 100 and scores["fzzx"].score == 100     # linkage groups are not scored
    assert scores["bank_ny"].score == 95                                       # no push reached the bank group
    # deductions are configurable
    cfg = svc.config.model_copy(update={"assessment": svc.config.assessment.model_copy(
        update={"silent_group": 0, "no_pledges": 1, "missed_push": 10})})
    again = {u.unit: u for u in stats.assess(svc.sessions, cfg, stats.week_period(cfg, NOW), NOW)}
    assert again["hekou_sq"].score == 89 and again["bank_ny"].score == 100
    text = stats.assessment_markdown(stats.week_period(svc.config, NOW), list(scores.values()))
    assert "河口镇滨河社区：**88分**" in text
