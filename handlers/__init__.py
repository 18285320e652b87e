"""What a message means: one module per concern, each handler small (does it accept this
message, and what does it answer). The router (bot.core.router) offers a message to them."""
from __future__ import annotations

from bot.core.router import Handler
from handlers.ask import AskHandler
from handlers.campaigns import CampaignHandler
from handlers.help import FallbackHandler, HelpHandler
from handlers.picture import PictureHandler
from handlers.stats import stats_handlers
from handlers.warnings import warning_handlers
from handlers.wechat import PublicHandler


def all_handlers() -> list[Handler]:
    """The service's handlers (the router orders the non-command ones by priority)."""
    return [HelpHandler(), CampaignHandler(), *stats_handlers(), PictureHandler(), PublicHandler(),
            *warning_handlers(), AskHandler()]


__all__ = ["all_handlers", "FallbackHandler", "Handler"]
