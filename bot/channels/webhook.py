"""Group robot (群机器人, webhook): pushes into the one internal group it sits in.

POST /cgi-bin/webhook/send?key=KEY (reference/wecom.md §3.3): text (2048 bytes; @ by userid in
mentioned_list or by mobile in mentioned_mobile_list), markdown (4096 bytes; @ as <@userid>),
image (PNG/JPEG as base64 + md5, at most 2 MB) and news (1–8 articles). At most 20 messages a
minute per robot; past that it answers 45009. WeCom has no idempotency for robots: a send whose
answer was lost may have been posted.
"""
from __future__ import annotations

from typing import Optional

from bot.channels.base import Adapter, RateLimit, SendError, image_bytes, split_utf8
from bot.channels.wecom_api import ApiError


class WebhookAdapter(Adapter):
    name = "webhook"
    markup = True
    text_limit = 2048
    rich_limit = 4096
    kinds = ("text", "image", "news")

    def group_target(self, group) -> Optional[str]:
        return group.send.robot if group.send.via == "webhook" else None

    def reach(self, group) -> Optional[tuple[str, str]]:
        if self.group_target(group) is None:
            return None
        return f"群机器人（{group.send.robot}）", "可推送文本、markdown、图片、图文，可@成员"

    def _markdown_mentions(self, p: dict) -> list[str]:
        # markdown mentions by userid only: a mobile is mapped to its member when known
        users = list(p.get("mentions") or []) + [u.userid for m in p.get("mention_mobiles") or []
                                                for u in self.config.people if u.mobile == m]
        return list(dict.fromkeys(users))

    def parts(self, payload: dict, kind: str) -> list[dict]:
        if kind != "text" or not payload.get("rich"):
            return super().parts(payload, kind)
        # the <@userid> line is appended to the last part when sent: keep room for it there
        suffix = len(self._mention_line(self._markdown_mentions(payload)).encode("utf-8"))
        chunks = split_utf8(payload["text"] + " " * suffix, self.rich_limit)
        chunks[-1] = chunks[-1][:len(chunks[-1]) - suffix] if suffix else chunks[-1]
        out = [dict(payload, text=c) for c in chunks if c or len(chunks) == 1]
        for p in out[:-1]:
            p.pop("mentions", None)
            p.pop("mention_mobiles", None)
        return out

    @staticmethod
    def _mention_line(users: list[str]) -> str:
        return ("\n" + " ".join(f"<@{u}>" for u in users)) if users else ""

    def render(self, row) -> dict:
        p = row.payload
        if row.msgtype == "text" and p.get("rich"):
            return {"msgtype": "markdown",
                    "markdown": {"content": p["text"] + self._mention_line(self._markdown_mentions(p))}}
        if row.msgtype == "text":
            body: dict = {"content": p["text"]}
            if p.get("mentions"):
                body["mentioned_list"] = list(p["mentions"])
            if p.get("mention_mobiles"):
                body["mentioned_mobile_list"] = list(p["mention_mobiles"])
            return {"msgtype": "text", "text": body}
        if row.msgtype == "image":
            image_bytes(p)
            return {"msgtype": "image", "image": {"base64": p["base64"], "md5": p["md5"]}}
        if row.msgtype == "news":
            return {"msgtype": "news", "news": {"articles": p["articles"]}}
        raise SendError(-10, f"a group robot cannot send {row.msgtype}", retriable=False)

    def deliver(self, row) -> dict:
        key = self.runtime.robot_keys.get(row.target)
        if key is None:
            raise ApiError(-10, f"robot {row.target!r} is not in the config", retriable=False)
        return self.runtime.api.webhook_send(key, self.render(row))

    def rate_limit(self, row) -> Optional[RateLimit]:
        return RateLimit(self.config.sender.robot_per_minute, self.kinds)

    def retry_delay(self, err: SendError, delay: float) -> float:
        if err.errcode == 45009:
            # a robot's limit is per minute: trying again inside the window only fails again
            return max(delay, 60.0 / self.config.sender.robot_per_minute)
        return delay


ADAPTER = WebhookAdapter
