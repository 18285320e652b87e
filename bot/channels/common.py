"""What the WeCom-style callback endpoints do before a message exists: check, decrypt, refuse replays."""
from __future__ import annotations

import functools
import logging
import time

import xmltodict
from flask import Response, request

from bot.channels.crypto import CallbackCrypto, CallbackRejected
from bot.core.inbox import BadMessage, Guard, Replayed

log = logging.getLogger(__name__)


def signed_params() -> tuple[str, str, str]:
    args = request.args
    sig, ts, nonce = args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", "")
    if not (sig and ts and nonce):
        raise CallbackRejected(400, "missing msg_signature, timestamp or nonce")
    if not ts.isdigit():
        raise CallbackRejected(400, "timestamp is not a number")
    return sig, ts, nonce


def verify_url(crypto: CallbackCrypto) -> Response:
    """GET verification: answer the bare decrypted echostr (WeCom wants it within 1 s)."""
    try:
        sig, ts, nonce = signed_params()
        echostr = request.args.get("echostr", "")
        if not echostr:
            raise CallbackRejected(400, "missing echostr")
        plain = crypto.verify_url(sig, ts, nonce, echostr)
    except CallbackRejected as e:
        return rejected(e)
    return Response(plain, mimetype="text/plain")


def check_window(runtime, now, timestamp: str) -> None:
    """Refuse a callback whose timestamp is further off than the replay window."""
    if abs(now.timestamp() - int(timestamp)) > runtime.config.wecom.replay_window_seconds:
        raise CallbackRejected(403, "timestamp outside the replay window")


def open_envelope(runtime, channel: str, crypto: CallbackCrypto, encrypt: str) -> tuple[str, Guard]:
    """Check timestamp and signature and decrypt; the Guard refuses a replay when recorded."""
    sig, ts, nonce = signed_params()
    now = runtime.clock()
    check_window(runtime, now, ts)
    plain = crypto.decrypt(encrypt, sig, ts, nonce)
    return plain, Guard(channel, sig, now)


def callback_view(view):
    """A callback view whose refusals (CallbackRejected, a replayed signature) become 400/403."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except CallbackRejected as e:
            return rejected(e)
        except Replayed:
            return rejected(CallbackRejected(403, "replayed request"))
        except BadMessage as e:
            return rejected(CallbackRejected(400, f"message refused: {e}"))
    return wrapper


def text_reply_xml(to: str, frm: str, content: str) -> str:
    """The plaintext XML of a passive text reply (WeCom app and official account alike)."""
    return ("<xml><ToUserName>{to}</ToUserName><FromUserName>{frm}</FromUserName><CreateTime>{t}</CreateTime>"
            "<MsgType><![CDATA[text]]></MsgType><Content>{c}</Content></xml>").format(
        to=cdata(to), frm=cdata(frm), t=int(time.time()), c=cdata(content))


def parse_xml(body: bytes | str) -> dict:
    """Parse XML with entities refused (no XXE, no billion laughs)."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise CallbackRejected(400, "body is not UTF-8")
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise CallbackRejected(400, "DOCTYPE or ENTITY in XML")
    try:
        doc = xmltodict.parse(text, disable_entities=True)
    except Exception as e:
        raise CallbackRejected(400, f"malformed XML: {type(e).__name__}")
    if not isinstance(doc, dict) or not isinstance(doc.get("xml"), dict):
        raise CallbackRejected(400, "XML without <xml> root")
    return doc["xml"]


def cdata(text: str) -> str:
    """Text inside CDATA; a `]]>` in it is split so the XML stays well formed."""
    return "<![CDATA[" + str(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def rejected(e: CallbackRejected) -> Response:
    log.warning("callback refused (%s): %s %s", e.status, request.path, e.reason)
    return Response(e.reason, status=e.status, mimetype="text/plain")
