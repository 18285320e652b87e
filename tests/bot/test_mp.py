"""The official account endpoint /mp/callback: the published vector (set C), both modes, bad input."""
import datetime as dt
import hashlib
import time

import xmltodict
from sqlalchemy import func, select

from bot.app import create_app
from bot.channels.crypto import CallbackCrypto
from bot.core.message import Reply
from bot.models import InboundMessage
from bot.core.router import Handler
from tests.conftest import demo_config

# Set C of reference/wecom.md §2: the official account's sample ("spamtest")
C = dict(MP_TOKEN="spamtest", MP_ENCODING_AES_KEY="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
         MP_APP_ID="wx2c2769f8efd9abc2")
C_QS = dict(msg_signature="5d197aaffba7e9b25a30732f161a50dee96bd5fa", timestamp="1409735669", nonce="1320562132",
            encrypt_type="aes")
C_ENC = ("hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9"
         "FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt"
         "+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0"
         "EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=")
C_BODY = "<xml><ToUserName><![CDATA[gh_sample]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>" % C_ENC
OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
TOKEN = "AnpingFanzhaMpToken2024"     # the shipped config's demo MP_TOKEN


def at(ts: int):
    return lambda: dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def sig(token, ts, nonce):
    return hashlib.sha1("".join(sorted([token, ts, nonce])).encode()).hexdigest()


def plain_app(db_url, handlers=None, now=None):
    cfg = demo_config(db_url)
    return create_app(cfg, start_sender=False, handlers=handlers, clock=at(now) if now else None) if now else \
        create_app(cfg, start_sender=False, handlers=handlers)


def post_plain(client, xml: str, ts=None, nonce=None, token=TOKEN):
    ts = ts or str(int(time.time()))
    nonce = nonce or str(time.monotonic_ns())[-9:]
    return client.post("/mp/callback", query_string=dict(signature=sig(token, ts, nonce), timestamp=ts, nonce=nonce,
                                                         openid=OPENID), data=xml.encode())


def text_xml(content, msgid="1001", openid=OPENID, t=None):
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{t or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msgid}</MsgId></xml>")


def event_xml(event, key="", t=1700000000):
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
            f"<CreateTime>{t}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
            f"<EventKey><![CDATA[{key}]]></EventKey></xml>")


def reply_of(r) -> dict:
    assert r.status_code == 200, r.data
    return xmltodict.parse(r.data)["xml"]


def rows(app) -> int:
    with app.extensions["fanzha"].sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.channel == "mp"))


def test_the_official_accounts_sample_message_on_the_real_endpoint(db_url):
    cfg = demo_config(db_url, **C)
    app = create_app(cfg, start_sender=False, clock=at(1409735669))
    r = app.test_client().post("/mp/callback", query_string=C_QS, data=C_BODY)
    env = reply_of(r)
    crypto = CallbackCrypto(C["MP_TOKEN"], C["MP_ENCODING_AES_KEY"], C["MP_APP_ID"])
    reply = xmltodict.parse(crypto.decrypt(env["Encrypt"], env["MsgSignature"], env["TimeStamp"], env["Nonce"]))["xml"]
    assert reply["ToUserName"] == OPENID and reply["MsgType"] == "text"
    # "abcdteT" is no question about fraud: the plain help line, hotlines included, no markdown
    assert "96110" in reply["Content"] and "**" not in reply["Content"]
    with app.extensions["fanzha"].sessions() as s:
        row = s.scalars(select(InboundMessage).where(InboundMessage.channel == "mp")).one()
    assert row.sender == OPENID and row.text == "abcdteT"
    # tampered: the signature no longer matches -> 403, nothing recorded
    bad = app.test_client().post("/mp/callback", query_string=dict(C_QS, msg_signature="0" * 40), data=C_BODY)
    assert bad.status_code == 403 and rows(app) == 1


def test_safe_mode_refuses_plaintext_and_a_wrong_appid(db_url):
    cfg = demo_config(db_url, **dict(C, MP_APP_ID="wxsomeoneelse0000"))
    app = create_app(cfg, start_sender=False, clock=at(1409735669))
    assert app.test_client().post("/mp/callback", query_string=C_QS, data=C_BODY).status_code == 403
    qs = dict(signature=sig("spamtest", "1409735669", "1"), timestamp="1409735669", nonce="1")
    assert app.test_client().post("/mp/callback", query_string=qs, data=text_xml("你好")).status_code == 400
    assert rows(app) == 0


def test_url_verification_in_plaintext_mode(db_url):
    app = plain_app(db_url)
    ts, nonce = str(int(time.time())), "12345"
    ok = app.test_client().get("/mp/callback", query_string=dict(signature=sig(TOKEN, ts, nonce), timestamp=ts,
                                                                 nonce=nonce, echostr="8765309"))
    assert ok.status_code == 200 and ok.data == b"8765309"
    bad = app.test_client().get("/mp/callback", query_string=dict(signature="0" * 40, timestamp=ts, nonce=nonce,
                                                                  echostr="1"))
    assert bad.status_code == 403


def test_question_answered_passively_in_plain_text_and_retries_deduped(db_url):
    app = plain_app(db_url)
    c = app.test_client()
    first = reply_of(post_plain(c, text_xml("有人让我在网上刷单返利，先垫钱", msgid="77")))
    assert first["ToUserName"] == OPENID and first["FromUserName"] == "gh_test"
    assert "刷单" in first["Content"] and "**" not in first["Content"] and "<font" not in first["Content"]
    again = reply_of(post_plain(c, text_xml("有人让我在网上刷单返利，先垫钱", msgid="77")))
    assert again["Content"] == first["Content"] and rows(app) == 1
    case = reply_of(post_plain(c, text_xml("案例", msgid="78")))
    assert "案例" in case["Content"]
    advice = reply_of(post_plain(c, text_xml("怎么办", msgid="79")))
    assert "怎么办" in advice["Content"]


