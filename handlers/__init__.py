"""What a message means: the router and one handler module per concern."""
from __future__ import annotations

from handlers.help import FallbackHandler, HelpHandler
from handlers.router import Context, Handler, Router


def build_router(extra: list[Handler] | None = None) -> Router:
    """The ordered handlers of the service; `extra` handlers come before the built-in ones."""
    router: Router
    handlers: list[Handler] = list(extra or [])
    handlers.append(HelpHandler(lambda: router))
    router = Router(handlers, fallback=FallbackHandler())
    return router


__all__ = ["Context", "Handler", "Router", "build_router"]
