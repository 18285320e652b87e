"""The two callback endpoints: Tencent's published vectors, refusals, dedupe and reply XML safety."""
import datetime as dt
import json
import time

import pytest
import xmltodict
from sqlalchemy import func, select

from bot.app import create_app
from bot.channels.crypto import CallbackCrypto
from bot.core.message import Reply
from bot.models import InboundMessage
from bot.core.router import Handler
from tests.conftest import demo_config

# Set A of reference/wecom.md §2: Tencent's current WXBizMsgCrypt sample
A = dict(token="hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", key="6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
         corp="ww1436e0e65a779aee")
A_VERIFY = dict(msg_signature="012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", timestamp="1476416373", nonce="47744683",
                echostr="fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==")
A_POST_QS = dict(msg_signature="0c3914025cb4b4d68103f6bfc8db550f79dcf48e", timestamp="1476422779", nonce="1597212914")
A_ENC = ("Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew"
         "+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24Yhm"
         "ZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwoc"
         "ugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+")
A_BODY = ("<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA[%s]]></Encrypt>\n"
          "<AgentID><![CDATA[1000002]]></AgentID>\n</xml>" % A_ENC)
# Set B: the 2014 sample shipped in every language version
B = dict(token="QDG6eK", key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", corp="wx5823bf96d3bd56c7")
B_ENC = ("RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvu"
         "JTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2h"
         "gf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4E"
         "hzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2Yo"
         "yyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==")


def at(ts: int):
    return lambda: dt.datetime.fromtimestamp(ts, dt.timezone.utc)


class Echo(Handler):
    """Answers every text with a fixed string (to look at the reply XML)."""
    name = "echo"

    def __init__(self, answer):
        self.answer = answer

    def accepts(self, msg, ctx):
        return msg.msg_type == "text"

    def handle(self, msg, ctx, args=""):
        return [Reply(self.answer)]


def vector_app(db_url, vec, now, handlers=None):
    cfg = demo_config(db_url, WECOM_TOKEN=vec["token"], WECOM_ENCODING_AES_KEY=vec["key"], WECOM_CORP_ID=vec["corp"])
    return create_app(cfg, start_sender=False, clock=at(now), handlers=handlers)


def inbound_count(app) -> int:
    svc = app.extensions["fanzha"]
    with svc.sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage))


def test_crypto_opens_tencent_vectors():
    a = CallbackCrypto(A["token"], A["key"], A["corp"])
    assert a.verify_url(**{"signature": A_VERIFY["msg_signature"], "timestamp": A_VERIFY["timestamp"],
                           "nonce": A_VERIFY["nonce"], "echostr": A_VERIFY["echostr"]}) == "1288432023552776189"
    plain = a.decrypt(A_ENC, A_POST_QS["msg_signature"], A_POST_QS["timestamp"], A_POST_QS["nonce"])
    assert "<FromUserName>ChenJiaShun</FromUserName>" in plain and "<Content>你好</Content>" in plain
    b = CallbackCrypto(B["token"], B["key"], B["corp"])
    plain = b.decrypt(B_ENC, "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149")
    assert "<MsgId>4561255354251345929</MsgId>" in plain and "mycreate" in plain


def test_our_encryption_matches_wechatpys_published_vector():
    # wechatpy's deterministic vector (random prefix pinned): the signature depends on every byte
    from wechatpy.crypto import _get_signature
    from wechatpy.enterprise.crypto import PrpCrypto
    import wechatpy.crypto.base as base
    c = CallbackCrypto("123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a")
    orig = base.BasePrpCrypto.get_random_string
    base.BasePrpCrypto.get_random_string = lambda self: b"1234567890123456"
    try:
        reply = ("<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
                 "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n"
                 "<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n"
                 "<CreateTime>1411525903</CreateTime>\n</xml>")
        parts = c.encrypt_parts(reply, nonce="461056294", timestamp="1411525903")
    finally:
        base.BasePrpCrypto.get_random_string = orig
    assert parts["encrypt"].startswith("9s4gMv99m88kKTh/H8IdkOiMg6bisoy3") and parts["encrypt"].endswith("XiKzHo3")
    assert parts["msgsignature"] == "407518b7649e86ef23978113f92d27afa9296533"
    assert parts["msgsignature"] == _get_signature("123456", "1411525903", "461056294", parts["encrypt"])
    assert PrpCrypto(c._crypto.key).decrypt(parts["encrypt"], "wx49f0ab532d5d035a") == reply


