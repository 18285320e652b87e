"""Intelligent bot (智能机器人, API mode): its callback at /wecom/aibot/callback, encrypted JSON.

It hears @-mentions in internal group chats and one-to-one chats. The passive answer is a
finished `stream` message (markdown); an answer not ready in time goes to the one-use
response_url (aibot/response, markdown up to 20480 bytes: one message, trimmed). It cannot push
on its own: a group reached only by this bot (send.via aibot) cannot get scheduled pushes.
"""
from __future__ import annotations

import json
import re
import time
from typing import Optional

from flask import Blueprint, Response, jsonify, request

from bot.channels.base import Adapter, Address, PictureUnavailable, SendError, split_utf8
from bot.channels.common import callback_view, open_envelope, verify_url
from bot.channels.crypto import CallbackCrypto, CallbackRejected, decrypt_file
from bot.core.message import Message, Reply


class AibotAdapter(Adapter):
    name = "aibot"
    markup = True
    text_limit = 20480
    rich_limit = 20480
    kinds = ("text",)

    def __init__(self, runtime):
        super().__init__(runtime)
        a = self.config.wecom.aibot
        self.crypto = CallbackCrypto(a.token, a.encoding_aes_key, "")

    def reach(self, group) -> Optional[tuple[str, str]]:
        if group.send.via != "aibot":
            return None
        return "智能机器人", "只回答群里@机器人的问题，不能主动推送"

    # --- inbound ------------------------------------------------------------------------------
    def blueprint(self) -> Blueprint:
        bp = Blueprint("aibot", __name__)
        bp.add_url_rule("/wecom/aibot/callback", "verify", lambda: verify_url(self.crypto), methods=["GET"])
        bp.add_url_rule("/wecom/aibot/callback", "callback", callback_view(self.callback), methods=["POST"])
        return bp

    def callback(self) -> Response:
        started = time.monotonic()
        rt = self.runtime
        try:
            envelope = json.loads(request.get_data() or b"")
        except ValueError:
            raise CallbackRejected(400, "malformed JSON")
        encrypt = envelope.get("encrypt") if isinstance(envelope, dict) else None
        if not isinstance(encrypt, str) or not encrypt:
            raise CallbackRejected(400, "no encrypt field")
        plain, guard = open_envelope(rt, "aibot", self.crypto, encrypt)
        try:
            data = json.loads(plain)
        except ValueError:
            raise CallbackRejected(400, "decrypted body is not JSON")
        if not isinstance(data, dict):
            raise CallbackRejected(400, "decrypted body is not a JSON object")
        if data.get("msgtype") == "stream":
            rt.inbox.remember(guard)
            return self._stream_refresh(data)
        msg = to_message(data, self.config)
        replies = rt.inbox.receive(msg, started, guard)
        if not replies:
            return Response("", status=200)
        return self._stream_answer(msg.dedupe_key, self.passive_text(replies))

    def passive_text(self, replies: list[Reply]) -> str:
        return "\n\n".join(r.rich or r.text for r in replies)

    def _stream_answer(self, stream_id: str, content: str) -> Response:
        plain = json.dumps({"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": content}},
                           ensure_ascii=False)
        return jsonify(self.crypto.encrypt_parts(plain))

    def _stream_refresh(self, data: dict) -> Response:
        """WeCom polls an unfinished stream; ours finish at once, so answer what was said, finished."""
        stream_id = _str(_obj(data.get("stream")).get("id"))
        replies = self.runtime.inbox.passive_replies("aibot", stream_id)
        return self._stream_answer(stream_id, self.passive_text(replies) if replies else "")

    def late_address(self, msg: Message):
        url = msg.extra.get("response_url")
        if url:
            return Address(self.name, url, msg.chat_id)
        return super().late_address(msg)

    def fetch_picture(self, ref: str, limit: int) -> bytes:
        """A picture's URL (valid five minutes) serves it encrypted with this bot's key."""
        try:
            data = self.runtime.api.download(ref, limit + 32)
        except SendError as e:
            raise PictureUnavailable("network" if e.retriable else "gone", str(e))
        try:
            return decrypt_file(self.config.wecom.aibot.encoding_aes_key, data)
        except ValueError as e:
            raise PictureUnavailable("corrupt", str(e))

    # --- outbound: the response_url of a late answer --------------------------------------------
    def parts(self, payload: dict, kind: str) -> list[dict]:
        if kind != "text":
            raise SendError(-10, f"a late answer cannot carry {kind}", retriable=False)
        # response_url is single use: one message, trimmed to the limit
        return [dict(payload, text=split_utf8(payload["text"], self.rich_limit)[0])]

    def render(self, row) -> dict:
        return {"msgtype": "markdown", "markdown": {"content": row.payload["text"]}}

    def deliver(self, row) -> dict:
        return self.runtime.api.post_url(row.target, self.render(row))


