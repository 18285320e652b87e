"""#统计, #研判, #考核, #承诺书 and #回访 in groups through the simulator; the weekly report job."""
import datetime as dt

from sqlalchemy import func, select

from bot import cases
from bot.case_models import HouseholdPledge
from bot.db import utcnow
from scheduler.stats import run_weekly_report, stats_jobs
from tests.conftest import wait_for


def with_cases(st):
    # two years of demo cases up to today, so that "this week" has cases whatever day the test runs
    cases.load_demo(st.service.sessions, st.service.config, count=2400, end=utcnow().date())


def images(st, chat):
    return [m for m in st.bot_messages(chat) if m.get("msgtype") == "image"]


def test_stats_commands_answer_with_markdown_and_a_chart(stack):
    st = stack
    with_cases(st)
    st.say("leadership", "admin_gao", "#统计")
    reply = wait_for(lambda: next((m for m in st.bot_messages("leadership") if "案件统计" in m["text"]), None))
    assert "发案" in reply["text"] and "高发类型" in reply["text"]
    assert wait_for(lambda: images(st, "leadership"), timeout=10)
    assert images(st, "leadership")[0]["from"] == "robot:leader_robot"
    st.say("linkage", "liaison_chen", "#研判")
    assert wait_for(lambda: any("研判" in m["text"] and "宣传重点" in m["text"] for m in st.bot_messages("linkage")))
    assert wait_for(lambda: images(st, "linkage"), timeout=10)
    st.say("leadership", "propaganda_yang", "#考核")
    assert wait_for(lambda: any("督导考核" in m["text"] and "城关镇东关村委会" in m["text"]
                                for m in st.bot_messages("leadership")))
    assert wait_for(lambda: len(images(st, "leadership")) == 2, timeout=10)


def test_stats_commands_are_refused_outside_the_linkage_and_leadership_groups(stack):
    st = stack
    st.say("dongguan_grid", "gridwang", "#统计")
    st.say("dongguan_grid", "res_liu", "#考核")
    assert wait_for(lambda: sum("仅限" in m["text"] for m in st.bot_messages("dongguan_grid")) == 2)
    assert not images(st, "dongguan_grid")


def test_a_grid_worker_records_household_pledges_for_the_group_unit(stack):
    st = stack
    st.say("dongguan_grid", "gridwang", "#承诺书 35 东关村三组入户签订")
    assert wait_for(lambda: any("城关镇东关村委会 家庭防骗承诺书 35 户" in m["text"]
                                for m in st.bot_messages("dongguan_grid")))
    st.say("dongguan_grid", "gridwang", "#承诺书 很多")
    assert wait_for(lambda: any(m["text"].startswith("用法：#承诺书") for m in st.bot_messages("dongguan_grid")))
    with st.service.sessions() as s:
        assert s.execute(select(HouseholdPledge.unit, func.sum(HouseholdPledge.households))
                         .group_by(HouseholdPledge.unit)).all() == [("dongguan_vc", 35)]


def test_the_weekly_report_goes_to_the_leadership_group_once(stack):
    st = stack
    with_cases(st)
    job = stats_jobs(st.service.config)[0]
    assert job.id == "stats-weekly-report" and "day_of_week='mon'" in str(job.trigger) and "hour='9'" in str(job.trigger)
    now = utcnow()
    assert run_weekly_report(st.service, now) == 3            # markdown + two charts
    assert run_weekly_report(st.service, now + dt.timedelta(minutes=5)) == 0   # fired twice: nothing twice
    assert wait_for(lambda: any("反诈周报" in m["text"] for m in st.bot_messages("leadership")), timeout=10)
    assert wait_for(lambda: len(images(st, "leadership")) == 2, timeout=10)


def test_police_record_and_list_victim_follow_ups_in_the_linkage_group(stack):
    st = stack
    cases.load_demo(st.service.sessions, st.service.config, count=20, end=utcnow().date())
    with st.service.sessions() as s:
        case_no = s.scalar(select(cases.FraudCase.case_no).order_by(cases.FraudCase.id))
    st.say("linkage", "liaison_chen", f"#回访 {case_no} 走访：已上门，讲解了紧急止付和二次诈骗")
    assert wait_for(lambda: any("的走访回访，共回访 1 次" in m["text"] and case_no in m["text"]
                                for m in st.bot_messages("linkage")))
    st.say("linkage", "liaison_chen", f"#回访 {case_no}")
    listing = wait_for(lambda: next((m["text"] for m in st.bot_messages("linkage")
                                     if "回访 1 次：" in m["text"]), None))
    assert "走访 陈警官：已上门，讲解了紧急止付和二次诈骗" in listing
    st.say("linkage", "liaison_chen", "#回访")
    st.say("linkage", "liaison_chen", "#回访 AJ-NOPE-1 电话：没接")
    assert wait_for(lambda: sum(m["text"].startswith("用法：#回访") for m in st.bot_messages("linkage")) == 1)
    assert wait_for(lambda: any("没有案件编号为“AJ-NOPE-1”的案件" in m["text"] for m in st.bot_messages("linkage")))
    # notes may name the victim: not in resident groups
    st.say("dongguan_grid", "liaison_chen", f"#回访 {case_no}")
    assert wait_for(lambda: any("仅限" in m["text"] for m in st.bot_messages("dongguan_grid")))
    _, items = cases.follow_ups(st.service.sessions, case_no)
    assert [(f.method, f.by) for f in items] == [("走访", "liaison_chen")]
