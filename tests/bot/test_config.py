"""Config: the shipped file is valid, and every kind of mistake names the file, key and reason."""
import os
import subprocess
import sys

import pytest
import yaml

from bot.config import ConfigError, load_config
from tests.conftest import ROOT


def write(tmp_path, data) -> str:
    p = tmp_path / "config.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(p)


@pytest.fixture
def raw():
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def errors_of(path, env=None) -> list[str]:
    with pytest.raises(ConfigError) as e:
        load_config(path, env=env if env is not None else {})
    return e.value.errors


def test_shipped_config_describes_the_demo_county():
    cfg = load_config(ROOT / "config.yaml", env={})
    kinds = [g.kind for g in cfg.groups]
    assert kinds.count("community") >= 3 and {"school", "bank", "enterprise", "linkage", "leadership"} <= set(kinds)
    community = cfg.groups_of_kind("community")
    assert any(not g.external for g in community) and any(g.external for g in community)
    assert len(cfg.stations) >= 3 and all(s.liaisons for s in cfg.stations)
    assert any("resident" in p.roles for p in cfg.people)
    assert cfg.database.url.startswith("sqlite:///data/")


def test_secrets_come_from_the_environment(raw):
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    for var in ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY", "DATABASE_URL"):
        assert "${" + var + ":-" in text
    cfg = load_config(ROOT / "config.yaml", env={"WECOM_SECRET": "s3cret", "DATABASE_URL": "postgresql+psycopg://x/y"})
    assert cfg.wecom.secret == "s3cret" and cfg.database.url == "postgresql+psycopg://x/y"


def test_missing_variable_without_default_names_the_key(tmp_path, raw):
    raw["wecom"]["secret"] = "${NOT_SET_ANYWHERE}"
    errs = errors_of(write(tmp_path, raw))
    assert "wecom.secret: environment variable NOT_SET_ANYWHERE is not set" in errs


def test_bad_values_name_each_key(tmp_path, raw):
    raw["groups"][0]["kind"] = "village"
    raw["wecom"]["encoding_aes_key"] = "too-short"
    raw["people"][0]["mobile"] = "12345"
    errs = errors_of(write(tmp_path, raw))
    assert any(e.startswith("groups.0.kind: ") for e in errs)
    assert any(e.startswith("wecom.encoding_aes_key: must be exactly 43") for e in errs)
    assert any(e.startswith("people.0.mobile: must be an 11-digit") for e in errs)


def test_broken_references_are_reported(tmp_path, raw):
    raw["stations"][1]["liaisons"] = ["nobody"]
    raw["groups"][0]["send"]["robot"] = "ghost_robot"
    errs = errors_of(write(tmp_path, raw))
    assert "stations.1.liaisons.0: unknown person 'nobody'" in errs
    assert "groups.0.send.robot: unknown robot 'ghost_robot'" in errs


def test_external_group_cannot_have_a_robot(tmp_path, raw):
    g = next(g for g in raw["groups"] if g.get("external"))
    g["send"] = {"via": "webhook", "robot": "dongguan_robot"}
    errs = errors_of(write(tmp_path, raw))
    assert any("cannot be reached via webhook" in e for e in errs)


def test_yaml_syntax_error_names_the_line(tmp_path):
    p = tmp_path / "config.yaml"
    p.write_text("wecom:\n  corp_id: [unclosed\n", encoding="utf-8")
    errs = errors_of(str(p))
    assert errs[0].startswith("line ")