def strip_mention(text: str, bot_name: str) -> str:
    """'@反诈哨兵 有人让我刷单' → '有人让我刷单' (the mention may stand anywhere)."""
    text = re.sub(r"@" + re.escape(bot_name) + r"[\s\u2005\u00a0]*", " ", text)
    return text.strip()


def _obj(v) -> dict:
    """A JSON object, or {} for anything else (a field of the wrong type is read as absent)."""
    return v if isinstance(v, dict) else {}


def _str(v) -> str:
    return str(v) if isinstance(v, (str, int, float)) and not isinstance(v, bool) else ""


def _items_text(mixed) -> str:
    items = _obj(mixed).get("msg_item")
    return " ".join(_str(_obj(_obj(i).get("text")).get("content")) for i in (items if isinstance(items, list) else [])
                    if _obj(i).get("msgtype") == "text")


def _picture_urls(d: dict) -> tuple[str, ...]:
    """The image URLs of an image message, or of the images in a mixed one ([D:100719])."""
    if d.get("msgtype") == "image":
        items = [{"msgtype": "image", "image": d.get("image")}]
    elif d.get("msgtype") == "mixed":
        items = _obj(d.get("mixed")).get("msg_item")
        items = items if isinstance(items, list) else []
    else:
        return ()
    urls = (_str(_obj(_obj(i).get("image")).get("url")) for i in items if _obj(i).get("msgtype") == "image")
    return tuple(u for u in urls if u.startswith(("http://", "https://")))


def _quoted(q) -> str:
    """The text of the message a reply quotes (`quote: {msgtype, text: {content}}`, [D:100719]), or ""."""
    q = _obj(q)
    if q.get("msgtype") == "mixed":
        return _items_text(q.get("mixed"))
    return _str(_obj(q.get("text")).get("content"))


def to_message(d: dict, config) -> Message:
    msgid, sender, msgtype = _str(d.get("msgid")), _str(_obj(d.get("from")).get("userid")), d.get("msgtype")
    if not msgid or not sender or not isinstance(msgtype, str):
        raise CallbackRejected(400, "message without msgid, from.userid or msgtype")
    chat_type = "group" if d.get("chattype") == "group" else "single"
    chat_id: Optional[str] = None
    if chat_type == "group":
        raw_chat = _str(d.get("chatid"))
        if not raw_chat:
            raise CallbackRejected(400, "group message without chatid")
        group = config.group_by_aibot_chatid(raw_chat)
        chat_id = group.id if group else raw_chat
    text = ""
    if msgtype in ("text", "quote"):
        text = _str(_obj(d.get("text")).get("content"))
    elif msgtype == "mixed":
        text = _items_text(d.get("mixed"))
    event = _str(_obj(d.get("event")).get("eventtype")) if msgtype == "event" else None
    url = d.get("response_url")
    pictures = _picture_urls(d)
    return Message(channel="aibot", sender=sender, text=strip_mention(text, config.wecom.aibot.name),
                   dedupe_key=msgid, chat_type=chat_type, chat_id=chat_id, msg_type="image" if pictures else msgtype,
                   event=event, pictures=pictures,
                   extra={"response_url": url if isinstance(url, str) and url.startswith("http") else None,
                          "aibotid": _str(d.get("aibotid")) or None, "quote": _quoted(d.get("quote"))})


ADAPTER = AibotAdapter
