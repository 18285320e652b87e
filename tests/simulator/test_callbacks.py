"""Callbacks the simulator sends: verified and decrypted by a fake bot that uses only wechatpy."""
import time

from wechatpy.enterprise.messages import TextMessage

GROUP = "dongguan_grid"      # internal group, residents @ the intelligent bot
EXTERNAL = "binhe_residents"  # external customer group of WeChat users


def stream(sid, content, finish=True):
    return {"msgtype": "stream", "stream": {"id": sid, "finish": finish, "content": content}}


def text_reply(to, frm, content):
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{frm}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content></xml>")


# --- intelligent bot ---------------------------------------------------------------------------------
def test_group_mention_reaches_aibot_encrypted_and_reply_lands_in_chat(sim, fakebot, config):
    fakebot.on_aibot = lambda msg, n: (200, fakebot.aibot_reply(stream("s1", "**收到**：请勿转账")))
    r = sim.say(GROUP, "res_liu", "有人让我转账到安全账户")
    assert r.status_code == 200, r.text
    msgid = r.json()["msgid"]
    got = fakebot.wait(1, "aibot")[0]
    m = got["plain"]
    assert got["content_type"] == "application/json"
    assert m["msgid"] == msgid
    assert m["chattype"] == "group" and m["chatid"] == GROUP
    assert m["from"] == {"userid": "res_liu"}
    assert m["msgtype"] == "text"
    assert m["text"]["content"] == f"@{config.wecom.aibot.name} 有人让我转账到安全账户"
    assert m["aibotid"].startswith("aib")
    assert m["response_url"].startswith(sim.url + "/cgi-bin/aibot/response?response_code=")
    replies = sim.wait_for(lambda: sim.bot_messages(GROUP), what="bot reply")
    assert replies[0]["text"] == "**收到**：请勿转账" and replies[0]["msgtype"] == "markdown"
    d = sim.deliveries(msgid=msgid)
    assert [(x["attempt"], x["status"], x["reply_kind"]) for x in d] == [(1, 200, "stream_final")]
    assert fakebot.rejected == []


def test_text_already_mentioning_is_not_doubled(sim, fakebot, config):
    sim.say(GROUP, "res_zhao", f"@{config.wecom.aibot.name} #帮助")
    assert fakebot.wait(1)[0]["plain"]["text"]["content"] == f"@{config.wecom.aibot.name} #帮助"


def test_slow_receiver_gets_retries_with_same_msgid_and_fresh_signatures(sim, fakebot):
    def slow_then_answer(msg, n):
        if n <= 2:
            time.sleep(0.5)    # callback_timeout is 0.3 s in the tests
        return 200, fakebot.aibot_reply(stream("s9", f"第{n}次才答"))
    fakebot.on_aibot = slow_then_answer
    msgid = sim.say(GROUP, "res_sun", "在吗").json()["msgid"]
    got = fakebot.wait(3, "aibot")
    assert [g["plain"]["msgid"] for g in got] == [msgid] * 3
    assert len({g["args"]["nonce"] for g in got}) == 3
    assert len({g["args"]["msg_signature"] for g in got}) == 3
    assert [g["plain"] for g in got][0] == got[2]["plain"]   # same message, not a new one
    sim.wait_for(lambda: sim.bot_messages(GROUP), what="reply")
    d = sim.deliveries(msgid=msgid)
    assert [x["attempt"] for x in d] == [1, 2, 3]
    assert [x["reply_kind"] for x in d] == ["timeout", "timeout", "stream_final"]
    assert all(x["elapsed_ms"] >= 250 for x in d[:2])
    assert [m["text"] for m in sim.bot_messages(GROUP)] == ["第3次才答"]   # one reply only


def test_non_200_is_retried_three_more_times_then_given_up(sim, fakebot):
    fakebot.on_aibot = lambda msg, n: (500, "oops")
    msgid = sim.say(GROUP, "res_liu", "hello").json()["msgid"]
    sim.wait_for(lambda: len(sim.deliveries(msgid=msgid)) == 4, what="4 attempts")
    sim.idle()
    d = sim.deliveries(msgid=msgid)
    assert [(x["attempt"], x["status"], x["reply_kind"]) for x in d] == [(i, 500, "http_error") for i in (1, 2, 3, 4)]
    assert sim.bot_messages(GROUP) == []


