"""Who may do what in the console, the logged-in person, CSRF, and the record of every change.

Roles come from `people` in the config (the WeCom userid decides them). Every view names the
permission it needs (`@require("…")`); every form carries the session's CSRF token; every change
is one ConsoleAction row (who, when, what) written in the same transaction as the change.
"""
from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
from dataclasses import dataclass
from typing import Optional

from flask import abort, current_app, g, redirect, render_template, request, session, url_for

from bot.console_models import ConsoleAction

STAFF = {"police", "liaison", "admin", "propaganda", "leader", "reviewer"}

# permission -> the roles that have it. "view" is every page; leadership reads everything and
# changes nothing unless also admin.
PERMISSIONS: dict[str, set[str]] = {
    "view": STAFF,
    "warning.full": {"police", "liaison", "admin", "leader"},    # names and phone numbers unmasked
    "warning.act": {"police", "liaison", "admin"},               # sign, report (their station's, or the centre)
    "warning.create": {"police", "admin"},
    "warning.manage": {"police", "admin"},                       # reassign, close: the centre (checked again per warning)
    "cases.import": {"police", "admin"},
    "cases.followup": {"police", "admin"},
    "assessment.pledge": {"police", "admin"},
    "campaign.control": {"propaganda", "admin"},
    "question.review": {"reviewer", "propaganda", "admin"},
    "model.retrain": {"reviewer", "admin"},
}

ROLE_NAMES = {"police": "民警", "liaison": "派出所联络员", "admin": "管理员", "propaganda": "宣传干事",
              "leader": "局领导", "reviewer": "问答审核员", "resident": "群众"}


@dataclass(frozen=True)
class User:
    userid: str
    name: str
    roles: frozenset

    def can(self, permission: str) -> bool:
        return bool(self.roles & PERMISSIONS[permission])

    @property
    def role_names(self) -> str:
        return "、".join(ROLE_NAMES.get(r, r) for r in sorted(self.roles))


def service():
    return current_app.extensions["fanzha"]


def user_of(config, userid: str) -> Optional[User]:
    """The console user for a WeCom userid, or None when the config gives them no staff role."""
    person = config.person(userid)
    if person is None or not set(person.roles) & STAFF:
        return None
    return User(person.userid, person.name, frozenset(person.roles))


def current_user() -> Optional[User]:
    if "user" in g:
        return g.user
    svc = service()
    u = None
    uid, until = session.get("uid"), session.get("until", 0)
    if uid and until > dt.datetime.now(dt.timezone.utc).timestamp():
        u = user_of(svc.config, uid)      # roles are read from the config on every request
    g.user = u
    return u


def log_in(userid: str) -> None:
    session.clear()
    g.pop("user", None)
    session["uid"] = userid
    session["until"] = (dt.datetime.now(dt.timezone.utc)
                        + dt.timedelta(hours=service().config.console.session_hours)).timestamp()
    session["csrf"] = secrets.token_urlsafe(24)


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf() -> None:
    """Every POST carries the session's token (form field csrf_token or header X-CSRF-Token)."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        abort(400, "CSRF 校验失败：请刷新页面后再提交。")


def require(permission: str):
    """The view needs a logged-in person with this permission; others get the log-in page or 403."""
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*a, **kw):
            u = current_user()
            if u is None:
                return redirect(url_for("console.login", next=request.full_path))
            if not u.can(permission):
                return forbidden(permission)
            return fn(*a, **kw)
        return wrapper
    return deco


def forbidden(permission: str):
    u = current_user()
    need = "、".join(ROLE_NAMES[r] for r in sorted(PERMISSIONS[permission]))
    return render_template("console/forbidden.html", user=u, need=need), 403


def record(session_, action: str, target: str = "", detail: Optional[dict] = None, at=None) -> ConsoleAction:
    """One row for one change made in the console, in the caller's transaction."""
    u = current_user()
    row = ConsoleAction(userid=u.userid if u else "-", action=action, target=str(target)[:255],
                        detail=detail or None, at=at or service().clock())
    session_.add(row)
    return row
