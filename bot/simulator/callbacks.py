"""Callbacks the simulator sends to the bot, as WeCom does.

- a group @-mention -> the intelligent bot's JSON callback (receiveid ""), wecom.md §5
- a one-to-one message or event -> the self-built app's XML callback (receiveid CorpID), §1.3
- no answer within callback_timeout, or a non-200 -> the SAME message re-POSTed with a fresh
  timestamp/nonce/signature (and a fresh random prefix), up to callback_retries more times (§1.5)
- the bot's passive reply is decrypted and checked (§1.4, §5, §8.5); an unfinished AI-bot stream is
  polled with stream-refresh callbacks until it finishes or stream_max_seconds pass.

Every HTTP attempt is recorded in state.deliveries (GET /sim/deliveries).
"""
from __future__ import annotations

import json
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from typing import Optional
from urllib.parse import urlencode

import requests

from .crypto import WeComCrypto, open_reply, random_nonce, signature
from .pictures import aibot_picture_url
from .state import truncate_utf8, utf8_len

APP_TEXT_MAX = 2048
STREAM_MAX = 20480


def cdata(s: str) -> str:
    # "]]>" cannot sit inside one CDATA section: split it the standard way
    return "<![CDATA[" + str(s).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _parse_xml(text: str) -> ET.Element:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ValueError("DOCTYPE/ENTITY in XML")
    return ET.fromstring(text)


