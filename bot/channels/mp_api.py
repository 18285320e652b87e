"""The official account's (公众号) server API: its own access token, cached in the database like
WeCom's (bot.models.AccessToken, key "mp:<AppID>"), and customer-service messages.

Calls (api.weixin.qq.com, developers.weixin.qq.com official account docs):
- GET  /cgi-bin/token?grant_type=client_credential&appid&secret -> {access_token, expires_in}
- POST /cgi-bin/message/custom/send {touser: openid, msgtype: text, text: {content}}; allowed
  only for a while after the follower's last message (48 h, 45015 after that; 45047 when too many
  were sent in that window): both are final, never retried.
"""
from __future__ import annotations

import logging

from bot.channels.wecom_api import ApiError, WeComApi

log = logging.getLogger(__name__)

# 40001/40014/42001: token refused or expired -> fetch once more, retry once (bounded)
MP_CONFIG_ERRORS = {40013, 40125, 40164, 41002, 41004}
# customer-service text limit; longer text is split by the outbox
CUSTOM_TEXT_LIMIT = 2048


class MpApi(WeComApi):
    def __init__(self, config, sessions, http=None, clock=None):
        kw = {} if clock is None else {"clock": clock}
        super().__init__(config, sessions, http, **kw)
        self.mp = config.mp
        self.base = self.mp.api_base
        self.app_key = f"mp:{self.mp.app_id}"

    def _fetch_token(self) -> tuple[str, int]:
        self.gettoken_calls += 1
        data = self._get_json(f"{self.base}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": self.mp.app_id, "secret": self.mp.app_secret})
        code = data.get("errcode", 0)
        if code != 0 or "access_token" not in data:
            raise ApiError(code or -5, f"token: {data.get('errmsg', '')}", retriable=code not in MP_CONFIG_ERRORS)
        log.info("fetched a new official account access token (expires in %ss)", data.get("expires_in"))
        return data["access_token"], int(data.get("expires_in", 7200))

    def send_custom(self, payload: dict) -> dict:
        return self.call("message/custom/send", payload)