def test_empty_200_is_not_retried(sim, fakebot):
    msgid = sim.say(GROUP, "res_liu", "hello").json()["msgid"]
    fakebot.wait(1)
    sim.idle()
    assert [x["reply_kind"] for x in sim.deliveries(msgid=msgid)] == ["empty"]
    assert len(fakebot.received) == 1


def test_stream_refresh_polling_until_finish(sim, fakebot):
    polls = []

    def handler(msg, n):
        if msg["msgtype"] == "text":
            return 200, fakebot.aibot_reply(stream("stream-7", "正在查询…", finish=False))
        assert msg["msgtype"] == "stream" and msg["stream"] == {"id": "stream-7"}
        polls.append(msg)
        done = len(polls) >= 3
        return 200, fakebot.aibot_reply(stream("stream-7", "查询完毕：**是诈骗**" if done else "正在查询……", done))
    fakebot.on_aibot = handler
    msgid = sim.say(GROUP, "res_liu", "这个电话是诈骗吗").json()["msgid"]
    replies = sim.wait_for(lambda: sim.bot_messages(GROUP), what="final stream content")
    assert [m["text"] for m in replies] == ["查询完毕：**是诈骗**"]
    assert len(polls) == 3
    assert len({p["msgid"] for p in polls}) == 3 and msgid not in {p["msgid"] for p in polls}
    assert all(p["chatid"] == GROUP and p["from"] == {"userid": "res_liu"} for p in polls)
    refreshes = sim.deliveries(parent=msgid)
    assert [r["kind"] for r in refreshes] == ["stream_refresh"] * 3
    assert refreshes[-1]["reply_kind"] == "stream_final"


def test_unfinished_stream_stops_at_the_limit_and_keeps_partial_content(sim, fakebot):
    sim.post("/sim/settings", {"stream_max_seconds": 0.4})
    fakebot.on_aibot = lambda msg, n: (200, fakebot.aibot_reply(stream("s", "一半", finish=False)))
    sim.say(GROUP, "res_liu", "问")
    m = sim.wait_for(lambda: sim.bot_messages(GROUP), what="partial")[0]
    assert m["text"] == "一半" and m["unfinished"] is True


def test_reply_with_bad_signature_is_flagged_and_not_shown(sim, fakebot):
    fakebot.on_aibot = lambda msg, n: (200, fakebot.aibot_reply(stream("s", "伪造"), bad_signature=True))
    msgid = sim.say(GROUP, "res_liu", "问").json()["msgid"]
    d = sim.wait_for(lambda: sim.deliveries(msgid=msgid), what="delivery")
    assert d[0]["reply_kind"] == "bad_signature" and d[0]["problems"]
    sim.idle()
    assert sim.bot_messages(GROUP) == []


def test_response_url_is_single_use_and_lands_in_the_chat(sim, fakebot):
    msgid = sim.say(GROUP, "res_liu", "稍后回复我").json()["msgid"]
    url = fakebot.wait(1)[0]["plain"]["response_url"]
    body = {"msgtype": "markdown", "markdown": {"content": "## 核查结果\n> 这是诈骗"}}
    r1 = sim.http.post(url, json=body, timeout=5).json()
    assert r1["errcode"] == 0
    r2 = sim.http.post(url, json=body, timeout=5).json()
    assert r2["errcode"] == 40058 and "already used" in r2["errmsg"] and "hint: [" in r2["errmsg"]
    bad = sim.http.post(url.split("=")[0] + "=nope", json=body, timeout=5).json()
    assert bad["errcode"] == 40058
    msgs = sim.bot_messages(GROUP)
    assert [(m["text"], m["msgtype"], m["via"], m["reply_to"]) for m in msgs] == \
        [("## 核查结果\n> 这是诈骗", "markdown", "response_url", msgid)]


def test_response_url_expires_after_an_hour(sim, fakebot):
    sim.say(GROUP, "res_liu", "问")
    url = fakebot.wait(1)[0]["plain"]["response_url"]
    with sim.state.lock:
        for rc in sim.state.response_codes.values():
            rc["expires"] = time.time() - 1
    r = sim.http.post(url, json={"msgtype": "markdown", "markdown": {"content": "晚了"}}, timeout=5).json()
    assert r["errcode"] == 40058 and "expired" in r["errmsg"]


