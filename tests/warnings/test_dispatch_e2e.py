"""Warning dispatch end to end through the WeCom simulator: what the police and the liaisons see."""
import json

import requests
from sqlalchemy import select

from bot.warnings.models import Warning, WarningEvent
from tests.conftest import wait_for

WARNING = "#预警 姓名:张三 电话:13812345678 地址:城关镇东关村3组 类型:冒充公检法 级别:红 说明:正在和自称民警的人通话"


def said(stack, chat, n, match=None):
    """Wait until the bot (or a robot) has said at least n things in chat (containing match)."""
    def got():
        msgs = [m for m in stack.bot_messages(chat) if match is None or match in m["text"]]
        return msgs if len(msgs) >= n else None
    msgs = wait_for(got, timeout=8)
    assert msgs, f"nothing like {match!r} in {chat}: {stack.bot_messages(chat)}"
    return msgs


def warnings(stack):
    with stack.service.sessions() as s:
        return list(s.scalars(select(Warning).order_by(Warning.id)))


def events(stack, w):
    with stack.service.sessions() as s:
        return [(e.kind, e.actor, e.from_state, e.to_state, e.channel, e.message_ref) for e in
                s.scalars(select(WarningEvent).where(WarningEvent.warning_id == w.id).order_by(WarningEvent.id))]


def test_police_posts_liaison_signs_and_reports_and_it_is_closed(stack):
    stack.say("linkage", "police_duty", WARNING)
    post = said(stack, "linkage", 1, "【预警 YJ-")[0]
    number = post["text"].split("【预警 ")[1].split("｜")[0]
    assert number.startswith("YJ-") and len(number) == len("YJ-20261128-001")
    # the linkage group sees everything the liaison needs, the full number included, and the liaison is @-mentioned
    assert post["from"] == "robot:linkage_robot" and post["mentions"] == ["liaison_chen"]
    assert "13812345678" in post["text"] and "张三" in post["text"] and "城关派出所" in post["text"]
    assert "冒充公检法" in post["text"] and "红色" in post["text"]
    ack = said(stack, "linkage", 1, "已下发 " + number)[0]
    assert "城关派出所" in ack["text"]
    # the liaison gets a one-to-one task card, masked
    card = said(stack, "dm:liaison_chen", 1)[0]
    assert card["msgtype"] == "interactive_taskcard" and card["task_id"] == f"{number}-a1-sign"
    assert [b["name"] for b in card["buttons"]] == ["签收"]
    assert "138****5678" in card["text"] and "13812345678" not in card["text"] and "张某" in card["text"]

    stack.say("linkage", "liaison_chen", f"#签收 {number}")
    signed = said(stack, "linkage", 1, f"{number} 已签收")[0]
    assert "陈警官" in signed["text"]
    # the sign card shows who signed; a result card follows
    assert wait_for(lambda: stack.bot_messages("dm:liaison_chen")[0].get("replace_name") == "陈警官已签收")
    result_card = said(stack, "dm:liaison_chen", 2)[1]
    assert [b["name"] for b in result_card["buttons"]] == ["已劝阻", "未接通"]

    stack.say("linkage", "liaison_chen", f"#反馈 {number} 已劝阻 已联系本人及其女儿，未转账")
    closed = said(stack, "linkage", 1, f"{number} 已反馈：已劝阻")[0]
    assert "已办结" in closed["text"]
    w = warnings(stack)[0]
    assert (w.state, w.result, w.signed_by, w.closed_by) == ("closed", "dissuaded", "liaison_chen", "liaison_chen")
    kinds = [e[:4] for e in events(stack, w)]
    assert kinds == [("created", "police_duty", None, "issued"), ("signed", "liaison_chen", "issued", "signed"),
                     ("reported", "liaison_chen", "signed", "reported"), ("closed", "liaison_chen", "reported", "closed")]
    assert all(e[4] == "aibot" and e[5].startswith("aibot:") for e in events(stack, w))

    stack.say("linkage", "police_duty", f"#查询 {number}")
    q = said(stack, "linkage", 1, f"【{number}】已办结")[0]
    assert "13812345678" in q["text"] and "签收 陈警官" in q["text"] and "反馈 已劝阻 陈警官" in q["text"]


