"""WeCom server API client: a token cache shared by all processes, bounded token refresh.

wechatpy's client is not used for sending: its auto_retry recurses without end when the
server keeps refusing a fresh token, and its default token storage is per process.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
from typing import Optional

import requests
from sqlalchemy import delete
from sqlalchemy.orm import sessionmaker
from urllib3.exceptions import NewConnectionError

from bot.channels.base import CONNECT_TIMEOUT, PictureUnavailable, SendError, check_image, image_bytes
from bot.config import Config
from bot.db import session_scope, upsert, utcnow
from bot.models import AccessToken

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40014, 42001, 40001}
# errors worth trying again later; anything else is final for that message
RETRIABLE = {-1, 45009, 45033, 45011}
CONFIG_ERRORS = {40013, 40001, 40091}


class ApiError(SendError):
    """An error answer of WeCom's (or the official account's) server API."""



def _never_left(e: BaseException) -> bool:
    """True when a requests error happened before the request was sent (refused, no such host)."""
    seen: set[int] = set()
    while isinstance(e, BaseException) and id(e) not in seen:
        if isinstance(e, (ConnectionRefusedError, socket.gaierror, NewConnectionError)):
            return True
        seen.add(id(e))
        e = getattr(e, "reason", None) or e.__cause__ or e.__context__
    return False


class WeComApi:
    def __init__(self, config: Config, sessions: sessionmaker, http: Optional[requests.Session] = None,
                 clock=utcnow):
        self.config = config
        self.sessions = sessions
        self.http = http or requests.Session()
        self.clock = clock
        self.base = config.wecom.api_base
        self.timeout = config.sender.http_timeout_seconds
        self.app_key = f"{config.wecom.corp_id}:{config.wecom.agent_id}"
        self._lock = threading.Lock()
        self._cached: Optional[tuple[str, dt.datetime]] = None
        self.gettoken_calls = 0

    # --- token --------------------------------------------------------------------------
    def _fresh_enough(self, expires_at: dt.datetime) -> bool:
        margin = dt.timedelta(seconds=self.config.sender.token_refresh_margin_seconds)
        return expires_at - margin > self.clock()

    def token(self) -> str:
        """A valid access token: memory, then the shared table, then gettoken."""
        cached = self._cached
        if cached and self._fresh_enough(cached[1]):
            return cached[0]
        with self._lock:
            with self.sessions() as s:
                row = s.get(AccessToken, self.app_key)
                if row and self._fresh_enough(row.expires_at):
                    self._cached = (row.token, row.expires_at)
                    return row.token
            # no transaction is held during the HTTP call; another process refreshing at the
            # same moment costs one more gettoken, not a stall
            token, expires_in = self._fetch_token()
            expires_at = self.clock() + dt.timedelta(seconds=expires_in)
            with session_scope(self.sessions) as s:
                upsert(s, AccessToken, dict(app=self.app_key, token=token, expires_at=expires_at,
                                            fetched_at=self.clock()), key=["app"])
            self._cached = (token, expires_at)
            return token

    def invalidate(self, token: str) -> None:
        """Forget a token the server refused (only if nobody replaced it meanwhile)."""
        with self._lock:
            self._cached = None
            with session_scope(self.sessions) as s:
                s.execute(delete(AccessToken).where(AccessToken.app == self.app_key, AccessToken.token == token))

    def _fetch_token(self) -> tuple[str, int]:
        self.gettoken_calls += 1
        data = self._get_json(f"{self.base}/cgi-bin/gettoken",
                              params={"corpid": self.config.wecom.corp_id, "corpsecret": self.config.wecom.secret})
        code = data.get("errcode", 0)
        if code != 0:
            # a wrong corp id or secret will not heal by retrying soon; say so plainly
            raise ApiError(code, f"gettoken: {data.get('errmsg', '')}", retriable=code not in CONFIG_ERRORS)
        log.info("fetched a new WeCom access token (expires in %ss)", data.get("expires_in"))
        return data["access_token"], int(data.get("expires_in", 7200))

    # --- calls --------------------------------------------------------------------------
    def call(self, path: str, body: dict) -> dict:
        """POST a business API with the token; on a token error refetch once and retry once."""
        for attempt in (1, 2):
            token = self.token()
            data = self._post_json(f"{self.base}/cgi-bin/{path}", body, params={"access_token": token})
            code = data.get("errcode", 0)
            if code in TOKEN_ERRORS:
                self.invalidate(token)
                if attempt == 1:
                    continue
            return self._check(data)
        raise AssertionError("unreachable")

    def upload_media(self, media_type: str, filename: str, data: bytes, content_type: str) -> str:
        """POST media/upload (multipart field `media`); returns the media_id (valid 3 days)."""
        for attempt in (1, 2):
            token = self.token()
            res = self._request("POST", f"{self.base}/cgi-bin/media/upload",
                                params={"access_token": token, "type": media_type},
                                files={"media": (filename, data, content_type)})
            if res.get("errcode", 0) in TOKEN_ERRORS:
                self.invalidate(token)
                if attempt == 1:
                    continue
            return str(self._check(res)["media_id"])
        raise AssertionError("unreachable")

    def get_media(self, media_id: str, limit: int) -> bytes:
        """GET media/get: a file a member sent (valid 3 days), at most `limit` bytes."""
        for attempt in (1, 2):
            token = self.token()
            try:
                return self.download(f"{self.base}/cgi-bin/media/get", limit,
                                     params={"access_token": token, "media_id": media_id})
            except ApiError as e:
                if e.errcode in TOKEN_ERRORS and attempt == 1:
                    self.invalidate(token)
                    continue
                raise PictureUnavailable("network" if e.retriable else "gone", str(e))
        raise AssertionError("unreachable")

    def download(self, url: str, limit: int, params=None) -> bytes:
        """GET a file of at most `limit` bytes; stops reading past it (PictureUnavailable too_big).
        An answer in JSON is the server's error (ApiError); a 404 or 410: gone."""
        try:
            with self.http.get(url, params=params, stream=True, timeout=(CONNECT_TIMEOUT, self.timeout)) as r:
                if r.status_code in (403, 404, 410):
                    raise PictureUnavailable("gone", f"HTTP {r.status_code}")
                if r.status_code >= 400:
                    raise PictureUnavailable("network", f"HTTP {r.status_code}")
                declared = r.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise PictureUnavailable("too_big", f"{declared} bytes, more than {limit}")
                body = bytearray()
                for chunk in r.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > limit:
                        raise PictureUnavailable("too_big", f"more than {limit} bytes")
                kind = r.headers.get("Content-Type", "")
        except requests.RequestException as e:
            raise PictureUnavailable("network", f"network: {type(e).__name__}")
        if "json" in kind or (body[:1] == b"{" and b"errcode" in body[:200]):
            try:
                self._check(json.loads(bytes(body)))
            except ValueError:
                pass
        return bytes(body)

    def user_from_code(self, code: str) -> dict:
        """GET auth/getuserinfo: who logged in with this code (WeCom 网页授权 or 扫码登录). A member gives
        {"userid"}; someone outside the company {"openid"} (path/98177). The code works once."""
        for attempt in (1, 2):
            token = self.token()
            data = self._get_json(f"{self.base}/cgi-bin/auth/getuserinfo", params={"access_token": token, "code": code})
            if data.get("errcode", 0) in TOKEN_ERRORS:
                self.invalidate(token)
                if attempt == 1:
                    continue
            return self._check(data)
        raise AssertionError("unreachable")

    def webhook_send(self, key: str, body: dict) -> dict:
        return self._check(self._post_json(f"{self.base}/cgi-bin/webhook/send", body, params={"key": key}))

    def post_url(self, url: str, body: dict) -> dict:
        return self._check(self._post_json(url, body))

    @staticmethod
    def _check(data: dict) -> dict:
        code = data.get("errcode", 0)
        if code != 0:
            raise ApiError(code, str(data.get("errmsg", "")), retriable=code in RETRIABLE or code in TOKEN_ERRORS)
        return data

    def _get_json(self, url, params=None) -> dict:
        return self._request("GET", url, params=params)

    def _post_json(self, url, body, params=None) -> dict:
        return self._request("POST", url, params=params, json=body)

    def _request(self, method, url, **kw) -> dict:
        try:
            r = self.http.request(method, url, timeout=(CONNECT_TIMEOUT, self.timeout), **kw)
        except (requests.ConnectTimeout, requests.exceptions.InvalidURL) as e:
            raise ApiError(-2, f"network: {type(e).__name__}", retriable=True)
        except requests.ConnectionError as e:
            # refused before anything was sent, or cut after the request left: only the first is sure
            sent = not _never_left(e)
            raise ApiError(-2, f"network: {type(e).__name__}" + (" (the request may have arrived)" if sent else ""),
                           retriable=True, unknown=sent)
        except requests.RequestException as e:    # ReadTimeout and the like: the request had left
            raise ApiError(-2, f"network: {type(e).__name__} (no answer; the request may have arrived)",
                           retriable=True, unknown=True)
        if r.status_code >= 500:
            raise ApiError(-3, f"HTTP {r.status_code}", retriable=True)
        try:
            return r.json()
        except ValueError:
            raise ApiError(-4, f"HTTP {r.status_code}: not JSON", retriable=r.status_code >= 400)


def upload_image(api: WeComApi, payload: dict) -> str:
    """Upload an image payload ({base64, md5}) with media/upload; returns the media_id (3 days)."""
    data = image_bytes(payload)
    mime = check_image(data)
    return api.upload_media("image", "image." + mime.split("/")[1].replace("jpeg", "jpg"), data, mime)
