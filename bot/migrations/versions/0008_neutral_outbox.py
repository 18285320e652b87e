"""outbox rows hold channel-neutral content, rendered by the channel adapter when sent

Rows written before held WeCom's wire format; this rewrites every row (pending, sent and dead
alike, so rate-limit counting and `outbox retry-dead` keep working) and renames the channels to
the adapters' names: aibot_response → aibot, app_api → app, mass_send → customer_group.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("channel", sa.String),
                   sa.column("target", sa.Text), sa.column("msgtype", sa.String), sa.column("payload", sa.JSON))


def _text(content: dict, rich: bool) -> dict:
    p = {"text": content.get("content", ""), "rich": rich}
    if content.get("mentioned_list"):
        p["mentions"] = list(content["mentioned_list"])
    if content.get("mentioned_mobile_list"):
        p["mention_mobiles"] = list(content["mentioned_mobile_list"])
    return p


def to_neutral(channel: str, target: str, msgtype: str, p: dict):
    """(channel, target, msgtype, payload) of the old wire format → the neutral one."""
    p = p or {}
    if channel == "aibot_response":
        return "aibot", target, "text", {"text": (p.get("markdown") or {}).get("content", ""), "rich": True}
    if channel == "app_api":
        users = list(p.get("userids") or [])
        return "app", "|".join(users), "card_update", {"task_id": p.get("task_id"),
                                                        "labels": [p.get("replace_name") or ""], "userids": users}
    if channel == "mass_send":
        atts = []
        for a in p.get("attachments") or []:
            if a.get("msgtype") == "image":
                atts.append({"kind": "image", **(a.get("image") or {})})
            elif a.get("msgtype") == "link":
                atts.append({"kind": "link", **(a.get("link") or {})})
        return "customer_group", target, "mass", {"chat_ids": list(p.get("chat_id_list") or []),
                                                  "text": (p.get("text") or {}).get("content", ""),
                                                  "attachments": atts}
    kind = p.get("msgtype", msgtype)
    if kind in ("text", "markdown"):
        return channel, target, "text", _text(p.get(kind) or {}, kind == "markdown")
    if kind == "image":
        return channel, target, "image", dict(p.get("image") or {})
    if kind == "news":
        return channel, target, "news", {"articles": list((p.get("news") or {}).get("articles") or [])}
    if kind == "interactive_taskcard":
        c = p.get("interactive_taskcard") or {}
        buttons = [{"key": b.get("key"), "label": b.get("name"), "done_label": b.get("replace_name") or b.get("name"),
                    "primary": bool(b.get("is_bold")), "danger": b.get("color") == "red"} for b in c.get("btn") or []]
        return channel, target, "card", {"title": c.get("title"), "description": c.get("description"),
                                         "task_id": c.get("task_id"), "buttons": buttons}
    return channel, target, msgtype, p


def to_wire(channel: str, target: str, msgtype: str, p: dict):
    """The neutral row → the old wire format (downgrade)."""
    p = p or {}
    if channel == "aibot":
        return "aibot_response", target, "markdown", {"msgtype": "markdown", "markdown": {"content": p.get("text", "")}}
    if channel == "customer_group":
        atts = [{"msgtype": a["kind"], a["kind"]: {k: v for k, v in a.items() if k != "kind"}}
                for a in p.get("attachments") or []]
        body = {"chat_type": "group", "chat_id_list": p.get("chat_ids") or [], "sender": target, "allow_select": False}
        if p.get("text"):
            body["text"] = {"content": p["text"]}
        if atts:
            body["attachments"] = atts
        return "mass_send", target, "mass_send", body
    if msgtype == "card_update":
        return "app_api", "message/update_taskcard", "update_taskcard", {
            "userids": p.get("userids") or [], "task_id": p.get("task_id"), "replace_name": (p.get("labels") or [""])[0]}
    if msgtype == "card":
        btn = [{"key": b.get("key"), "name": b.get("label"), "replace_name": b.get("done_label"),
                "color": "red" if b.get("danger") else "blue", **({"is_bold": True} if b.get("primary") else {})}
               for b in p.get("buttons") or []]
        return channel, target, "interactive_taskcard", {"msgtype": "interactive_taskcard", "interactive_taskcard": {
            "title": p.get("title"), "description": p.get("description"), "task_id": p.get("task_id"), "btn": btn}}
    if msgtype == "text":
        kind = "markdown" if p.get("rich") else "text"
        body = {"content": p.get("text", "")}
        if kind == "text" and p.get("mentions"):
            body["mentioned_list"] = p["mentions"]
        if kind == "text" and p.get("mention_mobiles"):
            body["mentioned_mobile_list"] = p["mention_mobiles"]
        return channel, target, kind, {"msgtype": kind, kind: body}
    if msgtype == "image":
        return channel, target, "image", {"msgtype": "image", "image": {"base64": p.get("base64"), "md5": p.get("md5")}}
    if msgtype == "news":
        return channel, target, "news", {"msgtype": "news", "news": {"articles": p.get("articles") or []}}
    return channel, target, msgtype, p


def _rewrite(convert) -> None:
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.select(_outbox).where(_outbox.c.id > last).order_by(_outbox.c.id).limit(500)).all()
        if not rows:
            return
        for r in rows:
            channel, target, msgtype, payload = convert(r.channel, r.target, r.msgtype, r.payload)
            conn.execute(_outbox.update().where(_outbox.c.id == r.id).values(
                channel=channel, target=target, msgtype=msgtype, payload=payload))
        last = rows[-1].id


def upgrade() -> None:
    _rewrite(to_neutral)


def downgrade() -> None:
    _rewrite(to_wire)
