"""The router offers a `Message` to handlers by priority; the first that accepts it answers.

Commands (`#帮助`, `#预警` …) are matched by name, and who may use them where is checked
here, in one place, from each handler's `roles` and `chats`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from bot.core.context import Context
from bot.core.message import Message, Reply

COMMAND = re.compile(r"^[#＃]\s*(\S+?)(?:[\s:：]+(.*))?$", re.S)

ROLE_NAMES = {"resident": "居民", "police": "民警", "liaison": "联络员", "admin": "管理员", "propaganda": "宣传员"}
CHAT_NAMES = {"community": "社区群", "bank": "银行群", "school": "学校群", "square": "广场群", "network": "网络群",
              "station": "车站群", "unit": "单位群", "enterprise": "企业群", "linkage": "联动预警群",
              "leadership": "领导小组群", "single": "单聊"}


def parse_command(text: str) -> Optional[tuple[str, str]]:
    """'#反馈 YJ-1 已劝阻' → ('反馈', 'YJ-1 已劝阻'); None when text is not a command."""
    m = COMMAND.match(text.strip())
    if not m:
        return None
    return m.group(1), (m.group(2) or "").strip()


class Handler:
    """Base class. A command handler sets `command`; others override `accepts`.

    roles: who may use it (None = everyone); chats: chat kinds where it works (None = all).
    priority: non-command handlers are offered a message in ascending priority (ties: the
    order they were given); commands are found by name, so their priority only orders #帮助.
    """
    name = "handler"
    command: Optional[str] = None
    aliases: tuple[str, ...] = ()
    roles: Optional[set[str]] = None
    chats: Optional[set[str]] = None
    priority: int = 50
    # answers in well under the passive deadline (no chart, no fan-out to many groups): the inbox runs
    # it in the request's thread instead of handing it to its pool
    quick = False
    # changes nothing (help, the Q&A): the inbox may answer it before recording the message, and record
    # both in one transaction
    reads_only = False
    # slow work that must not hold a callback (reading a picture): the inbox runs it in its own small
    # pool and answers `pending` at once; the answer follows when it is ready. `busy` is said instead
    # when that pool's line is full. `at_once` may answer before the work is queued (a refusal).
    heavy = False
    pending = ""
    busy = ""
    usage = ""
    summary = ""

    def accepts(self, msg: Message, ctx: Context) -> bool:
        return False

    def at_once(self, msg: Message, ctx: Context) -> Optional[list[Reply]]:
        """A heavy handler's quick look before its work is queued: replies that answer the message
        instead (a resident past their pictures a minute), or None to go on."""
        return None

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        raise NotImplementedError

    def allowed(self, msg: Message, ctx: Context) -> bool:
        return ((self.roles is None or bool(self.roles & ctx.roles(msg)))
                and (self.chats is None or ctx.chat_kind(msg) in self.chats))

    def names(self) -> tuple[str, ...]:
        return ((self.command,) if self.command else ()) + self.aliases


@dataclass(frozen=True)
class Route:
    """The handler that answers a message (`name`), its answer to run, and whether it is quick;
    `handler` is set when a handler (not the router itself) answers."""
    name: str
    answer: Callable[[], list[Reply]]
    quick: bool = False
    handler: Optional[Handler] = None

    @property
    def heavy(self) -> bool:
        return self.handler is not None and self.handler.heavy

    @property
    def reads_only(self) -> bool:
        """The router's own answers (an unknown command, a refusal) change nothing either."""
        return self.handler is None or self.handler.reads_only


class Router:
    def __init__(self, handlers: Iterable[Handler], fallback: Optional[Handler] = None):
        # sorted() is stable: equal priorities keep the order they were given in
        self.handlers = sorted(handlers, key=lambda h: h.priority)
        self.fallback = fallback
        names = [n for h in self.handlers for n in h.names()]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two handlers claim the command(s) {', '.join('#' + n for n in twice)}")

    @property
    def commands(self) -> list[Handler]:
        return [h for h in self.handlers if h.command]

    def command_handler(self, name: str) -> Optional[Handler]:
        return next((h for h in self.commands if name in h.names()), None)

    def available(self, msg: Message, ctx: Context) -> list[Handler]:
        """Commands this sender may use in this chat."""
        return [h for h in self.commands if h.allowed(msg, ctx)]

    def select(self, msg: Message, ctx: Context) -> "Route":
        """Who answers a message, not yet asked to: commands by name (with roles and chats checked),
        then the first other handler that accepts it, then the fallback."""
        parsed = parse_command(msg.text)
        if parsed:
            name, args = parsed
            h = self.command_handler(name)
            if h is None:
                text = self.unknown_command_text(name, msg, ctx)
                return Route("unknown-command", lambda: [Reply(text)], quick=True)
            if not h.allowed(msg, ctx):
                return Route(h.name, lambda: [Reply(self.refusal_text(h))], quick=True)
            return Route(h.name, lambda: h.handle(msg, ctx, args), h.quick, h)
        for h in self.handlers:
            if not h.command and h.accepts(msg, ctx):
                return Route(h.name, lambda: h.handle(msg, ctx), h.quick, h)
        if self.fallback:
            return Route(self.fallback.name, lambda: self.fallback.handle(msg, ctx), self.fallback.quick,
                         self.fallback)
        return Route("none", lambda: [], quick=True)

    def dispatch(self, msg: Message, ctx: Context) -> tuple[str, list[Reply]]:
        """Answer a message: (name of the handler that took it, replies)."""
        route = self.select(msg, ctx)
        return route.name, route.answer()

    def unknown_command_text(self, name: str, msg: Message, ctx: Context) -> str:
        names = "、".join(f"#{h.command}" for h in self.available(msg, ctx))
        return f"没有“#{name}”这个命令。可用命令：{names or '无'}。发送 #帮助 查看用法。"

    @staticmethod
    def refusal_text(h: Handler) -> str:
        who = "、".join(ROLE_NAMES[r] for r in sorted(h.roles)) if h.roles else "所有人"
        where = "、".join(CHAT_NAMES.get(c, c) for c in sorted(h.chats)) if h.chats else "任何聊天"
        return f"#{h.command} 仅限{who}在{where}中使用。"
