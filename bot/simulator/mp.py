"""The official account (公众号) in the simulator: WeChat's server side and the follower side.

Server API (as api.weixin.qq.com): `GET /cgi-bin/token` (grant_type=client_credential, appid,
secret; 40013 wrong appid, 40125 wrong secret) and `POST /cgi-bin/message/custom/send`
(customer-service message: 41001/40001/42001 token, 40003 not a follower, 45015 the follower's
last message is older than 48 h or they unfollowed, 45047 more than 5 messages since it, 45002
text over 2048 bytes [decided], 44004 empty).

Follower side: `POST /sim/mp/say` delivers a follower's message or event to the bot's
`/mp/callback`, in plaintext or safe mode as the config says, and retries the same MsgId with a
fresh timestamp/nonce/signature when the bot is late or answers non-200. The bot's passive reply is
checked (signature, decryption with AppID, To/From swapped, `]]>` not breaking the XML) and shown in
the chat `mp:<openid>`. `POST /sim/mp/forge` sends one tampered callback.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from typing import Optional
from urllib.parse import urlencode

import requests
from flask import Blueprint, current_app, jsonify, request

from . import state as _state_mod
from .crypto import WeComCrypto, open_reply, random_nonce
from .state import Chat, utf8_len

bp = Blueprint("wecom_sim_mp", __name__)

FOLLOWERS = ("张大妈", "李大爷", "王女士", "赵同学")
CUSTOM_WINDOW = 48 * 3600
CUSTOM_PER_WINDOW = 5
TEXT_MAX = 2048
NON_TEXT = {
    "image": "<PicUrl>{c}</PicUrl><MediaId>{c}</MediaId>",
    "voice": "<MediaId>{c}</MediaId><Format><![CDATA[amr]]></Format>",
    "location": "<Location_X>31.2</Location_X><Location_Y>121.4</Location_Y><Scale>15</Scale><Label>{c}</Label>",
    "link": "<Title>{c}</Title><Description>{c}</Description><Url>{c}</Url>",
    "video": "<MediaId>{c}</MediaId><ThumbMediaId>{c}</ThumbMediaId>",
}
_state_mod.APIS = tuple(dict.fromkeys(_state_mod.APIS + ("mp/token", "mp/custom_send")))


def cdata(s) -> str:
    return "<![CDATA[" + str(s).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def openid_for(name: str, app_id: str) -> str:
    return "o" + hashlib.sha1(f"{app_id}:{name}".encode()).hexdigest()[:27]


class MpSim:
    def __init__(self, state, mp):
        self.state = state
        self.mp = mp
        self.account = "gh_" + hashlib.sha1(mp.app_id.encode()).hexdigest()[:12]
        self.crypto = WeComCrypto(mp.token, mp.encoding_aes_key, mp.app_id) if mp.encoding_aes_key else None
        self.tokens: dict[str, float] = {}
        self.current: Optional[str] = None
        self.followers: dict[str, dict] = {}
        self._msgid = secrets.randbelow(10 ** 16) + 2 * 10 ** 18
        for name in FOLLOWERS:
            self.follow(openid_for(name, mp.app_id), name)

    # --- followers --------------------------------------------------------------------------
    def follow(self, openid: str, name: Optional[str] = None) -> dict:
        with self.state.lock:
            f = self.followers.get(openid)
            if f is None:
                f = self.followers[openid] = {"openid": openid, "name": name or f"微信用户{openid[-4:]}",
                                              "subscribed": True, "last_message": None, "custom_sent": 0}
                cid = f"mp:{openid}"
                self.state.chats[cid] = Chat(id=cid, name=f"{f['name']}（公众号粉丝）", kind="mp", members=[openid])
            return f

    def follower_json(self, f: dict) -> dict:
        return {k: f[k] for k in ("openid", "name", "subscribed", "last_message", "custom_sent")} | \
            {"chat": f"mp:{f['openid']}"}

    def next_msgid(self) -> str:
        with self.state.lock:
            self._msgid += secrets.randbelow(1000) + 1
            return str(self._msgid)

    # --- the follower's messages ----------------------------------------------------------------
    def inner_xml(self, openid: str, *, text: Optional[str] = None, msgtype: str = "text",
                  event: Optional[str] = None, event_key: str = "", create_time: Optional[int] = None,
                  picture: Optional[tuple[str, str]] = None):
        now = create_time or int(time.time())
        head = (f"<xml><ToUserName>{cdata(self.account)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
                f"<CreateTime>{now}</CreateTime>")
        if event:
            return head + f"<MsgType>{cdata('event')}</MsgType><Event>{cdata(event)}</Event>" \
                          f"<EventKey>{cdata(event_key)}</EventKey></xml>", f"event-{openid[-6:]}-{now}-{event}"
        msgid = self.next_msgid()
        if msgtype == "text":
            body = f"<Content>{cdata(text)}</Content>"
        elif msgtype == "image" and picture is not None:     # (PicUrl, MediaId)
            body = f"<PicUrl>{cdata(picture[0])}</PicUrl><MediaId>{cdata(picture[1])}</MediaId>"
        else:
            body = NON_TEXT[msgtype].format(c=cdata(text or "x"))
        return head + f"<MsgType>{cdata(msgtype)}</MsgType>{body}<MsgId>{msgid}</MsgId></xml>", msgid

    def signed_request(self, inner: str, openid: str, *, ts: Optional[str] = None, nonce: Optional[str] = None):
        """-> (url, body bytes) as WeChat would POST it."""
        ts = ts or str(int(time.time()))
        nonce = nonce or random_nonce()
        q = {"signature": _plain_sig(self.mp.token, ts, nonce),
             "timestamp": ts, "nonce": nonce, "openid": openid}
        if self.crypto is None:
            data = inner.encode()
        else:
            enc = self.crypto.encrypt(inner)
            q.update(encrypt_type="aes", msg_signature=self.crypto.sign(ts, nonce, enc))
            data = f"<xml><ToUserName>{cdata(self.account)}</ToUserName><Encrypt>{cdata(enc)}</Encrypt></xml>".encode()
        return f"{self.state.bot_url}/mp/callback?" + urlencode(q), data

    def deliver(self, openid: str, inner: str, msgid: str) -> None:
        st = self.state
        with st.lock:
            st.pending_deliveries += 1

        def run():
            try:
                self._run(openid, inner, msgid)
            finally:
                with st.lock:
                    st.pending_deliveries -= 1
        threading.Thread(target=run, daemon=True, name=f"sim-mp-{msgid[-6:]}").start()

    def _run(self, openid: str, inner: str, msgid: str) -> None:
        st = self.state
        session = requests.Session()
        session.trust_env = False
        for attempt in range(1, st.callback_retries + 2):
            url, data = self.signed_request(inner, openid)
            entry = {"msgid": msgid, "parent": None, "channel": "mp", "kind": "message", "attempt": attempt,
                     "status": None, "elapsed_ms": None, "reply_kind": None, "problems": [], "time": round(time.time(), 3)}
            t0 = time.monotonic()
            try:
                r = session.post(url, data=data, headers={"Content-Type": "text/xml"}, timeout=st.callback_timeout)
                entry["status"], entry["outcome"] = r.status_code, "ok" if r.status_code == 200 else "http_error"
            except requests.Timeout:
                r, entry["outcome"], entry["reply_kind"] = None, "timeout", "timeout"
            except requests.RequestException as e:
                r, entry["outcome"], entry["reply_kind"] = None, "connection_error", "connection_error"
                entry["problems"].append(repr(e))
            entry["elapsed_ms"] = round((time.monotonic() - t0) * 1000, 1)
            if r is not None and r.status_code == 200:
                reply = self.parse_reply(r.text, openid, entry["problems"])
                entry["reply_kind"] = reply["kind"]
                st.record_delivery(entry)
                if reply.get("text") is not None:
                    st.add_message(f"mp:{openid}", "bot", reply["text"], "text", via="mp_passive", reply_to=msgid)
                return
            if r is not None:
                entry["reply_kind"] = "http_error"
            st.record_delivery(entry)
            if st.retry_delay:
                time.sleep(st.retry_delay)
        # every attempt failed: the follower sees WeChat's notice
        st.add_message(f"mp:{openid}", "wechat", "该公众号暂时无法提供服务，请稍后再试", "text", via="wechat_notice")

    def parse_reply(self, text: str, openid: str, problems: list) -> dict:
        body = (text or "").strip()
        if body in ("", "success"):
            return {"kind": "success" if body else "empty"}
        try:
            root = _xml(body)
        except (ET.ParseError, ValueError) as e:
            problems.append(f"reply is not XML: {e}")
            return {"kind": "bad_reply"}
        if self.crypto is not None:
            enc, sig = root.findtext("Encrypt"), root.findtext("MsgSignature")
            ts, nonce = root.findtext("TimeStamp"), root.findtext("Nonce")
            if not (enc and sig and ts and nonce):
                problems.append("safe mode: reply must be the encrypted envelope (Encrypt/MsgSignature/TimeStamp/Nonce)")
                return {"kind": "bad_reply"}
            plain, failed = open_reply(self.crypto, enc, sig, ts, nonce, self.mp.app_id, problems)
            if failed:
                return {"kind": failed}
            try:
                root = _xml(plain)
            except (ET.ParseError, ValueError) as e:
                problems.append(f"broken reply XML: {e}")
                return {"kind": "bad_reply"}
        to, frm = root.findtext("ToUserName"), root.findtext("FromUserName")
        if to != openid or frm != self.account:
            problems.append(f"ToUserName/FromUserName not swapped: To={to!r} From={frm!r}")
        mt = root.findtext("MsgType") or ""
        if mt != "text":
            problems.append(f"reply MsgType {mt!r}: the simulator only shows text")
            return {"kind": mt or "bad_reply"}
        content = root.findtext("Content") or ""
        if utf8_len(content) > TEXT_MAX:
            problems.append(f"reply Content {utf8_len(content)} bytes > {TEXT_MAX}")
        return {"kind": "text", "text": content}

    # --- tokens -------------------------------------------------------------------------------
    def issue_token(self) -> tuple[str, int]:
        with self.state.lock:
            now = time.time()
            if self.current and self.tokens.get(self.current, 0) > now + 1:
                return self.current, int(self.tokens[self.current] - now)
            tok = "mp" + secrets.token_urlsafe(60)
            self.tokens[tok] = now + self.state.token_ttl
            self.current = tok
            return tok, self.state.token_ttl

    def check_token(self, token: Optional[str]) -> int:
        if not token:
            return 41001
        with self.state.lock:
            exp = self.tokens.get(token)
        if exp is None:
            return 40001
        return 42001 if exp <= time.time() else 0


def _plain_sig(token: str, ts: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, ts, nonce])).encode()).hexdigest()


def _xml(text: str) -> ET.Element:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ValueError("DOCTYPE/ENTITY in XML")
    return ET.fromstring(text)


def _sim() -> MpSim:
    sim = current_app.extensions.get("wecom_sim_mp")
    if sim is None:
        from flask import abort
        abort(404)
    return sim


def _mp_error(code: int, msg: str):
    sim = current_app.extensions["wecom_sim_mp"]
    with sim.state.lock:
        sim.state.stats["errors"][str(code)] += 1
    return jsonify({"errcode": code, "errmsg": f"{msg} rid: {secrets.token_hex(4)}-{secrets.token_hex(4)}"})


# --- server side (api.weixin.qq.com) ---------------------------------------------------------------
@bp.get("/cgi-bin/token")
def token():
    sim = _sim()
    st = sim.state
    st.count_call("mp/token")
    fault = st.take_fault("mp/token")
    if fault and fault.get("errcode") is not None:
        return _mp_error(fault["errcode"], fault.get("errmsg") or "injected")
    if request.args.get("grant_type") != "client_credential":
        return _mp_error(40002, "invalid grant_type")
    if request.args.get("appid") != sim.mp.app_id:
        return _mp_error(40013, "invalid appid")
    if request.args.get("secret") != sim.mp.app_secret:
        return _mp_error(40125, "invalid appsecret")
    tok, ttl = sim.issue_token()
    return jsonify({"access_token": tok, "expires_in": ttl})


@bp.post("/cgi-bin/message/custom/send")
def custom_send():
    sim = _sim()
    st = sim.state
    st.count_call("mp/custom_send")
    fault = st.take_fault("mp/custom_send")
    if fault:
        if fault["slow_ms"]:
            time.sleep(fault["slow_ms"] / 1000.0)
        if fault.get("errcode") is not None:
            return _mp_error(fault["errcode"], fault.get("errmsg") or "injected")
    code = sim.check_token(request.args.get("access_token"))
    if code:
        return _mp_error(code, {41001: "access_token missing", 40001: "invalid credential, access_token is invalid "
                                "or not latest", 42001: "access_token expired"}[code])
    try:
        body = json.loads(request.get_data() or b"")
    except ValueError:
        return _mp_error(47001, "data format error")
    if not isinstance(body, dict):
        return _mp_error(47001, "data format error")
    openid = body.get("touser")
    with st.lock:
        f = sim.followers.get(openid)
        if f is None:
            return _mp_error(40003, "invalid openid")
        if not f["subscribed"] or not f["last_message"] or time.time() - f["last_message"] > CUSTOM_WINDOW:
            return _mp_error(45015, "response out of time limit or subscription is canceled")
        if f["custom_sent"] >= CUSTOM_PER_WINDOW:
            return _mp_error(45047, "out of response count limit")
    if body.get("msgtype") != "text":
        return _mp_error(40008, "invalid message type (the simulator takes text)")
    content = (body.get("text") or {}).get("content")
    if not isinstance(content, str) or not content:
        return _mp_error(44004, "empty content")
    if utf8_len(content) > TEXT_MAX:
        return _mp_error(45002, "content size out of limit")
    with st.lock:
        f["custom_sent"] += 1
    st.add_message(f"mp:{openid}", "bot", content, "text", via="custom_send")
    return jsonify({"errcode": 0, "errmsg": "ok"})


# --- follower side (control API) -----------------------------------------------------------------------
def _json() -> dict:
    body = request.get_json(silent=True, force=True)
    return body if isinstance(body, dict) else {}


@bp.get("/sim/mp/followers")
def followers():
    sim = _sim()
    with sim.state.lock:
        return jsonify({"account": sim.account, "mode": "safe" if sim.crypto else "plaintext",
                        "followers": [sim.follower_json(f) for f in sim.followers.values()]})


@bp.post("/sim/mp/say")
def say():
    """{"openid" | "name", "text"} or {"msgtype": image|voice|location|link|video} (an image with
    "image": base64 is the picture the follower sends) or
    {"event": "subscribe"|"unsubscribe"|"CLICK"|"VIEW", "event_key"}; an unknown openid or name follows first."""
    sim = _sim()
    st = sim.state
    body = _json()
    openid = body.get("openid") or (openid_for(body["name"], sim.mp.app_id) if body.get("name") else None)
    if not openid:
        return jsonify({"error": "openid or name is required"}), 400
    f = sim.follow(str(openid), body.get("name"))
    event, msgtype, text = body.get("event"), body.get("msgtype", "text"), body.get("text")
    if event is not None:
        if event not in ("subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN"):
            return jsonify({"error": "event must be subscribe, unsubscribe, CLICK, VIEW or SCAN"}), 400
        with st.lock:
            f["subscribed"] = event != "unsubscribe"
            if event in ("subscribe", "CLICK", "SCAN"):
                f["last_message"], f["custom_sent"] = time.time(), 0
        label = {"subscribe": "关注了公众号", "unsubscribe": "取消关注", "CLICK": f"点击菜单 {body.get('event_key', '')}",
                 "VIEW": "打开菜单链接", "SCAN": "扫码"}[event]
        m = st.add_message(f"mp:{f['openid']}", f["openid"], f"[{label}]", "event", via="mp")
        inner, msgid = sim.inner_xml(f["openid"], event=event, event_key=str(body.get("event_key") or ""))
    else:
        if msgtype != "text" and msgtype not in NON_TEXT:
            return jsonify({"error": f"msgtype must be text or one of {', '.join(NON_TEXT)}"}), 400
        if msgtype == "text" and (not isinstance(text, str) or not text.strip()):
            return jsonify({"error": "text is required"}), 400
        if not f["subscribed"]:
            return jsonify({"error": "this follower unfollowed the account"}), 400
        picture, extra = None, {}
        if msgtype == "image" and body.get("image") is not None:
            try:
                data = base64.b64decode(str(body["image"]), validate=True)
            except (binascii.Error, ValueError):
                return jsonify({"error": "image must be base64"}), 400
            pid, media_id = st.add_picture(data, media=True)
            public = st.public_url or request.host_url.rstrip("/")
            picture, extra = (f"{public}/sim/picture/{pid}", media_id), {"picture": pid, "bytes": len(data)}
        with st.lock:
            f["last_message"], f["custom_sent"] = time.time(), 0
        shown = text if msgtype == "text" else {"image": "[图片]", "voice": "[语音]", "location": "[位置]",
                                                  "link": "[链接]", "video": "[视频]"}[msgtype]
        m = st.add_message(f"mp:{f['openid']}", f["openid"], shown, msgtype, via="mp", **extra)
        inner, msgid = sim.inner_xml(f["openid"], text=text, msgtype=msgtype, picture=picture)
    with st.lock:
        m["msgid"] = msgid
    sim.deliver(f["openid"], inner, msgid)
    return jsonify({"msgid": msgid, "seq": m["seq"], "openid": f["openid"], "delivered": True, "channel": "mp"})


FORGERIES = ("bad_signature", "stale_timestamp", "garbage", "entity", "wrong_appid", "oversize", "replay")


@bp.post("/sim/mp/forge")
def forge():
    """One tampered callback, sent synchronously; the bot should refuse it (4xx) and do nothing."""
    sim = _sim()
    body = _json()
    kind = body.get("kind", "bad_signature")
    if kind not in FORGERIES:
        return jsonify({"error": f"kind must be one of {', '.join(FORGERIES)}"}), 400
    openid = body.get("openid") or next(iter(sim.followers))
    inner, msgid = sim.inner_xml(openid, text=str(body.get("text") or "伪造的消息"))
    ts = str(int(time.time()) - 3600) if kind == "stale_timestamp" else None
    url, data = sim.signed_request(inner, openid, ts=ts)
    if kind == "bad_signature":
        url = url.replace("signature=", "signature=0", 1) if sim.crypto is None else \
            url.replace("msg_signature=", "msg_signature=0", 1)
    elif kind == "garbage":
        data = b"<xml><Encrypt>" if sim.crypto else b"<xml><FromUserName>"
    elif kind == "entity":
        data = b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><FromUserName>&a;</FromUserName></xml>'
    elif kind == "wrong_appid" and sim.crypto is not None:
        other = WeComCrypto(sim.mp.token, sim.mp.encoding_aes_key, "wxforged000000")
        ts2, nonce = str(int(time.time())), random_nonce()
        enc = other.encrypt(inner)
        q = {"signature": _plain_sig(sim.mp.token, ts2, nonce), "timestamp": ts2, "nonce": nonce, "openid": openid,
             "encrypt_type": "aes", "msg_signature": other.sign(ts2, nonce, enc)}
        url = f"{sim.state.bot_url}/mp/callback?" + urlencode(q)
        data = f"<xml><Encrypt>{cdata(enc)}</Encrypt></xml>".encode()
    elif kind == "oversize":
        data = data + b" " * (1024 * 1024)
    s = requests.Session()
    s.trust_env = False
    if kind == "replay":
        s.post(url, data=data, headers={"Content-Type": "text/xml"}, timeout=sim.state.callback_timeout)
    r = s.post(url, data=data, headers={"Content-Type": "text/xml"}, timeout=sim.state.callback_timeout)
    return jsonify({"msgid": msgid, "status": r.status_code, "body": r.text[:500]})
