"""The WeCom server API the simulator plays: tokens, message/send, appchat, webhook, limits, faults."""
import pytest
import base64
import hashlib
import time

KEY_BANK = "demo-key-bank"           # bank_robot in bank_staff
KEY_LINKAGE = "demo-key-linkage"


def send(sim, token, body):
    return sim.post("/cgi-bin/message/send", body, params={"access_token": token}).json()


def app_text(sim, touser, content, **kw):
    return {"touser": touser, "msgtype": "text", "agentid": sim.config.wecom.agent_id, "text": {"content": content},
            **kw}


def hook(sim, key, body):
    return sim.post("/cgi-bin/webhook/send", body, params={"key": key})


# --- gettoken and token lifecycle --------------------------------------------------------------------------
def test_gettoken_checks_corpid_and_secret(sim, config):
    w = config.wecom
    sim.post("/sim/token", {"expire_now": True})   # a fresh token, full lifetime
    ok = sim.get("/cgi-bin/gettoken", params={"corpid": w.corp_id, "corpsecret": w.secret}).json()
    assert ok["errcode"] == 0 and ok["errmsg"] == "ok" and ok["expires_in"] == 7200 and len(ok["access_token"]) <= 512
    bad_corp = sim.get("/cgi-bin/gettoken", params={"corpid": "wwother", "corpsecret": w.secret}).json()
    assert bad_corp["errcode"] == 40013
    bad_secret = sim.get("/cgi-bin/gettoken", params={"corpid": w.corp_id, "corpsecret": "x"}).json()
    assert bad_secret["errcode"] == 40001
    assert "hint: [" in bad_secret["errmsg"] and "devtool/query?e=40001" in bad_secret["errmsg"]
    assert sim.get("/sim/stats").json()["gettoken"] == 3


@pytest.mark.slow
def test_token_errors_missing_unknown_expired(sim):
    body = app_text(sim, "res_liu", "hi")
    assert sim.post("/cgi-bin/message/send", body).json()["errcode"] == 41001
    assert send(sim, "not-a-token", body)["errcode"] == 40014
    sim.post("/sim/token", {"ttl": 1})
    sim.post("/sim/token", {"expire_now": True})
    tok = sim.token()
    assert send(sim, tok, body)["errcode"] == 0
    # WeCom counts a token's life in seconds: it stops working once its second has passed
    assert sim.wait_for(lambda: send(sim, tok, body)["errcode"] == 42001, timeout=3, what="expiry")
    tok2 = sim.token()
    assert tok2 != tok and send(sim, tok2, body)["errcode"] == 0


def test_expire_now_then_refetch(sim):
    tok = sim.token()
    assert sim.token() == tok            # same token while valid
    sim.post("/sim/token", {"expire_now": True})
    body = app_text(sim, "res_liu", "hi")
    assert send(sim, tok, body)["errcode"] == 42001
    tok2 = sim.token()
    assert tok2 != tok and send(sim, tok2, body)["errcode"] == 0
    assert sim.get("/sim/stats").json()["errors"]["42001"] == 1


# --- message/send --------------------------------------------------------------------------------------------
def test_message_send_lands_in_dm_and_reports_invalid_users(sim):
    tok = sim.token()
    r = send(sim, tok, app_text(sim, "res_liu|Ghost|res_zhao", "注意防范"))
    assert r["errcode"] == 0 and r["invaliduser"] == "ghost" and r["msgid"]
    for u in ("res_liu", "res_zhao"):
        m = sim.messages(f"dm:{u}")
        assert [(x["from"], x["text"], x["msgtype"]) for x in m] == [("bot", "注意防范", "text")]
    r = send(sim, tok, app_text(sim, "Ghost|nobody", "x"))
    assert r["errcode"] == 81013 and r["invaliduser"] == "ghost|nobody"


