"""Pictures in the simulator, served as WeCom and WeChat serve them.

A member's picture reaches the intelligent bot as a URL that serves it encrypted with the bot's
EncodingAESKey and lives five minutes ([D:100719]); the self-built app gets a MediaId for
`media/get` (three days); the official account gets a PicUrl and a MediaId. The bot's own pictures
(charts, posters) are kept too, so that the page shows pictures in both directions.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from .crypto import WeComCrypto

bp = Blueprint("wecom_sim_pictures", __name__)

AIBOT_URL_SECONDS = 300


def _state():
    return current_app.extensions["wecom_sim"]


def mime(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"


def aibot_picture_url(state, data: bytes, public_url: str) -> str:
    pid, _ = state.add_picture(data, ttl=AIBOT_URL_SECONDS)
    return f"{public_url.rstrip('/')}/sim/aibot/picture/{pid}"


@bp.get("/sim/picture/<pid>")
def picture(pid: str):
    """A picture as it is (the page shows it; an official account's PicUrl points here)."""
    data = _state().picture(pid)
    if data is None:
        return Response("not found or expired", status=404, mimetype="text/plain")
    return Response(data, mimetype=mime(data))


@bp.get("/sim/aibot/picture/<pid>")
def aibot_picture(pid: str):
    """The intelligent bot's image URL: the file encrypted with the bot's key, for five minutes."""
    st = _state()
    data = st.picture(pid)
    if data is None:
        return Response("not found or expired", status=404, mimetype="text/plain")
    a = st.config.wecom.aibot
    return Response(WeComCrypto(a.token, a.encoding_aes_key, "").encrypt_file(data),
                    mimetype="application/octet-stream")


@bp.get("/cgi-bin/media/get")
def media_get():
    """media/get for the app's and the official account's tokens: the file, or WeCom's JSON error."""
    st = _state()
    st.count_call("media/get")
    token = request.args.get("access_token")
    code = st.check_token(token)
    mp = current_app.extensions.get("wecom_sim_mp")
    if code and mp is not None and mp.check_token(token) == 0:
        code = 0
    if code:
        return jsonify({"errcode": code, "errmsg": "invalid access_token"})
    with st.lock:
        pid = st.media_pictures.get(request.args.get("media_id", ""))
    data = st.picture(pid) if pid else None
    if data is None:
        return jsonify({"errcode": 40007, "errmsg": "invalid media_id"})
    return Response(data, mimetype=mime(data))
