"""The WeChat official account (公众号) callback at /mp/callback: XML, plaintext or safe mode.

Plaintext mode (mp.encoding_aes_key empty): `signature` = SHA-1 of sorted (token, timestamp,
nonce) and a plain XML body. The body itself is not signed, so a signature is accepted once only
(the replay guard) and only within the replay window. Safe mode: `msg_signature` over the
`Encrypt` element (same WXBizMsgCrypt scheme as WeCom, receiveid = AppID), and the reply is
encrypted too (reference/wecom.md §6).

WeChat gives up after 5 s and retries (same MsgId; events: FromUserName + CreateTime). An answer
not ready in time is answered `success` and sent later as a customer-service message.
"""
from __future__ import annotations

import hashlib
import hmac
import time

from flask import Blueprint, Response, request

from bot.channels.common import callback_view, check_window, parse_xml, rejected, service, text_reply_xml
from bot.channels.crypto import CallbackRejected
from bot.inbox import Guard
from bot.message import Message
from bot.outbox import LIMITS, plain_text, split_utf8

bp = Blueprint("mp", __name__)


def plain_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode("utf-8")).hexdigest()


def _mp_config():
    cfg = service().config.mp
    if cfg is None:
        raise CallbackRejected(404, "no official account configured")
    return cfg


def _params(*names: str) -> list[str]:
    values = [request.args.get(n, "") for n in names]
    if not all(values):
        raise CallbackRejected(400, "missing " + ", ".join(n for n, v in zip(names, values) if not v))
    return values


def _check_plain(cfg, signature: str, timestamp: str, nonce: str) -> None:
    if not timestamp.isdigit():
        raise CallbackRejected(400, "timestamp is not a number")
    if not hmac.compare_digest(plain_signature(cfg.token, timestamp, nonce), signature.lower()):
        raise CallbackRejected(403, "bad signature")


@bp.get("/mp/callback")
def verify():
    """Server URL check: in both modes WeChat signs (token, timestamp, nonce); echo echostr as is."""
    try:
        cfg = _mp_config()
        signature, timestamp, nonce, echostr = _params("signature", "timestamp", "nonce", "echostr")
        _check_plain(cfg, signature, timestamp, nonce)
    except CallbackRejected as e:
        return rejected(e)
    return Response(echostr, mimetype="text/plain")


@bp.post("/mp/callback")
@callback_view
def callback():
    started = time.monotonic()
    svc = service()
    cfg = _mp_config()
    timestamp, nonce = _params("timestamp", "nonce")
    if not timestamp.isdigit():
        raise CallbackRejected(400, "timestamp is not a number")
    now = svc.clock()
    if cfg.safe_mode:
        msg_signature, = _params("msg_signature")
        if request.args.get("encrypt_type", "aes") != "aes":
            raise CallbackRejected(400, "safe mode: encrypt_type must be aes")
        if request.args.get("signature"):
            _check_plain(cfg, request.args["signature"], timestamp, nonce)
        envelope = parse_xml(request.get_data())
        encrypt = envelope.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise CallbackRejected(400, "no Encrypt element")
        check_window(svc, now, timestamp)
        plain = svc.mp_crypto.decrypt(encrypt, msg_signature, timestamp, nonce)
        guard = Guard("mp", msg_signature, now)
    else:
        if request.args.get("encrypt_type") == "aes":
            raise CallbackRejected(400, "an encrypted message, but MP_ENCODING_AES_KEY is not set")
        signature, = _params("signature")
        _check_plain(cfg, signature, timestamp, nonce)
        check_window(svc, now, timestamp)
        plain = request.get_data()
        guard = Guard("mp", signature.lower(), now)
    inner = parse_xml(plain)
    msg = to_message(inner)
    replies = svc.inbox.receive(msg, started, guard)
    if not replies:
        # "success": WeChat shows nothing and does not retry (an empty body works as well)
        return Response("success", mimetype="text/plain")
    text = plain_text("\n\n".join(r.text for r in replies))
    parts = split_utf8(text, LIMITS[("mp", "text")])
    if len(parts) > 1:
        svc.outbox.to_mp(msg.sender, "\n".join(parts[1:]), dedupe_key=f"rest:mp:{msg.dedupe_key}")
    xml = text_reply_xml(msg.sender, msg.extra.get("account") or cfg.app_id, parts[0])
    if cfg.safe_mode:
        xml = svc.mp_crypto.encrypt_xml(xml)
    return Response(xml, mimetype="application/xml")


def to_message(x: dict) -> Message:
    """The (decrypted) XML of an official account message or event as a Message."""
    openid, msg_type = x.get("FromUserName"), x.get("MsgType")
    if not isinstance(openid, str) or not openid or not isinstance(msg_type, str) or not msg_type:
        raise CallbackRejected(400, "message without FromUserName or MsgType")
    create_time = str(x.get("CreateTime") or "0")
    t = int(create_time) if create_time.isdigit() else 0
    extra = {"account": x.get("ToUserName") if isinstance(x.get("ToUserName"), str) else None}
    if msg_type == "event":
        event = str(x.get("Event") or "")
        event_key = str(x.get("EventKey") or "")
        # events carry no MsgId: dedupe on FromUserName + CreateTime (+ the event)
        return Message(channel="mp", sender=openid, text="", dedupe_key=f"{openid}:{create_time}:{event}",
                       msg_type="event", event=event, event_key=event_key, time=t, extra=extra)
    msg_id = x.get("MsgId")
    if not msg_id or not isinstance(msg_id, str):
        raise CallbackRejected(400, "message without MsgId")
    text = x.get("Content") if msg_type == "text" else ""
    return Message(channel="mp", sender=openid, text=str(text or "").strip(), dedupe_key=str(msg_id),
                   msg_type=msg_type, time=t, extra=extra)
