"""Self-built app (自建应用) callback at /wecom/callback: XML, one-to-one messages and events.

A self-built app hears only one-to-one chats with it, never group chats (reference/wecom.md §0).
"""
from __future__ import annotations

import time

from flask import Blueprint, Response, request

from bot.channels.common import callback_view, open_envelope, parse_xml, service, text_reply_xml, verify_url
from bot.channels.crypto import CallbackRejected
from bot.message import Message
from bot.outbox import LIMITS, split_utf8

bp = Blueprint("wecom_app", __name__)


@bp.get("/wecom/callback")
def verify():
    return verify_url(service().app_crypto)


@bp.post("/wecom/callback")
@callback_view
def callback():
    started = time.monotonic()
    svc = service()
    envelope = parse_xml(request.get_data())
    encrypt = envelope.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise CallbackRejected(400, "no Encrypt element")
    plain, guard = open_envelope("app", svc.app_crypto, encrypt)
    msg = to_message(parse_xml(plain))
    replies = svc.inbox.receive(msg, started, guard)
    if not replies:
        return Response("", status=200)
    text = "\n\n".join(r.text for r in replies)
    parts = split_utf8(text, LIMITS[("app", "text")])
    if len(parts) > 1:
        svc.outbox.to_users([msg.sender], "\n".join(parts[1:]), dedupe_key=f"rest:app:{msg.dedupe_key}")
    plain = text_reply_xml(msg.sender, svc.config.wecom.corp_id, parts[0])
    return Response(svc.app_crypto.encrypt_xml(plain), mimetype="application/xml")


def to_message(x: dict) -> Message:
    """The decrypted inner XML of a self-built app callback as a Message."""
    sender = x.get("FromUserName")
    msg_type = x.get("MsgType")
    if not isinstance(sender, str) or not sender or not isinstance(msg_type, str):
        raise CallbackRejected(400, "message without FromUserName or MsgType")
    create_time = str(x.get("CreateTime") or "0")
    if msg_type == "event":
        event = str(x.get("Event") or "")
        event_key = str(x.get("EventKey") or "")
        # events carry no MsgId: WeCom's own rule is sender + CreateTime (+ what was clicked)
        key = f"{sender}:{create_time}:{event}:{event_key}:{x.get('TaskId') or ''}"
        return Message(channel="app", sender=sender, text="", dedupe_key=key, msg_type="event", event=event,
                       event_key=event_key, time=int(create_time) if create_time.isdigit() else 0,
                       extra={"task_id": x.get("TaskId")})
    msg_id = x.get("MsgId")
    if not msg_id:
        raise CallbackRejected(400, "message without MsgId")
    text = x.get("Content") if msg_type == "text" else ""
    return Message(channel="app", sender=sender, text=str(text or "").strip(), dedupe_key=str(msg_id),
                   msg_type=msg_type, time=int(create_time) if create_time.isdigit() else 0)
