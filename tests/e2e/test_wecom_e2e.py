"""End to end over real HTTP: members talk in the simulator, the bot answers through WeCom's protocol."""
import time

import requests
from sqlalchemy import func, select

from bot.core.message import Reply
from bot.models import InboundMessage
from bot.core.router import Handler
from tests.conftest import wait_for


class Slow(Handler):
    """Takes longer than WeCom waits, as a slow database or a long computation would."""
    name = "slow"

    def __init__(self, seconds):
        self.seconds = seconds
        self.calls = 0

    def accepts(self, msg, ctx):
        return msg.msg_type == "text"

    def handle(self, msg, ctx, args=""):
        self.calls += 1
        time.sleep(self.seconds)
        return [Reply(f"答复：{msg.text}")]


def inbound(stack) -> int:
    with stack.service.sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage))


def test_group_mention_is_answered_in_the_group(stack):
    sent = stack.say("dongguan_grid", "res_liu", "#帮助")
    assert sent["delivered"] is True
    replies = wait_for(lambda: stack.bot_messages("dongguan_grid"), timeout=5)
    assert len(replies) == 1 and "#帮助" in replies[0]["text"] and "96110" in replies[0]["text"]
    chat = stack.messages("dongguan_grid")
    assert [m["from"] for m in chat] == ["res_liu", "bot"]


def test_one_to_one_through_the_app_is_answered(stack):
    stack.say("dm:res_zhao", "res_zhao", "#帮助")
    replies = wait_for(lambda: stack.bot_messages("dm:res_zhao"), timeout=5)
    assert len(replies) == 1 and "可用命令" in replies[0]["text"]


def test_unknown_command_in_a_group_gets_usage(stack):
    stack.say("linkage", "police_duty", "#查不到这个")
    replies = wait_for(lambda: stack.bot_messages("linkage"), timeout=5)
    assert "没有“#查不到这个”这个命令" in replies[0]["text"]


def test_retried_group_callback_yields_one_reply(stack_factory):
    slow = Slow(0.9)
    st = stack_factory(callback_timeout=0.3, handlers=[slow])
    msgid = st.say("dongguan_grid", "res_sun", "在吗")["msgid"]
    replies = wait_for(lambda: st.bot_messages("dongguan_grid"), timeout=8)
    st.settle()        # every retry delivered and answered: a duplicate would show now
    replies = st.bot_messages("dongguan_grid")
    assert [r["text"] for r in replies] == ["答复：在吗"]
    attempts = requests.get(f"{st.sim_url}/sim/deliveries", params={"msgid": msgid}, timeout=5).json()
    assert len(attempts) >= 2          # WeCom really did retry
    assert slow.calls == 1 and inbound(st) == 1


def test_retried_app_callback_yields_one_reply(stack_factory):
    slow = Slow(0.9)
    st = stack_factory(callback_timeout=0.3, handlers=[slow])
    msgid = st.say("dm:res_liu", "res_liu", "问一下")["msgid"]
    wait_for(lambda: st.bot_messages("dm:res_liu"), timeout=8)
    st.settle()
    assert [r["text"] for r in st.bot_messages("dm:res_liu")] == ["答复：问一下"]
    attempts = requests.get(f"{st.sim_url}/sim/deliveries", params={"msgid": msgid}, timeout=5).json()
    assert len(attempts) >= 2 and slow.calls == 1


def test_forged_callback_gets_403_and_no_action(stack):
    from bot.channels.crypto import CallbackCrypto
    forger = CallbackCrypto("not-the-token", stack.config.wecom.aibot.encoding_aes_key, "")
    parts = forger.encrypt_parts('{"msgid":"f1","msgtype":"text","chattype":"group","chatid":"linkage",'
                                 '"from":{"userid":"police_duty"},"text":{"content":"#帮助"}}')
    r = requests.post(f"{stack.bot_url}/wecom/aibot/callback", json={"encrypt": parts["encrypt"]},
                      params={"msg_signature": parts["msgsignature"], "timestamp": parts["timestamp"],
                              "nonce": parts["nonce"]}, timeout=5)
    assert r.status_code == 403
    stack.settle()
    assert inbound(stack) == 0 and stack.bot_messages("linkage") == []


def test_external_group_never_reaches_the_bot(stack):
    r = stack.say("binhe_residents", "gridli", "@反诈哨兵 这是诈骗吗")
    assert r["delivered"] is False
    stack.settle()
    assert inbound(stack) == 0 and stack.bot_messages("binhe_residents") == []


def test_healthz_on_both(stack):
    assert requests.get(f"{stack.bot_url}/healthz", timeout=5).json()["status"] == "ok"
    assert requests.get(f"{stack.sim_url}/healthz", timeout=5).status_code == 200
