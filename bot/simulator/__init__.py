"""Local WeCom simulator: plays qyapi.weixin.qq.com and the chat side over real HTTP, real crypto.

    from bot.simulator import create_simulator, run_simulator
    app = create_simulator(config, bot_url="http://127.0.0.1:8000")
    app.extensions["wecom_sim"]          # SimState (thread-safe)

Server API (as WeCom): /cgi-bin/gettoken, message/send, appchat/create|update|get|send,
webhook/send, webhook/upload_media, aibot/response, media/upload, externalcontact/add_msg_template,
get_groupmsg_task, get_groupmsg_send_result, cancel_groupmsg_send (customer_groups.py); the official
account's /cgi-bin/token and message/custom/send and its followers (mp.py). Control API: /sim/chats, /sim/say,
/sim/messages, /sim/deliveries, /sim/faults, /sim/token, /sim/limits, /sim/settings, /sim/stats,
/sim/reset, /healthz; a demo page at /.
"""
from __future__ import annotations

from typing import Optional

from flask import Flask

from .callbacks import Deliverer
from .crypto import CryptoError, WeComCrypto
from .state import SimState

__all__ = ["create_simulator", "run_simulator", "SimState", "WeComCrypto", "CryptoError"]


def _as_config(config):
    if isinstance(config, (str, bytes)) or hasattr(config, "__fspath__"):
        from bot.config import load_config
        return load_config(config)
    return config


def create_simulator(config, bot_url: str = "http://127.0.0.1:8000", *, token_ttl: int = 7200,
                     callback_timeout: float = 5.0, callback_retries: int = 3,
                     public_url: Optional[str] = None) -> Flask:
    """A Flask app playing WeCom for `config` (a bot.config.Config, or a path to one)."""
    from . import control, login, pictures, server_api

    config = _as_config(config)
    app = Flask("wecom_simulator")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    state = SimState(config, bot_url, token_ttl=token_ttl, callback_timeout=callback_timeout,
                     callback_retries=callback_retries, public_url=public_url)
    app.extensions["wecom_sim"] = state
    app.extensions["wecom_sim_deliverer"] = Deliverer(state)
    app.register_blueprint(server_api.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(pictures.bp)
    app.register_blueprint(login.bp)
    # WeChat reach: customer-group mass-send tasks, and the official account when configured
    from . import customer_groups, mp
    app.extensions["wecom_sim_mass"] = customer_groups.MassSim(state)
    app.register_blueprint(customer_groups.bp)
    if getattr(config, "mp", None) is not None:
        app.extensions["wecom_sim_mp"] = mp.MpSim(state, config.mp)
    app.register_blueprint(mp.bp)
    return app


def run_simulator(config, host: str = "127.0.0.1", port: int = 8001, bot_url: str = "http://127.0.0.1:8000",
                  **kwargs) -> None:
    """Serve the simulator on host:port until Ctrl-C (blocks)."""
    from werkzeug.serving import make_server

    if host not in ("0.0.0.0", "::", ""):
        kwargs.setdefault("public_url", f"http://{host}:{port}")
    app = create_simulator(config, bot_url, **kwargs)
    server = make_server(host, port, app, threaded=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
