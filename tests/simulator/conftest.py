"""Fixtures: the demo config, a fake bot (verifies and decrypts with wechatpy) and a running simulator."""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from flask import Flask, request
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.netutil import ServerThread  # noqa: E402
from bot.simulator import create_simulator  # noqa: E402


class FakeBot:
    """The bot's side of the wire, written only with wechatpy (independent of the simulator's crypto).

    `on_aibot(msg, n)` / `on_app(xml, n)` decide the answer: return (status, reply_plaintext_or_None)
    and optionally sleep. n counts requests with the same msgid (1 = first delivery).
    """

    def __init__(self, config):
        w = config.wecom
        self.corp_id = w.corp_id
        self.aibot = WeChatCrypto(w.aibot.token, w.aibot.encoding_aes_key, "")
        self.appc = WeChatCrypto(w.token, w.encoding_aes_key, w.corp_id)
        self.lock = threading.Lock()
        self.reset()
        self.flask = self._build()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.received = []          # every verified request: {channel, args, plain, body}
            self.rejected = []
            self.counts = {}
        self.on_aibot = lambda msg, n: (200, None)
        self.on_app = lambda xml, n: (200, None)

    # --- replies -----------------------------------------------------------------------------
    def aibot_reply(self, plaintext: dict, *, bad_signature=False) -> str:
        text = json.dumps(plaintext, ensure_ascii=False)
        enc = PrpCrypto(self.aibot.key).encrypt(text, "").decode()
        ts, nonce = str(int(time.time())), "12345678"
        sig = _get_signature(self.aibot.token, ts, nonce, enc)
        if bad_signature:
            sig = "0" * 40
        return json.dumps({"encrypt": enc, "msgsignature": sig, "timestamp": int(ts), "nonce": nonce})

    def app_reply(self, inner_xml: str) -> str:
        return self.appc.encrypt_message(inner_xml, "87654321")

    def wait(self, n=1, channel=None, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                got = [r for r in self.received if channel is None or r["channel"] == channel]
            if len(got) >= n:
                return got
            time.sleep(0.02)
        raise AssertionError(f"fake bot got {len(got)} requests, wanted {n}")

    def _build(self):
        app = Flask("fakebot")
        bot = self

        def count(key):
            with bot.lock:
                bot.counts[key] = bot.counts.get(key, 0) + 1
                return bot.counts[key]

        @app.post("/wecom/aibot/callback")
        def aibot_cb():
            a = request.args
            try:
                body = json.loads(request.get_data())
                plain = bot.aibot.decrypt_message({"Encrypt": body["encrypt"]}, a["msg_signature"],
                                                  a["timestamp"], a["nonce"])
                # the AI bot's receiveid is empty, so a wrong key can decrypt to garbage with valid
                # padding now and then: that garbage is not JSON, and is refused like the rest
                msg = json.loads(plain)
            except Exception as e:  # wechatpy: InvalidSignatureException, InvalidCorpIdException, ...
                bot.rejected.append(repr(e))
                return "bad", 403
            n = count(msg["msgid"])
            with bot.lock:
                bot.received.append({"channel": "aibot", "args": dict(a), "plain": msg, "n": n,
                                     "content_type": request.content_type, "t": time.time()})
            status, reply = bot.on_aibot(msg, n)
            return (reply or ""), status

        @app.post("/wecom/callback")
        def app_cb():
            a = request.args
            raw = request.get_data(as_text=True)
            try:
                plain = bot.appc.decrypt_message(raw, a["msg_signature"], a["timestamp"], a["nonce"])
            except Exception as e:
                bot.rejected.append(repr(e))
                return "bad", 403
            from wechatpy.enterprise import parse_message
            msg = parse_message(plain)
            key = str(msg.id) if msg.id else f"{msg.source}:{msg.time}:{getattr(msg, 'event', '')}"
            n = count(key)
            with bot.lock:
                bot.received.append({"channel": "app", "args": dict(a), "plain": plain, "msg": msg, "n": n,
                                     "envelope": raw, "content_type": request.content_type, "t": time.time()})
            status, reply = bot.on_app(msg, n)
            return (reply or ""), status

        return app


@pytest.fixture(scope="session")
def config():
    return load_config(ROOT / "config.yaml", env={})


@pytest.fixture(scope="session")
def fakebot(config):
    bot = FakeBot(config)
    srv = ServerThread(bot.flask).start()
    bot.url = srv.url
    yield bot
    srv.stop()


@pytest.fixture(scope="session")
def sim_server(config, fakebot):
    app = create_simulator(config, bot_url=fakebot.url, callback_timeout=0.3, callback_retries=3)
    srv = ServerThread(app).start()
    srv.state = app.extensions["wecom_sim"]
    srv.deliverer = app.extensions["wecom_sim_deliverer"]
    yield srv
    srv.stop()


class Sim:
    """Small client for the simulator under test."""

    def __init__(self, srv, config):
        self.url, self.state, self.config = srv.url, srv.state, config
        self.deliverer = srv.deliverer
        self.http = requests.Session()
        self.http.trust_env = False

    def get(self, path, **kw):
        return self.http.get(self.url + path, timeout=10, **kw)

    def post(self, path, json_body=None, **kw):
        return self.http.post(self.url + path, json=json_body, timeout=10, **kw)

    def token(self):
        w = self.config.wecom
        r = self.get("/cgi-bin/gettoken", params={"corpid": w.corp_id, "corpsecret": w.secret}).json()
        assert r["errcode"] == 0, r
        return r["access_token"]

    def say(self, chat, user, text, **extra):
        return self.post("/sim/say", {"chat": chat, "user": user, "text": text, **extra})

    def messages(self, chat, since=0):
        r = self.get("/sim/messages", params={"chat": chat, "since": since})
        assert r.status_code == 200, r.text
        return r.json()

    def deliveries(self, **params):
        return self.get("/sim/deliveries", params=params).json()

    def wait_for(self, fn, timeout=5.0, what="condition"):
        end = time.time() + timeout
        while time.time() < end:
            v = fn()
            if v:
                return v
            time.sleep(0.03)
        raise AssertionError(f"timed out waiting for {what}")

    def idle(self, timeout=10.0):
        """Wait until every delivery (first tries and retries) has ended."""
        assert self.deliverer.wait_idle(timeout), "deliveries still running"

    def bot_messages(self, chat):
        return [m for m in self.messages(chat) if m["from"] == "bot"]


@pytest.fixture
def sim(sim_server, config, fakebot):
    st = sim_server.state
    sim_server.deliverer.wait_idle(10)
    st.reset()
    with st.lock:
        st.limits_enabled = True
        st.token_ttl = 7200
        st.callback_timeout = 0.3
        st.callback_retries = 3
        st.stream_refresh_interval = 0.05
        st.stream_max_seconds = 360
    fakebot.reset()
    return Sim(sim_server, config)
