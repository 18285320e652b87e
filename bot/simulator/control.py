"""The simulator's own JSON API (`/sim/...`), driven by tests and the demo page."""
from __future__ import annotations

import base64
import binascii

from flask import Blueprint, current_app, jsonify, request

from .page import PAGE_HTML

bp = Blueprint("wecom_sim_control", __name__)


def _state():
    return current_app.extensions["wecom_sim"]


def _deliverer():
    return current_app.extensions["wecom_sim_deliverer"]


def _bad(status: int, reason: str):
    return jsonify({"error": reason}), status


def _json() -> dict:
    body = request.get_json(silent=True, force=True)
    return body if isinstance(body, dict) else {}


@bp.get("/healthz")
def healthz():
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/")
def page():
    html = PAGE_HTML.replace("{{CONSOLE_URL}}", f"{_state().bot_url}/console/")
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/sim/chats")
def chats():
    st = _state()
    with st.lock:
        return jsonify([st.chat_json(c) for c in st.chats.values()])


@bp.post("/sim/say")
def say():
    st = _state()
    body = _json()
    chat_ref, user = body.get("chat"), body.get("user")
    text = body.get("text")
    event = body.get("event")
    if not chat_ref or not user:
        return _bad(400, "chat and user are required")
    chat = st.chat(str(chat_ref))
    if chat is None:
        return _bad(404, f"unknown chat {chat_ref!r}")
    if user not in st.people:
        return _bad(404, f"unknown user {user!r}")
    if user not in chat.members:
        return _bad(400, f"{user} is not a member of chat {chat.id}")
    if event is not None:
        if not chat.is_dm:
            return _bad(400, "events are sent in a one-to-one chat (dm:<userid>) only")
        if event not in ("enter_agent", "taskcard_click"):
            return _bad(400, "event must be enter_agent or taskcard_click")
        msgid = _deliverer().app_message(user, event=event, event_key=str(body.get("event_key") or ""),
                                         task_id=str(body.get("task_id") or ""))
        return jsonify({"msgid": msgid, "delivered": True, "channel": "app"})
    picture, shown = None, {}
    if body.get("image") is not None:
        try:
            picture = base64.b64decode(str(body["image"]), validate=True)
        except (binascii.Error, ValueError):
            return _bad(400, "image must be base64")
        if not picture:
            return _bad(400, "image is empty")
        shown = {"picture": st.add_picture(picture)[0], "bytes": len(picture)}
    if picture is None and (not isinstance(text, str) or not text.strip()):
        return _bad(400, "text is required")
    text = text.strip() if isinstance(text, str) else ""
    kind = "image" if picture is not None else "text"
    public = st.public_url or request.host_url.rstrip("/")
    mention = f"@{st.aibot_name}"
    busy = "该成员已有 3 条消息等待机器人回复（企业微信每人最多 3 条在途），这条没有送达"
    if chat.is_dm:
        if body.get("via") == "aibot":   # a one-to-one chat with the intelligent bot
            if not _aibot_slot(st, user):
                return _undelivered(st, chat, user, text, busy)
            m = st.add_message(chat.id, user, text or "[图片]", kind, via="aibot", **shown)
            msgid = _deliverer().aibot_message(chat, user, text, public, picture=picture)
            channel = "aibot"
        else:
            if picture is not None and text:
                return _bad(400, "the app's chat carries a picture or a text, not both: send them one by one")
            m = st.add_message(chat.id, user, text or "[图片]", kind, via="app", **shown)
            msgid = _deliverer().app_message(user, text=text, picture=picture, public_url=public)
            channel = "app"
        with st.lock:
            m["msgid"] = msgid
        return jsonify({"msgid": msgid, "seq": m["seq"], "delivered": True, "channel": channel})
    # a group: only an @-mention of the intelligent bot reaches it, and only in an internal chat
    if body.get("mention") is False:
        content, mentions = text, []
    else:
        content = text if text.lstrip().startswith(mention) else f"{mention} {text}".rstrip()
        mentions = ["bot"]
    if chat.external:
        return _undelivered(st, chat, user, content,
                            "外部群（微信客户群）里没有智能机器人，消息只留在群里，不会送到机器人", mentions)
    if not mentions:
        return _undelivered(st, chat, user, content, "没有 @ 机器人：群消息只在 @ 智能机器人时送达")
    if not chat.aibot_chatid:
        return _undelivered(st, chat, user, content, "这个群里没有智能机器人（应用创建的群聊）", mentions)
    if not _aibot_slot(st, user):
        return _undelivered(st, chat, user, content, busy, mentions)
    m = st.add_message(chat.id, user, content, kind, mentions=mentions, via="aibot", **shown)
    msgid = _deliverer().aibot_message(chat, user, content, public, picture=picture)
    with st.lock:
        m["msgid"] = msgid
    return jsonify({"msgid": msgid, "seq": m["seq"], "delivered": True, "channel": "aibot"})


def _undelivered(st, chat, user, content, reason, mentions=()):
    import secrets
    msgid = secrets.token_hex(16)
    m = st.add_message(chat.id, user, content, "text", mentions=mentions, msgid=msgid, delivered=False)
    return jsonify({"msgid": msgid, "seq": m["seq"], "delivered": False, "reason": reason})


def _aibot_slot(st, user) -> bool:
    with st.lock:
        if not st.limits_enabled:
            return True
        return st.aibot_inflight.get(user, 0) < st.limits["aibot_inflight_per_user"]


