"""The simulator's memory: chats, messages, tokens, rate windows, faults, stats and deliveries.

One `SimState` per simulator app, shared by the HTTP handlers and the delivery threads; every
mutation happens under `self.lock` (an RLock). Network I/O and sleeps never hold it.
"""
from __future__ import annotations

import collections
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

# errmsg texts as WeCom words them (reference/wecom.md §3; the codes marked * are from WeCom's
# global error-code page as remembered, not from wecom.md)
ERRMSG = {
    -1: "system busy",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid userid",
    40005: "invalid file type",            # *
    40008: "invalid message type",
    40009: "invalid image size",           # *
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40056: "invalid agentid",
    40058: "invalid Request Parameter",
    41001: "access_token missing",
    42001: "access_token expired",
    44002: "empty post data",              # *
    44004: "empty content",
    45002: "content size out of limit",
    45008: "article size out of limit",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    47001: "data format error",            # *
    48002: "api forbidden",
    60011: "no privilege to access/modify contact/party/agent",
    81013: "user & party & tag all invalid",
    86001: "invalid chatid",               # *
    86003: "chatid not exist",             # *
    86004: "invalid chat name",            # *
    86005: "invalid chat owner",           # *
    86006: "invalid chat member count",    # *
    86007: "invalid chat member",          # *
    86008: "chat not created by this app",  # *
    86215: "chatid already exists",        # *
    93000: "invalid webhook url",
}

# APIs that accept fault injection and are counted in stats
APIS = ("gettoken", "message/send", "appchat/create", "appchat/update", "appchat/get", "appchat/send",
        "webhook/send", "webhook/upload_media", "aibot/response",
        "message/update_taskcard", "auth/getuserinfo")

MINUTE = 60.0
HOUR = 3600.0


def utf8_len(s: str) -> int:
    return len(s.encode("utf-8"))


def truncate_utf8(s: str, limit: int) -> str:
    """Cut to at most `limit` UTF-8 bytes without splitting a character."""
    b = s.encode("utf-8")
    if len(b) <= limit:
        return s
    return b[:limit].decode("utf-8", errors="ignore")


@dataclass
class Chat:
    id: str
    name: str
    kind: str                      # a config group kind, "single" for dm:<userid>, "appchat" for created ones
    external: bool = False
    members: list = field(default_factory=list)
    aibot_chatid: Optional[str] = None   # chatid in AI-bot callbacks (internal groups only)
    robot: Optional[str] = None          # group robot name (webhook) sitting in this chat
    appchat_chatid: Optional[str] = None  # app-created group id (appchat/*)
    owner: Optional[str] = None
    created: bool = False                # made by appchat/create at run time

    @property
    def is_dm(self) -> bool:
        return self.id.startswith("dm:")


class SlidingWindow:
    """Timestamps of accepted events within `span` seconds."""
    __slots__ = ("span", "events")

    def __init__(self, span: float):
        self.span = span
        self.events: collections.deque = collections.deque()

    def count(self, now: float) -> int:
        ev = self.events
        while ev and ev[0] <= now - self.span:
            ev.popleft()
        return len(ev)

    def add(self, now: float) -> None:
        self.events.append(now)


