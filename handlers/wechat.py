"""What WeChat residents (the official account's followers, not WeCom members) get besides answers
to questions: a welcome on follow, menu clicks, the keyword 反诈, and a word on messages the bot
cannot read (voice, location, link, video). Questions go to the Q&A, pictures to handlers.picture."""
from __future__ import annotations

import re

from bot.core.context import Context
from bot.core.message import Message, Reply
from bot.core.router import Handler
from content import answers

KEYWORDS = re.compile(r"^(反诈|防诈|帮助|菜单|功能|help|\?|？)[。.!！]*$", re.I)
NOT_TEXT = ("voice", "image", "location", "link", "video", "shortvideo", "file")

APP_TEXT = ("安装「国家反诈中心」APP：打开手机自带的应用商店，搜索“国家反诈中心”下载安装。"
            "不要点别人发来的链接或二维码安装。")
# the real 96110 shows as area code + 96110; with 00 or + in front it may be spoofed (fraud-facts §1)
FOOTER = ("显示“本地区号+96110”的来电是反诈民警，请接听；号码前带00或+的是冒充，挂断后自己打96110或110。"
          "拿不准打96110咨询；已经被骗，立即打110报警。")


def welcome_text() -> str:
    return ("感谢关注！我是反诈哨兵。\n"
            "遇到可疑的电话、短信、链接，或有人让您转账、刷单、先交钱贷款，直接发文字告诉我，"
            "也可以把可疑短信复制或截图发来，我帮您判断是不是诈骗。\n"
            "例如：“有人拉我进群刷单返利”“接到自称公安的电话说我涉案”。\n"
            + APP_TEXT + "\n" + FOOTER)


def help_text(lib) -> str:
    return ("发文字告诉我您遇到的情况，或把可疑短信复制、截图发来，我帮您判断是不是诈骗。\n"
            + answers.help_line(lib) + "\n"
            "我答复后，回复“案例”看例子，回复“怎么办”看防范办法。\n" + APP_TEXT)


def not_text() -> str:
    return ("收到了。语音、视频、位置和链接我还看不懂，请发文字或截图告诉我您遇到的情况，"
            "比如“有人让我下载软件刷单”。急事请直接打110。")


class PublicHandler(Handler):
    name = "wechat"
    quick = True
    reads_only = True
    priority = 30

    def accepts(self, msg: Message, ctx: Context) -> bool:
        if msg.member:
            return False
        return bool(msg.event) or msg.msg_type in NOT_TEXT or bool(KEYWORDS.match(msg.text.strip()))

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        event = (msg.event or "").lower()
        if event == "subscribe":
            return [Reply(welcome_text(), intent="none")]
        if event == "click":
            key = (msg.event_key or "").upper()
            if "APP" in key:
                return [Reply(APP_TEXT + "\n" + FOOTER, intent="app")]
            return [Reply(help_text(ctx.library), intent="none")]
        if event:          # unsubscribe, VIEW, SCAN, LOCATION …: nothing to say
            return []
        if msg.msg_type in NOT_TEXT:
            return [Reply(not_text(), intent="none", decision="unread")]
        return [Reply(help_text(ctx.library), intent="none", decision="menu")]