def test_task_card_clicks_sign_and_report(stack):
    stack.say("linkage", "police_duty", "#预警 电话:13912345678 辖区:河口镇滨河社区 类型:刷单")
    card = said(stack, "dm:liaison_lin", 1)[0]
    number = card["task_id"].split("-a1-")[0]
    stack.say("dm:liaison_lin", "liaison_lin", "", event="taskcard_click", event_key="sign", task_id=card["task_id"])
    # the click counts as #签收: the linkage group hears it, the card says who did it
    said(stack, "linkage", 1, f"{number} 已签收：林警官")
    assert wait_for(lambda: stack.bot_messages("dm:liaison_lin")[0].get("replace_name") == "林警官已签收")
    result_card = said(stack, "dm:liaison_lin", 1, "劝阻结果")[0]
    stack.say("dm:liaison_lin", "liaison_lin", "", event="taskcard_click", event_key="unreachable",
              task_id=result_card["task_id"])
    said(stack, "linkage", 1, f"{number} 已反馈：未接通")
    assert wait_for(lambda: warnings(stack)[0].state == "reported")
    # 未接通 is not the end: a new result card for the next try
    assert wait_for(lambda: len([m for m in stack.bot_messages("dm:liaison_lin") if "劝阻结果" in m["text"]]) == 2)
    second = [m for m in stack.bot_messages("dm:liaison_lin") if "劝阻结果" in m["text"]][1]
    stack.say("dm:liaison_lin", "liaison_lin", "", event="taskcard_click", event_key="dissuaded",
              task_id=second["task_id"])
    said(stack, "linkage", 1, f"{number} 已反馈：已劝阻")
    assert wait_for(lambda: warnings(stack)[0].state == "closed")
    # the click's passive answer in the one-to-one chat is masked
    dm_texts = " ".join(m["text"] for m in stack.bot_messages("dm:liaison_lin"))
    assert "13912345678" not in dm_texts


def test_another_station_may_not_sign_and_the_centre_may_reassign(stack):
    stack.say("linkage", "police_duty", "#预警 电话:13712345678 地址:东关村 类型:刷单")
    number = said(stack, "linkage", 1, "【预警 YJ-")[0]["text"].split("【预警 ")[1].split("｜")[0]
    stack.say("linkage", "liaison_xu", f"#签收 {number}")
    refused = said(stack, "linkage", 1, "只有该所或反诈中心")[0]
    assert "城关派出所" in refused["text"]
    assert warnings(stack)[0].state == "issued"
    stack.say("linkage", "police_duty", f"#转派 {number} 石桥派出所")
    said(stack, "linkage", 1, "转派石桥派出所")
    post = said(stack, "linkage", 2, f"【预警 {number}")[1]
    assert post["mentions"] == ["liaison_xu"] and "转派" in post["text"]
    # the old card says so; the new station gets its own card
    assert wait_for(lambda: (stack.bot_messages("dm:liaison_chen") or [{}])[0].get("replace_name") == "已转派")
    said(stack, "dm:liaison_xu", 1)
    stack.say("linkage", "liaison_xu", f"@反诈哨兵 收到 {number}")
    said(stack, "linkage", 1, f"{number} 已签收：徐警官")
    w = warnings(stack)[0]
    assert (w.station_id, w.state, w.assignment) == ("shiqiao", "signed", 2)


def test_unknown_place_goes_to_the_duty_officer(stack):
    stack.say("linkage", "police_110", "#预警 电话:13612345678 地址:外省某市幸福小区 说明:对方冒充客服退款")
    post = said(stack, "linkage", 1, "【预警 YJ-")[0]
    assert "反诈中心" in post["text"] and post["mentions"] == ["police_duty"]
    said(stack, "dm:police_duty", 1)


def test_resident_and_other_chats_cannot_create_or_see(stack):
    stack.say("dongguan_grid", "res_liu", "#预警 电话:13812345678 地址:东关村")
    refused = said(stack, "dongguan_grid", 1)[0]
    assert "仅限民警在联动预警群中使用" in refused["text"]
    stack.say("dm:liaison_chen", "liaison_chen", "#未办结")
    said(stack, "dm:liaison_chen", 1, "仅限")
    stack.say("dongguan_grid", "liaison_chen", "#查询 YJ-20261128-001")
    said(stack, "dongguan_grid", 1, "仅限")
    assert warnings(stack) == []


