"""WSGI entry for gunicorn: `gunicorn -k sync -w 3 bot.wsgi:app` (config from $FANZHA_CONFIG or config.yaml).

Under gunicorn the sender runs as its own process (`python -m bot worker`), so web workers
start none; set FANZHA_IN_PROCESS_SENDER=1 to change that.
"""
import os

from bot.app import create_app
from bot.cli import _config
from bot.privacy import setup_logging

setup_logging(os.environ.get("LOG_LEVEL", "INFO"))
app = create_app(_config(os.environ.get("FANZHA_CONFIG", "config.yaml")),
                 start_sender=os.environ.get("FANZHA_IN_PROCESS_SENDER") == "1")
