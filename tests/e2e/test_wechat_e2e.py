"""WeChat reach end to end through the simulator over HTTP with real encryption: the official
account (both modes, late answers as customer-service messages), confirmed and ignored
customer-group mass sending, and the message types of robots and app groups."""
import base64
import datetime as dt
import hashlib
import struct
import time
import zlib

import pytest
import requests
from sqlalchemy import select

from bot.channels import customer_group as mass_send
from bot.core.message import Reply
from bot.models import InboundMessage, OutboxMessage
from content.markup import plain as plain_text
from bot.wechat_models import MassSendGroup, MassSendTask
from bot.core.router import Handler
from tests.conftest import mass_tasks_recorded, wait_for

SAFE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
QUESTION = "有个客服打电话说我的快递丢了要理赔，让我开屏幕共享"


def followers(st):
    return {f["name"]: f for f in requests.get(f"{st.sim_url}/sim/mp/followers", timeout=5).json()["followers"]}


def mp_say(st, name, **body):
    return st.sim_post("/sim/mp/say", {"name": name, **body})


def bot_said(st, chat, n=1, timeout=10):
    return wait_for(lambda: [m for m in st.messages(chat) if m["from"] == "bot"][n - 1:] and
                    [m for m in st.messages(chat) if m["from"] == "bot"], timeout)


def inbound(st, channel):
    with st.service.sessions() as s:
        return list(s.scalars(select(InboundMessage).where(InboundMessage.channel == channel)
                              .order_by(InboundMessage.id)))


@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_a_follower_asks_the_official_account(stack_factory, mode):
    st = stack_factory(mp={"encoding_aes_key": SAFE_KEY} if mode == "safe" else None)
    info = requests.get(f"{st.sim_url}/sim/mp/followers", timeout=5).json()
    assert info["mode"] == mode
    chat = followers(st)["张大妈"]["chat"]
    mp_say(st, "张大妈", event="subscribe")
    welcome = bot_said(st, chat)[0]["text"]
    assert "国家反诈中心" in welcome and "应用商店" in welcome
    mp_say(st, "张大妈", text=QUESTION)
    answer = bot_said(st, chat, 2)[1]
    assert answer["via"] == "mp_passive" and "客服" in answer["text"] and "**" not in answer["text"]
    mp_say(st, "张大妈", text="怎么办")
    assert "怎么办" in bot_said(st, chat, 3)[2]["text"]
    mp_say(st, "张大妈", msgtype="voice")
    assert "请发文字或截图" in bot_said(st, chat, 4)[3]["text"]
    st.sim_app.extensions["wecom_sim_deliverer"].wait_idle()
    deliveries = requests.get(f"{st.sim_url}/sim/deliveries", timeout=5).json()
    mp_deliveries = [d for d in deliveries if d["channel"] == "mp"]
    assert len(mp_deliveries) == 4 and all(not d["problems"] and d["status"] == 200 for d in mp_deliveries)


def test_forged_malformed_oversize_and_replayed_callbacks_are_refused(stack_factory):
    for mode in ("plaintext", "safe"):
        st = stack_factory(mp={"encoding_aes_key": SAFE_KEY} if mode == "safe" else None)
        expected = {"bad_signature": 403, "stale_timestamp": 403, "garbage": 400, "entity": 400,
                    "oversize": 413, "replay": 403}
        if mode == "safe":
            expected["wrong_appid"] = 403
        for kind, status in expected.items():
            r = st.sim_post("/sim/mp/forge", {"kind": kind})
            assert r["status"] == status, (mode, kind, r)
        # the replay's first delivery was genuine and answered once; nothing else was taken
        # (both stacks share one database)
        assert len(inbound(st, "mp")) == (1 if mode == "plaintext" else 2)


class Slow(Handler):
    """Takes longer than the deadline for texts starting with 慢."""
    name = "slow"

    def accepts(self, msg, ctx):
        return msg.text.startswith("慢")

    def handle(self, msg, ctx, args=""):
        time.sleep(ctx.config.wecom.reply_deadline_seconds + 0.5)
        return [Reply.formatted("这是迟到的回答 **不带格式**")]


def test_a_late_answer_becomes_a_customer_service_message(stack_factory):
    st = stack_factory(handlers=[Slow()], wecom={"reply_deadline_seconds": 1.0})
    chat = followers(st)["李大爷"]["chat"]
    mp_say(st, "李大爷", text="慢慢说")
    late = bot_said(st, chat)[0]
    assert late["via"] == "custom_send" and late["text"] == "这是迟到的回答 不带格式"
    st.sim_app.extensions["wecom_sim_deliverer"].wait_idle()
    d = [d for d in requests.get(f"{st.sim_url}/sim/deliveries", timeout=5).json() if d["channel"] == "mp"]
    assert d[0]["reply_kind"] == "success"        # answered `success` in time: no retry, no error notice
    assert len(inbound(st, "mp")) == 1


