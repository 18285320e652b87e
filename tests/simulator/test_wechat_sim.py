"""The simulator's official account and customer-group mass-send API, spoken to directly."""
import io


def mp_token(sim, config):
    r = sim.get(f"/cgi-bin/token?grant_type=client_credential&appid={config.mp.app_id}&secret={config.mp.app_secret}")
    return r.json()["access_token"]


def test_official_account_token_and_customer_service_window(sim, config):
    assert sim.get("/cgi-bin/token?grant_type=client_credential&appid=wxnope&secret=x").json()["errcode"] == 40013
    bad = sim.get(f"/cgi-bin/token?grant_type=client_credential&appid={config.mp.app_id}&secret=x").json()
    assert bad["errcode"] == 40125
    tok = mp_token(sim, config)
    followers = sim.get("/sim/mp/followers").json()["followers"]
    openid = followers[0]["openid"]
    body = {"touser": openid, "msgtype": "text", "text": {"content": "你好"}}
    # nobody wrote yet: outside the 48 h window
    assert sim.post(f"/cgi-bin/message/custom/send?access_token={tok}", body).json()["errcode"] == 45015
    assert sim.post("/cgi-bin/message/custom/send?access_token=nope", body).json()["errcode"] == 40001
    assert sim.post(f"/cgi-bin/message/custom/send?access_token={tok}",
                    dict(body, touser="ounknown")).json()["errcode"] == 40003


def test_mass_send_task_lifecycle(sim, config):
    tok = sim.get(f"/cgi-bin/gettoken?corpid={config.wecom.corp_id}&corpsecret={config.wecom.secret}").json()["access_token"]
    url = "/cgi-bin/externalcontact/{}?access_token=" + tok
    g = config.group("binhe_residents")
    r = sim.post(url.format("add_msg_template"), {"chat_type": "group", "sender": "gridli",
                                                      "chat_id_list": [g.send.chatid, "wrSomeoneElses"],
                                                      "text": {"content": "防诈提醒"}}).json()
    assert r["errcode"] == 0 and r["fail_list"] == ["wrSomeoneElses"] and r["msgid"].startswith("msg")
    assert sim.post(url.format("add_msg_template"), {"chat_type": "group", "text": {"content": "x"}}).json()["errcode"] == 40058
    msgid = r["msgid"]
    task = sim.post(url.format("get_groupmsg_task"), {"msgid": msgid}).json()["task_list"]
    assert task == [{"userid": "gridli", "status": 0}]
    assert sim.post(url.format("get_groupmsg_send_result"), {"msgid": msgid, "userid": "gridli"}).json()["send_list"] == []
    assert sim.post("/sim/mass_tasks/confirm", {"msgid": msgid}).json()["state"] == "sent"
    sent = sim.post(url.format("get_groupmsg_send_result"), {"msgid": msgid, "userid": "gridli"}).json()["send_list"]
    assert [(s["chat_id"], s["status"]) for s in sent] == [(g.send.chatid, 1)]
    assert [m["text"] for m in sim.get("/sim/messages?chat=binhe_residents").json()] == ["防诈提醒"]
    assert sim.post(url.format("get_groupmsg_task"), {"msgid": "msgnope"}).json()["errcode"] == 40058


def test_media_upload_takes_images_only(sim, config):
    tok = sim.get(f"/cgi-bin/gettoken?corpid={config.wecom.corp_id}&corpsecret={config.wecom.secret}").json()["access_token"]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
    ok = sim.post(f"/cgi-bin/media/upload?access_token={tok}&type=image",
                  files={"media": ("a.png", io.BytesIO(png), "image/png")}).json()
    assert ok["errcode"] == 0 and ok["media_id"]
    bad = sim.post(f"/cgi-bin/media/upload?access_token={tok}&type=image",
                   files={"media": ("a.gif", io.BytesIO(b"GIF89a....."), "image/gif")}).json()
    assert bad["errcode"] == 40005