@pytest.mark.slow
def test_check_config_cli(tmp_path, raw):
    ok = subprocess.run([sys.executable, "-m", "bot", "check-config", str(ROOT / "config.yaml")],
                        capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0 and ok.stdout.strip().splitlines()[-1] == "ok"
    # without FANZHA_CONSOLE_SECRET the bot runs, but the console's refusal is said here too
    assert "console.secret: not set" in ok.stdout
    env = dict(os.environ, FANZHA_CONSOLE_SECRET="x" * 32)
    ok = subprocess.run([sys.executable, "-m", "bot", "check-config", str(ROOT / "config.yaml")],
                        capture_output=True, text=True, cwd=ROOT, env=env)
    assert ok.returncode == 0 and ok.stdout.strip() == "ok"
    raw["groups"][0]["kind"] = "village"
    bad = subprocess.run([sys.executable, "-m", "bot", "check-config", write(tmp_path, raw)],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1 and "groups.0.kind:" in bad.stdout


@pytest.mark.slow
def test_serve_refuses_a_bad_config_without_a_traceback(tmp_path, raw):
    raw["stations"][0]["chief"] = "nobody"
    r = subprocess.run([sys.executable, "-m", "bot", "serve", "--config", write(tmp_path, raw), "--port", "9"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 1
    assert "stations.0.chief: unknown person 'nobody'" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_unknown_timezone_or_database_fails_at_load_naming_the_key(tmp_path, raw):
    raw["timezone"] = "Asia/Beijing"
    raw["database"]["url"] = "mysql://root@localhost/fanzha"
    errs = errors_of(write(tmp_path, raw))
    assert "timezone: unknown timezone 'Asia/Beijing': give an IANA name such as Asia/Shanghai" in errs
    assert any(e.startswith("database.url: mysql is not supported") for e in errs)


def test_check_config_makes_every_check_that_start_up_makes(tmp_path, raw, capsys):
    """What stopped `serve` after check-config said ok: fraud types the content does not know, a
    campaign with nothing to send, a cron weekday cron would read otherwise."""
    import argparse
    from bot.cli import cmd_check_config
    raw["priorities"] = {"weights": {"shuadan": 2, "piaowu": 1}}
    raw["campaigns"][0]["cron"] = "0 9 1 * 1"
    assert cmd_check_config(argparse.Namespace(path=write(tmp_path, raw))) == 1
    out = capsys.readouterr().out
    assert "campaigns.0.cron:" in out and "both a day of the month and a weekday" in out
    raw["campaigns"][0]["cron"] = "0 9 * * 1"
    assert cmd_check_config(argparse.Namespace(path=write(tmp_path, raw))) == 1
    assert "priorities.weights.piaowu: unknown fraud type" in capsys.readouterr().out
    raw["priorities"] = {}
    raw["campaigns"] = [{"name": "只发海报", "targets": {"kinds": ["school"]}, "cron": "0 9 * * *",
                         "draw_from": ["scenario"], "msgtype": "image"}]
    assert cmd_check_config(argparse.Namespace(path=write(tmp_path, raw))) == 1
    assert "campaigns.0.draw_from: nothing to send to group school_parents" in capsys.readouterr().out
    raw["campaigns"][0]["draw_from"] = ["venue"]
    assert cmd_check_config(argparse.Namespace(path=write(tmp_path, raw))) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "ok"


# issue 11, item 8: the reminder SMS signature names the bureau
def test_the_sms_signature_is_the_bureau_named_in_units_unless_set(tmp_path, raw):
    assert load_config(ROOT / "config.yaml", env={}).signature == "【安平县公安局】"
    raw["sms_signature"] = "【安平公安】"
    assert load_config(write(tmp_path, raw), env={}).signature == "【安平公安】"


@pytest.mark.parametrize("signature, reason", [
    ("安平县公安局", "write it as 【…】"),
    ("【反诈提醒】", "names no sender"),
    ("【反诈中心温馨提示】", "names no sender"),
    ("【安】", "1 characters inside 【】; 2 to 12 are allowed"),
    ("【安平县公安局刑侦大队反诈中心】", "14 characters inside 【】; 2 to 12 are allowed"),
    ("【安平 公安】", "no spaces"),
])
def test_a_bad_sms_signature_names_the_file_key_and_reason(tmp_path, raw, signature, reason):
    raw["sms_signature"] = signature
    path = write(tmp_path, raw)
    with pytest.raises(ConfigError) as e:
        load_config(path, env={})
    [line] = e.value.render().splitlines()
    assert line.startswith(f"{path}: sms_signature: ") and reason in line, line


def test_sms_to_network_groups_need_a_signature(tmp_path, raw):
    raw["units"] = [u for u in raw["units"] if "公安局" not in u["name"]]
    for g in raw["groups"]:
        if g.get("unit") == "fzzx":
            del g["unit"]
    assert load_config(write(tmp_path, raw), env={}).signature is None     # no network group: fine
    raw["robots"]["net_robot"] = {"key": "k"}
    raw["groups"].append({"id": "county_net", "name": "县反诈宣传群", "kind": "network",
                          "send": {"via": "webhook", "robot": "net_robot"}})
    raw["campaigns"].append({"name": "提醒短信", "targets": {"kinds": ["network"]}, "cron": "0 9 * * *",
                             "draw_from": ["venue"]})
    errs = errors_of(write(tmp_path, raw))
    assert any(e.startswith("sms_signature: campaigns.4 sends reminder SMS to network groups") for e in errs), errs
