"""App group chat (群聊会话, appchat): an internal group the self-built app created and pushes into.

POST /cgi-bin/appchat/send (reference/wecom.md §4): text, markdown (2048 bytes each), image (a
media_id: uploaded first with media/upload) and news. appchat has no mention field, so a mention
is the member's name at the start of the text. WeCom has no idempotency here either.
"""
from __future__ import annotations

from typing import Optional

from bot.channels.base import Adapter, SendError
from bot.channels.wecom_api import upload_image
from bot.channels.wecom_app import DUPLICATE_CHECK


class AppchatAdapter(Adapter):
    name = "appchat"
    markup = True
    text_limit = 2048
    rich_limit = 2048
    kinds = ("text", "image", "news")

    def group_target(self, group) -> Optional[str]:
        return group.send.chatid if group.send.via == "appchat" else None

    def reach(self, group) -> Optional[tuple[str, str]]:
        if self.group_target(group) is None:
            return None
        return "应用群聊", (f"自建应用建的群聊（chatid {group.send.chatid}）：可推送文本、markdown、图片、图文；"
                        "不能@，提到的人写名字")

    def _names_line(self, p: dict) -> str:
        names = [self._name(u) for u in p.get("mentions") or []] + \
            [self._name_by_mobile(m) for m in p.get("mention_mobiles") or []]
        return (" ".join(f"@{n}" for n in names) + "\n") if names else ""

    def _name(self, userid: str) -> str:
        p = self.config.person(userid)
        return p.name if p else userid

    def _name_by_mobile(self, mobile: str) -> str:
        p = next((p for p in self.config.people if p.mobile == mobile), None)
        return p.name if p else mobile[:3] + "****" + mobile[-4:]

    def parts(self, payload: dict, kind: str) -> list[dict]:
        if kind != "text" or not (payload.get("mentions") or payload.get("mention_mobiles")):
            return super().parts(payload, kind)
        # the names go in front of the first part when it is sent: keep room for them there
        head = self._names_line(payload)
        parts = super().parts(dict(payload, text=head + payload["text"]), kind)
        parts[0]["text"] = parts[0]["text"][len(head):]
        return parts

    def render(self, row) -> dict:
        p = row.payload
        # WeCom documents the duplicate check for message/send only; it is asked for here too, but the
        # guarantee of this channel does not count on it (README, reliability)
        head = {"chatid": row.target, **DUPLICATE_CHECK}
        if row.msgtype == "text":
            msgtype = "markdown" if p.get("rich") else "text"
            return {**head, "msgtype": msgtype, msgtype: {"content": self._names_line(p) + p["text"]}}
        if row.msgtype == "image":
            return {**head, "msgtype": "image", "image": {"media_id": upload_image(self.runtime.api, p)}}
        if row.msgtype == "news":
            return {**head, "msgtype": "news", "news": {"articles": p["articles"]}}
        raise SendError(-10, f"an app group chat cannot send {row.msgtype}", retriable=False)

    def deliver(self, row) -> dict:
        return self.runtime.api.call("appchat/send", self.render(row))


ADAPTER = AppchatAdapter
