"""Intelligent bot (智能机器人, API mode) callback at /wecom/aibot/callback: encrypted JSON.

It hears @-mentions in internal group chats and one-to-one chats. The passive answer is a
finished `stream` message; an answer not ready in time goes to the one-use response_url.
"""
from __future__ import annotations

import json
import re
import time

from flask import Blueprint, Response, request, jsonify

from bot.channels.common import callback_view, open_envelope, service, verify_url
from bot.channels.crypto import CallbackRejected
from bot.message import Message
from bot.models import InboundMessage

bp = Blueprint("aibot", __name__)

@bp.get("/wecom/aibot/callback")
def verify():
    return verify_url(service().aibot_crypto)


@bp.post("/wecom/aibot/callback")
@callback_view
def callback():
    started = time.monotonic()
    svc = service()
    try:
        envelope = json.loads(request.get_data() or b"")
    except ValueError:
        raise CallbackRejected(400, "malformed JSON")
    encrypt = envelope.get("encrypt") if isinstance(envelope, dict) else None
    if not isinstance(encrypt, str) or not encrypt:
        raise CallbackRejected(400, "no encrypt field")
    plain, guard = open_envelope("aibot", svc.aibot_crypto, encrypt)
    try:
        data = json.loads(plain)
    except ValueError:
        raise CallbackRejected(400, "decrypted body is not JSON")
    if not isinstance(data, dict):
        raise CallbackRejected(400, "decrypted body is not a JSON object")
    if data.get("msgtype") == "stream":
        svc.inbox.remember(guard)
        return _stream_refresh(svc, data)
    msg = to_message(data, svc.config)
    replies = svc.inbox.receive(msg, started, guard)
    if not replies:
        return Response("", status=200)
    return _stream_answer(svc, msg.dedupe_key, "\n\n".join(r.text for r in replies))


def _stream_answer(svc, stream_id: str, content: str) -> Response:
    plain = json.dumps({"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": content}},
                       ensure_ascii=False)
    return jsonify(svc.aibot_crypto.encrypt_parts(plain))


def _stream_refresh(svc, data: dict) -> Response:
    """WeCom polls an unfinished stream; ours finish at once, so answer what was said, finished."""
    stream_id = str((data.get("stream") or {}).get("id") or "")
    with svc.sessions() as s:
        row = s.query(InboundMessage).filter_by(channel="aibot", dedupe_key=stream_id).first()
    if row is None or not row.passive_reply:
        return _stream_answer(svc, stream_id, "")
    return _stream_answer(svc, stream_id, "\n\n".join(r["text"] for r in json.loads(row.passive_reply)))


def strip_mention(text: str, bot_name: str) -> str:
    """'@反诈哨兵 有人让我刷单' → '有人让我刷单' (the mention may stand anywhere)."""
    text = re.sub(r"@" + re.escape(bot_name) + r"[\s\u2005\u00a0]*", " ", text)
    return text.strip()


def _quoted(q) -> str:
    """The text of the message a reply quotes (`quote: {msgtype, text: {content}}`, [D:100719]), or ""."""
    if not isinstance(q, dict):
        return ""
    if q.get("msgtype") == "mixed":
        items = (q.get("mixed") or {}).get("msg_item") or []
        return " ".join(str((i.get("text") or {}).get("content") or "") for i in items if isinstance(i, dict))
    return str((q.get("text") or {}).get("content") or "")


def to_message(d: dict, config) -> Message:
    msgid = d.get("msgid")
    sender = (d.get("from") or {}).get("userid") if isinstance(d.get("from"), dict) else None
    msgtype = d.get("msgtype")
    if not msgid or not sender or not isinstance(msgtype, str):
        raise CallbackRejected(400, "message without msgid, from.userid or msgtype")
    chat_type = "group" if d.get("chattype") == "group" else "single"
    chat_id = None
    if chat_type == "group":
        raw_chat = str(d.get("chatid") or "")
        group = config.group_by_aibot_chatid(raw_chat)
        chat_id = group.id if group else raw_chat
    text = ""
    if msgtype == "text":
        text = str((d.get("text") or {}).get("content") or "")
    elif msgtype == "mixed":
        items = (d.get("mixed") or {}).get("msg_item") or []
        text = " ".join(str((i.get("text") or {}).get("content") or "") for i in items if i.get("msgtype") == "text")
    elif msgtype == "quote":
        text = str((d.get("text") or {}).get("content") or "")
    event = None
    if msgtype == "event":
        event = str((d.get("event") or {}).get("eventtype") or "")
    return Message(channel="aibot", sender=str(sender), text=strip_mention(text, config.wecom.aibot.name),
                   dedupe_key=str(msgid), chat_type=chat_type, chat_id=chat_id, msg_type=msgtype, event=event,
                   extra={"response_url": d.get("response_url"), "aibotid": d.get("aibotid"),
                          "quote": _quoted(d.get("quote"))})