class SimState:
    def __init__(self, config, bot_url: str, *, token_ttl: int = 7200, callback_timeout: float = 5.0,
                 callback_retries: int = 3, public_url: Optional[str] = None):
        self.lock = threading.RLock()
        self.config = config
        w = config.wecom
        self.corp_id = w.corp_id
        self.agent_id = int(w.agent_id)
        self.secret = w.secret
        self.aibot_name = w.aibot.name
        self.aibotid = "aib" + hashlib.sha1(("aibot:" + w.aibot.token).encode()).hexdigest()[:24]
        # settings changeable at run time (POST /sim/settings, /sim/token, /sim/limits)
        self.bot_url = bot_url.rstrip("/")
        self.public_url = public_url.rstrip("/") if public_url else None
        self.callback_timeout = float(callback_timeout)
        self.callback_retries = int(callback_retries)
        self.retry_delay = 0.0                 # pause between a failed attempt and its retry [decided]
        self.stream_refresh_interval = 0.3
        self.stream_max_seconds = 360.0        # WeCom stops refreshing 6 min after the user's message
        self.token_ttl = int(token_ttl)
        self.limits_enabled = True
        self.limits = {
            "webhook_per_minute": 20,          # per robot key
            "member_per_minute": 30,           # message/send, per app per member -> silent drop
            "member_per_hour": 1000,
            "appchat_member_per_minute": 200,  # appchat/send, per member -> silent drop
            "api_per_minute": 10000,           # per corp per API -> 45009
            "gettoken_per_minute": 100,        # [decided] frequent gettoken is throttled -> 45009
            "concurrency": 200,                # in-flight /cgi-bin calls -> 45033
            "aibot_inflight_per_user": 3,      # AI bot: messages in flight per user
        }
        self.people = {p.userid: p for p in config.people}
        self.mobiles = {p.mobile: p.userid for p in config.people if p.mobile}
        self.robot_keys = {r.key: name for name, r in config.robots.items()}
        self._build_chats()
        self._seq = 0
        self._msgid = secrets.randbelow(10 ** 17) + 7 * 10 ** 18   # 64-bit-looking MsgIds
        self._hint = 0
        self.tokens: dict[str, dict] = {}
        self.current_token: Optional[str] = None
        self.inflight_api = 0
        self.pending_deliveries = 0
        self.aibot_inflight: dict[str, int] = collections.Counter()
        self.reset()

    # --- set-up ------------------------------------------------------------------------
    def _build_chats(self) -> None:
        self.chats: dict[str, Chat] = {}
        self.aibot_chatids: dict[str, str] = {}
        self.appchats: dict[str, str] = {}
        self.robot_chat: dict[str, str] = {}
        for g in self.config.groups:
            c = Chat(id=g.id, name=g.name, kind=g.kind, external=g.external, members=list(g.members))
            if not g.external:
                c.aibot_chatid = g.aibot_chatid or g.id
                self.aibot_chatids[c.aibot_chatid] = g.id
                if g.send.via == "webhook" and g.send.robot:
                    c.robot = g.send.robot
                    self.robot_chat[g.send.robot] = g.id
                if g.send.via == "appchat" and g.send.chatid:
                    c.appchat_chatid = g.send.chatid
                    c.owner = g.send.owner or (g.members[0] if g.members else None)
                    self.appchats[g.send.chatid] = g.id
            self.chats[g.id] = c
        for p in self.config.people:
            cid = f"dm:{p.userid}"
            self.chats[cid] = Chat(id=cid, name=p.name, kind="single", members=[p.userid])

    def reset(self) -> None:
        """Clear messages, stats, faults, rate windows, deliveries, response codes and app-created
        chats. Config, tokens, limits on/off and settings stay."""
        with self.lock:
            for cid in [cid for cid, c in self.chats.items() if c.created]:
                self.appchats.pop(self.chats[cid].appchat_chatid, None)
                del self.chats[cid]
            self.messages: list[dict] = []
            self.by_chat: dict[str, list] = collections.defaultdict(list)
            self.faults: list[dict] = []
            self.windows: dict[tuple, SlidingWindow] = {}
            self.deliveries: list[dict] = []
            self.response_codes: dict[str, dict] = {}
            # task cards sent by message/send (interactive_taskcard), by task_id
            self.taskcards: dict[str, dict] = {}
            self.dup_check: dict[str, float] = {}
            self.webhook_media: dict[str, dict] = {}
            # pictures members send and the bot sends (charts, posters), by picture id; media ids of pictures
            self.pictures: dict[str, dict] = {}
            self.media_pictures: dict[str, str] = {}
            self.duplicate_callbacks = 0
            self.stats = {
                "gettoken": 0,
                "calls": collections.Counter(),
                "errors": collections.Counter(),
                "drops": collections.Counter(),
                "deliveries": collections.Counter(),
                "messages": 0,
                "reply_problems": 0,
            }

    # --- ids -----------------------------------------------------------------------------
    def next_msgid(self) -> str:
        with self.lock:
            self._msgid += secrets.randbelow(1000) + 1
            return str(self._msgid)

    def hint(self) -> str:
        with self.lock:
            self._hint += 1
            return f"{int(time.time())}{secrets.randbelow(10 ** 6):06d}_{self._hint}_{secrets.token_hex(16)}"

    # --- pictures -------------------------------------------------------------------------
    def add_picture(self, data: bytes, ttl: float = 3 * 86400, media: bool = False) -> tuple[str, Optional[str]]:
        """Keep a picture for `ttl` seconds: (picture id, a media id for it when `media`)."""
        pid = secrets.token_urlsafe(12)
        media_id = ("1" + secrets.token_urlsafe(40)) if media else None
        with self.lock:
            self.pictures[pid] = {"bytes": data, "expires": time.time() + ttl}
            if media_id:
                self.media_pictures[media_id] = pid
        return pid, media_id

    def picture(self, pid: str) -> Optional[bytes]:
        """A kept picture's bytes; None when unknown or past its time."""
        with self.lock:
            p = self.pictures.get(pid)
        return p["bytes"] if p and p["expires"] >= time.time() else None

    # --- messages -------------------------------------------------------------------------
    def add_message(self, chat_id: str, sender: str, text: str, msgtype: str = "text",
                    mentions=(), **extra) -> dict:
        with self.lock:
            self._seq += 1
            m = {"seq": self._seq, "chat": chat_id, "from": sender, "text": text, "msgtype": msgtype,
                 "mentions": list(mentions), "time": round(time.time(), 3)}
            m.update(extra)
            self.messages.append(m)
            self.by_chat[chat_id].append(m)
            self.stats["messages"] += 1
            return m

    def messages_of(self, chat_id: Optional[str], since: int = 0) -> list[dict]:
        with self.lock:
            src = self.messages if chat_id is None else self.by_chat.get(chat_id, [])
            if since <= 0:
                return list(src)
            # seq grows with position: binary search the first seq > since
            lo, hi = 0, len(src)
            while lo < hi:
                mid = (lo + hi) // 2
                if src[mid]["seq"] <= since:
                    lo = mid + 1
                else:
                    hi = mid
            return src[lo:]

    # --- tokens ---------------------------------------------------------------------------
    def issue_token(self) -> tuple[str, int]:
        """WeCom returns the same token while it is valid [decided: expires_in counts down]."""
        with self.lock:
            now = time.time()
            t = self.tokens.get(self.current_token) if self.current_token else None
            if t and not t["revoked"] and t["expires"] > now + 1:
                return self.current_token, int(t["expires"] - now)
            token = secrets.token_urlsafe(96)
            self.tokens[token] = {"expires": now + self.token_ttl, "revoked": False, "issued": now}
            self.current_token = token
            if len(self.tokens) > 1000:   # forget the oldest
                for k in sorted(self.tokens, key=lambda k: self.tokens[k]["issued"])[:500]:
                    del self.tokens[k]
            return token, self.token_ttl

    def check_token(self, token: Optional[str]) -> int:
        """0 if usable, else 41001 / 40014 / 42001."""
        if not token:
            return 41001
        with self.lock:
            t = self.tokens.get(token)
            if t is None:
                return 40014
            if t["revoked"] or t["expires"] <= time.time():
                return 42001
            return 0

    def expire_tokens(self) -> None:
        with self.lock:
            for t in self.tokens.values():
                t["revoked"] = True

    # --- limits -----------------------------------------------------------------------------
    def window(self, key: tuple, span: float) -> SlidingWindow:
        w = self.windows.get(key)
        if w is None:
            w = self.windows[key] = SlidingWindow(span)
        return w

    def take(self, key: tuple, span: float, limit: int, now: Optional[float] = None) -> bool:
        """Count one event against a sliding-window limit; False (and not counted) when over."""
        with self.lock:
            if not self.limits_enabled:
                return True
            now = now or time.time()
            w = self.window(key, span)
            if w.count(now) >= limit:
                return False
            w.add(now)
            return True

    # --- faults -----------------------------------------------------------------------------
    def add_fault(self, spec: dict) -> dict:
        api = spec.get("api", "*")
        f = {"api": api, "count": int(spec.get("count", 1)), "errcode": spec.get("errcode"),
             "slow_ms": int(spec.get("slow_ms", 0) or 0), "errmsg": spec.get("errmsg"),
             "slow_after_ms": int(spec.get("slow_after_ms", 0) or 0)}
        if f["errcode"] is not None:
            f["errcode"] = int(f["errcode"])
        with self.lock:
            self.faults.append(f)
        return f

    def take_fault(self, api: str) -> Optional[dict]:
        with self.lock:
            for f in self.faults:
                if f["count"] > 0 and (f["api"] == api or f["api"] == "*"):
                    f["count"] -= 1
                    out = dict(f)
                    self.faults = [x for x in self.faults if x["count"] > 0]
                    return out
            return None

    # --- stats ------------------------------------------------------------------------------
    def count_call(self, api: str) -> None:
        with self.lock:
            self.stats["calls"][api] += 1
            if api == "gettoken":
                self.stats["gettoken"] += 1

    def count_error(self, code: int) -> None:
        with self.lock:
            self.stats["errors"][str(code)] += 1

    def count_drop(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.stats["drops"][what] += n

    def snapshot_stats(self) -> dict:
        with self.lock:
            s = self.stats
            return {"gettoken": s["gettoken"], "calls": dict(s["calls"]), "errors": dict(s["errors"]),
                    "drops": dict(s["drops"]), "deliveries": dict(s["deliveries"]),
                    "messages": s["messages"], "reply_problems": s["reply_problems"],
                    "limits_enabled": self.limits_enabled, "token_ttl": self.token_ttl,
                    "pending_deliveries": self.pending_deliveries}

    # --- deliveries ---------------------------------------------------------------------------
    def record_delivery(self, entry: dict) -> None:
        with self.lock:
            self.deliveries.append(entry)
            d = self.stats["deliveries"]
            d["attempts"] += 1
            if entry["attempt"] > 1:
                d["retries"] += 1
            d[entry["outcome"]] += 1
            if entry.get("problems"):
                self.stats["reply_problems"] += len(entry["problems"])

    # --- look-ups -----------------------------------------------------------------------------
    def chat(self, ref: str) -> Optional[Chat]:
        """A chat by its id, its AI-bot chatid or its appchat chatid."""
        with self.lock:
            c = self.chats.get(ref)
            if c:
                return c
            cid = self.aibot_chatids.get(ref) or self.appchats.get(ref)
            return self.chats.get(cid) if cid else None

    def role_of(self, userid: str) -> str:
        p = self.people.get(userid)
        return p.roles[0] if p and p.roles else "resident"

    def chat_json(self, c: Chat) -> dict:
        out = {"id": c.id, "name": c.name, "kind": c.kind, "external": c.external,
               "members": [{"userid": u, "name": self.people[u].name if u in self.people else u,
                            "role": self.role_of(u)} for u in c.members]}
        if c.aibot_chatid and not c.is_dm:
            out["aibot_chatid"] = c.aibot_chatid
        if c.robot:
            out["robot"] = c.robot
        if c.appchat_chatid:
            out["appchat_chatid"] = c.appchat_chatid
        return out
