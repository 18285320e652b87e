"""The web process killed with SIGKILL while it reads a burst of pictures: after a restart every
picture is answered, once (the app channel: WeCom drops a repeated send within its duplicate check),
by WeCom's retries or the recovery job."""
from __future__ import annotations

import base64

import pytest

from bot.models import InboundMessage
from tests import drawing
from tests.conftest import wait_for
from tests.faults.web import WebWorld

pytestmark = pytest.mark.slow

RESIDENTS = ("res_liu", "res_zhao", "res_sun", "teacher_he", "bank_guo", "fin_wu")
SMS = "【顺丰速运】您的快递在运输途中丢失，我司将为您办理三倍理赔，请添加理赔客服QQ：2873456612登记办理。"


def test_a_web_process_killed_while_reading_pictures_answers_each_once_after_the_restart(db_url, tmp_path):
    world = WebWorld(db_url, tmp_path)

    def answers(user: str) -> list[str]:
        return [m["text"] for m in world.messages(f"dm:{user}") if m["from"] == "bot" and "图里写着" in m["text"]]

    picture = base64.b64encode(drawing.sms_screenshot(SMS)).decode()
    try:
        first = world.serve()
        for user in RESIDENTS:
            world.say(chat=f"dm:{user}", user=user, image=picture)
        # killed while it reads: some pictures answered, the rest in its line
        assert wait_for(lambda: world.count(InboundMessage, InboundMessage.state == "done") >= 1, timeout=60,
                        interval=0.05)
        world.kill(first)
        left = world.count(InboundMessage, InboundMessage.state == "processing")
        world.serve()
        assert wait_for(lambda: world.count(InboundMessage, InboundMessage.state == "done") == len(RESIDENTS),
                        timeout=120), "not every picture was answered after the restart"
        assert wait_for(lambda: all(answers(u) for u in RESIDENTS), timeout=30), left
        assert {u: len(answers(u)) for u in RESIDENTS} == {u: 1 for u in RESIDENTS}, left
        assert left >= 1          # the kill did catch pictures unread
    finally:
        world.stop()
