"""Pictures end to end through the simulator over real HTTP: a resident's screenshot on every channel
that carries one (the intelligent bot in a group and one to one, the self-built app, the official
account), read by the real OCR, answered at once with 正在识别 and then with what the picture says."""
import base64

from sqlalchemy import select

from bot.models import InboundMessage
from tests import drawing
from tests.conftest import wait_for

SMS = ("【顺丰速运】您好，您的快递在运输途中丢失，我司将为您办理三倍理赔，"
       "请添加理赔客服QQ：2873456612，或点击 http://sf-lp.cc/a8 登记银行卡号办理退款。")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def bot_texts(stack, chat, n, timeout=30):
    said = wait_for(lambda: (lambda b: b if len(b) >= n else None)(stack.bot_messages(chat)), timeout=timeout)
    assert said, f"the bot said {len(stack.bot_messages(chat))} thing(s) in {chat}, expected {n}"
    return [m["text"] for m in said]


def test_a_screenshot_in_a_village_group_is_read_and_answered_with_its_evidence(stack):
    r = stack.say("dongguan_grid", "res_liu", "这个是真的吗", image=b64(drawing.sms_screenshot(SMS)))
    assert r["delivered"] and r["channel"] == "aibot"
    pending, answer = bot_texts(stack, "dongguan_grid", 2)
    assert "正在识别" in pending
    assert "图里写着" in answer and "顺丰" in answer
    assert "客服" in answer and "96110" in answer and "110" in answer
    # the evidence is named, and the link can no longer be tapped
    assert "QQ2873456612" in answer and "sf-lp[.]cc/a8" in answer and "sf-lp.cc" not in answer
    stack.settle()
    with stack.service.sessions() as s:
        row = s.scalars(select(InboundMessage).where(InboundMessage.chat_id == "dongguan_grid")).one()
    assert row.msg_type == "image" and row.intent == "kefu" and row.replied_via == "outbox"


def test_a_picture_to_the_app_is_fetched_with_media_get(stack):
    stack.say("dm:res_liu", "res_liu", "", image=b64(drawing.chat_screenshot([
        ("them", "您好，我是抖音官方客服，您开通的百万保障服务明天开始每月扣费800元"),
        ("me", "我没开通过啊"),
        ("them", "需要您下载腾讯会议共享屏幕，我指导您关闭，不然每月自动扣费")])))
    pending, answer = bot_texts(stack, "dm:res_liu", 2)
    assert "正在识别" in pending and "图里写着" in answer and "客服" in answer
    assert stack.stats()["calls"].get("media/get") == 1


def test_a_blank_photo_gets_a_request_for_a_clearer_picture(stack):
    stack.say("dm:res_liu", "res_liu", "", via="aibot", image=b64(drawing.blank_photo()))
    answer = bot_texts(stack, "dm:res_liu", 2)[-1]
    assert "没看清" in answer and "复制" in answer


def test_a_file_that_is_no_picture_is_refused_with_a_clear_word(stack):
    stack.say("dm:res_liu", "res_liu", "", via="aibot", image=b64(b"%PDF-1.4 not a picture at all"))
    assert "不是图片" in bot_texts(stack, "dm:res_liu", 2)[-1]


def test_an_oversize_picture_is_refused_before_it_is_read(stack_factory):
    stack = stack_factory(pictures={"max_bytes": 64 * 1024})
    stack.say("dm:res_liu", "res_liu", "", image=b64(drawing.blank_photo(1600, 1200) + b"\0" * 70000))
    assert "图片太大" in bot_texts(stack, "dm:res_liu", 2)[-1]


def test_a_qr_code_to_a_payment_is_a_red_flag_in_itself(stack):
    stack.say("dongguan_grid", "res_sun", "", image=b64(drawing.qr_picture("wxp://f2f0abcdEFGH1234", "扫码付款")))
    answer = bot_texts(stack, "dongguan_grid", 2)[-1]
    assert "付款码" in answer and "别扫" in answer


def test_a_followers_picture_on_the_official_account_is_answered_by_a_customer_service_message(stack):
    r = stack.sim_post("/sim/mp/say", {"name": "张大妈", "msgtype": "image",
                                       "image": b64(drawing.sms_screenshot(SMS))})
    chat = f"mp:{r['openid']}"
    said = wait_for(lambda: (lambda b: b if len(b) >= 2 else None)(
        [m for m in stack.messages(chat) if m["from"] == "bot"]), timeout=30)
    assert said and "正在识别" in said[0]["text"]
    answer = said[1]
    assert answer["via"] == "custom_send" and "图里写着" in answer["text"] and "客服" in answer["text"]
    assert "**" not in answer["text"] and "<font" not in answer["text"]    # WeChat users see no markdown


def test_past_the_pictures_a_minute_the_bot_says_so_and_reads_none(stack_factory):
    stack = stack_factory(pictures={"per_minute": 1})
    stack.say("dm:res_sun", "res_sun", "", image=b64(drawing.qr_picture("wxp://f2f0abcd", "扫码付款")))
    bot_texts(stack, "dm:res_sun", 2)
    stack.say("dm:res_sun", "res_sun", "", image=b64(drawing.qr_picture("wxp://f2f0abce", "扫码付款")))
    third = bot_texts(stack, "dm:res_sun", 3)[-1]
    assert "图片较多" in third and "110" in third
    stack.settle()
    assert len(stack.bot_messages("dm:res_sun")) == 3
    assert stack.stats()["calls"].get("media/get") == 1          # the second picture was not fetched


def test_after_a_picture_the_follow_up_gives_the_advice_for_what_it_showed(stack):
    stack.say("dongguan_grid", "res_liu", "", image=b64(drawing.sms_screenshot(SMS)))
    bot_texts(stack, "dongguan_grid", 2)
    stack.settle()
    stack.say("dongguan_grid", "res_zhao", "怎么办")
    advice = bot_texts(stack, "dongguan_grid", 3)[-1]
    assert "客服" in advice and "1." in advice


def test_pictures_are_kept_only_where_config_says(stack_factory, tmp_path):
    stack = stack_factory(pictures={"keep_dir": str(tmp_path / "kept")})
    picture = drawing.qr_picture("wxp://f2f0abcd", "扫码付款")
    stack.say("dm:res_liu", "res_liu", "", image=b64(picture))
    bot_texts(stack, "dm:res_liu", 2)
    kept = list((tmp_path / "kept").rglob("*.png"))
    assert len(kept) == 1 and kept[0].read_bytes() == picture