def test_external_chat_is_recorded_but_not_delivered(sim, fakebot):
    r = sim.say(EXTERNAL, "gridli", "大家注意防骗")
    assert r.status_code == 200
    j = r.json()
    assert j["delivered"] is False and j["reason"]
    sim.idle()
    assert fakebot.received == []
    assert [m["from"] for m in sim.messages(EXTERNAL)] == ["gridli"]


def test_at_most_three_in_flight_per_user(sim, fakebot):
    fakebot.on_aibot = lambda msg, n: (time.sleep(0.25), (200, None))[1]
    sim.post("/sim/settings", {"callback_retries": 0, "callback_timeout": 1.0})
    results = [sim.say(GROUP, "res_liu", f"问{i}").json() for i in range(4)]
    assert [r["delivered"] for r in results] == [True, True, True, False]
    assert sim.say(GROUP, "res_zhao", "另一个人").json()["delivered"] is True


def test_injected_duplicate_after_success(sim, fakebot):
    sim.post("/sim/faults", {"api": "callback", "duplicate": True, "count": 1})
    msgid = sim.say(GROUP, "res_liu", "问").json()["msgid"]
    got = fakebot.wait(2)
    assert [g["plain"]["msgid"] for g in got] == [msgid, msgid]
    assert got[0]["args"]["nonce"] != got[1]["args"]["nonce"]
    assert [d["kind"] for d in sim.deliveries(msgid=msgid)] == ["message", "duplicate"]


# --- self-built app (one-to-one) ------------------------------------------------------------------------
def test_dm_goes_through_app_callback_xml(sim, fakebot, config):
    corp = config.wecom.corp_id
    fakebot.on_app = lambda msg, n: (200, fakebot.app_reply(text_reply(msg.source, msg.target, "您好，我是反诈哨兵")))
    r = sim.say("dm:res_liu", "res_liu", "#帮助")
    msgid = r.json()["msgid"]
    got = fakebot.wait(1, "app")[0]
    env = got["envelope"]
    assert env.startswith("<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[" % corp)
    assert f"<AgentID><![CDATA[{config.wecom.agent_id}]]></AgentID></xml>" in env
    msg = got["msg"]
    assert isinstance(msg, TextMessage)
    assert (msg.content, msg.source, msg.target, str(msg.id), int(msg.agent)) == \
        ("#帮助", "res_liu", corp, msgid, config.wecom.agent_id)
    assert abs(msg.create_time.timestamp() - time.time()) < 5 if hasattr(msg.create_time, "timestamp") else True
    reply = sim.wait_for(lambda: sim.bot_messages("dm:res_liu"), what="passive reply")[0]
    assert reply["text"] == "您好，我是反诈哨兵" and reply["via"] == "app_passive"
    d = sim.deliveries(msgid=msgid)
    assert d[0]["reply_kind"] == "text" and d[0]["problems"] == []


def test_dm_text_with_cdata_terminator_reaches_the_bot_intact(sim, fakebot):
    sim.say("dm:res_liu", "res_liu", "a]]>b<c>&")
    assert fakebot.wait(1, "app")[0]["msg"].content == "a]]>b<c>&"


def test_app_reply_problems_are_flagged(sim, fakebot, config):
    corp = config.wecom.corp_id
    cases = {
        "not swapped": text_reply(corp, "res_liu", "x"),
        "broken": text_reply("res_liu", corp, "坏]]>掉"),
        "long": text_reply("res_liu", corp, "长" * 1000),   # 3000 bytes
    }
    order = list(cases)
    fakebot.on_app = lambda msg, n: (200, fakebot.app_reply(cases[msg.content]))
    ids = {}
    for name in order:
        ids[name] = sim.say("dm:res_liu", "res_liu", name).json()["msgid"]
        sim.wait_for(lambda: sim.deliveries(msgid=ids[name]), what=name)
    get = lambda n: sim.deliveries(msgid=ids[n])[0]  # noqa: E731
    assert any("not swapped" in p for p in get("not swapped")["problems"])
    assert get("broken")["reply_kind"] == "bad_reply"
    assert any("]]>" in p for p in get("broken")["problems"])
    assert any("truncates" in p for p in get("long")["problems"])
    texts = [m["text"] for m in sim.bot_messages("dm:res_liu")]
    assert "长" * 682 in texts   # 2048 bytes -> 682 whole characters