class Deliverer:
    def __init__(self, state):
        self.state = state
        w = state.config.wecom
        self.app_crypto = WeComCrypto(w.token, w.encoding_aes_key, w.corp_id)
        self.aibot_crypto = WeComCrypto(w.aibot.token, w.aibot.encoding_aes_key, "")
        self._local = threading.local()

    # --- HTTP ------------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
            s.trust_env = False   # never route the callback through a proxy from the environment
        return s

    def _post(self, channel: str, plaintext: str, msgid: str, *, attempt: int, kind: str,
              parent: Optional[str] = None, user: Optional[str] = None):
        """One signed, encrypted POST. -> (status, body text or None, entry)."""
        st = self.state
        crypto = self.aibot_crypto if channel == "aibot" else self.app_crypto
        ts, nonce = str(int(time.time())), random_nonce()
        enc = crypto.encrypt(plaintext)
        sig = crypto.sign(ts, nonce, enc)
        if channel == "aibot":
            path = "/wecom/aibot/callback"
            data = json.dumps({"encrypt": enc}).encode()
            headers = {"Content-Type": "application/json"}
        else:
            path = "/wecom/callback"
            data = (f"<xml><ToUserName>{cdata(st.corp_id)}</ToUserName><Encrypt>{cdata(enc)}</Encrypt>"
                    f"<AgentID>{cdata(st.agent_id)}</AgentID></xml>").encode()
            headers = {"Content-Type": "text/xml"}   # [decided] content type of WeCom's POST
        url = f"{st.bot_url}{path}?" + urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce})
        entry = {"msgid": msgid, "parent": parent, "channel": channel, "kind": kind, "attempt": attempt,
                 "status": None, "elapsed_ms": None, "reply_kind": None, "problems": [],
                 "timestamp": ts, "nonce": nonce, "msg_signature": sig, "time": round(time.time(), 3)}
        t0 = time.monotonic()
        status, text = None, None
        try:
            r = self._session().post(url, data=data, headers=headers, timeout=st.callback_timeout)
            status, text = r.status_code, r.text
            entry["status"] = status
            entry["outcome"] = "ok" if status == 200 else "http_error"
            if status != 200:
                entry["reply_kind"] = "http_error"
        except requests.Timeout:
            entry["outcome"] = "timeout"
            entry["reply_kind"] = "timeout"
        except requests.RequestException as e:
            entry["outcome"] = "connection_error"
            entry["reply_kind"] = "connection_error"
            entry["problems"].append(f"connection error: {type(e).__name__}")
        entry["elapsed_ms"] = round((time.monotonic() - t0) * 1000, 1)
        return status, text, entry

    def _deliver(self, channel: str, plaintext: str, msgid: str, *, parse, parent=None,
                 retries: Optional[int] = None, kind: str = "message"):
        """POST with WeCom's retry rule; -> parsed reply of the first 200 (or None)."""
        st = self.state
        retries = st.callback_retries if retries is None else retries
        for attempt in range(1, retries + 2):
            status, text, entry = self._post(channel, plaintext, msgid, attempt=attempt, kind=kind, parent=parent)
            if status == 200:
                parsed = parse(text, entry)
                entry["reply_kind"] = parsed["kind"]
                st.record_delivery(entry)
                with st.lock:
                    dup = st.duplicate_callbacks > 0
                    if dup:
                        st.duplicate_callbacks -= 1
                if dup:   # injected: WeCom sends the same message again after a success
                    _, text2, e2 = self._post(channel, plaintext, msgid, attempt=attempt + 1,
                                              kind="duplicate", parent=parent)
                    if e2["status"] == 200:
                        e2["reply_kind"] = parse(text2, e2)["kind"]
                    st.record_delivery(e2)
                return parsed
            st.record_delivery(entry)
            if attempt <= retries and st.retry_delay:
                time.sleep(st.retry_delay)
        return None

    def _spawn(self, target, args, name):
        st = self.state

        def run():
            try:
                target(*args)
            finally:
                with st.lock:
                    st.pending_deliveries -= 1

        with st.lock:
            st.pending_deliveries += 1
        threading.Thread(target=run, daemon=True, name=name).start()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no delivery thread runs (tests, demo shutdown)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.state.lock:
                if self.state.pending_deliveries <= 0:
                    return True
            time.sleep(0.01)
        return False

    # --- AI bot (group @-mention, or single chat) ----------------------------------------------------------
    def aibot_message(self, chat, user: str, content: str, public_url: str, picture: Optional[bytes] = None) -> str:
        st = self.state
        msgid = secrets.token_hex(16)
        code = secrets.token_urlsafe(36)
        with st.lock:
            st.response_codes[code] = {"chat": chat.id, "msgid": msgid, "used": False,
                                       "expires": time.time() + 3600}
        payload = {"msgid": msgid, "aibotid": st.aibotid}
        group = not chat.is_dm
        if group:
            payload.update({"chatid": chat.aibot_chatid, "chattype": "group"})
        else:
            payload["chattype"] = "single"   # [U] whether chatid is present in 1:1: omitted here
        payload.update({"from": {"userid": user},
                        "response_url": f"{public_url.rstrip('/')}/cgi-bin/aibot/response?response_code={code}"})
        if picture is None:
            payload.update({"msgtype": "text", "text": {"content": content}})
        else:
            image = {"msgtype": "image", "image": {"url": aibot_picture_url(st, picture, public_url)}}
            if group or content:        # in a group a picture comes mixed with the @-mention [D:100719]
                payload.update({"msgtype": "mixed", "mixed": {"msg_item": [
                    {"msgtype": "text", "text": {"content": content}}, image]}})
            else:
                payload.update(image)
        with st.lock:
            st.aibot_inflight[user] += 1
        self._spawn(self._run_aibot, (chat, user, payload), f"sim-aibot-{msgid[:8]}")
        return msgid

    def _run_aibot(self, chat, user, payload):
        st = self.state
        started = time.monotonic()
        try:
            plain = json.dumps(payload, ensure_ascii=False)
            reply = self._deliver("aibot", plain, payload["msgid"], parse=self._parse_aibot_reply)
            if not reply:
                return
            self._use_aibot_reply(chat, payload, reply, started)
        except Exception as e:  # never let a delivery thread die silently
            st.record_delivery({"msgid": payload["msgid"], "parent": None, "channel": "aibot", "kind": "internal",
                                "attempt": 0, "status": None, "elapsed_ms": 0, "reply_kind": "internal_error",
                                "outcome": "internal_error", "problems": [repr(e)], "time": time.time()})
        finally:
            with st.lock:
                st.aibot_inflight[user] -= 1
                if st.aibot_inflight[user] <= 0:
                    del st.aibot_inflight[user]

    def _use_aibot_reply(self, chat, payload, reply, started):
        st = self.state
        body = reply.get("plain")
        kind = reply["kind"]
        if kind in ("stream_final", "stream"):
            stream = body["stream"]
            sid = stream.get("id")
            content = reply["content"]
            if kind == "stream":
                content, finished = self._poll_stream(chat, payload, sid, content, started)
            else:
                finished = True
            if content or not finished:
                extra = {} if finished else {"unfinished": True}
                st.add_message(chat.id, "bot", content, "markdown", via="aibot_stream",
                               reply_to=payload["msgid"], **extra)
        elif kind in ("template_card", "stream_with_template_card"):
            card = body.get("template_card") or {}
            title = (card.get("main_title") or {}).get("title") or card.get("card_type") or "模板卡片"
            text = (body.get("stream") or {}).get("content") or f"**{title}**"
            st.add_message(chat.id, "bot", text, "template_card", via="aibot_passive", reply_to=payload["msgid"])

    def _poll_stream(self, chat, payload, sid, content, started):
        st = self.state
        while True:
            if time.monotonic() - started > st.stream_max_seconds:
                return content, False
            time.sleep(st.stream_refresh_interval)
            rid = secrets.token_hex(16)
            refresh = {"msgid": rid, "aibotid": st.aibotid}
            if payload.get("chatid"):
                refresh["chatid"] = payload["chatid"]
            refresh.update({"chattype": payload["chattype"], "from": payload["from"],
                            "msgtype": "stream", "stream": {"id": sid}})
            # [decided] a refresh is not retried: the next refresh follows anyway
            r = self._deliver("aibot", json.dumps(refresh, ensure_ascii=False), rid, parse=self._parse_aibot_reply,
                              parent=payload["msgid"], retries=0, kind="stream_refresh")
            if not r or r["kind"] not in ("stream", "stream_final"):
                continue
            got = r["plain"]["stream"].get("id")
            if got != sid:
                self._problem(payload["msgid"], f"stream refresh answered with id {got!r}, expected {sid!r}")
            content = r["content"] or content
            if r["kind"] == "stream_final":
                return content, True

    def _problem(self, msgid, text):
        st = self.state
        with st.lock:
            for e in reversed(st.deliveries):
                if e["msgid"] == msgid or e.get("parent") == msgid:
                    e["problems"].append(text)
                    break
            st.stats["reply_problems"] += 1

    def _parse_aibot_reply(self, text: str, entry: dict) -> dict:
        problems = entry["problems"]
        if not text or not text.strip():
            return {"kind": "empty"}
        try:
            env = json.loads(text)
            enc, sig, ts, nonce = env["encrypt"], env["msgsignature"], str(env["timestamp"]), str(env["nonce"])
        except (ValueError, KeyError, TypeError):
            problems.append("reply is not the JSON envelope {encrypt, msgsignature, timestamp, nonce}")
            return {"kind": "bad_reply"}
        # the AI bot's receiveid is empty
        plain, failed = open_reply(self.aibot_crypto, enc, sig, ts, nonce, "", problems, "msgsignature")
        if failed:
            return {"kind": failed}
        try:
            body = json.loads(plain)
        except ValueError:
            problems.append("decrypted reply is not JSON")
            return {"kind": "bad_reply"}
        mt = body.get("msgtype") if isinstance(body, dict) else None
        if mt in ("stream", "stream_with_template_card") and isinstance(body.get("stream"), dict):
            s = body["stream"]
            content = s.get("content") or ""
            if not s.get("id"):
                problems.append("stream reply without stream.id")
            if utf8_len(content) > STREAM_MAX:
                problems.append(f"stream content {utf8_len(content)} bytes > {STREAM_MAX}; truncated")
                content = truncate_utf8(content, STREAM_MAX)
            if mt == "stream_with_template_card":
                return {"kind": mt, "plain": body, "content": content}
            return {"kind": "stream_final" if s.get("finish") else "stream", "plain": body, "content": content}
        if mt == "template_card":
            return {"kind": "template_card", "plain": body}
        if mt == "text":
            problems.append("a text reply is only allowed as the welcome to enter_chat; WeCom ignores it here")
            return {"kind": "text", "plain": body}
        problems.append(f"unsupported reply msgtype {mt!r}")
        return {"kind": "bad_reply"}

    # --- forged callbacks (the bot must refuse them unprocessed, wecom.md §8.1/§8.3) ---------------------
    FORGERIES = ("bad_signature", "wrong_receiveid", "wrong_key", "stale_timestamp", "entity", "garbage")

    def forge(self, channel: str, kind: str, user: str, text: str, chat=None) -> dict:
        """Send ONE tampered callback synchronously; -> {"msgid","status","body"}. Recorded in deliveries."""
        st = self.state
        crypto = self.aibot_crypto if channel == "aibot" else self.app_crypto
        if channel == "aibot":
            msgid = secrets.token_hex(16)
            payload = {"msgid": msgid, "aibotid": st.aibotid, "chattype": "single", "from": {"userid": user},
                       "msgtype": "text", "text": {"content": text}}
            if chat is not None and not chat.is_dm:
                payload.update({"chatid": chat.aibot_chatid, "chattype": "group"})
            plain = json.dumps(payload, ensure_ascii=False)
        else:
            msgid = st.next_msgid()
            plain = (f"<xml><ToUserName>{cdata(st.corp_id)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
                     f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{cdata('text')}</MsgType>"
                     f"<Content>{cdata(text)}</Content><MsgId>{msgid}</MsgId><AgentID>{st.agent_id}</AgentID></xml>")
        ts, nonce = str(int(time.time())), random_nonce()
        if kind == "stale_timestamp":
            ts = str(int(time.time()) - 3600)
        if kind == "wrong_receiveid":
            enc = WeComCrypto(crypto.token, crypto.encoding_aes_key, "wwforged0000").encrypt(plain)
        elif kind == "wrong_key":
            enc = WeComCrypto(crypto.token, "A" * 43, crypto.receiveid).encrypt(plain)
        else:
            enc = crypto.encrypt(plain)
        sig = crypto.sign(ts, nonce, enc)
        if kind == "bad_signature":
            sig = signature(crypto.token + "x", ts, nonce, enc)
        if channel == "aibot":
            path, headers = "/wecom/aibot/callback", {"Content-Type": "application/json"}
            data = json.dumps({"encrypt": enc}).encode()
            if kind == "garbage":
                data = b"{not json"
            elif kind == "entity":
                data = json.dumps({"encrypt": enc, "x": "<!ENTITY a 'b'>"}).encode()
        else:
            path, headers = "/wecom/callback", {"Content-Type": "text/xml"}
            data = (f"<xml><ToUserName>{cdata(st.corp_id)}</ToUserName><Encrypt>{cdata(enc)}</Encrypt>"
                    f"<AgentID>{cdata(st.agent_id)}</AgentID></xml>").encode()
            if kind == "garbage":
                data = b"<xml><Encrypt>"
            elif kind == "entity":
                data = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
                        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                        + data.replace(b"<AgentID>", b"<Note>&c;</Note><AgentID>"))
        url = f"{st.bot_url}{path}?" + urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce})
        entry = {"msgid": msgid, "parent": None, "channel": channel, "kind": f"forged:{kind}", "attempt": 1,
                 "status": None, "elapsed_ms": None, "reply_kind": None, "problems": [], "timestamp": ts,
                 "nonce": nonce, "msg_signature": sig, "time": round(time.time(), 3)}
        t0 = time.monotonic()
        body = None
        try:
            r = self._session().post(url, data=data, headers=headers, timeout=st.callback_timeout)
            entry["status"], body = r.status_code, r.text[:2000]
            entry["outcome"] = "ok" if r.status_code == 200 else "http_error"
            entry["reply_kind"] = "refused" if 400 <= r.status_code < 500 else f"http_{r.status_code}"
            if r.status_code == 200:
                entry["problems"].append(f"forged callback ({kind}) was accepted with 200")
            elif r.status_code >= 500:
                entry["problems"].append(f"forged callback ({kind}) caused a server error {r.status_code}")
        except requests.Timeout:
            entry["outcome"] = entry["reply_kind"] = "timeout"
        except requests.RequestException as e:
            entry["outcome"] = entry["reply_kind"] = "connection_error"
            entry["problems"].append(repr(e))
        entry["elapsed_ms"] = round((time.monotonic() - t0) * 1000, 1)
        st.record_delivery(entry)
        return {"msgid": msgid, "status": entry["status"], "body": body, "reply_kind": entry["reply_kind"],
                "problems": list(entry["problems"])}

    # --- self-built app (one-to-one) ----------------------------------------------------------------------
    def app_message(self, user: str, *, text: Optional[str] = None, event: Optional[str] = None,
                    event_key: str = "", task_id: str = "", picture: Optional[bytes] = None,
                    public_url: str = "") -> str:
        st = self.state
        now = int(time.time())
        head = (f"<xml><ToUserName>{cdata(st.corp_id)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
                f"<CreateTime>{now}</CreateTime>")
        if picture is not None:
            msgid = st.next_msgid()
            pid, media_id = st.add_picture(picture, media=True)
            url = f"{public_url.rstrip('/')}/sim/picture/{pid}"
            xml = (head + f"<MsgType>{cdata('image')}</MsgType><PicUrl>{cdata(url)}</PicUrl>"
                   f"<MediaId>{cdata(media_id)}</MediaId><MsgId>{msgid}</MsgId><AgentID>{st.agent_id}</AgentID></xml>")
        elif event is None:
            msgid = st.next_msgid()
            xml = (head + f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(text)}</Content>"
                   f"<MsgId>{msgid}</MsgId><AgentID>{st.agent_id}</AgentID></xml>")
        else:
            # events carry no MsgId; the id here only names the delivery in /sim/deliveries
            msgid = f"event-{st.next_msgid()}"
            xml = head + f"<MsgType>{cdata('event')}</MsgType><Event>{cdata(event)}</Event>" \
                         f"<EventKey>{cdata(event_key or '')}</EventKey>"
            if event == "taskcard_click":
                xml += f"<TaskId>{cdata(task_id or '')}</TaskId>"
            xml += f"<AgentID>{st.agent_id}</AgentID></xml>"
        self._spawn(self._run_app, (user, xml, msgid), f"sim-app-{msgid[-8:]}")
        return msgid

    def _run_app(self, user, xml, msgid):
        st = self.state
        try:
            parse = lambda text, entry: self._parse_app_reply(text, entry, user)  # noqa: E731
            reply = self._deliver("app", xml, msgid, parse=parse)
            if reply and reply.get("text") is not None:
                st.add_message(f"dm:{user}", "bot", reply["text"], reply["msgtype"], via="app_passive",
                               reply_to=msgid)
        except Exception as e:
            st.record_delivery({"msgid": msgid, "parent": None, "channel": "app", "kind": "internal",
                                "attempt": 0, "status": None, "elapsed_ms": 0, "reply_kind": "internal_error",
                                "outcome": "internal_error", "problems": [repr(e)], "time": time.time()})

    def _parse_app_reply(self, text: str, entry: dict, user: str) -> dict:
        st = self.state
        problems = entry["problems"]
        if not text or not text.strip():
            return {"kind": "empty"}
        if text.strip() == "success":
            problems.append("'success' is the 公众号 convention; WeCom expects an empty body")
            return {"kind": "plain"}
        try:
            root = _parse_xml(text)
            enc = root.findtext("Encrypt")
            sig = root.findtext("MsgSignature")
            ts = root.findtext("TimeStamp")
            nonce = root.findtext("Nonce")
        except (ET.ParseError, ValueError) as e:
            problems.append(f"reply envelope is not valid XML: {e}")
            return {"kind": "bad_reply"}
        if not enc or not sig or not ts or not nonce:
            problems.append("reply envelope lacks Encrypt/MsgSignature/TimeStamp/Nonce")
            return {"kind": "bad_reply"}
        plain, failed = open_reply(self.app_crypto, enc, sig, ts, nonce, st.corp_id, problems)
        if failed:
            return {"kind": failed}
        try:
            inner = _parse_xml(plain)
        except (ET.ParseError, ValueError) as e:
            hint = " (']]>' inside CDATA?)" if "]]>" in plain.replace("]]></", "") else ""
            problems.append(f"broken reply XML{hint}: {e}")
            return {"kind": "bad_reply"}
        to, frm = inner.findtext("ToUserName"), inner.findtext("FromUserName")
        if to != user or frm != st.corp_id:
            problems.append(f"ToUserName/FromUserName not swapped: To={to!r} From={frm!r} "
                            f"(expected To={user!r} From={st.corp_id!r})")
        mt = inner.findtext("MsgType") or ""
        if mt == "text":
            content = inner.findtext("Content") or ""
            if utf8_len(content) > APP_TEXT_MAX:
                problems.append(f"Content {utf8_len(content)} bytes > {APP_TEXT_MAX}; WeCom truncates it")
                content = truncate_utf8(content, APP_TEXT_MAX)
            return {"kind": "text", "text": content, "msgtype": "text"}
        if mt == "news":
            items = inner.findall("./Articles/item")
            text = "\n\n".join(f"[{i.findtext('Title') or ''}]({i.findtext('Url') or ''})" for i in items)
            if not 1 <= len(items) <= 8:
                problems.append(f"news reply with {len(items)} articles (1-8 allowed)")
            return {"kind": "news", "text": text, "msgtype": "news"}
        if mt in ("image", "voice", "video"):
            return {"kind": mt, "text": f"[{mt}]", "msgtype": mt}
        if mt == "update_button":
            return {"kind": mt, "text": None}
        problems.append(f"unsupported passive reply MsgType {mt!r}")
        return {"kind": "bad_reply"}
