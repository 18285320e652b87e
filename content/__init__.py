"""反诈哨兵 content library: scenario YAML, loader/validator, normaliser, matcher, replies."""
from . import learned
from .library import ContentError, Library, Scenario, load_library
from .matcher import Match, Matcher

__all__ = ["ContentError", "Library", "Scenario", "learned", "load_library", "Match", "Matcher"]