def test_app_retry_keeps_msgid(sim, fakebot):
    fakebot.on_app = lambda msg, n: (200, None) if n > 1 else (time.sleep(0.5), (200, None))[1]
    msgid = sim.say("dm:res_zhao", "res_zhao", "在吗").json()["msgid"]
    got = fakebot.wait(2, "app")
    assert [str(g["msg"].id) for g in got] == [msgid, msgid]
    assert got[0]["args"]["nonce"] != got[1]["args"]["nonce"]
    assert got[0]["plain"] == got[1]["plain"]   # identical inner XML, incl. CreateTime


def test_events_enter_agent_and_taskcard_click(sim, fakebot, config):
    sim.post("/sim/say", {"chat": "dm:liaison_chen", "user": "liaison_chen", "event": "enter_agent"})
    sim.post("/sim/say", {"chat": "dm:liaison_chen", "user": "liaison_chen", "event": "taskcard_click",
                          "event_key": "accept", "task_id": "task-42"})
    got = fakebot.wait(2, "app")
    import xmltodict
    by_event = {xmltodict.parse(g["plain"])["xml"]["Event"]: g for g in got}
    assert set(by_event) == {"enter_agent", "taskcard_click"}
    assert "<MsgId>" not in by_event["enter_agent"]["plain"]
    tc = by_event["taskcard_click"]["plain"]
    assert "<EventKey><![CDATA[accept]]></EventKey>" in tc and "<TaskId><![CDATA[task-42]]></TaskId>" in tc
    assert by_event["enter_agent"]["msg"].event == "enter_agent"   # wechatpy knows this one
    assert "<FromUserName><![CDATA[liaison_chen]]></FromUserName>" in tc


def test_dm_via_aibot_single_chat(sim, fakebot):
    fakebot.on_aibot = lambda msg, n: (200, fakebot.aibot_reply(stream("x", "单聊回复")))
    sim.say("dm:res_liu", "res_liu", "你好", via="aibot")
    m = fakebot.wait(1, "aibot")[0]["plain"]
    assert m["chattype"] == "single" and "chatid" not in m
    assert sim.wait_for(lambda: sim.bot_messages("dm:res_liu"))[0]["text"] == "单聊回复"


def test_say_errors(sim):
    assert sim.say("nope", "res_liu", "x").status_code == 404
    assert sim.say(GROUP, "nobody", "x").status_code == 404
    assert sim.say(GROUP, "police_duty", "x").status_code == 400      # not a member
    assert sim.say("dm:res_liu", "res_zhao", "x").status_code == 400  # someone else's dm
    assert sim.say(GROUP, "res_liu", "").status_code == 400


# --- forged callbacks ------------------------------------------------------------------------------------
def test_forged_callbacks_are_refused_by_a_wechatpy_receiver(sim, fakebot):
    for channel in ("app", "aibot"):
        for kind in ("bad_signature", "wrong_receiveid", "wrong_key", "garbage"):
            r = sim.post("/sim/forge", {"channel": channel, "kind": kind, "user": "res_liu",
                                        "chat": "dongguan_grid" if channel == "aibot" else None}).json()
            assert r["status"] == 403 and r["reply_kind"] == "refused" and r["problems"] == [], (channel, kind, r)
    assert fakebot.received == []
    assert len(fakebot.rejected) == 8
    # the fake bot has no replay window: a stale timestamp gets through, and the simulator says so
    r = sim.post("/sim/forge", {"channel": "app", "kind": "stale_timestamp", "user": "res_liu"}).json()
    assert r["status"] == 200 and "accepted" in r["problems"][0]
    r = sim.post("/sim/forge", {"channel": "app", "kind": "entity", "user": "res_liu"}).json()
    assert r["status"] == 403   # wechatpy's xmltodict refuses entities
    assert sim.post("/sim/forge", {"kind": "nope"}).status_code == 400


def test_group_messages_without_mention_or_bot_are_not_delivered(sim, fakebot):
    r = sim.say(GROUP, "res_liu", "大家好", mention=False).json()
    assert r["delivered"] is False and r["msgid"]
    p = {"access_token": sim.token()}
    sim.post("/cgi-bin/appchat/create", {"name": "临时群", "userlist": ["res_liu", "res_zhao"], "chatid": "tmp1"},
             params=p)
    r = sim.say("tmp1", "res_liu", "有机器人吗").json()
    assert r["delivered"] is False
    sim.idle()
    assert fakebot.received == []
    assert [m["text"] for m in sim.messages(GROUP)] == ["大家好"]
