"""WeCom's log-in for web pages, as the console meets it: 网页授权 inside the WeCom client
(open.weixin.qq.com/connect/oauth2/authorize) and 扫码登录 on a PC (login.work.weixin.qq.com/wwlogin/sso/login).

On the real service a member opens the link in the WeCom client or scans the QR code with the phone;
here a page lists the company's members and "scanning as" one of them sends the browser back to
`redirect_uri?code=…&state=…`. `GET /cgi-bin/auth/getuserinfo` then tells whose code it is, once
(path/98177: a code works once and lives five minutes; a wrong one is 40029).
"""
from __future__ import annotations

import html
import secrets
import time
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, redirect, request

from .server_api import ApiError, api

bp = Blueprint("wecom_sim_login", __name__)

CODE_SECONDS = 300


def _codes() -> dict:
    return current_app.extensions.setdefault("wecom_sim_login_codes", {})


def _page(title: str, rows: list[str]) -> str:
    return ("<!doctype html><meta charset=utf-8><title>企业微信登录（模拟）</title>"
            "<body style='font-family:sans-serif;max-width:32em;margin:2em auto'>"
            f"<h2>{html.escape(title)}</h2><p>模拟器：选择扫码的成员（真实企业微信里由本人在手机上确认）。</p>"
            + "".join(rows) + "</body>")


def _login_page(kind: str):
    state = current_app.extensions["wecom_sim"]
    corp = request.args.get("appid", "")
    redirect_uri = request.args.get("redirect_uri", "")
    if corp != state.corp_id:
        abort(400, "appid is not this company's corp id")
    if not redirect_uri.startswith(("http://", "https://")):
        abort(400, "redirect_uri must be an http(s) address")
    chosen = request.args.get("as")
    if chosen:
        if chosen not in state.people and not chosen.startswith("openid:"):
            abort(404, "unknown member")
        code = secrets.token_urlsafe(24)
        _codes()[code] = (chosen, time.time() + CODE_SECONDS)
        sep = "&" if "?" in redirect_uri else "?"
        return redirect(f"{redirect_uri}{sep}{urlencode({'code': code, 'state': request.args.get('state', '')})}")
    rows = []
    for p in state.people.values():
        q = urlencode({**request.args.to_dict(), "as": p.userid})
        rows.append(f"<p><a href='{request.path}?{html.escape(q)}'>{html.escape(p.name)}（{html.escape(p.userid)}）</a></p>")
    q = urlencode({**request.args.to_dict(), "as": "openid:wx-outsider"})
    rows.append(f"<p><a href='{request.path}?{html.escape(q)}'>企业外的微信用户</a></p>")
    return _page(kind, rows)


@bp.get("/connect/oauth2/authorize")
def oauth_authorize():
    return _login_page("网页授权")


@bp.get("/wwlogin/sso/login")
def sso_login():
    return _login_page("扫码登录")


@bp.route("/cgi-bin/auth/getuserinfo", methods=["GET"])
@api("auth/getuserinfo", json_body=False)
def getuserinfo(_state, _body):
    code = request.args.get("code", "")
    who, until = _codes().pop(code, (None, 0.0))
    if who is None or until < time.time():
        raise ApiError(40029)
    if who.startswith("openid:"):
        return {"openid": who[7:]}
    return {"userid": who}
