"""The WeChat official account (公众号): its callback at /mp/callback and customer-service messages.

Plaintext mode (mp.encoding_aes_key empty): `signature` = SHA-1 of sorted (token, timestamp,
nonce) and a plain XML body. The body itself is not signed, so a signature is accepted once only
(the replay guard) and only within the replay window. Safe mode: `msg_signature` over the
`Encrypt` element (same WXBizMsgCrypt scheme as WeCom, receiveid = AppID), and the reply is
encrypted too (reference/wecom.md §6).

WeChat gives up after 5 s and retries (same MsgId; events: FromUserName + CreateTime). An answer
not ready in time is answered `success` and sent later as a customer-service message (客服消息,
message/custom/send, allowed for 48 h after the follower's last message). WeChat users see no
markdown: plain text only. A follower is identified by an openid, never as a WeCom member.
"""
from __future__ import annotations

import hashlib
import hmac
import time

from flask import Blueprint, Response, request

from bot.channels.base import Adapter, Address, PictureUnavailable, SendError
from bot.channels.common import callback_view, check_window, parse_xml, rejected, text_reply_xml
from bot.channels.crypto import CallbackCrypto, CallbackRejected
from bot.channels.mp_api import MpApi
from bot.core.inbox import Guard
from bot.core.message import Message
from content import markup


def plain_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode("utf-8")).hexdigest()


class MpAdapter(Adapter):
    name = "mp"
    markup = False
    text_limit = 2048
    kinds = ("text",)

    def __init__(self, runtime):
        super().__init__(runtime)
        cfg = self.config.mp
        self.api = MpApi(self.config, runtime.sessions) if cfg is not None else None
        # the official account in safe mode: the same scheme, receiveid = AppID (reference/wecom.md §6)
        self.crypto = (CallbackCrypto(cfg.token, cfg.encoding_aes_key, cfg.app_id)
                       if cfg is not None and cfg.safe_mode else None)

    # --- inbound ------------------------------------------------------------------------------
    def blueprint(self) -> Blueprint:
        bp = Blueprint("mp", __name__)
        bp.add_url_rule("/mp/callback", "verify", self.verify, methods=["GET"])
        bp.add_url_rule("/mp/callback", "callback", callback_view(self.callback), methods=["POST"])
        return bp

    def _mp_config(self):
        if self.config.mp is None:
            raise CallbackRejected(404, "no official account configured")
        return self.config.mp

    @staticmethod
    def _params(*names: str) -> list[str]:
        values = [request.args.get(n, "") for n in names]
        if not all(values):
            raise CallbackRejected(400, "missing " + ", ".join(n for n, v in zip(names, values) if not v))
        return values

    @staticmethod
    def _check_plain(cfg, signature: str, timestamp: str, nonce: str) -> None:
        if not timestamp.isdigit():
            raise CallbackRejected(400, "timestamp is not a number")
        if not hmac.compare_digest(plain_signature(cfg.token, timestamp, nonce), signature.lower()):
            raise CallbackRejected(403, "bad signature")

    def verify(self) -> Response:
        """Server URL check: in both modes WeChat signs (token, timestamp, nonce); echo echostr as is."""
        try:
            cfg = self._mp_config()
            signature, timestamp, nonce, echostr = self._params("signature", "timestamp", "nonce", "echostr")
            self._check_plain(cfg, signature, timestamp, nonce)
        except CallbackRejected as e:
            return rejected(e)
        return Response(echostr, mimetype="text/plain")

    def callback(self) -> Response:
        started = time.monotonic()
        rt = self.runtime
        cfg = self._mp_config()
        timestamp, nonce = self._params("timestamp", "nonce")
        if not timestamp.isdigit():
            raise CallbackRejected(400, "timestamp is not a number")
        now = rt.clock()
        if cfg.safe_mode:
            msg_signature, = self._params("msg_signature")
            if request.args.get("encrypt_type", "aes") != "aes":
                raise CallbackRejected(400, "safe mode: encrypt_type must be aes")
            if request.args.get("signature"):
                self._check_plain(cfg, request.args["signature"], timestamp, nonce)
            envelope = parse_xml(request.get_data())
            encrypt = envelope.get("Encrypt")
            if not isinstance(encrypt, str) or not encrypt:
                raise CallbackRejected(400, "no Encrypt element")
            check_window(rt, now, timestamp)
            plain = self.crypto.decrypt(encrypt, msg_signature, timestamp, nonce)
            guard = Guard("mp", msg_signature, now)
        else:
            if request.args.get("encrypt_type") == "aes":
                raise CallbackRejected(400, "an encrypted message, but MP_ENCODING_AES_KEY is not set")
            signature, = self._params("signature")
            self._check_plain(cfg, signature, timestamp, nonce)
            check_window(rt, now, timestamp)
            plain = request.get_data()
            guard = Guard("mp", signature.lower(), now)
        msg = to_message(parse_xml(plain))
        replies = rt.inbox.receive(msg, started, guard)
        if not replies:
            # "success": WeChat shows nothing and does not retry (an empty body works as well)
            return Response("success", mimetype="text/plain")
        parts = self.parts({"text": markup.plain("\n\n".join(r.text for r in replies)), "rich": False}, "text")
        if len(parts) > 1:
            rt.outbox.to_address(Address(self.name, msg.sender), "\n".join(p["text"] for p in parts[1:]),
                                 dedupe_key=f"rest:mp:{msg.dedupe_key}")
        xml = text_reply_xml(msg.sender, msg.extra.get("account") or cfg.app_id, parts[0]["text"])
        if cfg.safe_mode:
            xml = self.crypto.encrypt_xml(xml)
        return Response(xml, mimetype="application/xml")

    def late_address(self, msg: Message) -> Address:
        return Address(self.name, msg.sender)

    def fetch_picture(self, ref: str, limit: int) -> bytes:
        """A follower's picture: its PicUrl, or its MediaId through the account's media/get."""
        if ref.startswith("media:"):
            if self.api is None:
                raise PictureUnavailable("gone", "no official account (mp) in the config")
            return self.api.get_media(ref[len("media:"):], limit)
        try:
            return self.runtime.api.download(ref, limit)
        except SendError as e:
            raise PictureUnavailable("network" if e.retriable else "gone", str(e))

    # --- outbound: customer-service messages ------------------------------------------------------
    def deliver(self, row) -> dict:
        if self.api is None:
            raise SendError(-10, "no official account (mp) in the config", retriable=False)
        return self.api.send_custom({"touser": row.target, "msgtype": "text", "text": {"content": row.payload["text"]}})


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
                       msg_type="event", event=event, event_key=event_key, time=t, member=False, extra=extra)
    msg_id = x.get("MsgId")
    if not msg_id or not isinstance(msg_id, str):
        raise CallbackRejected(400, "message without MsgId")
    text = x.get("Content") if msg_type == "text" else ""
    pictures: tuple[str, ...] = ()
    if msg_type == "image":
        url, media = x.get("PicUrl"), x.get("MediaId")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            pictures = (url,)
        elif isinstance(media, str) and media:
            pictures = (f"media:{media}",)
    return Message(channel="mp", sender=openid, text=str(text or "").strip(), dedupe_key=str(msg_id),
                   msg_type=msg_type, time=t, member=False, extra=extra, pictures=pictures)


ADAPTER = MpAdapter
