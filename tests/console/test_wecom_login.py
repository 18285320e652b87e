"""Logging in to the console through WeCom, with the simulator playing WeCom's log-in pages and
auth/getuserinfo over real HTTP: 扫码登录 on a PC, 网页授权 inside the WeCom client, and the refusals."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.console.conftest import SECRET

pytestmark = pytest.mark.slow

WECOM_LOGIN = {"CONSOLE_LOGIN": "wecom", "FANZHA_CONSOLE_SECRET": SECRET,
               "WECOM_OAUTH_BASE": "{sim_url}", "WECOM_SSO_BASE": "{sim_url}"}


def log_in(stack, as_: str, user_agent: str = "Mozilla/5.0 Chrome/156") -> tuple[requests.Session, requests.Response]:
    """Open the console's WeCom log-in, 'scan' as a member in the simulator, follow back to the console."""
    s = requests.Session()
    s.headers["User-Agent"] = user_agent
    to_wecom = s.get(f"{stack.bot_url}/console/login/wecom", allow_redirects=False)
    assert to_wecom.status_code == 302
    chooser = to_wecom.headers["Location"]
    back = s.get(chooser.split("#")[0] + f"&as={as_}", allow_redirects=False)
    assert back.status_code == 302 and back.headers["Location"].startswith(f"{stack.bot_url}/console/login/wecom/return")
    return s, s.get(back.headers["Location"])


def test_a_pc_logs_in_by_scanning_and_gets_the_roles_of_its_userid(stack_factory):
    stack = stack_factory(env=WECOM_LOGIN)
    s = requests.Session()
    first = s.get(f"{stack.bot_url}/console/login/wecom", allow_redirects=False).headers["Location"]
    u = urlsplit(first)
    q = parse_qs(u.query)
    assert u.path == "/wwlogin/sso/login" and q["login_type"] == ["CorpApp"]
    assert q["appid"] == [stack.config.wecom.corp_id] and q["agentid"] == [str(stack.config.wecom.agent_id)]
    s, page = log_in(stack, "police_duty")
    assert page.status_code == 200 and "预警看板" in page.text and "反诈中心值班员" in page.text


def test_inside_the_wecom_client_the_log_in_is_oauth(stack_factory):
    stack = stack_factory(env=WECOM_LOGIN)
    s = requests.Session()
    s.headers["User-Agent"] = "Mozilla/5.0 wxwork/4.1.30 MicroMessenger/7.0.1"
    first = s.get(f"{stack.bot_url}/console/login/wecom", allow_redirects=False).headers["Location"]
    assert urlsplit(first).path == "/connect/oauth2/authorize" and first.endswith("#wechat_redirect")
    assert parse_qs(urlsplit(first).query)["scope"] == ["snsapi_base"]
    _, page = log_in(stack, "leader_zheng", user_agent=s.headers["User-Agent"])
    assert page.status_code == 200 and "郑政委" in page.text


def test_refusals_outsider_resident_reused_code_and_forged_state(stack_factory):
    stack = stack_factory(env=WECOM_LOGIN)
    _, page = log_in(stack, "openid:wx-outsider")
    assert page.status_code == 403 and "企业外的微信用户不能登录" in page.text
    _, page = log_in(stack, "res_liu")
    assert page.status_code == 403 and "不在配置的工作人员名单中" in page.text
    # a code works once: the same return link again is refused (the state is used up too)
    s = requests.Session()
    chooser = s.get(f"{stack.bot_url}/console/login/wecom", allow_redirects=False).headers["Location"]
    back = s.get(chooser + "&as=police_duty", allow_redirects=False).headers["Location"]
    assert s.get(back).status_code == 200
    again = s.get(back)
    assert again.status_code == 400 and "重新登录" in again.text
    # a return with someone else's state (a forged link) is refused before WeCom is asked
    other = requests.Session()
    other.get(f"{stack.bot_url}/console/login/wecom", allow_redirects=False)
    forged = other.get(back)
    assert forged.status_code == 400 and "请重新登录" in forged.text
    assert other.get(f"{stack.bot_url}/console/warnings", allow_redirects=False).status_code == 302