def test_message_send_checks(sim):
    tok = sim.token()
    assert send(sim, tok, {**app_text(sim, "res_liu", "x"), "agentid": 999})["errcode"] == 40056
    assert send(sim, tok, app_text(sim, "res_liu", ""))["errcode"] == 44004
    assert send(sim, tok, {"touser": "res_liu", "agentid": sim.config.wecom.agent_id, "msgtype": "fax"})["errcode"] == 40008
    md = {"touser": "res_liu", "agentid": sim.config.wecom.agent_id, "msgtype": "markdown",
          "markdown": {"content": "中" * 683}}   # 2049 bytes
    r = send(sim, tok, md)
    assert r["errcode"] == 40058 and r["errmsg"].startswith("markdown.content exceed max length 2048")
    r = sim.post("/cgi-bin/message/send", data=b"{not json", params={"access_token": tok}).json()
    assert r["errcode"] == 47001


def test_message_send_text_truncated_at_2048_bytes(sim):
    tok = sim.token()
    r = send(sim, tok, app_text(sim, "res_liu", "a" + "中" * 700))   # 2101 bytes
    assert r["errcode"] == 0
    text = sim.messages("dm:res_liu")[0]["text"]
    assert len(text.encode()) <= 2048 and text == "a" + "中" * 682


def test_message_send_textcard_news_and_template_card(sim):
    tok = sim.token()
    a = sim.config.wecom.agent_id
    r = send(sim, tok, {"touser": "res_liu", "agentid": a, "msgtype": "textcard",
                        "textcard": {"title": "预警", "description": "<div class=\"highlight\">速回电</div>",
                                     "url": "https://example.org/x", "btntxt": "查看"}})
    assert r["errcode"] == 0
    news = {"touser": "res_liu", "agentid": a, "msgtype": "news",
            "news": {"articles": [{"title": f"t{i}", "url": "https://e.org"} for i in range(9)]}}
    assert send(sim, tok, news)["errcode"] == 45008
    card = {"touser": "liaison_chen", "agentid": a, "msgtype": "template_card",
            "template_card": {"card_type": "button_interaction", "main_title": {"title": "预警核查"},
                              "task_id": "t1", "button_list": [{"text": "已处置", "key": "done"}]}}
    r = send(sim, tok, card)
    assert r["errcode"] == 0 and r["response_code"]
    assert sim.messages("dm:liaison_chen")[0]["text"].startswith("**预警核查**")


def test_per_member_limit_drops_silently(sim):
    sim.post("/sim/limits", {"member_per_minute": 3})
    try:
        tok = sim.token()
        for i in range(5):
            assert send(sim, tok, app_text(sim, "res_liu", f"m{i}"))["errcode"] == 0
        assert [m["text"] for m in sim.messages("dm:res_liu")] == ["m0", "m1", "m2"]
        assert sim.get("/sim/stats").json()["drops"]["message/send"] == 2
    finally:
        sim.post("/sim/limits", {"member_per_minute": 30})


def test_duplicate_check(sim):
    tok = sim.token()
    body = app_text(sim, "res_liu", "同一条", enable_duplicate_check=1, duplicate_check_interval=600)
    assert send(sim, tok, body)["errcode"] == 0
    assert send(sim, tok, body)["errcode"] == 0
    assert len(sim.messages("dm:res_liu")) == 1


# --- appchat -----------------------------------------------------------------------------------------------------
def test_appchat_create_get_send(sim):
    tok = sim.token()
    p = {"access_token": tok}
    r = sim.post("/cgi-bin/appchat/create", {"name": "专案组", "owner": "police_duty",
                                               "userlist": ["police_duty", "liaison_chen"], "chatid": "case01"},
                 params=p).json()
    assert r == {"errcode": 0, "errmsg": "ok", "chatid": "case01"}
    again = sim.post("/cgi-bin/appchat/create", {"name": "x", "userlist": ["police_duty", "liaison_chen"],
                                                   "chatid": "case01"}, params=p).json()
    assert again["errcode"] == 86215
    info = sim.get("/cgi-bin/appchat/get", params={**p, "chatid": "case01"}).json()
    assert info["chat_info"] == {"chatid": "case01", "name": "专案组", "owner": "police_duty",
                                 "userlist": ["police_duty", "liaison_chen"], "chat_type": 0}
    r = sim.post("/cgi-bin/appchat/send", {"chatid": "case01", "msgtype": "markdown",
                                            "markdown": {"content": "**新线索**"}}, params=p).json()
    assert r["errcode"] == 0
    assert [(m["from"], m["text"], m["via"]) for m in sim.messages("case01")] == [("bot", "**新线索**", "appchat")]
    assert any(c["id"] == "case01" for c in sim.get("/sim/chats").json())
    assert sim.post("/cgi-bin/appchat/send", {"chatid": "nochat", "msgtype": "text", "text": {"content": "x"}},
                    params=p).json()["errcode"] == 86003
    bad = sim.post("/cgi-bin/appchat/create", {"name": "x", "userlist": ["police_duty"]}, params=p).json()
    assert bad["errcode"] == 86006


