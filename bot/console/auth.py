"""Logging in to the console.

wecom: inside the WeCom client the browser goes through 网页授权 (open.weixin.qq.com/connect/oauth2/
authorize, scope snsapi_base); on a PC through 扫码登录 (login.work.weixin.qq.com/wwlogin/sso/login). Both
come back with a one-time code that `auth/getuserinfo` turns into the member's userid; the roles are the
config's for that userid. Someone outside the company (an openid) or a member with no staff role is refused.
local: the demo's log-in: pick any configured staff person, no password.
"""
from __future__ import annotations

import logging
import secrets
from urllib.parse import quote, urlencode

from flask import redirect, render_template, request, session, url_for

from bot.channels.wecom_api import ApiError
from bot.console import access
from bot.db import session_scope

log = logging.getLogger(__name__)


def _safe_next(value: str | None) -> str:
    """Only a path of this console: never an address elsewhere (an open redirect)."""
    if value and value.startswith("/console/") and not value.startswith("//"):
        return value
    return url_for("console.home")


def _finish(userid: str, how: str):
    svc = access.service()
    user = access.user_of(svc.config, userid)
    if user is None:
        log.info("console log-in refused for %s: no staff role in the config", userid)
        return render_template("console/login.html", error=f"{userid} 不在配置的工作人员名单中（people 里没有民警、"
                               "宣传、领导、审核或管理员角色），不能登录控制台。", staff=[], mode=svc.config.console.login), 403
    nxt = _safe_next(session.get("next"))
    access.log_in(userid)
    with session_scope(svc.sessions) as s:
        access.record(s, "login", userid, {"how": how})
    return redirect(nxt)


def register(bp) -> None:
    @bp.get("/login")
    def login():
        svc = access.service()
        session["next"] = _safe_next(request.args.get("next"))
        access.csrf_token()
        staff = [access.user_of(svc.config, p.userid) for p in svc.config.people]
        return render_template("console/login.html", staff=[u for u in staff if u], mode=svc.config.console.login,
                               error=None)

    @bp.post("/login/local")
    def login_local():
        if access.service().config.console.login != "local":
            return render_template("console/error.html", message="本系统只能通过企业微信登录。"), 403
        return _finish(request.form.get("userid", ""), "local")

    @bp.get("/login/wecom")
    def login_wecom():
        cfg = access.service().config
        state = secrets.token_urlsafe(16)
        session["oauth_state"] = state
        back = url_for("console.login_wecom_return", _external=True)
        if "wxwork" in request.headers.get("User-Agent", "").lower():     # inside the WeCom client
            q = urlencode({"appid": cfg.wecom.corp_id, "redirect_uri": back, "response_type": "code",
                           "scope": "snsapi_base", "state": state, "agentid": cfg.wecom.agent_id}, quote_via=quote)
            return redirect(f"{cfg.console.oauth_base}/connect/oauth2/authorize?{q}#wechat_redirect")
        q = urlencode({"login_type": "CorpApp", "appid": cfg.wecom.corp_id, "agentid": cfg.wecom.agent_id,
                       "redirect_uri": back, "state": state}, quote_via=quote)
        return redirect(f"{cfg.console.sso_base}/wwlogin/sso/login?{q}")

    @bp.get("/login/wecom/return")
    def login_wecom_return():
        svc = access.service()
        expected = session.pop("oauth_state", None)
        if not expected or request.args.get("state") != expected:
            return render_template("console/error.html", message="登录已过期或来源不对，请重新登录。"), 400
        try:
            who = svc.api.user_from_code(request.args.get("code", ""))
        except ApiError as e:
            log.warning("console log-in: auth/getuserinfo refused the code: %s", e)
            return render_template("console/error.html", message=f"企业微信没有确认这次登录（{e.errcode}），请重新登录。"), 400
        if not who.get("userid"):
            return render_template("console/error.html", message="企业外的微信用户不能登录控制台。"), 403
        return _finish(who["userid"], "wecom")

    @bp.post("/logout")
    def logout():
        session.clear()
        return redirect(url_for("console.login"))
