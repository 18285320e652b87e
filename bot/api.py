"""HTTP API for the anti-fraud centre's own system: POST /api/warnings, GET /api/warnings/<number>.

Bearer token from the environment variable named by `warnings.api_token_env`. A POST is
idempotent on `external_id`: the same id again returns the warning made the first time (200),
never a second one. Phone numbers and names leave this API masked (an export is not the
linkage group).
"""
from __future__ import annotations

import hmac
import logging
import os

from flask import Blueprint, current_app, jsonify, request

from bot import warnings as wn
from bot.db import column_limit

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

FIELDS = ("external_id", "phone", "place", "name", "type", "level", "note", "station")


def _context():
    """The running service's Context (the app factory keeps the service in app.extensions)."""
    return current_app.extensions["fanzha"].ctx


def _authorized() -> bool:
    svc = _context()
    token = os.environ.get(svc.config.warnings.api_token_env, "")
    got = request.headers.get("Authorization", "")
    if not token:
        log.warning("warnings API called but %s is not set: refused", svc.config.warnings.api_token_env)
        return False
    return got.startswith("Bearer ") and hmac.compare_digest(got[7:].strip().encode(), token.encode())


def _unauthorized():
    resp = jsonify(error="unauthorized", message="需要有效的 Bearer 令牌")
    resp.status_code = 401
    resp.headers["WWW-Authenticate"] = 'Bearer realm="fanzha"'
    return resp


def validate(body, svc) -> tuple[wn.Draft | None, dict]:
    """-> (draft, errors by field): the same checks as #预警 in the linkage group."""
    errors: dict[str, str] = {}
    if not isinstance(body, dict):
        return None, {"body": "must be a JSON object"}
    for k, v in body.items():
        if k not in FIELDS:
            errors[k] = "unknown field"
        elif v is not None and not isinstance(v, str):
            errors[k] = "must be a string"
        elif isinstance(v, str) and "\x00" in v:
            errors[k] = "must not contain NUL characters"
    if errors:
        return None, errors
    ext = (body.get("external_id") or "").strip()
    limit = column_limit(wn.Warning, "external_id")
    if not ext:
        errors["external_id"] = "required"
    elif len(ext) > limit:
        errors["external_id"] = f"at most {limit} characters"
    station = (body.get("station") or "").strip() or None
    if station is not None and svc.config.station(station) is None:
        errors["station"] = f"unknown station; one of {', '.join(s.id for s in svc.config.stations)}"
    fields = {k: body[k] for k in ("phone", "place", "name", "type", "level", "note") if body.get(k) is not None}
    d = wn.check_draft(wn.Draft(station=station), fields, "", svc.config, svc.matcher, svc.library)
    for p in d.problems:
        errors.setdefault(p.field, p.en)
    return (None, errors) if errors else (d, {})


@bp.post("/api/warnings")
def create_warning():
    svc = _context()
    if not _authorized():
        return _unauthorized()
    body = request.get_json(silent=True)
    draft, errors = validate(body, svc)
    if errors:
        return jsonify(error="invalid", fields=errors), 422
    ext = body["external_id"].strip()
    w, created = wn.create_with_retry(svc.sessions, svc, draft, actor="api", channel="api",
                                      ref=f"api:{ext}", now=svc.clock(), external_id=ext, source="api")
    out = wn.export(svc.config, svc.library, w)
    out["created"] = created
    return jsonify(out), 201 if created else 200


@bp.get("/api/warnings/<number>")
def get_warning(number: str):
    svc = _context()
    if not _authorized():
        return _unauthorized()
    with svc.sessions() as s:
        w = wn.find(s, wn.normalize_number(number) or "")
        if w is None:
            return jsonify(error="not found"), 404
        return jsonify(wn.export(svc.config, svc.library, w))
