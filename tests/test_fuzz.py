"""No input makes any endpoint answer 500: random bytes and queries, and — past the signature and the
encryption, where a forger cannot get but a bug in WeCom's payload or ours can — messages of every
shape and type. Each case here once gave a 500 (issue 10): a non-UTF-8 body, a NUL character on
PostgreSQL, fields of the wrong JSON type."""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.channels.crypto import CallbackCrypto
from tests.conftest import demo_config, fresh_database

pytestmark = pytest.mark.slow

TOKEN = "fuzz-api-token"
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
# the fields WeCom's AI bot sends, mostly well formed (to get past the first checks), each sometimes
# any JSON value at all (right type or not)
def sometimes(good):
    return st.one_of(good, good, JSON)


AIBOT_FIELDS = st.fixed_dictionaries({
    "msgid": sometimes(st.uuids().map(str)), "from": sometimes(st.fixed_dictionaries({"userid": sometimes(
        st.sampled_from(["res_liu", "police_duty"]))})),
    "msgtype": sometimes(st.sampled_from(["text", "mixed", "quote", "event", "stream", "image"]))}, optional={
    "aibotid": JSON, "chatid": sometimes(st.sampled_from(["dongguan_grid", "linkage"])),
    "chattype": sometimes(st.sampled_from(["group", "single"])), "response_url": JSON,
    "text": sometimes(st.fixed_dictionaries({"content": st.text()})),
    "mixed": sometimes(st.fixed_dictionaries({"msg_item": st.lists(JSON, max_size=3)})),
    "quote": JSON, "event": sometimes(st.fixed_dictionaries({"eventtype": JSON})), "stream": JSON})
XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@pytest.fixture(scope="module")
def app(tmp_path_factory, pg_template, sqlite_template):
    os.environ[demo_config("sqlite:///x").warnings.api_token_env] = TOKEN
    with fresh_database(tmp_path_factory.mktemp("fuzz"), pg_template, sqlite_template) as url:
        application = create_app(demo_config(url), start_sender=False)
        yield application
        application.extensions["fanzha"].stop()
        application.extensions["fanzha"].engine.dispose()


def no_500(response) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])


PATHS = ["/wecom/callback", "/wecom/aibot/callback", "/mp/callback", "/api/warnings", "/api/warnings/YJ-1", "/healthz"]


@FUZZ
@given(path=st.sampled_from(PATHS), method=st.sampled_from(["GET", "POST"]), body=st.binary(max_size=300),
       query=st.dictionaries(st.sampled_from(["msg_signature", "signature", "timestamp", "nonce", "echostr",
                                              "encrypt_type"]), st.text(max_size=40), max_size=5),
       content_type=st.sampled_from(["application/json", "text/xml", "application/octet-stream"]))
def test_random_bytes_and_queries_never_give_500(app, path, method, body, query, content_type):
    c = app.test_client()
    no_500(c.open(path, method=method, query_string=query, data=body, content_type=content_type,
                  headers={"Authorization": f"Bearer {TOKEN}"}))


@FUZZ
@given(payload=AIBOT_FIELDS)
@example(payload={"msgid": "a1", "from": {"userid": "u"}, "msgtype": "text", "text": 5})
@example(payload={"msgid": "a2", "from": {"userid": "u"}, "msgtype": "mixed", "mixed": {"msg_item": [5]}})
@example(payload={"msgid": "a5", "from": {"userid": "u"}, "msgtype": "event", "event": "x"})
@example(payload={"msgid": "a6", "from": {"userid": "u"}, "msgtype": "stream", "stream": "x"})
@example(payload={"msgid": "a7", "from": {"userid": "u"}, "msgtype": "quote", "quote": {"msgtype": "mixed", "mixed": 5}})
def test_signed_ai_bot_messages_of_any_shape_never_give_500(app, payload):
    cfg = app.extensions["fanzha"].config
    crypto = CallbackCrypto(cfg.wecom.aibot.token, cfg.wecom.aibot.encoding_aes_key, "")
    parts = crypto.encrypt_parts(json.dumps(payload, ensure_ascii=False), nonce=uuid.uuid4().hex[:10])
    r = app.test_client().post("/wecom/aibot/callback", json={"encrypt": parts["encrypt"]},
                               query_string={"msg_signature": parts["msgsignature"], "timestamp": parts["timestamp"],
                                             "nonce": parts["nonce"]})
    no_500(r)


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content",
                                               "MsgId", "Event", "EventKey", "TaskId", "AgentID"]),
                              XML_TEXT, max_size=9),
       raw=st.booleans())
def test_signed_app_messages_of_any_shape_never_give_500(app, fields, raw):
    from bot.channels.common import cdata
    cfg = app.extensions["fanzha"].config
    crypto = CallbackCrypto(cfg.wecom.token, cfg.wecom.encoding_aes_key, cfg.wecom.corp_id)
    inner = "<xml>" + "".join(f"<{k}>{cdata(v) if not raw else v}</{k}>" for k, v in fields.items()) + "</xml>"
    p = crypto.encrypt_parts(inner, nonce=uuid.uuid4().hex[:10])
    body = f"<xml><Encrypt><![CDATA[{p['encrypt']}]]></Encrypt></xml>"
    r = app.test_client().post("/wecom/callback", data=body.encode(), content_type="text/xml",
                               query_string={"msg_signature": p["msgsignature"], "timestamp": p["timestamp"],
                                             "nonce": p["nonce"]})
    no_500(r)


@FUZZ
@given(body=st.binary(max_size=400) | XML_TEXT.map(lambda t: f"<xml><MsgType>text</MsgType><Content>{t}</Content>"
                                                          f"<FromUserName>o1</FromUserName><MsgId>1</MsgId></xml>"
                                                          .encode("utf-8", "surrogatepass")))
def test_signed_official_account_bodies_never_give_500(app, body):
    cfg = app.extensions["fanzha"].config
    if cfg.mp is None or cfg.mp.safe_mode:
        pytest.skip("the demo's official account runs in plaintext mode")
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    sig = hashlib.sha1("".join(sorted([cfg.mp.token, ts, nonce])).encode()).hexdigest()
    r = app.test_client().post("/mp/callback", data=body, content_type="text/xml",
                               query_string={"signature": sig, "timestamp": ts, "nonce": nonce})
    no_500(r)


@FUZZ
@given(body=JSON | st.dictionaries(st.sampled_from(["external_id", "phone", "place", "name", "type", "level", "note",
                                                    "station"]), JSON | st.text(), max_size=8))
def test_the_warnings_api_never_gives_500(app, body):
    r = app.test_client().post("/api/warnings", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    no_500(r)


def test_a_nul_character_in_a_message_is_answered_not_refused_forever(app):
    """PostgreSQL stores no NUL in text: the message was refused with 500 on every retry, and the
    resident never got an answer."""
    cfg = app.extensions["fanzha"].config
    crypto = CallbackCrypto(cfg.wecom.aibot.token, cfg.wecom.aibot.encoding_aes_key, "")
    payload = {"msgid": uuid.uuid4().hex, "chatid": "dongguan_grid", "chattype": "group", "from": {"userid": "res_liu"},
               "msgtype": "text", "text": {"content": "@反诈哨兵 有人让我刷单\x00先垫付"}}
    parts = crypto.encrypt_parts(json.dumps(payload, ensure_ascii=False))
    r = app.test_client().post("/wecom/aibot/callback", json={"encrypt": parts["encrypt"]},
                               query_string={"msg_signature": parts["msgsignature"], "timestamp": parts["timestamp"],
                                             "nonce": parts["nonce"]})
    assert r.status_code == 200 and r.get_json().get("encrypt")
