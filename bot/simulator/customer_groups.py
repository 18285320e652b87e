"""Customer groups (客户群) in the simulator: enterprise mass-send tasks a member confirms or ignores.

Server API (as qyapi.weixin.qq.com, WeCom token): `externalcontact/add_msg_template` (chat_type
group: sender required and a member; chat_id_list entries that are not the sender's customer
groups land in fail_list [decided]; text ≤ 4000 bytes; text and attachments not both empty),
`get_groupmsg_task`, `get_groupmsg_send_result` (customer-group tasks list only groups already sent),
`cancel_groupmsg_send`, `remind_groupmsg_send`; an unknown msgid is 40058 [decided]. Also
`media/upload?type=image` (multipart `media`) for app-group images and mass-send attachments.

Control: `GET /sim/mass_tasks`, `POST /sim/mass_tasks/confirm {"msgid"}` (the member sends it on the
phone: the message appears in each group as from the member), `POST /sim/mass_tasks/ignore
{"msgid"}` (seen, not sent: nothing reaches the groups).
"""
from __future__ import annotations

import secrets
import time

from flask import Blueprint, current_app, jsonify, request

from . import state as _state_mod
from .server_api import ApiError, api
from .state import utf8_len

bp = Blueprint("wecom_sim_customer_groups", __name__)

TEXT_MAX = 4000
_state_mod.APIS = tuple(dict.fromkeys(_state_mod.APIS + (
    "externalcontact/add_msg_template", "externalcontact/get_groupmsg_task",
    "externalcontact/get_groupmsg_send_result", "externalcontact/cancel_groupmsg_send",
    "externalcontact/remind_groupmsg_send", "media/upload")))


class MassSim:
    def __init__(self, state):
        self.state = state
        # WeCom's external group id -> config group
        self.groups = {g.send.chatid: g for g in state.config.groups
                       if g.send.via == "customer_group" and g.send.chatid}
        self.tasks: dict[str, dict] = {}
        self.media: dict[str, dict] = {}

    def task_json(self, t: dict) -> dict:
        out = {k: v for k, v in t.items() if k != "attachments"}
        out["groups"] = [{"chat_id": c, "group": self.groups[c].id, "name": self.groups[c].name}
                         for c in t["chat_ids"]]
        out["attachments"] = [a.get("msgtype") for a in t["attachments"]]
        out["state"] = ("sent" if t["status"] == 2 else "cancelled" if t["cancelled"]
                        else "ignored" if t["ignored"] else "waiting")
        return out


def _mass() -> MassSim:
    return current_app.extensions["wecom_sim_mass"]


def _task(body) -> dict:
    t = _mass().tasks.get(str((body or {}).get("msgid") or ""))
    if t is None:
        raise ApiError(40058, "invalid msgid. invalid Request Parameter")
    return t


@bp.route("/cgi-bin/externalcontact/add_msg_template", methods=["POST"])
@api("externalcontact/add_msg_template")
def add_msg_template(state, body):
    ms = _mass()
    chat_type = body.get("chat_type") or "single"
    if chat_type != "group":
        raise ApiError(40058, "the simulator plays chat_type group only. invalid Request Parameter")
    sender = body.get("sender")
    if not sender:
        raise ApiError(40058, "sender is empty. invalid Request Parameter")
    if sender not in state.people:
        raise ApiError(40003)
    text = (body.get("text") or {}).get("content") or ""
    atts = body.get("attachments") or []
    if not text and not atts:
        raise ApiError(44004)
    if utf8_len(text) > TEXT_MAX:
        raise ApiError(40058, f"text.content exceed max length {TEXT_MAX}. invalid Request Parameter")
    if not isinstance(atts, list) or len(atts) > 9:
        raise ApiError(40058, "attachments exceed max count 9. invalid Request Parameter")
    for a in atts:
        mt = a.get("msgtype") if isinstance(a, dict) else None
        if mt not in ("image", "link", "miniprogram", "video", "file") or not isinstance(a.get(mt), dict):
            raise ApiError(40058, "attachments msgtype invalid. invalid Request Parameter")
        if mt == "image" and not (a["image"].get("media_id") or a["image"].get("pic_url")):
            raise ApiError(40058, "image.media_id or pic_url is required. invalid Request Parameter")
    wanted = [str(c) for c in body.get("chat_id_list") or []]
    ok = [c for c in wanted if c in ms.groups and ms.groups[c].send.owner == sender]
    fail = [c for c in wanted if c not in ok]
    if wanted and not ok:
        raise ApiError(40058, "no valid chat_id in chat_id_list. invalid Request Parameter", fail_list=fail)
    if not wanted:   # the owner would pick among all their customer groups on the phone
        ok = [c for c, g in ms.groups.items() if g.send.owner == sender]
    msgid = "msg" + secrets.token_urlsafe(24)
    with state.lock:
        ms.tasks[msgid] = {"msgid": msgid, "sender": sender, "chat_ids": ok, "text": text, "attachments": atts,
                           "created": round(time.time(), 3), "status": 0, "send_time": None,
                           "cancelled": False, "ignored": False, "reminders": 0}
    names = "、".join(ms.groups[c].name for c in ok)
    state.add_message(f"dm:{sender}", "wecom", f"【群发助手】企业通知你向 {len(ok)} 个客户群发送消息（{names}），"
                      f"请确认后发送。内容：{text[:60] or '[附件]'}", "text", via="mass_send_notice", msgid=msgid)
    return {"fail_list": fail, "msgid": msgid}


