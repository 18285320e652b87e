"""The control API (/sim/...), the page and the public helpers."""
import re
import threading
import time

from bot.netutil import ServerThread, free_port
from bot.simulator import create_simulator, run_simulator


def test_chats_cover_groups_and_dms(sim, config):
    chats = {c["id"]: c for c in sim.get("/sim/chats").json()}
    for g in config.groups:
        c = chats[g.id]
        assert (c["name"], c["kind"], c["external"]) == (g.name, g.kind, g.external)
        assert [m["userid"] for m in c["members"]] == list(g.members)
    for p in config.people:
        c = chats[f"dm:{p.userid}"]
        assert c["kind"] == "single" and c["members"] == [{"userid": p.userid, "name": p.name, "role": p.roles[0]}]
    assert chats["binhe_residents"]["external"] is True and chats["dongguan_grid"]["external"] is False
    followers = [c for c in chats.values() if c["kind"] == "mp"]   # the official account's demo followers
    assert len(followers) == 4 and all(c["id"].startswith("mp:") for c in followers)
    assert len(chats) == len(config.groups) + len(config.people) + len(followers)
    liu = next(m for m in chats["dongguan_grid"]["members"] if m["userid"] == "res_liu")
    assert liu == {"userid": "res_liu", "name": "刘大爷", "role": "resident"}


def test_messages_are_ordered_with_global_seq_and_since(sim):
    def hook(key, text):
        assert sim.post("/cgi-bin/webhook/send", {"msgtype": "text", "text": {"content": text}},
                        params={"key": key}).json()["errcode"] == 0
    hook("demo-key-linkage", "L1")
    hook("demo-key-bank", "B1")
    sim.say("binhe_residents", "gridli", "E1")   # external: recorded only
    hook("demo-key-linkage", "L2")
    link = sim.messages("linkage")
    assert [m["text"] for m in link] == ["L1", "L2"]
    all_seqs = [m["seq"] for m in sim.get("/sim/messages").json()]
    assert all_seqs == sorted(all_seqs) and len(all_seqs) == 4
    assert link[0]["seq"] < link[1]["seq"]
    assert [m["text"] for m in sim.messages("linkage", since=link[0]["seq"])] == ["L2"]
    assert sim.messages("linkage", since=link[1]["seq"]) == []
    m = link[0]
    assert set(m) >= {"seq", "from", "text", "msgtype", "mentions", "time"}
    assert abs(m["time"] - time.time()) < 5
    assert sim.get("/sim/messages", params={"chat": "nope"}).status_code == 404
    assert sim.get("/sim/messages", params={"chat": "linkage", "since": "x"}).status_code == 400


def test_member_and_bot_messages_interleave_in_order(sim, fakebot):
    def reply(msg, n):
        body = {"msgtype": "stream", "stream": {"id": "s", "finish": True, "content": "答" + msg["text"]["content"][-1]}}
        return 200, fakebot.aibot_reply(body)
    fakebot.on_aibot = reply
    for i in range(3):
        sim.say("dongguan_grid", "res_liu", f"问{i}")
        sim.wait_for(lambda: len(sim.messages("dongguan_grid")) == 2 * (i + 1), what="reply")
    msgs = sim.messages("dongguan_grid")
    assert [(m["from"], m["text"][-2:]) for m in msgs] == [
        ("res_liu", "问0"), ("bot", "答0"), ("res_liu", "问1"), ("bot", "答1"), ("res_liu", "问2"), ("bot", "答2")]
    assert msgs[0]["mentions"] == ["bot"] and msgs[0]["text"].startswith("@反诈哨兵 ")


def test_reset_clears_messages_stats_faults(sim):
    sim.post("/cgi-bin/webhook/send", {"msgtype": "text", "text": {"content": "x"}}, params={"key": "demo-key-bank"})
    sim.post("/sim/faults", {"api": "webhook/send", "errcode": -1, "count": 3})
    sim.post("/sim/reset")
    assert sim.messages("bank_staff") == []
    assert sim.get("/sim/stats").json()["calls"] == {}
    assert sim.get("/sim/faults").json()["faults"] == []


