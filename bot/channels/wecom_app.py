"""Self-built app (自建应用): its callback at /wecom/callback, and one-to-one messages to members.

Inbound: XML, one-to-one messages and events only. A self-built app never hears group chats
(reference/wecom.md §0). The passive answer is a text reply in the HTTP answer (plain: the XML
reply has no markdown); what does not fit goes out by message/send.

Outbound: POST /cgi-bin/message/send to members (touser "u1|u2"): text, markdown (2048 bytes),
and interactive task cards (interactive_taskcard, 1–2 buttons, a task_id once per app); and
message/update_taskcard, which shows on every card who did what. WeCom drops app messages past
30 a minute to one member without an error, so the sender paces them.
"""
from __future__ import annotations

import logging
import time
from typing import Optional

from flask import Blueprint, Response, request

from bot.channels.base import Adapter, RateLimit, SendError, truncate_utf8
from bot.channels.common import callback_view, open_envelope, parse_xml, text_reply_xml, verify_url
from bot.channels.crypto import CallbackCrypto, CallbackRejected
from bot.core.message import Message

log = logging.getLogger(__name__)

DUPLICATE_CHECK = {"enable_duplicate_check": 1, "duplicate_check_interval": 4 * 3600}
# interactive task cards (message/send, interactive_taskcard; message/update_taskcard): UTF-8 bytes
CARD_TITLE_BYTES, CARD_DESCRIPTION_BYTES, CARD_LABEL_BYTES = 128, 512, 18


class AppAdapter(Adapter):
    name = "app"
    # a member may read the app in WeChat (微信插件), which shows no markdown: plain text only
    markup = False
    idempotent = True
    text_limit = 2048
    kinds = ("text", "card", "card_update")
    reaches_members = True

    def __init__(self, runtime):
        super().__init__(runtime)
        w = self.config.wecom
        self.crypto = CallbackCrypto(w.token, w.encoding_aes_key, w.corp_id)

    # --- inbound ------------------------------------------------------------------------------
    def blueprint(self) -> Blueprint:
        bp = Blueprint("wecom_app", __name__)
        bp.add_url_rule("/wecom/callback", "verify", lambda: verify_url(self.crypto), methods=["GET"])
        bp.add_url_rule("/wecom/callback", "callback", callback_view(self.callback), methods=["POST"])
        return bp

    def callback(self) -> Response:
        started = time.monotonic()
        rt = self.runtime
        envelope = parse_xml(request.get_data())
        encrypt = envelope.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise CallbackRejected(400, "no Encrypt element")
        plain, guard = open_envelope(rt, "app", self.crypto, encrypt)
        msg = to_message(parse_xml(plain))
        replies = rt.inbox.receive(msg, started, guard)
        if not replies:
            return Response("", status=200)
        first, rest = self.passive_and_rest("\n\n".join(r.text for r in replies))
        if rest:
            rt.outbox.to_members([msg.sender], rest, dedupe_key=f"rest:app:{msg.dedupe_key}")
        xml = text_reply_xml(msg.sender, self.config.wecom.corp_id, first)
        return Response(self.crypto.encrypt_xml(xml), mimetype="application/xml")

    def fetch_picture(self, ref: str, limit: int) -> bytes:
        """A member's picture: its MediaId through media/get (valid three days)."""
        return self.runtime.api.get_media(ref, limit)

    def passive_and_rest(self, text: str) -> tuple[str, str]:
        parts = self.parts({"text": text, "rich": False}, "text")
        return parts[0]["text"], "\n".join(p["text"] for p in parts[1:])

    # --- outbound -----------------------------------------------------------------------------
    def render(self, row) -> dict:
        p = row.payload
        # WeCom drops a request with the same JSON inside the interval (4 h at most): a resend after an
        # unknown outcome (a timeout, a sender killed mid-request) reaches the member once
        body: dict = {"touser": row.target, "agentid": self.config.wecom.agent_id, **DUPLICATE_CHECK}
        if row.msgtype == "text":
            msgtype = "markdown" if p.get("rich") else "text"
            return {**body, "msgtype": msgtype, msgtype: {"content": p["text"]}}
        if row.msgtype == "card":
            return {**body, "msgtype": "interactive_taskcard", "interactive_taskcard": {
                "title": truncate_utf8(p["title"], CARD_TITLE_BYTES),
                "description": truncate_utf8(p["description"], CARD_DESCRIPTION_BYTES), "task_id": p["task_id"],
                "btn": [self._button(b) for b in p["buttons"]]}}
        if row.msgtype == "card_update":
            return {"userids": p["userids"], "agentid": self.config.wecom.agent_id, "task_id": p["task_id"],
                    "replace_name": self._label(p["labels"])}
        raise SendError(-10, f"the app cannot send {row.msgtype}", retriable=False)

    @staticmethod
    def _button(b: dict) -> dict:
        """A neutral button as WeCom draws it: red for danger, blue otherwise; bold when primary."""
        btn = {"key": b["key"], "name": b["label"], "replace_name": truncate_utf8(b["done_label"], CARD_LABEL_BYTES),
               "color": "red" if b.get("danger") else "blue"}
        if b.get("primary"):
            btn["is_bold"] = True
        return btn

    @staticmethod
    def _label(labels: list[str]) -> str:
        """The most detailed label WeCom keeps whole (18 bytes: 6 Chinese characters)."""
        return next((lb for lb in labels if len(lb.encode("utf-8")) <= CARD_LABEL_BYTES),
                    truncate_utf8(labels[-1], CARD_LABEL_BYTES))

    def deliver(self, row) -> dict:
        path = "message/update_taskcard" if row.msgtype == "card_update" else "message/send"
        res = self.runtime.api.call(path, self.render(row))
        if res.get("invaliduser"):
            log.warning("outbox %s: invalid users %s", row.id, res["invaliduser"])
        return res

    def rate_limit(self, row) -> Optional[RateLimit]:
        if "|" in row.target or row.msgtype == "card_update":
            return None
        return RateLimit(self.config.sender.member_per_minute, ("text", "card"))


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
    media = x.get("MediaId") if msg_type == "image" else None
    return Message(channel="app", sender=sender, text=str(text or "").strip(), dedupe_key=str(msg_id),
                   msg_type=msg_type, time=int(create_time) if create_time.isdigit() else 0,
                   pictures=(media,) if isinstance(media, str) and media else ())


ADAPTER = AppAdapter
