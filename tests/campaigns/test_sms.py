"""Reminder SMS to network groups (issue 11, item 8): the venue files hold the body, the campaign
puts the bureau's signature from config in front, and one SMS with its signature is 70 characters."""
import argparse
import datetime as dt
import shutil

import pytest
import yaml
from sqlalchemy import select

from bot import campaigns as cp
from bot.app import Service, check_startup
from bot.config import CampaignConfig, ConfigError, GroupConfig
from bot.models import OutboxMessage
from content.venues import DEFAULT_DIR, load_venues
from tests.conftest import demo_config

NOON = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.timezone.utc)      # 12:00 in Asia/Shanghai

NETWORK = GroupConfig.model_validate({"id": "county_net", "name": "县反诈宣传群", "kind": "network",
                                      "send": {"via": "appchat", "chatid": "county_net"}})
SMS_CAMPAIGN = CampaignConfig.model_validate({"name": "提醒短信", "targets": {"groups": ["county_net"]},
                                              "cron": "0 12 * * *", "draw_from": ["venue"], "msgtype": "text",
                                              "rotation_days": 30})


def with_network(cfg, **update):
    return cfg.model_copy(update={"groups": [*cfg.groups, NETWORK], "campaigns": [SMS_CAMPAIGN], **update})


def queued_texts(svc) -> list[str]:
    with svc.sessions() as s:
        return [r.payload["text"] for r in s.scalars(select(OutboxMessage).where(OutboxMessage.group_id == "county_net"))]


def test_a_network_group_gets_reminder_sms_signed_by_the_bureau(db_url):
    svc = Service(with_network(demo_config(db_url)))
    for day in range(20):       # every network and general item once
        cp.run_slot(svc, SMS_CAMPAIGN, NOON + dt.timedelta(days=day))
    texts = queued_texts(svc)
    assert len(set(texts)) == len(texts) == 20
    for text in texts:
        assert text.startswith("【安平县公安局】") and text.count("【") == 1, text
        assert "反诈提醒" not in text
        assert len(text) <= 70, (len(text), text)


def test_an_explicit_signature_is_the_one_sent(db_url):
    svc = Service(with_network(demo_config(db_url), sms_signature="【安平公安】"))
    cp.run_slot(svc, SMS_CAMPAIGN, NOON)
    [text] = queued_texts(svc)
    assert text.startswith("【安平公安】") and not text.startswith("【安平公安】【")


def test_the_preview_shows_the_signed_sms(db_url):
    svc = Service(with_network(demo_config(db_url)))
    [(group, item)] = cp.preview(svc, SMS_CAMPAIGN, NOON)
    assert group.id == "county_net" and item.text.startswith("【安平县公安局】")


@pytest.fixture
def long_sms_venues(tmp_path):
    """A copy of the venue files whose first network SMS is 66 characters, as long as the loader allows."""
    dst = tmp_path / "venues"
    shutil.copytree(DEFAULT_DIR, dst)
    path = dst / "network.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["items"][0]["sms"] = "凡是需要先行充值或垫付资金的刷单都是诈骗。" * 3 + "别转钱"
    assert len(data["items"][0]["sms"]) == 66
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return dst


def test_start_up_counts_the_signature_in_the_70_characters(db_url, long_sms_venues):
    cfg = demo_config(db_url)
    with pytest.raises(ConfigError) as e:
        check_startup(cfg, venues=load_venues(long_sms_venues))
    [line] = e.value.errors
    assert line.startswith("sms_signature: 【安平县公安局】 (8 characters) and the sms of network.yaml network-shuadan (66)")
    assert "74 characters, over the 70 of one SMS" in line
    # the shortest signature fits
    check_startup(cfg.model_copy(update={"sms_signature": "【安平】"}), venues=load_venues(long_sms_venues))


def test_check_config_says_which_sms_the_signature_does_not_fit(long_sms_venues, monkeypatch, capsys, tmp_path):
    from bot.cli import cmd_check_config
    from tests.conftest import ROOT
    monkeypatch.setattr("content.venues.DEFAULT_DIR", long_sms_venues)
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert cmd_check_config(argparse.Namespace(path=str(path))) == 1
    out = capsys.readouterr().out
    assert f"{path}: sms_signature: 【安平县公安局】" in out and "network-shuadan" in out
    raw["sms_signature"] = "【安平】"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert cmd_check_config(argparse.Namespace(path=str(path))) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "ok"