@bp.route("/cgi-bin/externalcontact/get_groupmsg_task", methods=["POST"])
@api("externalcontact/get_groupmsg_task")
def get_groupmsg_task(state, body):
    t = _task(body)
    item = {"userid": t["sender"], "status": t["status"]}
    if t["send_time"]:
        item["send_time"] = t["send_time"]
    return {"next_cursor": "", "task_list": [item]}


@bp.route("/cgi-bin/externalcontact/get_groupmsg_send_result", methods=["POST"])
@api("externalcontact/get_groupmsg_send_result")
def get_groupmsg_send_result(state, body):
    t = _task(body)
    if body.get("userid") != t["sender"]:
        return {"next_cursor": "", "send_list": []}
    sent = [] if t["status"] != 2 else [
        {"chat_id": c, "userid": t["sender"], "status": 1, "send_time": t["send_time"]} for c in t["chat_ids"]]
    return {"next_cursor": "", "send_list": sent}


@bp.route("/cgi-bin/externalcontact/cancel_groupmsg_send", methods=["POST"])
@api("externalcontact/cancel_groupmsg_send")
def cancel_groupmsg_send(state, body):
    t = _task(body)
    with state.lock:
        if t["status"] == 0:
            t["cancelled"] = True
    return {}


@bp.route("/cgi-bin/externalcontact/remind_groupmsg_send", methods=["POST"])
@api("externalcontact/remind_groupmsg_send")
def remind_groupmsg_send(state, body):
    t = _task(body)
    with state.lock:
        t["reminders"] += 1
    return {}


@bp.route("/cgi-bin/media/upload", methods=["POST"])
@api("media/upload", json_body=False)
def media_upload(state, _body):
    mtype = request.args.get("type", "")
    if mtype not in ("image", "voice", "video", "file"):
        raise ApiError(40004, "invalid media type")
    f = request.files.get("media")
    if f is None:
        raise ApiError(40058, "missing multipart field media. invalid Request Parameter")
    data = f.read()
    if mtype == "image" and not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
        raise ApiError(40005, "image must be JPG or PNG")
    if len(data) < 5 or len(data) > 2 * 1024 * 1024:
        raise ApiError(40009, "invalid image size")
    media_id = "2" + secrets.token_urlsafe(40)
    pid = state.add_picture(data)[0] if mtype == "image" else None
    with state.lock:
        _mass().media[media_id] = {"type": mtype, "bytes": len(data), "expires": time.time() + 3 * 86400}
        if pid:
            state.media_pictures[media_id] = pid
    return {"type": mtype, "media_id": media_id, "created_at": str(int(time.time()))}


# --- the member on the phone (control API) ----------------------------------------------------------
def _body() -> dict:
    b = request.get_json(silent=True, force=True)
    return b if isinstance(b, dict) else {}


@bp.get("/sim/mass_tasks")
def mass_tasks():
    ms = _mass()
    with ms.state.lock:
        return jsonify([ms.task_json(t) for t in ms.tasks.values()])


@bp.post("/sim/mass_tasks/confirm")
def confirm():
    ms = _mass()
    st = ms.state
    t = ms.tasks.get(str(_body().get("msgid") or ""))
    if t is None:
        return jsonify({"error": "unknown msgid"}), 404
    with st.lock:
        if t["cancelled"]:
            return jsonify({"error": "企业已停止这条群发，不能再发送"}), 400
        if t["status"] == 2:
            return jsonify(ms.task_json(t))
        t["status"], t["send_time"] = 2, int(time.time())
    for c in t["chat_ids"]:
        g = ms.groups[c]
        if t["text"]:
            st.add_message(g.id, t["sender"], t["text"], "text", via="mass_send", msgid=t["msgid"])
        for a in t["attachments"]:
            label = {"image": "[图片]", "link": f"[链接] {(a.get('link') or {}).get('title', '')}"}.get(a["msgtype"], "[附件]")
            st.add_message(g.id, t["sender"], label, a["msgtype"], via="mass_send", msgid=t["msgid"])
    with st.lock:
        return jsonify(ms.task_json(t))


@bp.post("/sim/mass_tasks/ignore")
def ignore():
    ms = _mass()
    t = ms.tasks.get(str(_body().get("msgid") or ""))
    if t is None:
        return jsonify({"error": "unknown msgid"}), 404
    with ms.state.lock:
        t["ignored"] = True
        return jsonify(ms.task_json(t))
