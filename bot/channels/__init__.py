"""Channels: one adapter per channel (bot/channels/<name>.py, each with `ADAPTER = …Adapter`).

`Channels` finds the adapters, builds them for a running service, and answers the questions the
channel-neutral core asks: which adapter reaches this group, which one reaches WeCom members one
to one, which one delivers this outbox row. A new channel is a new module here, its part in the
simulator, and its config; nothing else branches on a channel.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Iterator

from bot.channels.base import Adapter, Address, Unreachable


def adapter_classes() -> list[type[Adapter]]:
    """Every module of this package that declares ADAPTER, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cls = getattr(module, "ADAPTER", None)
        if cls is not None:
            found.append(cls)
    return found


class Channels:
    """The adapters of one running service, by name."""

    def __init__(self, runtime, classes: list[type[Adapter]] | None = None):
        self._by_name: dict[str, Adapter] = {}
        for cls in classes if classes is not None else adapter_classes():
            if cls.name in self._by_name:
                raise ValueError(f"two channel adapters are named {cls.name!r}")
            self._by_name[cls.name] = cls(runtime)
        members = [a for a in self._by_name.values() if getattr(a, "reaches_members", False)]
        self.members = members[0] if members else None
        self.config = runtime.config

    def __getitem__(self, name: str) -> Adapter:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no channel adapter named {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Adapter]:
        return iter(self._by_name.values())

    def for_group(self, group) -> tuple[Adapter, Address]:
        """The adapter that pushes into a configured group, and its address there; Unreachable when
        none does (an intelligent-bot-only group, or send.via none)."""
        for adapter in self._by_name.values():
            target = adapter.group_target(group)
            if target is not None:
                return adapter, Address(adapter.name, target, group.id)
        raise Unreachable(f"group {group.id} ({group.name}) is not reachable by the bot (via {group.send.via})")

    def reach(self, group) -> tuple[str, str]:
        """How the bot serves a configured group, in Chinese for the staff: (how, what that means)."""
        for adapter in self._by_name.values():
            said = adapter.reach(group)
            if said is not None:
                return said
        return "不推送", "配置为不推送（send.via: none）"

    def fetch_picture(self, msg, ref: str, limit: int) -> bytes:
        """A picture of `msg`, fetched the way its channel hands pictures over."""
        return self[msg.channel].fetch_picture(ref, limit)

    def blueprints(self) -> list:
        return [bp for bp in (a.blueprint() for a in self._by_name.values()) if bp is not None]
