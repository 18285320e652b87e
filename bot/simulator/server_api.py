"""The WeCom server API the simulator plays: `/cgi-bin/...` as on qyapi.weixin.qq.com.

Every answer is HTTP 200 with errcode/errmsg (reference/wecom.md §3.1); errmsg carries WeCom's
`hint: [...]`, `from ip` and `more info at` suffix.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import time
from functools import wraps

from flask import Blueprint, current_app, jsonify, request

from .state import ERRMSG, MINUTE, HOUR, truncate_utf8, utf8_len

bp = Blueprint("wecom_server_api", __name__)

TEXT_MAX = 2048
APP_MARKDOWN_MAX = 2048
WEBHOOK_MARKDOWN_MAX = 4096
AIBOT_CONTENT_MAX = 20480
IMAGE_MAX = 2 * 1024 * 1024
RESPONSE_URL_TTL = 3600


class ApiError(Exception):
    def __init__(self, code: int, detail: str | None = None, **extra):
        self.code, self.detail, self.extra = code, detail, extra


def _state():
    return current_app.extensions["wecom_sim"]


def errmsg(state, code: int, detail: str | None = None) -> str:
    if code == 0:
        return "ok"
    base = detail or ERRMSG.get(code, "error")
    return (f"{base}, hint: [{state.hint()}], from ip: {request.remote_addr or '127.0.0.1'}, "
            f"more info at https://open.work.weixin.qq.com/devtool/query?e={code}")


def _answer(state, code: int, detail=None, extra=None, headers=False):
    body = {"errcode": code, "errmsg": errmsg(state, code, detail)}
    if extra:
        body.update(extra)
    if code:
        state.count_error(code)
    resp = jsonify(body)
    if headers:  # the webhook also puts the error in headers [3P]
        resp.headers["Error-Code"] = str(code)
        resp.headers["Error-Msg"] = body["errmsg"].split(",")[0].encode("ascii", "replace").decode()
    return resp


def api(name: str, *, token: bool = True, json_body: bool = True, webhook: bool = False):
    """Common envelope: stats, concurrency 45033, injected faults, per-API 45009, token, JSON body."""
    def deco(fn):
        @wraps(fn)
        def wrapper():
            state = _state()
            state.count_call(name)
            with state.lock:
                state.inflight_api += 1
                over = state.limits_enabled and state.inflight_api > state.limits["concurrency"]
            try:
                if over:
                    return _answer(state, 45033, headers=webhook)
                fault = state.take_fault(name)
                if fault:
                    if fault["slow_ms"]:
                        time.sleep(fault["slow_ms"] / 1000.0)
                    if fault["errcode"] is not None:
                        return _answer(state, fault["errcode"], fault.get("errmsg"), headers=webhook)
                limit = state.limits["gettoken_per_minute" if name == "gettoken" else "api_per_minute"]
                if not state.take(("api", name), MINUTE, limit):
                    return _answer(state, 45009, headers=webhook)
                if token:
                    code = state.check_token(request.args.get("access_token"))
                    if code:
                        return _answer(state, code)
                body = None
                if json_body and request.method == "POST":
                    raw = request.get_data()
                    if not raw.strip():
                        return _answer(state, 44002, headers=webhook)
                    try:
                        body = json.loads(raw.decode("utf-8"))
                    except (ValueError, UnicodeDecodeError):
                        return _answer(state, 47001, headers=webhook)
                    if not isinstance(body, dict):
                        return _answer(state, 47001, headers=webhook)
                try:
                    extra = fn(state, body) or {}
                except ApiError as e:
                    return _answer(state, e.code, e.detail, e.extra, headers=webhook)
                if fault and fault.get("slow_after_ms"):
                    # done, but the answer is late: a client that gives up first never learns it worked
                    time.sleep(fault["slow_after_ms"] / 1000.0)
                return _answer(state, 0, extra=extra, headers=webhook)
            finally:
                with state.lock:
                    state.inflight_api -= 1
        return wrapper
    return deco


# --- gettoken ------------------------------------------------------------------------------
@bp.route("/cgi-bin/gettoken", methods=["GET"])
@api("gettoken", token=False, json_body=False)
def gettoken(state, _body):
    corpid = request.args.get("corpid", "")
    secret = request.args.get("corpsecret", "")
    if corpid != state.corp_id:
        raise ApiError(40013)
    if secret != state.secret:
        raise ApiError(40001)
    token, ttl = state.issue_token()
    return {"access_token": token, "expires_in": ttl}


# --- content checks shared by message/send, appchat/send, webhook/send --------------------------
def _section(body, key):
    sec = body.get(key)
    if not isinstance(sec, dict):
        raise ApiError(40058, f"missing {key}. invalid Request Parameter")
    return sec


def _articles(body, key="news"):
    arts = _section(body, key).get("articles")
    if not isinstance(arts, list) or not arts:
        raise ApiError(40058, f"{key}.articles is empty. invalid Request Parameter")
    if len(arts) > 8:
        raise ApiError(45008, f"{key}.articles exceed max count 8")
    lines = []
    for i, a in enumerate(arts):
        if not isinstance(a, dict) or not a.get("title"):
            raise ApiError(40058, f"{key}.articles[{i}].title is empty. invalid Request Parameter")
        if utf8_len(a["title"]) > 128:
            raise ApiError(40058, f"{key}.articles[{i}].title exceed max length 128. invalid Request Parameter")
        if utf8_len(a.get("description") or "") > 512:
            raise ApiError(40058, f"{key}.articles[{i}].description exceed max length 512. "
                                  "invalid Request Parameter")
        lines.append(f"[{a['title']}]({a.get('url', '')})" + (f"\n{a['description']}" if a.get("description") else ""))
    return "\n\n".join(lines), arts


def _template_card(body, allowed):
    card = _section(body, "template_card")
    ctype = card.get("card_type")
    if ctype not in allowed:
        raise ApiError(40058, f"template_card.card_type {ctype!r} not supported. invalid Request Parameter")
    title = (card.get("main_title") or {}).get("title") or ""
    desc = (card.get("main_title") or {}).get("desc") or ""
    sub = card.get("sub_title_text") or ""
    text = "\n".join(x for x in (f"**{title}**" if title else "", desc, sub) if x)
    return text or f"[{ctype}]", ctype


def _content(state, body, *, channel: str):
    """-> (msgtype, text, extra) after WeCom's checks for this channel."""
    mt = body.get("msgtype")
    extra = {}
    if mt == "text":
        sec = _section(body, "text")
        text = sec.get("content")
        if not isinstance(text, str) or text == "":
            raise ApiError(44004)
        if utf8_len(text) > TEXT_MAX:
            if channel == "webhook":
                raise ApiError(40058, f"text.content exceed max length {TEXT_MAX}. invalid Request Parameter")
            extra["truncated_from"] = utf8_len(text)   # app messages: WeCom truncates [3P]
            text = truncate_utf8(text, TEXT_MAX)
        return mt, text, extra
    if mt in ("markdown", "markdown_v2"):
        if mt == "markdown_v2" and channel != "webhook":
            raise ApiError(40008)
        text = _section(body, mt).get("content")
        if not isinstance(text, str) or text == "":
            raise ApiError(44004)
        limit = WEBHOOK_MARKDOWN_MAX if channel == "webhook" else APP_MARKDOWN_MAX
        if utf8_len(text) > limit:
            raise ApiError(40058, f"{mt}.content exceed max length {limit}. invalid Request Parameter")
        return mt, text, extra
    if mt == "news":
        text, arts = _articles(body)
        extra["articles"] = arts
        return mt, text, extra
    if mt == "textcard" and channel != "webhook":
        sec = _section(body, "textcard")
        title, desc, url = sec.get("title") or "", sec.get("description") or "", sec.get("url") or ""
        if not title or not desc or not url:
            raise ApiError(40058, "textcard needs title, description and url. invalid Request Parameter")
        if utf8_len(title) > 128:
            raise ApiError(40058, "textcard.title exceed max length 128. invalid Request Parameter")
        if utf8_len(desc) > 512:
            raise ApiError(40058, "textcard.description exceed max length 512. invalid Request Parameter")
        plain = re.sub(r"<[^>]+>", "", desc)
        btn = sec.get("btntxt") or "详情"
        return mt, f"**{title}**\n{plain}\n[{btn}]({url})", extra
    if mt == "interactive_taskcard" and channel == "app":
        return _taskcard(body)
    if mt == "template_card":
        allowed = ("text_notice", "news_notice") if channel == "webhook" else \
            ("text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction")
        text, ctype = _template_card(body, allowed)
        extra["card_type"] = ctype
        if channel != "webhook" and ctype in ("button_interaction", "vote_interaction", "multiple_interaction"):
            extra["task_id"] = body["template_card"].get("task_id")
        return mt, text, extra
    if mt == "image" and channel == "webhook":
        sec = _section(body, "image")
        b64, md5 = sec.get("base64") or "", (sec.get("md5") or "").lower()
        try:
            raw = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(40058, "image.base64 is not valid base64. invalid Request Parameter")
        if not raw:
            raise ApiError(40058, "image.base64 is empty. invalid Request Parameter")
        if len(raw) > IMAGE_MAX:
            raise ApiError(40009, f"image size {len(raw)} exceed max 2M")
        if hashlib.md5(raw).hexdigest() != md5:
            raise ApiError(40058, "image.md5 does not match image.base64. invalid Request Parameter")
        if not (raw.startswith(b"\xff\xd8\xff") or raw.startswith(b"\x89PNG\r\n\x1a\n")):
            raise ApiError(40005, "image must be JPG or PNG")
        extra["bytes"] = len(raw)
        extra["picture"] = state.add_picture(raw)[0]
        return mt, f"[图片 {len(raw)} 字节]", extra
    if mt in ("image", "voice", "video", "file", "mpnews") and channel != "webhook" or \
            mt in ("file", "voice") and channel == "webhook":
        sec = _section(body, mt)
        media_id = sec.get("media_id")
        if mt != "mpnews" and not media_id:
            raise ApiError(40058, f"{mt}.media_id is empty. invalid Request Parameter")
        if channel == "webhook":
            key = request.args.get("key", "")
            m = state.webhook_media.get(media_id)
            if not m or m["key"] != key or m["expires"] < time.time():
                raise ApiError(40007, "invalid media_id")
        label = {"image": "图片", "voice": "语音", "video": "视频", "file": "文件", "mpnews": "图文"}[mt]
        with state.lock:
            pid = state.media_pictures.get(media_id or "")
        if pid:
            extra["picture"] = pid
        return mt, f"[{label}]", extra
    raise ApiError(40008)


