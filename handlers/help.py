"""#帮助: the commands this sender may use in this chat; and the answer when nothing else fits."""
from __future__ import annotations

from bot.core.context import Context
from bot.core.message import Message, Reply
from bot.core.router import Handler
from handlers.wechat import help_text


class HelpHandler(Handler):
    name = "help"
    quick = True
    reads_only = True
    command = "帮助"
    aliases = ("help", "菜单")
    usage = "#帮助"
    summary = "查看可用命令"

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        if not msg.member:   # WeChat followers have no commands: say what to ask
            return [Reply(help_text(ctx.library))]
        lines = ["【反诈哨兵】可用命令："]
        for h in ctx.router.available(msg, ctx):
            lines.append(f"{h.usage or '#' + h.command}　{h.summary}")
        lines.append("也可以直接@我描述遇到的情况，我帮您判断是不是诈骗。")
        lines.append("被骗了请立即拨打110报警；咨询反诈请拨96110。")
        return [Reply("\n".join(lines))]


class FallbackHandler(Handler):
    """Said when no handler took a message: a short pointer, never a guess."""
    name = "fallback"
    quick = True
    reads_only = True

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        if msg.msg_type != "text" or msg.event:
            return []
        return [Reply("我是反诈哨兵。发送 #帮助 查看可用命令；遇到可疑情况可拨打96110咨询，被骗请立即拨打110。")]
