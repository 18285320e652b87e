"""Helpers shared by the benchmarks: signed, encrypted callbacks as WeCom sends them."""
from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import requests
import xmltodict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.channels.crypto import CallbackCrypto  # noqa: E402
from bot.config import load_config  # noqa: E402


def config(env: dict | None = None):
    return load_config(ROOT / "config.yaml", env=dict(os.environ, **(env or {})))


class Client:
    """A keep-alive HTTP/1.1 client with little overhead, so the load generator (on the same
    two cores as the server) takes as little CPU as it can."""

    def __init__(self, base: str):
        from urllib.parse import urlsplit
        u = urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def post(self, path: str, params: dict, body: bytes, content_type: str) -> tuple[int, bytes]:
        url = f"{path}?{urlencode(params)}"
        for attempt in (1, 2):
            try:
                self.conn.request("POST", url, body=body, headers={"Content-Type": content_type})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def aibot_request(cfg, text: str, chat: str = "dongguan_grid", user: str = "res_liu"):
    """One encrypted group @-mention for the AI bot endpoint: (path, query, body, content type, read)
    where read(response body) decrypts the answer text."""
    crypto = CallbackCrypto(cfg.wecom.aibot.token, cfg.wecom.aibot.encoding_aes_key, "")
    payload = {"msgid": uuid.uuid4().hex, "aibotid": "bench", "chatid": chat, "chattype": "group",
               "from": {"userid": user}, "msgtype": "text", "response_url": "http://127.0.0.1:9/none",
               "text": {"content": f"@{cfg.wecom.aibot.name} {text}"}}
    p = crypto.encrypt_parts(json.dumps(payload, ensure_ascii=False))

    def read(content: bytes) -> str:
        if not content:
            return ""
        b = json.loads(content)
        return json.loads(crypto.decrypt(b["encrypt"], b["msgsignature"], b["timestamp"], b["nonce"]))["stream"]["content"]
    return ("/wecom/aibot/callback", _query(p), json.dumps({"encrypt": p["encrypt"]}).encode(), "application/json",
            read)


def aibot_callback(session: Client, base: str, cfg, text: str, chat: str = "dongguan_grid",
                   user: str = "res_liu") -> str:
    """One group @-mention through the AI bot endpoint; returns the decrypted answer text."""
    return _send(session, aibot_request(cfg, text, chat, user))


def _send(session: Client, request) -> str:
    path, query, body, content_type, read = request
    status, content = session.post(path, query, body, content_type)
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {content[:100]!r}")
    return read(content)


def _query(p: dict) -> dict:
    return {"msg_signature": p["msgsignature"], "timestamp": p["timestamp"], "nonce": p["nonce"]}


def app_request(cfg, text: str, user: str = "res_liu"):
    """One encrypted one-to-one message for the self-built app endpoint (see aibot_request)."""
    w = cfg.wecom
    crypto = CallbackCrypto(w.token, w.encoding_aes_key, w.corp_id)
    inner = (f"<xml><ToUserName><![CDATA[{w.corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
             f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
             f"<Content><![CDATA[{text}]]></Content><MsgId>{uuid.uuid4().int >> 65}</MsgId>"
             f"<AgentID>{w.agent_id}</AgentID></xml>")
    p = crypto.encrypt_parts(inner)
    body = f"<xml><ToUserName><![CDATA[{w.corp_id}]]></ToUserName><Encrypt><![CDATA[{p['encrypt']}]]></Encrypt></xml>"

    def read(content: bytes) -> str:
        if not content:
            return ""
        env = xmltodict.parse(content)["xml"]
        return xmltodict.parse(crypto.decrypt(env["Encrypt"], env["MsgSignature"], env["TimeStamp"],
                                              env["Nonce"]))["xml"]["Content"]
    return "/wecom/callback", _query(p), body.encode(), "text/xml", read


def app_callback(session: Client, base: str, cfg, text: str, user: str = "res_liu") -> str:
    """One one-to-one message through the self-built app endpoint; returns the decrypted answer text."""
    return _send(session, app_request(cfg, text, user))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def summary(name: str, samples_ms: list[float]) -> str:
    s = sorted(samples_ms)
    p99 = s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]
    return f"{name}: n={len(s)} median={statistics.median(s):.1f} ms p99={p99:.1f} ms max={s[-1]:.1f} ms"