def _check_agent(state, body) -> None:
    """40056 unless the request names this app's agentid."""
    try:
        agentid = int(body.get("agentid"))
    except (TypeError, ValueError):
        raise ApiError(40056)
    if agentid != state.agent_id:
        raise ApiError(40056)


# --- message/send ---------------------------------------------------------------------------
@bp.route("/cgi-bin/message/send", methods=["POST"])
@api("message/send")
def message_send(state, body):
    _check_agent(state, body)
    touser = str(body.get("touser") or "")
    toparty = str(body.get("toparty") or "")
    totag = str(body.get("totag") or "")
    if not (touser or toparty or totag):
        raise ApiError(40058, "touser, toparty and totag are all empty. invalid Request Parameter")
    mt, text, extra = _content(state, body, channel="app")
    lower = {u.lower(): u for u in state.people}
    if touser.strip() == "@all":
        users, invalid = list(state.people), []
    else:
        users, invalid = [], []
        for u in [x for x in touser.split("|") if x]:
            (users.append(lower[u.lower()]) if u.lower() in lower else invalid.append(u.lower()))
        if len(touser.split("|")) > 1000:
            raise ApiError(40058, "touser exceed max count 1000. invalid Request Parameter")
    # the simulator has no departments or tags [decided]: every party/tag id is invalid
    invalidparty = toparty
    invalidtag = totag
    users = list(dict.fromkeys(users))
    result = {"invaliduser": "|".join(invalid), "invalidparty": invalidparty, "invalidtag": invalidtag,
              "unlicenseduser": "", "msgid": secrets.token_urlsafe(32)}
    if mt == "template_card" and extra.get("task_id") is not None:
        result["response_code"] = secrets.token_urlsafe(48)
    if not users:
        raise ApiError(81013, None, **result)
    if mt == "interactive_taskcard":
        _register_taskcard(state, extra, users)
    # enable_duplicate_check: identical request inside the interval is dropped (silently) [decided]
    if body.get("enable_duplicate_check"):
        interval = min(int(body.get("duplicate_check_interval") or 1800), 4 * 3600)
        key = hashlib.sha1(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        now = time.time()
        with state.lock:
            last = state.dup_check.get(key)
            if last and now - last < interval:
                state.count_drop("message/send:duplicate", len(users))
                return result
            state.dup_check[key] = now
    for u in users:
        now = time.time()
        # per app per member 30/min and 1000/h: excess is silently dropped (wecom.md §3.3)
        with state.lock:
            ok = state.take(("member_min", u), MINUTE, state.limits["member_per_minute"], now)
            if ok and not state.take(("member_hour", u), HOUR, state.limits["member_per_hour"], now):
                ok = False
                # roll back the minute slot we just took
                w = state.windows.get(("member_min", u))
                if w and w.events:
                    w.events.pop()
        if not ok:
            state.count_drop("message/send")
            continue
        state.add_message(f"dm:{u}", "bot", text, mt, via="message/send", **extra)
    return result


# --- task cards (任务卡片) ----------------------------------------------------------------------------
# Confirmed from public SDKs that quote the official page (D:90236 "任务卡片消息"; WxJava, work_wechat,
# PowerWeChat): message/send msgtype "interactive_taskcard" with {title <=128 B, description <=512 B
# (both truncated), url (optional, <=2048 B), task_id (unique per app, [0-9A-Za-z_-@] <=128 B),
# btn: 1-2 buttons {key ([0-9A-Za-z_-@] <=128 B), name, replace_name (default 已处理), color red|blue,
# is_bold}}; a click comes back as Event taskcard_click with EventKey = key and TaskId; the card is
# updated by POST message/update_taskcard {userids (<=1000), agentid, task_id, replace_name (<=18 B,
# truncated)} (older SDKs send clicked_key instead), answer {errcode, errmsg, invaliduser}.
# Not confirmed: the error codes for a repeated task_id, an unknown task_id or too many buttons
# (the simulator answers 40058 [decided]); whether a card is still updatable after a long time.
# WeCom's forum says task cards were superseded by template cards (update_template_card) [3P].
_TASK_KEY = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")


def _taskcard(body):
    sec = _section(body, "interactive_taskcard")
    title = truncate_utf8(str(sec.get("title") or ""), 128)
    desc = truncate_utf8(str(sec.get("description") or ""), 512)
    task_id = sec.get("task_id")
    btn = sec.get("btn")
    if not title or not desc:
        raise ApiError(40058, "interactive_taskcard needs title and description. invalid Request Parameter")
    if not isinstance(task_id, str) or not _TASK_KEY.match(task_id):
        raise ApiError(40058, "interactive_taskcard.task_id is invalid. invalid Request Parameter")
    if not isinstance(btn, list) or not 1 <= len(btn) <= 2:
        raise ApiError(40058, "interactive_taskcard.btn must have 1 or 2 buttons. invalid Request Parameter")
    buttons = []
    for i, b in enumerate(btn):
        if not isinstance(b, dict) or not _TASK_KEY.match(str(b.get("key") or "")) or not b.get("name"):
            raise ApiError(40058, f"interactive_taskcard.btn[{i}] needs key and name. invalid Request Parameter")
        buttons.append({"key": b["key"], "name": b["name"], "replace_name": b.get("replace_name") or "已处理"})
    if utf8_len(sec.get("url") or "") > 2048:
        raise ApiError(40058, "interactive_taskcard.url exceed max length 2048. invalid Request Parameter")
    text = f"**{title}**\n{desc}\n" + " ".join(f"[{b['name']}]" for b in buttons)
    return "interactive_taskcard", text, {"task_id": task_id, "buttons": buttons}


def _register_taskcard(state, extra: dict, users: list) -> None:
    with state.lock:
        if extra["task_id"] in state.taskcards:
            raise ApiError(40058, "task_id already exists. invalid Request Parameter")
        state.taskcards[extra["task_id"]] = {"users": list(users), "buttons": extra["buttons"], "updates": []}


@bp.route("/cgi-bin/message/update_taskcard", methods=["POST"])
@api("message/update_taskcard")
def message_update_taskcard(state, body):
    _check_agent(state, body)
    userids = body.get("userids")
    if not isinstance(userids, list) or not userids or len(userids) > 1000:
        raise ApiError(40058, "userids must list 1 to 1000 members. invalid Request Parameter")
    task_id = body.get("task_id")
    with state.lock:
        card = state.taskcards.get(task_id) if isinstance(task_id, str) else None
    if card is None:
        raise ApiError(40058, "invalid task_id. invalid Request Parameter")
    replace = body.get("replace_name")
    if not replace and body.get("clicked_key"):
        replace = next((b["replace_name"] for b in card["buttons"] if b["key"] == body["clicked_key"]), None)
        if replace is None:
            raise ApiError(40058, "invalid clicked_key. invalid Request Parameter")
    if not isinstance(replace, str) or not replace:
        raise ApiError(40058, "replace_name is empty. invalid Request Parameter")
    replace = truncate_utf8(replace, 18)
    invalid = [u for u in userids if u not in card["users"]]
    with state.lock:
        card["updates"].append({"userids": list(userids), "replace_name": replace, "time": round(time.time(), 3)})
        for u in userids:
            for m in state.by_chat.get(f"dm:{u}", []):
                if m.get("task_id") == task_id:
                    # the buttons give way to the replacement text, as the WeCom client shows it
                    m.setdefault("card_text", m["text"])
                    m["replace_name"] = replace
                    m["text"] = m["card_text"].rsplit("\n", 1)[0] + f"\n【{replace}】"
    return {"invaliduser": [u.lower() for u in invalid]}


# --- appchat ------------------------------------------------------------------------------------
_CHATID = re.compile(r"^[0-9a-zA-Z]{1,32}$")


@bp.route("/cgi-bin/appchat/create", methods=["POST"])
@api("appchat/create")
def appchat_create(state, body):
    from .state import Chat
    name = body.get("name") or ""
    users = body.get("userlist") or []
    owner = body.get("owner")
    chatid = body.get("chatid")
    if not isinstance(name, str) or len(name) > 50:
        raise ApiError(86004)
    if not isinstance(users, list) or len(users) < 2 or len(users) > 2000:
        raise ApiError(86006, "userlist must have 2 to 2000 members")
    bad = [u for u in users if u not in state.people]
    if bad:
        raise ApiError(86007, f"invalid chat member {'|'.join(bad)}")
    if owner is None:
        owner = users[0]   # WeCom picks one from userlist when owner is absent
    if owner not in users:
        raise ApiError(86005)
    with state.lock:
        if chatid is None:
            chatid = secrets.token_hex(16)
        elif not isinstance(chatid, str) or not _CHATID.match(chatid):
            raise ApiError(86001)
        if chatid in state.appchats or chatid in state.chats:
            raise ApiError(86215)
        c = Chat(id=chatid, name=name or "群聊", kind="appchat", members=list(dict.fromkeys(users)),
                 appchat_chatid=chatid, owner=owner, created=True)
        state.chats[chatid] = c
        state.appchats[chatid] = chatid
    return {"chatid": chatid}


def _appchat(state, chatid):
    with state.lock:
        cid = state.appchats.get(chatid or "")
        c = state.chats.get(cid) if cid else None
    if c is None:
        # includes config groups that are not app groups (webhook groups, external customer groups):
        # the app cannot reach them [decided: 86003, as for a chatid that does not exist]
        raise ApiError(86003)
    return c


@bp.route("/cgi-bin/appchat/get", methods=["GET"])
@api("appchat/get", json_body=False)
def appchat_get(state, _body):
    c = _appchat(state, request.args.get("chatid"))
    return {"chat_info": {"chatid": c.appchat_chatid, "name": c.name, "owner": c.owner,
                          "userlist": list(c.members), "chat_type": 0}}


@bp.route("/cgi-bin/appchat/update", methods=["POST"])
@api("appchat/update")
def appchat_update(state, body):
    c = _appchat(state, body.get("chatid"))
    add = body.get("add_user_list") or []
    rm = body.get("del_user_list") or []
    bad = [u for u in add if u not in state.people]
    if bad:
        raise ApiError(86007, f"invalid chat member {'|'.join(bad)}")
    with state.lock:
        if body.get("name"):
            if len(body["name"]) > 50:
                raise ApiError(86004)
            c.name = body["name"]
        members = [u for u in c.members if u not in rm] + [u for u in add if u not in c.members]
        owner = body.get("owner") or c.owner
        if owner not in members:
            raise ApiError(86005)
        c.members, c.owner = members, owner
    return {}


@bp.route("/cgi-bin/appchat/send", methods=["POST"])
@api("appchat/send")
def appchat_send(state, body):
    c = _appchat(state, body.get("chatid"))
    mt, text, extra = _content(state, body, channel="appchat")
    # each member <= 200 messages/min, excess silently dropped (wecom.md §3.4)
    now = time.time()
    reached = [u for u in c.members
               if state.take(("appchat_member", u), MINUTE, state.limits["appchat_member_per_minute"], now)]
    dropped = len(c.members) - len(reached)
    if dropped:
        state.count_drop("appchat/send", dropped)
    if reached or not c.members:
        state.add_message(c.id, "bot", text, mt, via="appchat", **extra)
    return {}


# --- group robot webhook ------------------------------------------------------------------------------
def _webhook_chat(state):
    key = request.args.get("key") or ""
    name = state.robot_keys.get(key)
    chat_id = state.robot_chat.get(name) if name else None
    chat = state.chats.get(chat_id) if chat_id else None
    if chat is None or chat.external:
        # unknown key, or a robot that sits in no group (or, impossibly, an external one) [decided]
        raise ApiError(93000)
    return key, name, chat


def _mentions(state, sec) -> list:
    out = []
    for u in sec.get("mentioned_list") or []:
        out.append(u)
    for m in sec.get("mentioned_mobile_list") or []:
        out.append(m if m == "@all" else state.mobiles.get(m, f"mobile:{m}"))
    return list(dict.fromkeys(out))


@bp.route("/cgi-bin/webhook/send", methods=["POST"])
@api("webhook/send", token=False, webhook=True)
def webhook_send(state, body):
    key, name, chat = _webhook_chat(state)
    mt, text, extra = _content(state, body, channel="webhook")
    mentions = []
    if mt == "text":
        mentions = _mentions(state, body["text"])
    elif mt in ("markdown", "markdown_v2"):
        mentions = list(dict.fromkeys(re.findall(r"<@([^>\s]+)>", text)))
    if not state.take(("webhook", key), MINUTE, state.limits["webhook_per_minute"]):
        raise ApiError(45009)
    state.add_message(chat.id, f"robot:{name}", text, mt, mentions=mentions, via="webhook", **extra)
    return {}


@bp.route("/cgi-bin/webhook/upload_media", methods=["POST"])
@api("webhook/upload_media", token=False, json_body=False, webhook=True)
def webhook_upload_media(state, _body):
    key, _name, _chat = _webhook_chat(state)
    mtype = request.args.get("type", "")
    if mtype not in ("file", "voice"):
        raise ApiError(40004 if mtype else 40058, "invalid media type")
    f = request.files.get("media")
    if f is None:
        raise ApiError(40058, "missing multipart field media. invalid Request Parameter")
    data = f.read()
    cap = 20 * 1024 * 1024 if mtype == "file" else 2 * 1024 * 1024
    if len(data) < 5 or len(data) > cap:
        raise ApiError(40006 if mtype == "file" else 40007, f"invalid {mtype} size")
    media_id = "3" + secrets.token_urlsafe(40)
    now = int(time.time())
    with state.lock:
        state.webhook_media[media_id] = {"key": key, "expires": now + 3 * 86400, "type": mtype}
    return {"type": mtype, "media_id": media_id, "created_at": str(now)}


# --- AI bot response_url ----------------------------------------------------------------------------------
@bp.route("/cgi-bin/aibot/response", methods=["POST"])
@api("aibot/response", token=False)
def aibot_response(state, body):
    code = request.args.get("response_code") or ""
    now = time.time()
    with state.lock:
        rc = state.response_codes.get(code)
        if rc is None:
            raise ApiError(40058, "invalid response_code. invalid Request Parameter")
        if rc["used"]:
            raise ApiError(40058, "response_code already used. invalid Request Parameter")
        if rc["expires"] < now:
            raise ApiError(40058, "response_code expired. invalid Request Parameter")
    mt = body.get("msgtype")
    if mt in ("markdown", "text"):
        text = _section(body, mt).get("content")
        if not isinstance(text, str) or not text:
            raise ApiError(44004)
        if utf8_len(text) > AIBOT_CONTENT_MAX:
            raise ApiError(40058, f"{mt}.content exceed max length {AIBOT_CONTENT_MAX}. invalid Request Parameter")
    elif mt == "template_card":
        text, _ = _template_card(body, ("text_notice", "news_notice", "button_interaction",
                                         "vote_interaction", "multiple_interaction"))
    else:
        raise ApiError(40008)
    with state.lock:
        if rc["used"]:   # lost a race with a concurrent use
            raise ApiError(40058, "response_code already used. invalid Request Parameter")
        rc["used"] = True
    state.add_message(rc["chat"], "bot", text, mt, via="response_url", reply_to=rc["msgid"])
    return {}