def test_malformed_commands_get_usage(stack):
    stack.say("linkage", "police_duty", "#预警 姓名:张三 类型:刷单")
    r = said(stack, "linkage", 1, "预警没有下发")[0]
    assert "缺少电话" in r["text"] and "缺少辖区/地址" in r["text"] and "用法" in r["text"]
    stack.say("linkage", "liaison_chen", "#签收")
    said(stack, "linkage", 1, "用法：#签收 编号")
    stack.say("linkage", "liaison_chen", "#反馈 YJ-20261128-001 劝住了")
    said(stack, "linkage", 1, "结果：已劝阻/未接通/已被骗/无效预警")
    stack.say("linkage", "police_duty", "#转派 YJ-20261128-001 火星派出所")
    said(stack, "linkage", 1, "没有“火星派出所”这个派出所")
    stack.say("linkage", "police_duty", "#查询 YJ-20991231-999")
    said(stack, "linkage", 1, "没有编号为 YJ-20991231-999 的预警")
    assert warnings(stack) == []


def test_retried_callback_creates_one_warning(stack_factory):
    st = stack_factory(callback_timeout=0.5)
    # WeCom delivers the same message again (the first answer is slow): one warning, one post
    st.sim_post("/sim/faults", {"api": "callback", "duplicate": True, "count": 1})
    r = st.say("linkage", "police_duty", WARNING)
    said(st, "linkage", 1, "【预警 YJ-")
    st.settle()
    attempts = requests.get(f"{st.sim_url}/sim/deliveries", params={"msgid": r["msgid"]}, timeout=5).json()
    assert len(attempts) >= 2
    assert len(warnings(st)) == 1
    assert len([m for m in st.bot_messages("linkage") if "【预警 YJ-" in m["text"]]) == 1
    assert len(st.bot_messages("dm:liaison_chen")) == 1


def test_open_list(stack):
    stack.say("linkage", "police_duty", "#预警 电话:13812345678 地址:东关村 类型:刷单")
    stack.say("linkage", "police_duty", "#预警 电话:13812345679 地址:码头 类型:贷款")
    said(stack, "linkage", 2, "【预警 YJ-")
    stack.say("linkage", "chief_hekou", "#未办结")
    r = said(stack, "linkage", 1, "未办结预警 2 条")[0]
    assert "城关派出所" in r["text"] and "河口派出所" in r["text"]


def test_received_quoting_the_post_signs(stack):
    """收到, as a WeCom reply quoting the dispatch post (msgtype quote), signs for that warning."""
    import uuid
    from bot.channels.crypto import CallbackCrypto
    stack.say("linkage", "police_duty", "#预警 电话:13812345678 地址:东关村 类型:刷单")
    post = said(stack, "linkage", 1, "【预警 YJ-")[0]
    number = post["text"].split("【预警 ")[1].split("｜")[0]
    cfg = stack.config.wecom.aibot
    crypto = CallbackCrypto(cfg.token, cfg.encoding_aes_key, "")
    payload = {"msgid": uuid.uuid4().hex, "aibotid": "x", "chatid": "linkage", "chattype": "group",
               "from": {"userid": "liaison_chen"}, "msgtype": "quote", "response_url": f"{stack.sim_url}/none",
               "text": {"content": "@反诈哨兵 收到"}, "quote": {"msgtype": "text", "text": {"content": post["text"]}}}
    p = crypto.encrypt_parts(json.dumps(payload, ensure_ascii=False))
    r = requests.post(f"{stack.bot_url}/wecom/aibot/callback", json={"encrypt": p["encrypt"]},
                      params={"msg_signature": p["msgsignature"], "timestamp": p["timestamp"], "nonce": p["nonce"]},
                      timeout=5)
    assert r.status_code == 200
    answer = json.loads(crypto.decrypt(r.json()["encrypt"], r.json()["msgsignature"], r.json()["timestamp"],
                                       r.json()["nonce"]))["stream"]["content"]
    assert answer.startswith(f"{number} 已签收：陈警官")
    assert warnings(stack)[0].state == "signed"


def test_an_address_with_the_story_after_it_is_dispatched_on_every_database(stack):
    """A realistic paste runs past the place column after 地址: (PostgreSQL refused the insert, and the
    warning was lost without an answer): the place is the address, the story is the note."""
    story = "。对方自称公安局民警，说她的银行卡涉嫌洗钱，要她把钱转到安全账户配合调查，" * 6
    stack.say("linkage", "police_duty", f"#预警 电话:13812345678 地址:城关镇东关村3组{story}")
    said(stack, "linkage", 1, "已下发 YJ-")
    (w,) = warnings(stack)
    assert w.place == "城关镇东关村3组" and "安全账户" in w.note