def test_appchat_cannot_reach_external_or_robot_groups(sim):
    p = {"access_token": sim.token()}
    for chatid in ("binhe_residents", "dongguan_grid"):
        r = sim.post("/cgi-bin/appchat/send", {"chatid": chatid, "msgtype": "text", "text": {"content": "x"}},
                     params=p).json()
        assert r["errcode"] == 86003
    assert sim.messages("binhe_residents") == []


# --- webhook -------------------------------------------------------------------------------------------------------
def test_webhook_text_with_mentions_lands_in_the_robots_group(sim):
    r = hook(sim, KEY_LINKAGE, {"msgtype": "text", "text": {"content": "预警：请核查", "mentioned_list": ["liaison_chen"],
                                                             "mentioned_mobile_list": ["@all"]}})
    assert r.json() == {"errcode": 0, "errmsg": "ok"}
    m = sim.messages("linkage")
    assert [(x["from"], x["text"], x["mentions"]) for x in m] == \
        [("robot:linkage_robot", "预警：请核查", ["liaison_chen", "@all"])]


def test_webhook_unknown_key_93000(sim):
    r = hook(sim, "no-such-key", {"msgtype": "text", "text": {"content": "x"}})
    j = r.json()
    assert r.status_code == 200 and j["errcode"] == 93000 and j["errmsg"].startswith("invalid webhook url")
    assert r.headers["Error-Code"] == "93000"
    assert hook(sim, "", {"msgtype": "text", "text": {"content": "x"}}).json()["errcode"] == 93000


def test_webhook_20_per_minute_then_45009(sim):
    for i in range(20):
        assert hook(sim, KEY_BANK, {"msgtype": "text", "text": {"content": f"{i}"}}).json()["errcode"] == 0
    j = hook(sim, KEY_BANK, {"msgtype": "text", "text": {"content": "21"}}).json()
    assert j["errcode"] == 45009 and j["errmsg"].startswith("api freq out of limit")
    # per key: another robot is unaffected
    assert hook(sim, KEY_LINKAGE, {"msgtype": "text", "text": {"content": "x"}}).json()["errcode"] == 0
    assert len(sim.messages("bank_staff")) == 20
    sim.post("/sim/limits", {"enabled": False})
    try:
        assert hook(sim, KEY_BANK, {"msgtype": "text", "text": {"content": "no limit"}}).json()["errcode"] == 0
    finally:
        sim.post("/sim/limits", {"enabled": True})


def test_webhook_byte_limits_40058(sim):
    ok = hook(sim, KEY_BANK, {"msgtype": "text", "text": {"content": "中" * 682 + "ab"}}).json()  # 2048 bytes
    assert ok["errcode"] == 0
    j = hook(sim, KEY_BANK, {"msgtype": "text", "text": {"content": "中" * 683}}).json()         # 2049 bytes
    assert j["errcode"] == 40058 and j["errmsg"].startswith("text.content exceed max length 2048")
    assert hook(sim, KEY_BANK, {"msgtype": "markdown", "markdown": {"content": "中" * 1365 + "a"}}).json()["errcode"] == 0
    j = hook(sim, KEY_BANK, {"msgtype": "markdown", "markdown": {"content": "中" * 1366}}).json()  # 4098 bytes
    assert j["errcode"] == 40058 and j["errmsg"].startswith("markdown.content exceed max length 4096")
    j = hook(sim, KEY_BANK, {"msgtype": "markdown_v2", "markdown_v2": {"content": "a" * 4097}}).json()
    assert j["errcode"] == 40058 and j["errmsg"].startswith("markdown_v2.content exceed max length 4096")