def test_the_same_question_is_answered_the_same_on_every_channel(stack):
    st = stack
    mp_say(st, "王女士", text=QUESTION)
    st.say("dongguan_grid", "res_liu", QUESTION)
    st.say("dm:res_zhao", "res_zhao", QUESTION)
    mp_text = bot_said(st, followers(st)["王女士"]["chat"])[0]["text"]
    group_md = bot_said(st, "dongguan_grid")[0]["text"]
    app_text = bot_said(st, "dm:res_zhao")[0]["text"]
    intents = {r.channel: r.intent for r in inbound(st, "mp") + inbound(st, "aibot") + inbound(st, "app")}
    assert intents["mp"] == intents["aibot"] == intents["app"] == "kefu"
    assert mp_text == app_text                    # WeChat and the app: the same plain text
    # the group reads WeCom markdown: the same answer, with bold and colour
    assert "**" in group_md and plain_text(group_md).splitlines()[0] in mp_text


def _png(w=2, h=2) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def tasks(st):
    return {t["groups"][0]["group"]: t for t in requests.get(f"{st.sim_url}/sim/mass_tasks", timeout=5).json()}


def test_mass_send_confirmed_and_ignored_are_recorded_truthfully(stack):
    st = stack
    ob = st.service.outbox
    text = "**反诈提醒**：刷单就是诈骗，不要垫付任何钱款。拿不准打96110。"
    assert ob.to_group("binhe_residents", text, rich=True, dedupe_key="camp:1:binhe") == 1
    assert ob.to_group("shiqiao_villagers", text, dedupe_key="camp:1:shiqiao") == 1
    assert ob.to_group("binhe_residents", text, dedupe_key="camp:1:binhe") == 0     # deduped
    got = wait_for(lambda: len(tasks(st)) == 2 and tasks(st))
    assert got["binhe_residents"]["sender"] == "gridli" and got["binhe_residents"]["text"].startswith("反诈提醒：")
    # each owner is told in a one-to-one app message what waits for them
    notice = wait_for(lambda: [m for m in st.messages("dm:gridli") if m["from"] == "bot"])
    assert "群发助手" in notice[0]["text"] and "滨河社区居民群" in notice[0]["text"]
    assert wait_for(lambda: [m for m in st.messages("dm:gridzhou") if m["from"] == "bot"])
    assert mass_send.delivery(st.service.sessions, "camp:1:binhe") == {"binhe_residents": "pending"}
    # nothing is in either group before the members act
    assert not [m for m in st.messages("binhe_residents") if m.get("via") == "mass_send"]

    st.sim_post("/sim/mass_tasks/confirm", {"msgid": got["binhe_residents"]["msgid"]})
    st.sim_post("/sim/mass_tasks/ignore", {"msgid": got["shiqiao_villagers"]["msgid"]})
    sv = st.service
    counts = mass_send.poll(sv.config, sv.sessions, sv.api, sv.clock())
    assert counts == {"polled": 2, "done": 1, "expired": 0, "errors": 0}
    assert mass_send.delivery(sv.sessions, "camp:1:binhe") == {"binhe_residents": "sent"}
    assert mass_send.delivery(sv.sessions, "camp:1:shiqiao") == {"shiqiao_villagers": "pending"}
    assert [m["from"] for m in st.messages("binhe_residents") if m.get("via") == "mass_send"] == ["gridli"]
    # later, past the expiry: the ignored task is recorded as not sent and stopped at WeCom
    later = sv.clock() + dt.timedelta(hours=sv.config.mass_send.expire_hours + 1)
    assert mass_send.poll(sv.config, sv.sessions, sv.api, later)["expired"] == 1
    assert mass_send.delivery(sv.sessions, "camp:1:shiqiao") == {"shiqiao_villagers": "not_sent"}
    assert tasks(st)["shiqiao_villagers"]["state"] == "cancelled"
    r = requests.post(f"{st.sim_url}/sim/mass_tasks/confirm", json={"msgid": got["shiqiao_villagers"]["msgid"]},
                      timeout=5)
    assert r.status_code == 400
    assert mass_send.reach(sv.sessions, later - dt.timedelta(days=30)) == {"binhe_residents": 1}
    with sv.sessions() as s:
        states = dict(s.execute(select(MassSendTask.dedupe_key, MassSendTask.state)).all())
        assert states == {"camp:1:binhe": "done", "camp:1:shiqiao": "expired"}
        assert s.scalar(select(MassSendGroup.sent_at).where(MassSendGroup.group_id == "binhe_residents"))
    # polling again changes nothing (the job is idempotent)
    assert mass_send.poll(sv.config, sv.sessions, sv.api, later)["polled"] == 0