def test_url_verification_answers_the_bare_echostr(db_url):
    app = vector_app(db_url, A, 1476416373)
    r = app.test_client().get("/wecom/callback", query_string=A_VERIFY)
    assert r.status_code == 200 and r.data == b"1288432023552776189"
    bad = app.test_client().get("/wecom/callback", query_string=dict(A_VERIFY, msg_signature="0" * 40))
    assert bad.status_code == 403


def test_tencents_sample_message_is_answered_passively(db_url):
    app = vector_app(db_url, A, 1476422779)
    r = app.test_client().post("/wecom/callback", query_string=A_POST_QS, data=A_BODY)
    assert r.status_code == 200
    env = xmltodict.parse(r.data)["xml"]
    crypto = CallbackCrypto(A["token"], A["key"], A["corp"])
    reply = xmltodict.parse(crypto.decrypt(env["Encrypt"], env["MsgSignature"], env["TimeStamp"], env["Nonce"]))["xml"]
    assert reply["ToUserName"] == "ChenJiaShun" and reply["FromUserName"] == A["corp"]
    assert "96110" in reply["Content"] and "110" in reply["Content"]   # "你好" is no fraud: the help line
    # WeCom retries when it thinks we were late: same answer, no second row
    again = app.test_client().post("/wecom/callback", query_string=dict(A_POST_QS, nonce="1597212915",
                                   msg_signature=crypto.signature("1476422779", "1597212915", A_ENC)), data=A_BODY)
    assert again.status_code == 200 and again.data
    assert inbound_count(app) == 1


def test_forged_signature_is_refused_and_nothing_happens(db_url):
    app = vector_app(db_url, A, 1476422779)
    r = app.test_client().post("/wecom/callback", query_string=dict(A_POST_QS, msg_signature="f" * 40), data=A_BODY)
    assert r.status_code == 403
    assert inbound_count(app) == 0


def test_wrong_corp_is_refused(db_url):
    cfg = demo_config(db_url, WECOM_TOKEN=A["token"], WECOM_ENCODING_AES_KEY=A["key"], WECOM_CORP_ID="wwsomeoneelse")
    app = create_app(cfg, start_sender=False, clock=at(1476422779))
    r = app.test_client().post("/wecom/callback", query_string=A_POST_QS, data=A_BODY)
    assert r.status_code == 403 and inbound_count(app) == 0


def test_replayed_request_is_refused(db_url):
    app = vector_app(db_url, A, 1476422779)
    assert app.test_client().post("/wecom/callback", query_string=A_POST_QS, data=A_BODY).status_code == 200
    assert app.test_client().post("/wecom/callback", query_string=A_POST_QS, data=A_BODY).status_code == 403


def test_stale_timestamp_is_refused(db_url):
    app = vector_app(db_url, A, 1476422779 + 3600)
    r = app.test_client().post("/wecom/callback", query_string=A_POST_QS, data=A_BODY)
    assert r.status_code == 403 and inbound_count(app) == 0


@pytest.mark.parametrize("body", [
    b"<xml><Encrypt>unterminated",
    b"not xml at all",
    b"<xml><ToUserName>x</ToUserName></xml>",
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>',
])
def test_malformed_or_entity_bodies_get_400(db_url, body):
    app = vector_app(db_url, A, 1476422779)
    r = app.test_client().post("/wecom/callback", query_string=A_POST_QS, data=body)
    assert r.status_code == 400 and inbound_count(app) == 0


def test_oversize_body_gets_413(db_url):
    app = vector_app(db_url, A, 1476422779)
    r = app.test_client().post("/wecom/callback", query_string=A_POST_QS, data=b"<xml>" + b"a" * 200_000 + b"</xml>")
    assert r.status_code == 413


def test_missing_query_gets_400(db_url):
    app = vector_app(db_url, A, 1476422779)
    assert app.test_client().post("/wecom/callback", data=A_BODY).status_code == 400


def test_cdata_terminator_in_reply_keeps_xml_well_formed(db_url):
    answer = "注意]]><Content>伪造</Content>结尾"
    app = vector_app(db_url, A, 1476422779, handlers=[Echo(answer)])
    r = app.test_client().post("/wecom/callback", query_string=A_POST_QS, data=A_BODY)
    env = xmltodict.parse(r.data)["xml"]
    crypto = CallbackCrypto(A["token"], A["key"], A["corp"])
    plain = crypto.decrypt(env["Encrypt"], env["MsgSignature"], env["TimeStamp"], env["Nonce"])
    assert xmltodict.parse(plain)["xml"]["Content"] == answer


