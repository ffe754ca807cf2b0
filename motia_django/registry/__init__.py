"""Discovery: find step files, load them, and index their triggers."""

from __future__ import annotations

from .loader import DiscoveryError, find_step_files, load_step_file
from .registry import Binding, Registry, get_registry, reload_registry, step_named_by

__all__ = [
    "Binding",
    "DiscoveryError",
    "Registry",
    "find_step_files",
    "get_registry",
    "load_step_file",
    "reload_registry",
    "step_named_by",
]