@bp.post("/sim/forge")
def forge():
    """One tampered callback, sent synchronously: {"channel": "app"|"aibot", "kind": one of
    bad_signature, wrong_receiveid, wrong_key, stale_timestamp, entity, garbage, "user", "text", "chat"}.
    The bot should refuse it (4xx) and do nothing; the answer says what it did."""
    st = _state()
    body = _json()
    d = _deliverer()
    channel = body.get("channel", "app")
    kind = body.get("kind", "bad_signature")
    if channel not in ("app", "aibot"):
        return _bad(400, "channel must be app or aibot")
    if kind not in d.FORGERIES:
        return _bad(400, f"kind must be one of {', '.join(d.FORGERIES)}")
    user = body.get("user") or next(iter(st.people), "nobody")
    chat = st.chat(body["chat"]) if body.get("chat") else None
    if body.get("chat") and chat is None:
        return _bad(404, f"unknown chat {body['chat']!r}")
    return jsonify(d.forge(channel, kind, user, str(body.get("text") or "伪造的消息"), chat))


@bp.get("/sim/messages")
def messages():
    st = _state()
    chat_ref = request.args.get("chat")
    try:
        since = int(request.args.get("since") or 0)
    except ValueError:
        return _bad(400, "since must be an integer")
    if chat_ref:
        chat = st.chat(chat_ref)
        if chat is None:
            return _bad(404, f"unknown chat {chat_ref!r}")
        return jsonify(st.messages_of(chat.id, since))
    return jsonify(st.messages_of(None, since))


@bp.get("/sim/deliveries")
def deliveries():
    st = _state()
    msgid, parent = request.args.get("msgid"), request.args.get("parent")
    with st.lock:
        out = [dict(e, problems=list(e["problems"])) for e in st.deliveries
               if (msgid is None or e["msgid"] == msgid) and (parent is None or e.get("parent") == parent)]
    return jsonify(out)


@bp.post("/sim/faults")
def faults():
    st = _state()
    body = _json()
    if body.get("clear"):
        with st.lock:
            st.faults = []
            st.duplicate_callbacks = 0
        return jsonify({"faults": []})
    api = body.get("api", "*")
    if api == "callback":
        if not body.get("duplicate"):
            return _bad(400, 'callback faults: {"api": "callback", "duplicate": true, "count": N}')
        with st.lock:
            st.duplicate_callbacks += int(body.get("count", 1))
            return jsonify({"duplicate_callbacks": st.duplicate_callbacks})
    from .state import APIS
    if api != "*" and api not in APIS:
        return _bad(400, f"unknown api {api!r}; one of {', '.join(APIS)} or *")
    if body.get("errcode") is None and not body.get("slow_ms") and not body.get("slow_after_ms"):
        return _bad(400, "give errcode, slow_ms (late, before acting) and/or slow_after_ms (acts, then answers late)")
    try:
        st.add_fault(body)
    except (TypeError, ValueError) as e:
        return _bad(400, f"bad fault: {e}")
    with st.lock:
        return jsonify({"faults": [dict(f) for f in st.faults]})


@bp.get("/sim/faults")
def faults_list():
    st = _state()
    with st.lock:
        return jsonify({"faults": [dict(f) for f in st.faults], "duplicate_callbacks": st.duplicate_callbacks})


@bp.post("/sim/token")
def token():
    st = _state()
    body = _json()
    with st.lock:
        if "ttl" in body:
            try:
                ttl = int(body["ttl"])
            except (TypeError, ValueError):
                return _bad(400, "ttl must be an integer number of seconds")
            if ttl < 1:
                return _bad(400, "ttl must be >= 1")
            st.token_ttl = ttl
        if body.get("expire_now"):
            st.expire_tokens()
        return jsonify({"ttl": st.token_ttl, "tokens": len(st.tokens)})


@bp.post("/sim/limits")
def limits():
    st = _state()
    body = _json()
    with st.lock:
        if "enabled" in body:
            st.limits_enabled = bool(body["enabled"])
        for k, v in body.items():
            if k in st.limits:
                try:
                    st.limits[k] = int(v)
                except (TypeError, ValueError):
                    return _bad(400, f"{k} must be an integer")
        return jsonify({"enabled": st.limits_enabled, **st.limits})


@bp.post("/sim/settings")
def settings():
    """Run-time knobs: bot_url, public_url, callback_timeout, callback_retries, retry_delay,
    stream_refresh_interval, stream_max_seconds."""
    st = _state()
    body = _json()
    with st.lock:
        try:
            if "bot_url" in body:
                st.bot_url = str(body["bot_url"]).rstrip("/")
            if "public_url" in body:
                st.public_url = str(body["public_url"]).rstrip("/") if body["public_url"] else None
            for k, conv in (("callback_timeout", float), ("callback_retries", int), ("retry_delay", float),
                            ("stream_refresh_interval", float), ("stream_max_seconds", float)):
                if k in body:
                    setattr(st, k, conv(body[k]))
        except (TypeError, ValueError) as e:
            return _bad(400, f"bad setting: {e}")
        return jsonify({"bot_url": st.bot_url, "public_url": st.public_url,
                        "callback_timeout": st.callback_timeout, "callback_retries": st.callback_retries,
                        "retry_delay": st.retry_delay, "stream_refresh_interval": st.stream_refresh_interval,
                        "stream_max_seconds": st.stream_max_seconds})


@bp.get("/sim/stats")
def stats():
    return jsonify(_state().snapshot_stats())


@bp.post("/sim/reset")
def reset():
    _state().reset()
    return jsonify({"ok": True})
