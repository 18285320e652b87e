"""The web console for the anti-fraud centre, under /console/ on the bot's own port (issue 13).

Server-rendered (Jinja2), no build step, every asset served from here (a bureau's network is closed).
One module per page: each has `register(bp)` and `NAV` (endpoint, label). `access.py` holds the log-in
state, the permissions, CSRF and the record of changes; `auth.py` the log-in (WeCom or, in the demo, local).
"""
from __future__ import annotations

import io
import logging
from pathlib import Path

from flask import Blueprint, Flask, abort, redirect, render_template, request, send_file, url_for
from fontTools.ttLib import TTCollection

from bot.console import (access, assessment, auth, campaigns, cases, directory, library, questions,
                         warnings_board)
from bot.privacy import mask_name, mask_phone

log = logging.getLogger(__name__)

PAGES = (warnings_board, cases, assessment, campaigns, questions, library, directory)
FONT = Path(__file__).resolve().parents[1] / "fonts" / "wqy-microhei.ttc"
_FONT: dict = {}


def create_blueprint() -> Blueprint:
    bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                   static_folder="static", static_url_path="/static")
    auth.register(bp)
    for page in PAGES:
        page.register(bp)

    @bp.before_request
    def _guard():
        cfg = access.service().config.console
        if not cfg.secret and request.endpoint not in ("console.static", "console.cjk_font"):
            return render_template("console/disabled.html"), 503
        if request.method == "POST":
            access.check_csrf()
        return None

    @bp.get("/font/cjk.ttf")
    def cjk_font():
        """The CJK font the charts use, for a PC without one (the CSS lists it last: a PC with Microsoft
        YaHei never fetches it). Browsers take no font collection, so the first font of it, once."""
        if "ttf" not in _FONT:
            buf = io.BytesIO()
            TTCollection(str(FONT)).fonts[0].save(buf)
            _FONT["ttf"] = buf.getvalue()
        return send_file(io.BytesIO(_FONT["ttf"]), mimetype="font/ttf", max_age=30 * 86400)

    @bp.get("/")
    @access.require("view")
    def home():
        return redirect(url_for("console.warnings"))

    @bp.app_template_global()
    def nav():
        u = access.current_user()
        return [(endpoint, label) for page in PAGES for endpoint, label, perm in page.NAV if u and u.can(perm)]

    bp.add_app_template_global(access.csrf_token, "csrf_token")
    bp.add_app_template_global(access.current_user, "current_user")
    bp.add_app_template_filter(mask_phone, "mask_phone")
    bp.add_app_template_filter(mask_name, "mask_name")
    return bp


def init_app(app: Flask, config) -> None:
    """Mount the console; sessions are signed with console.secret (without one every page says why)."""
    if config.console.secret:
        app.secret_key = config.console.secret
    else:
        log.warning("console: no secret (FANZHA_CONSOLE_SECRET): /console/ refuses every page until one is set")
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_NAME="fanzha_console")
    app.register_blueprint(create_blueprint())

    @app.errorhandler(400)
    def bad_request(e):
        if request.path.startswith("/console/"):
            return render_template("console/error.html", message=e.description), 400
        return e


__all__ = ["abort", "create_blueprint", "init_app"]