def test_webhook_image_and_news(sim):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    body = {"msgtype": "image", "image": {"base64": base64.b64encode(png).decode(), "md5": hashlib.md5(png).hexdigest()}}
    assert hook(sim, KEY_BANK, body).json()["errcode"] == 0
    body["image"]["md5"] = "0" * 32
    assert hook(sim, KEY_BANK, body).json()["errcode"] == 40058
    big = b"\xff\xd8\xff" + b"\x00" * (2 * 1024 * 1024)
    body = {"msgtype": "image", "image": {"base64": base64.b64encode(big).decode(), "md5": hashlib.md5(big).hexdigest()}}
    assert hook(sim, KEY_BANK, body).json()["errcode"] == 40009
    arts = [{"title": f"第{i}条", "url": "https://example.org"} for i in range(8)]
    assert hook(sim, KEY_BANK, {"msgtype": "news", "news": {"articles": arts}}).json()["errcode"] == 0
    assert hook(sim, KEY_BANK, {"msgtype": "news", "news": {"articles": arts + arts[:1]}}).json()["errcode"] == 45008
    assert hook(sim, KEY_BANK, {"msgtype": "news", "news": {"articles": []}}).json()["errcode"] == 40058


def test_webhook_markdown_mentions(sim):
    hook(sim, KEY_LINKAGE, {"msgtype": "markdown", "markdown": {"content": "请 <@liaison_lin> 核查"}})
    assert sim.messages("linkage")[0]["mentions"] == ["liaison_lin"]


# --- faults ---------------------------------------------------------------------------------------------------------
def test_fault_errcode_burst_then_recovers(sim):
    sim.post("/sim/faults", {"api": "webhook/send", "errcode": -1, "count": 2})
    codes = [hook(sim, KEY_BANK, {"msgtype": "text", "text": {"content": "x"}}).json()["errcode"] for _ in range(3)]
    assert codes == [-1, -1, 0]
    assert sim.get("/sim/stats").json()["errors"]["-1"] == 2


def test_fault_45009_and_45033_on_message_send(sim):
    tok = sim.token()
    sim.post("/sim/faults", {"api": "message/send", "errcode": 45009, "count": 1})
    sim.post("/sim/faults", {"api": "message/send", "errcode": 45033, "count": 1})
    body = app_text(sim, "res_liu", "x")
    assert [send(sim, tok, body)["errcode"] for _ in range(3)] == [45009, 45033, 0]


def test_fault_slow_answers_and_wildcard_and_clear(sim):
    sim.post("/sim/faults", {"api": "gettoken", "slow_ms": 400, "count": 1})
    t0 = time.time()
    sim.token()
    assert time.time() - t0 >= 0.35
    sim.post("/sim/faults", {"api": "*", "errcode": -1, "count": 5})
    assert hook(sim, KEY_BANK, {"msgtype": "text", "text": {"content": "x"}}).json()["errcode"] == -1
    sim.post("/sim/faults", {"clear": True})
    assert hook(sim, KEY_BANK, {"msgtype": "text", "text": {"content": "x"}}).json()["errcode"] == 0
    assert sim.post("/sim/faults", {"api": "nope", "errcode": -1}).status_code == 400


def test_stats_count_calls(sim):
    tok = sim.token()
    send(sim, tok, app_text(sim, "res_liu", "x"))
    hook(sim, KEY_BANK, {"msgtype": "text", "text": {"content": "x"}})
    s = sim.get("/sim/stats").json()
    assert s["calls"] == {"gettoken": 1, "message/send": 1, "webhook/send": 1}
    assert s["messages"] == 2