# --- the intelligent bot's JSON channel ---------------------------------------------------

def aibot_post(app, payload: dict, now: int, nonce="n1"):
    cfg = app.extensions["fanzha"].config
    crypto = CallbackCrypto(cfg.wecom.aibot.token, cfg.wecom.aibot.encoding_aes_key, "")
    parts = crypto.encrypt_parts(json.dumps(payload, ensure_ascii=False), nonce=nonce, timestamp=str(now))
    return app.test_client().post("/wecom/aibot/callback", json={"encrypt": parts["encrypt"]},
                                  query_string={"msg_signature": parts["msgsignature"], "timestamp": str(now), "nonce": nonce}), crypto


def test_aibot_group_mention_gets_an_encrypted_stream_reply(db_url):
    now = int(time.time())
    app = create_app(demo_config(db_url), start_sender=False, handlers=[Echo("收到")])
    payload = {"msgid": "m-1", "aibotid": "bot1", "chatid": "dongguan_grid", "chattype": "group",
               "from": {"userid": "res_liu"}, "response_url": "http://127.0.0.1:9/x", "msgtype": "text",
               "text": {"content": "@反诈哨兵 你好"}}
    r, crypto = aibot_post(app, payload, now)
    assert r.status_code == 200
    body = r.get_json()
    plain = json.loads(crypto.decrypt(body["encrypt"], body["msgsignature"], body["timestamp"], body["nonce"]))
    assert plain["msgtype"] == "stream" and plain["stream"]["finish"] is True and plain["stream"]["content"] == "收到"
    # a second delivery of the same msgid (fresh signature) gets the same answer and no second row
    r2, _ = aibot_post(app, payload, now, nonce="n2")
    b2 = r2.get_json()
    assert json.loads(crypto.decrypt(b2["encrypt"], b2["msgsignature"], b2["timestamp"], b2["nonce"]))["stream"]["content"] == "收到"
    assert inbound_count(app) == 1


def test_aibot_malformed_json_and_forgery(db_url):
    app = create_app(demo_config(db_url), start_sender=False)
    now = str(int(time.time()))
    q = {"msg_signature": "a" * 40, "timestamp": now, "nonce": "1"}
    assert app.test_client().post("/wecom/aibot/callback", data=b"{not json", query_string=q).status_code == 400
    assert app.test_client().post("/wecom/aibot/callback", json={"encrypt": "abcd"}, query_string=q).status_code == 403
    assert inbound_count(app) == 0


def test_aibot_url_verification_uses_an_empty_receiveid(db_url):
    cfg = demo_config(db_url)
    app = create_app(cfg, start_sender=False)
    crypto = CallbackCrypto(cfg.wecom.aibot.token, cfg.wecom.aibot.encoding_aes_key, "")
    p = crypto.encrypt_parts("5310716497238572849")
    r = app.test_client().get("/wecom/aibot/callback", query_string={
        "msg_signature": p["msgsignature"], "timestamp": p["timestamp"], "nonce": p["nonce"], "echostr": p["encrypt"]})
    assert r.status_code == 200 and r.data == b"5310716497238572849"


def test_repeated_event_is_recorded_once(db_url):
    now = int(time.time())
    cfg = demo_config(db_url)
    app = create_app(cfg, start_sender=False)
    crypto = CallbackCrypto(cfg.wecom.token, cfg.wecom.encoding_aes_key, cfg.wecom.corp_id)
    inner = (f"<xml><ToUserName>{cfg.wecom.corp_id}</ToUserName><FromUserName>liaison_chen</FromUserName>"
             f"<CreateTime>{now}</CreateTime><MsgType>event</MsgType><Event>enter_agent</Event>"
             f"<EventKey></EventKey><AgentID>{cfg.wecom.agent_id}</AgentID></xml>")
    for nonce in ("e1", "e2"):
        p = crypto.encrypt_parts(inner, nonce=nonce, timestamp=str(now))
        r = app.test_client().post("/wecom/callback", data=f"<xml><Encrypt>{p['encrypt']}</Encrypt></xml>",
                                   query_string={"msg_signature": p["msgsignature"], "timestamp": str(now), "nonce": nonce})
        assert r.status_code == 200
    assert inbound_count(app) == 1
