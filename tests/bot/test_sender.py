"""The sender against the WeCom simulator over HTTP: token cache, retries, limits, final states."""
import threading

from sqlalchemy import select

from bot.app import Service
from bot.models import OutboxMessage
from tests.conftest import wait_for

FAST = {"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2, "poll_seconds": 0.05}


def another_process(stack) -> Service:
    """A second service on the same database, as `python -m bot worker` would be: its own API
    client, token cache in memory and sender (nothing started)."""
    return Service(stack.config)


def rows(stack):
    with stack.service.sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def all_final(stack):
    rs = rows(stack)
    return rs if rs and all(r.state in ("sent", "dead") for r in rs) else None


def test_token_is_fetched_once_for_many_sends(stack_factory):
    st = stack_factory(start_sender=False)
    for i in range(30):
        st.service.outbox.to_members(["res_liu"], f"提醒{i}", dedupe_key=f"t{i}")
    st.service.sender.drain()
    assert [r.state for r in rows(st)] == ["sent"] * 30
    assert st.stats()["gettoken"] == 1
    assert [m["text"] for m in st.bot_messages("dm:res_liu")] == [f"提醒{i}" for i in range(30)]


def test_token_shared_between_processes_through_the_database(stack_factory):
    st = stack_factory(start_sender=False)
    st.service.outbox.to_members(["res_liu"], "一", dedupe_key="a")
    st.service.sender.drain()
    # a second sender (as `python -m bot worker` would be) reuses the stored token
    other = another_process(st)
    st.service.outbox.to_members(["res_liu"], "二", dedupe_key="b")
    other.sender.drain()
    assert st.stats()["gettoken"] == 1 and other.api.gettoken_calls == 0


def test_token_expiry_in_the_middle_of_a_run_loses_nothing(stack_factory):
    st = stack_factory(start_sender=False)
    for i in range(5):
        st.service.outbox.to_members(["res_zhao"], f"前{i}", dedupe_key=f"a{i}")
    st.service.sender.drain()
    st.sim_post("/sim/token", {"expire_now": True})
    for i in range(5):
        st.service.outbox.to_members(["res_zhao"], f"后{i}", dedupe_key=f"b{i}")
    st.service.sender.drain()
    assert all(r.state == "sent" for r in rows(st)) and len(rows(st)) == 10
    assert len(st.bot_messages("dm:res_zhao")) == 10
    assert st.stats()["gettoken"] == 2


def test_two_processes_refreshing_the_token_at_once_both_get_one(stack_factory):
    """Another process stores its fresh token while this one is fetching: both must go on sending
    (a read-then-insert of the token row failed here with a unique violation on PostgreSQL)."""
    import datetime as dt
    import pytest
    from bot.db import utcnow
    from bot.models import AccessToken
    from bot.channels.wecom_api import WeComApi
    st = stack_factory(start_sender=False)
    if st.service.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer at a time in; the race needs row locks")
    api = WeComApi(st.config, st.service.sessions)
    other = st.service.engine.connect()
    tx = other.begin()
    # the other process has inserted its token but not yet committed: this insert must wait for it
    other.execute(AccessToken.__table__.insert().values(
        app=api.app_key, token="theirs", fetched_at=utcnow(), expires_at=utcnow() + dt.timedelta(hours=2)))
    threading.Timer(0.5, tx.commit).start()
    try:
        token = api.token()
    finally:
        other.close()
    assert token and token != "theirs"
    st.service.outbox.to_members(["res_liu"], "令牌", dedupe_key="tok")
    other_process = another_process(st)
    other_process.api = api
    other_process.sender.drain()
    assert [m["text"] for m in st.bot_messages("dm:res_liu")] == ["令牌"]


def test_45009_burst_is_retried_and_delivered(stack_factory):
    # a higher robot limit only shortens the pause after each 45009 (60 s / limit)
    st = stack_factory(sender=dict(FAST, robot_per_minute=600))
    st.sim_post("/sim/faults", {"api": "webhook/send", "errcode": 45009, "count": 3})
    st.service.outbox.to_group("bank_staff", "请提醒客户：公检法没有安全账户。", dedupe_key="burst")
    final = wait_for(lambda: all_final(st), timeout=10)
    assert final and final[0].state == "sent" and final[0].attempts == 4
    assert [m["text"] for m in st.bot_messages("bank_staff")] == ["请提醒客户：公检法没有安全账户。"]


def test_system_busy_is_retried_for_app_messages(stack_factory):
    st = stack_factory(sender=FAST)
    st.sim_post("/sim/faults", {"api": "message/send", "errcode": -1, "count": 2})
    st.service.outbox.to_members(["liaison_chen"], "请签收预警", dedupe_key="busy")
    final = wait_for(lambda: all_final(st), timeout=10)
    assert final[0].state == "sent" and len(st.bot_messages("dm:liaison_chen")) == 1


def test_refused_fresh_token_does_not_recurse(stack_factory):
    st = stack_factory(start_sender=False, sender=FAST)
    st.sim_post("/sim/faults", {"api": "message/send", "errcode": 40014, "count": 50})
    st.service.outbox.to_members(["res_liu"], "x", dedupe_key="loop")
    st.service.sender.run_once()
    row = rows(st)[0]
    assert row.state == "pending" and "40014" in row.last_error
    assert st.stats()["gettoken"] <= 2


def test_permanent_error_ends_dead_with_the_reason(stack_factory):
    st = stack_factory(start_sender=False, sender={"concurrency": 1})   # the fault hits the first row
    st.sim_post("/sim/faults", {"api": "webhook/send", "errcode": 93000, "count": 1})
    st.service.outbox.to_group("bank_staff", "内容", dedupe_key="bad")
    st.service.outbox.to_group("linkage", "好" * 1500, dedupe_key="ok")          # 4500 bytes: split in 3
    st.service.sender.drain()
    by_key = {r.dedupe_key: r for r in rows(st)}
    assert by_key["bad"].state == "dead" and "93000" in by_key["bad"].last_error
    assert [by_key[f"ok#{i}"].state for i in (1, 2, 3)] == ["sent"] * 3


def test_app_messages_to_one_member_are_paced_at_30_a_minute(stack_factory):
    st = stack_factory(start_sender=False)
    for i in range(35):
        st.service.outbox.to_members(["liaison_lin"], f"提醒{i}", dedupe_key=f"m{i}")
    st.service.sender.drain()
    states = [r.state for r in rows(st)]
    assert states.count("sent") == 30 and states.count("pending") == 5
    assert len(st.bot_messages("dm:liaison_lin")) == 30 and st.stats()["drops"] == {}


def test_robot_limit_of_20_a_minute_defers_the_rest(stack_factory):
    st = stack_factory(start_sender=False)
    for i in range(25):
        st.service.outbox.to_group("linkage", f"第{i}条", dedupe_key=f"r{i}")
    st.service.sender.drain()
    states = [r.state for r in rows(st)]
    assert states.count("sent") == 20 and states.count("pending") == 5
    assert st.stats()["errors"].get("45009", 0) == 0       # we held back instead of being refused
    waiting = [r for r in rows(st) if r.state == "pending"]
    first_sent = min(r.sent_at for r in rows(st) if r.state == "sent")
    assert all((r.next_attempt_at - first_sent).total_seconds() >= 60 for r in waiting)
    assert all(r.attempts == 0 for r in waiting)


def test_two_senders_never_send_a_row_twice(stack_factory):
    st = stack_factory(start_sender=False, sender={"member_per_minute": 1000})
    st.sim_post("/sim/limits", {"enabled": False})
    for i in range(120):
        st.service.outbox.to_members(["res_sun"], f"n{i}", dedupe_key=f"n{i}")
    senders = [st.service.sender, another_process(st).sender]
    threads = [threading.Thread(target=s.drain) for s in senders]
    [t.start() for t in threads]
    [t.join() for t in threads]
    texts = [m["text"] for m in st.bot_messages("dm:res_sun")]
    assert sorted(texts) == sorted(f"n{i}" for i in range(120))


def test_enqueue_wakes_the_running_sender_at_once(stack_factory):
    st = stack_factory(sender={"poll_seconds": 30})
    st.service.outbox.to_group("linkage", "立即送达", dedupe_key="now")
    assert wait_for(lambda: st.bot_messages("linkage"), timeout=3)


def test_slow_answer_times_out_and_is_retried(stack_factory):
    st = stack_factory(sender=dict(FAST, http_timeout_seconds=0.3))
    st.sim_post("/sim/faults", {"api": "webhook/send", "slow_ms": 800, "count": 1})
    st.service.outbox.to_group("textile_finance", "冒充老板让转账的，一律电话核实。", dedupe_key="slow")
    final = wait_for(lambda: all_final(st), timeout=10)
    assert final[0].state == "sent" and final[0].attempts == 2 and final[0].last_error is None


def test_app_group_send(stack_factory):
    import requests
    st = stack_factory(start_sender=False)
    token = st.service.api.token()
    r = requests.post(f"{st.sim_url}/cgi-bin/appchat/create", params={"access_token": token}, timeout=5,
                      json={"name": "反诈宣传员群", "owner": "propaganda_yang", "userlist": ["propaganda_yang", "gridwang"],
                            "chatid": "propchat"}).json()
    assert r["errcode"] == 0
    st.service.outbox.enqueue(channel="appchat", target="propchat", msgtype="text",
                              payload={"text": "本周宣传重点：刷单返利", "rich": False}, dedupe_key="ac")
    st.service.sender.drain()
    assert rows(st)[0].state == "sent"
    assert [m["text"] for m in st.messages("propchat") if m["from"] != "propaganda_yang"] == ["本周宣传重点：刷单返利"]


def test_worker_process_delivers_what_the_web_side_queued(stack_factory, tmp_path):
    import os
    import subprocess
    import sys
    from tests.conftest import ROOT
    st = stack_factory(start_sender=False)
    st.service.outbox.to_group("linkage", "由独立发送进程送达", dedupe_key="worker")
    env = dict(os.environ, DATABASE_URL=st.config.database.url, WECOM_API_BASE=st.sim_url)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: st.bot_messages("linkage"), timeout=20)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "sender stopped" in out
    assert rows(st)[0].state == "sent"


def test_addressees_are_served_in_parallel_and_each_in_order(stack_factory):
    st = stack_factory(start_sender=False)
    st.sim_post("/sim/faults", {"api": "webhook/send", "slow_ms": 300, "count": 8})
    for i in range(4):
        st.service.outbox.to_group("bank_staff", f"银行{i}", dedupe_key=f"b{i}")
        st.service.outbox.to_group("textile_finance", f"企业{i}", dedupe_key=f"t{i}")
    import time
    t0 = time.monotonic()
    st.service.sender.drain()
    elapsed = time.monotonic() - t0
    assert [m["text"] for m in st.bot_messages("bank_staff")] == [f"银行{i}" for i in range(4)]
    assert [m["text"] for m in st.bot_messages("textile_finance")] == [f"企业{i}" for i in range(4)]
    assert elapsed < 8 * 0.3      # the two groups' slow sends overlapped
