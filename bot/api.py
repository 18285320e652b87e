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
    """-> (draft, errors by field)."""
    errors: dict[str, str] = {}
    if not isinstance(body, dict):
        return None, {"body": "must be a JSON object"}
    for k, v in body.items():
        if k not in FIELDS:
            errors[k] = "unknown field"
        elif v is not None and not isinstance(v, str):
            errors[k] = "must be a string"
    if errors:
        return None, errors
    ext = (body.get("external_id") or "").strip()
    if not ext:
        errors["external_id"] = "required"
    elif len(ext) > 100:
        errors["external_id"] = "at most 100 characters"
    phone = (body.get("phone") or "").replace(" ", "").replace("-", "")
    m = wn.MOBILE.fullmatch(phone) or wn.LANDLINE.fullmatch(body.get("phone") or "")
    if not phone:
        errors["phone"] = "required"
    elif not m:
        errors["phone"] = "not a mainland mobile (11 digits) or landline number"
    place = (body.get("place") or "").strip()
    station = (body.get("station") or "").strip() or None
    if station is not None and svc.config.station(station) is None:
        errors["station"] = f"unknown station; one of {', '.join(s.id for s in svc.config.stations)}"
    if not place:
        errors["place"] = "required"
    elif len(place) > 200:
        errors["place"] = "at most 200 characters"
    level = (body.get("level") or "").strip().lower()
    if level and level not in wn.LEVELS:
        errors["level"] = "one of 红, 橙, 黄 (or red, orange, yellow)"
    if len(body.get("name") or "") > 20:
        errors["name"] = "at most 20 characters"
    if len(body.get("note") or "") > 500:
        errors["note"] = "at most 500 characters"
    if errors:
        return None, errors
    note = (body.get("note") or "").strip()
    d = wn.Draft(phone=m.group(1), place=place, name=(body.get("name") or "").strip(),
                 level=wn.LEVELS.get(level, svc.config.warnings.default_level), note=note, station=station)
    d.fraud_type = wn.match_type(body.get("type") or "", svc.matcher, svc.library) or \
        wn.match_type(note, svc.matcher, svc.library)
    return d, {}


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