def test_a_mass_send_task_with_an_image_and_news(stack):
    st = stack
    st.service.outbox.to_group_image("school_parents", _png(), caption="请家长转告孩子：游戏充值返利是骗局。",
                                     dedupe_key="img:school")
    st.service.outbox.to_group_news("binhe_residents", [{"title": "国家反诈中心APP安装指南", "url": "https://example.org/app",
                                                        "description": "从手机应用商店安装"}],
                                    text="请大家安装国家反诈中心APP", dedupe_key="news:binhe")
    got = wait_for(lambda: len(tasks(st)) == 2 and tasks(st))
    assert got["school_parents"]["attachments"] == ["image"] and got["binhe_residents"]["attachments"] == ["link"]


def test_robot_and_app_group_message_types(stack_factory):
    st = stack_factory(extra_groups=[{"id": "grid_workers", "name": "网格员工作群", "kind": "community",
                                      "send": {"via": "appchat", "chatid": "gridworkers01"},
                                      "members": ["gridwang", "gridli", "gridzhou"]}])
    ob = st.service.outbox
    ob.to_group("dongguan_grid", "请网格员今晚入户宣传", mentions=["gridwang"], mention_mobiles=["13800001111"],
                dedupe_key="t1")
    ob.to_group("dongguan_grid", "**提醒**：<font color=\"warning\">注意</font>", rich=True,
                mentions=["gridwang"], dedupe_key="t2")
    png = _png()
    ob.to_group_image("dongguan_grid", png, dedupe_key="t3")
    ob.to_group_news("dongguan_grid", [{"title": "反诈宣传", "url": "https://example.org/a", "description": "看这里"}],
                     dedupe_key="t4")
    robot = wait_for(lambda: len(st.bot_messages("dongguan_grid")) >= 4 and st.bot_messages("dongguan_grid"))
    by_type = {m["msgtype"]: m for m in robot}
    assert set(by_type) == {"text", "markdown", "image", "news"}
    assert "gridwang" in by_type["text"]["mentions"] and "mobile:13800001111" in by_type["text"]["mentions"]
    assert by_type["markdown"]["mentions"] == ["gridwang"] and by_type["image"]["bytes"] == len(png)
    with st.service.sessions() as s:
        img = s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == "t3")).one()
    assert img.payload["md5"] == hashlib.md5(png).hexdigest()
    assert base64.b64decode(img.payload["base64"]) == png
    # an app group: mentions are names in the text, markdown stays, an image is uploaded first
    requests.post(f"{st.sim_url}/cgi-bin/appchat/create", timeout=5,
                  params={"access_token": st.service.api.token()},
                  json={"name": "网格员工作群", "owner": "gridwang", "userlist": ["gridwang", "gridli", "gridzhou"],
                        "chatid": "gridworkers01"})
    ob.to_group("grid_workers", "明早八点开会", mentions=["gridli"], dedupe_key="a1")
    ob.to_group("grid_workers", "**周报**已发", rich=True, dedupe_key="a2")
    ob.to_group_image("grid_workers", png, dedupe_key="a3")
    ob.to_group_news("grid_workers", [{"title": "周报", "url": "https://example.org/w"}], dedupe_key="a4")
    msgs = wait_for(lambda: len(st.bot_messages("grid_workers")) >= 4 and st.bot_messages("grid_workers"))
    assert [m["msgtype"] for m in msgs] == ["text", "markdown", "image", "news"]
    assert msgs[0]["text"].startswith("@李网格员")
    # the page shows the bot's pictures, whichever way they were sent (base64 to a robot, uploaded media)
    for shown in (by_type["image"], msgs[2]):
        r = requests.get(f"{st.sim_url}/sim/picture/{shown['picture']}", timeout=5)
        assert r.ok and r.content == png and r.headers["Content-Type"] == "image/png"


def test_the_scheduler_polls_mass_send_tasks(stack):
    from bot.core import scheduling
    svc = stack.service
    assert "mass_send_poll" in {j.id for j in svc.scheduled_jobs()}
    svc.outbox.to_group("binhe_residents", "反诈提醒", dedupe_key="job:1")
    msgid = wait_for(lambda: tasks(stack).get("binhe_residents", {}).get("msgid"))
    assert wait_for(lambda: mass_tasks_recorded(svc, 1))
    stack.sim_post("/sim/mass_tasks/confirm", {"msgid": msgid})
    old, scheduling._context = scheduling._context, svc.ctx
    try:
        mass_send.poll_job()
        mass_send.poll_job()
    finally:
        scheduling._context = old
    assert mass_send.delivery(svc.sessions, "job:1") == {"binhe_residents": "sent"}