def test_healthz_and_page(sim):
    r = sim.get("/healthz")
    assert r.status_code == 200 and r.text == "ok"
    page = sim.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    html = page.text
    assert "企业微信模拟器" in html and "/sim/say" in html and "/sim/messages" in html
    assert not re.search(r"""src\s*=\s*["']https?://""", html)   # no external CDN
    # the one outside link is the bot's own console
    links = re.findall(r"""href\s*=\s*["'](https?://[^"']+)""", html)
    assert links and all(link.endswith("/console/") and "127.0.0.1" in link for link in links)


def test_settings_and_limits_endpoints(sim):
    r = sim.post("/sim/settings", {"callback_timeout": 0.5}).json()
    assert r["callback_timeout"] == 0.5
    r = sim.post("/sim/limits", {"enabled": False}).json()
    assert r["enabled"] is False and r["webhook_per_minute"] == 20
    sim.post("/sim/limits", {"enabled": True})
    assert sim.post("/sim/token", {"ttl": 0}).status_code == 400


def test_create_simulator_from_path_and_run_simulator(config, tmp_path):
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    app = create_simulator(str(root / "config.yaml"), "http://127.0.0.1:9", token_ttl=60, public_url="http://x:1")
    st = app.extensions["wecom_sim"]
    assert st.token_ttl == 60 and st.public_url == "http://x:1"
    # run_simulator blocks; run it in a thread and hit it over HTTP
    import requests
    port = free_port()
    t = threading.Thread(target=run_simulator, args=(config, "127.0.0.1", port, "http://127.0.0.1:9"), daemon=True)
    t.start()
    s = requests.Session()
    s.trust_env = False
    for _ in range(100):
        try:
            if s.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text == "ok":
                break
        except requests.ConnectionError:
            time.sleep(0.05)
    else:
        raise AssertionError("run_simulator did not come up")


def test_bot_down_is_recorded_as_connection_errors(config):
    app = create_simulator(config, bot_url=f"http://127.0.0.1:{free_port()}", callback_timeout=0.3)
    srv = ServerThread(app).start()
    try:
        import requests
        r = requests.post(srv.url + "/sim/say", json={"chat": "dongguan_grid", "user": "res_liu", "text": "x"},
                          timeout=5).json()
        app.extensions["wecom_sim_deliverer"].wait_idle(5)
        d = requests.get(srv.url + "/sim/deliveries", params={"msgid": r["msgid"]}, timeout=5).json()
        assert [x["reply_kind"] for x in d] == ["connection_error"] * 4
    finally:
        srv.stop()


def test_appchat_groups_and_custom_aibot_chatid_from_config(tmp_path):
    import yaml
    from pathlib import Path
    from bot.config import load_config
    root = Path(__file__).resolve().parents[2]
    raw = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    raw["groups"].append({"id": "case_group", "name": "专案群", "kind": "unit",
                          "send": {"via": "appchat", "chatid": "wrOgAppChat01"},
                          "members": ["police_duty", "liaison_chen"]})
    for g in raw["groups"]:
        if g["id"] == "dongguan_grid":
            g["aibot_chatid"] = "wrkSFfCgAAxxxxDongguan"
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    cfg = load_config(p, env={})
    app = create_simulator(cfg, "http://127.0.0.1:9")
    c = app.test_client()
    w = cfg.wecom
    tok = c.get(f"/cgi-bin/gettoken?corpid={w.corp_id}&corpsecret={w.secret}").json["access_token"]
    info = c.get(f"/cgi-bin/appchat/get?access_token={tok}&chatid=wrOgAppChat01").json
    assert info["chat_info"]["userlist"] == ["police_duty", "liaison_chen"]
    r = c.post(f"/cgi-bin/appchat/send?access_token={tok}",
               json={"chatid": "wrOgAppChat01", "msgtype": "text", "text": {"content": "集合"}}).json
    assert r["errcode"] == 0
    assert [m["text"] for m in c.get("/sim/messages?chat=case_group").json] == ["集合"]
    chats = {x["id"]: x for x in c.get("/sim/chats").json}
    assert chats["dongguan_grid"]["aibot_chatid"] == "wrkSFfCgAAxxxxDongguan"
    assert c.get("/sim/messages?chat=wrkSFfCgAAxxxxDongguan").status_code == 200
