"""POST /api/warnings for the anti-fraud centre's own system: auth, validation, idempotency, masking."""
import logging

import pytest
import requests
from sqlalchemy import func, select

from bot.warnings.models import Warning
from tests.conftest import wait_for

TOKEN = "s3cret-token-for-tests"
GOOD = {"external_id": "FZ-2026-0001", "phone": "13812345678", "place": "河口镇新河村", "name": "李四",
        "type": "冒充客服", "level": "红", "note": "对方自称快递客服要求退款"}


@pytest.fixture
def api(stack, monkeypatch):
    monkeypatch.setenv(stack.config.warnings.api_token_env, TOKEN)

    def post(body, token=TOKEN):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(f"{stack.bot_url}/api/warnings", json=body, headers=headers, timeout=5)
    return post


def count(stack):
    with stack.service.sessions() as s:
        return s.scalar(select(func.count()).select_from(Warning))


def test_without_or_with_a_wrong_token_401_and_nothing_created(stack, api):
    assert api(GOOD, token=None).status_code == 401
    r = api(GOOD, token="wrong")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert count(stack) == 0


def test_no_token_configured_refuses_everything(stack, monkeypatch):
    monkeypatch.delenv(stack.config.warnings.api_token_env, raising=False)
    r = requests.post(f"{stack.bot_url}/api/warnings", json=GOOD, headers={"Authorization": "Bearer "}, timeout=5)
    assert r.status_code == 401 and count(stack) == 0


def test_field_errors_422(stack, api):
    r = api({"external_id": "", "phone": "12345", "level": "紫", "extra": "x"})
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"extra"}
    r = api({"external_id": "", "phone": "12345", "level": "紫"})
    f = r.json()["fields"]
    assert r.status_code == 422 and set(f) == {"external_id", "phone", "place", "level"}
    assert api(["not", "an", "object"]).status_code == 422
    assert count(stack) == 0


def test_created_once_per_external_id_and_dispatched(stack, api):
    r = api(GOOD)
    assert r.status_code == 201
    body = r.json()
    assert body["created"] is True and body["station"] == "hekou" and body["type"] == "kefu"
    # the API is not the linkage group: masked
    assert body["phone"] == "138****5678" and body["name"] == "李某"
    again = api(GOOD)
    assert again.status_code == 200 and again.json()["number"] == body["number"] and again.json()["created"] is False
    assert count(stack) == 1
    post = wait_for(lambda: [m for m in stack.bot_messages("linkage") if body["number"] in m["text"]], timeout=5)
    assert post[0]["mentions"] == ["liaison_lin"] and "13812345678" in post[0]["text"] and "李四" in post[0]["text"]
    got = requests.get(f"{stack.bot_url}/api/warnings/{body['number']}", headers={"Authorization": f"Bearer {TOKEN}"},
                       timeout=5)
    assert got.status_code == 200 and got.json()["state"] == "issued" and got.json()["phone"] == "138****5678"
    assert requests.get(f"{stack.bot_url}/api/warnings/{body['number']}", timeout=5).status_code == 401


def test_numbers_count_up_per_day(stack, api):
    numbers = [api(dict(GOOD, external_id=f"FZ-{i}")).json()["number"] for i in range(3)]
    assert [n[-3:] for n in numbers] == ["001", "002", "003"]
    assert len({n[3:11] for n in numbers}) == 1


def test_phone_numbers_are_masked_in_logs(stack, api, caplog):
    caplog.set_level(logging.DEBUG)
    stack.say("linkage", "police_duty", "#预警 姓名:王五 电话:13987654321 地址:东关村 类型:刷单")
    number = wait_for(lambda: [m for m in stack.bot_messages("linkage") if "【预警" in m["text"]], timeout=5)
    assert api(dict(GOOD, phone="13700001111")).status_code == 201
    stack.say("linkage", "liaison_chen", "#签收 " + number[0]["text"].split("【预警 ")[1].split("｜")[0])
    wait_for(lambda: [m for m in stack.bot_messages("linkage") if "已签收" in m["text"]], timeout=5)
    stack.service.sender.drain()
    logs = caplog.text
    assert "warning YJ-" in logs                               # the warnings were logged …
    assert "139****4321" in logs and "137****1111" in logs     # … masked
    assert "13987654321" not in logs and "13700001111" not in logs and "王五" not in logs
    # and no chat but the linkage group saw the full number
    for chat in ("dm:liaison_chen", "dm:liaison_lin", "dm:police_duty", "leadership", "dongguan_grid"):
        assert all("13987654321" not in m["text"] and "13700001111" not in m["text"] for m in stack.messages(chat))


def test_nul_wrong_types_and_long_values_are_422_with_the_field_never_500(stack, api):
    for body, field in (({**GOOD, "note": "abc\x00def"}, "note"), ({**GOOD, "phone": 13812345678}, "phone"),
                        ({**GOOD, "name": ["张三"]}, "name"), ({**GOOD, "external_id": "x" * 101}, "external_id"),
                        ({**GOOD, "place": "很长的地名" * 50}, "place"), ({**GOOD, "note": "情" * 2001}, "note")):
        r = api(body)
        assert r.status_code == 422 and field in r.json()["fields"], (field, r.status_code, r.text[:200])
    for raw in (b"\xff\xfe not json", b"[1, 2]", b'{"external_id": '):
        r = requests.post(f"{stack.bot_url}/api/warnings", data=raw, timeout=5,
                          headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        assert r.status_code == 422, r.text
    assert count(stack) == 0


def test_a_landline_is_masked_in_the_answer_and_on_the_task_card(stack, api):
    from bot.models import OutboxMessage
    r = api({**GOOD, "external_id": "FZ-LAND-1", "phone": "0731-84567890"})
    assert r.status_code == 201 and r.json()["phone"] == "0731-****7890"
    with stack.service.sessions() as s:
        cards = [o.payload for o in s.scalars(select(OutboxMessage).where(OutboxMessage.msgtype == "card"))]
    assert cards and all("0731-****7890" in c["description"] and "84567890" not in c["description"] for c in cards)