def test_follow_menu_keyword_and_what_cannot_be_read(db_url):
    app = plain_app(db_url)
    c = app.test_client()
    welcome = reply_of(post_plain(c, event_xml("subscribe", "qrscene_1")))["Content"]
    assert "国家反诈中心" in welcome and "应用商店" in welcome and "96110" in welcome and "110" in welcome
    # WeChat retries an event with the same FromUserName + CreateTime: one row, the same answer
    assert reply_of(post_plain(c, event_xml("subscribe", "qrscene_1")))["Content"] == welcome
    assert rows(app) == 1
    menu = reply_of(post_plain(c, event_xml("CLICK", "HELP", t=1700000100)))["Content"]
    assert "案例" in menu and "怎么办" in menu
    assert reply_of(post_plain(c, text_xml("反诈", msgid="5")))["Content"] == menu
    voice = (f"<xml><ToUserName>gh_test</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime>"
             "<MsgType>voice</MsgType><MediaId>m1</MediaId><Format>amr</Format><MsgId>6</MsgId></xml>")
    assert "请发文字或截图" in reply_of(post_plain(c, voice))["Content"]
    for mt, extra in (("location", "<Location_X>1</Location_X><Location_Y>2</Location_Y><Label>x</Label>"),
                      ("link", "<Title>t</Title><Url>http://x</Url>")):
        xml = (f"<xml><ToUserName>gh_test</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime>"
               f"<MsgType>{mt}</MsgType>{extra}<MsgId>{mt}-1</MsgId></xml>")
        assert "请发文字或截图" in reply_of(post_plain(c, xml))["Content"]
    # a picture is read (tests/bot/test_pictures_e2e.py): answered at once with a word that it is being read
    xml = (f"<xml><ToUserName>gh_test</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime>"
           "<MsgType>image</MsgType><PicUrl>http://127.0.0.1:9/1.jpg</PicUrl><MediaId>m</MediaId>"
           "<MsgId>image-1</MsgId></xml>")
    assert "正在识别" in reply_of(post_plain(c, xml))["Content"]
    assert post_plain(c, event_xml("unsubscribe", t=1700000200)).data == b"success"


def test_bad_input_is_refused_without_action(db_url):
    app = plain_app(db_url)
    c = app.test_client()
    ts, nonce = str(int(time.time())), "4242"
    forged = c.post("/mp/callback", query_string=dict(signature=sig("wrongtoken", ts, nonce), timestamp=ts,
                                                      nonce=nonce), data=text_xml("x", msgid="1").encode())
    assert forged.status_code == 403
    assert post_plain(c, "<xml><FromUserName>").status_code == 400
    assert post_plain(c, '<!DOCTYPE xml [<!ENTITY a "b">]><xml><FromUserName>&a;</FromUserName></xml>').status_code == 400
    assert post_plain(c, "<xml><FromUserName>x</FromUserName><MsgType>text</MsgType></xml>").status_code == 400
    assert post_plain(c, text_xml("x" * 70000, msgid="2")).status_code == 413
    stale = str(int(time.time()) - 3600)
    assert post_plain(c, text_xml("x", msgid="3"), ts=stale).status_code == 403
    assert c.post("/mp/callback", query_string=dict(timestamp=ts, nonce=nonce), data=b"<xml/>").status_code == 400
    # the plaintext body is not signed: a signature is accepted once, a replay with any body is refused
    assert post_plain(c, text_xml("你好", msgid="4"), ts=ts, nonce="9999").status_code == 200
    assert post_plain(c, text_xml("别的内容", msgid="5"), ts=ts, nonce="9999").status_code == 403
    assert rows(app) == 1


class Echo(Handler):
    name = "echo"

    def accepts(self, msg, ctx):
        return msg.text.startswith("echo ")

    def handle(self, msg, ctx, args=""):
        return [Reply(msg.text[5:])]


def test_cdata_end_in_a_reply_never_breaks_the_xml(db_url):
    app = plain_app(db_url, handlers=[Echo()])
    r = reply_of(post_plain(app.test_client(), text_xml("echo a]]>b<c>&d", msgid="9").replace(
        "<![CDATA[echo a]]>b<c>&d]]>", "<![CDATA[echo a]]]]><![CDATA[>b<c>&d]]>")))
    assert r["Content"] == "a]]>b<c>&d"


def reply_text(r) -> str:
    return xmltodict.parse(r.data)["xml"]["Content"]


def test_a_follower_whose_openid_spells_a_police_userid_gets_no_police_rights(db_url):
    """Identities of different channels never share roles: an official-account follower is a resident,
    whatever the letters of the openid."""
    from bot.warnings.models import Warning
    app = plain_app(db_url)
    c = app.test_client()
    r = post_plain(c, text_xml("#推送 列表", msgid="5001", openid="propaganda_yang"))   # allowed one to one
    assert "仅限" in reply_text(r) and "社区每日提醒" not in reply_text(r)
    r = post_plain(c, text_xml("#帮助", msgid="5002", openid="admin_gao"))
    assert "#预警" not in reply_text(r) and "#推送" not in reply_text(r) and "发文字告诉我" in reply_text(r)
    with app.extensions["fanzha"].sessions() as s:
        assert s.scalar(select(func.count()).select_from(Warning)) == 0
