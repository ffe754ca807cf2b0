"""TypeScript and JavaScript steps: Node runs their handlers, Python everything else (docs/typescript.md)."""

from __future__ import annotations

from .bridge import JavaScriptError, NodeUnavailable, NodeWorkerDied
from .steps import JS_STEP_FILE_SUFFIXES, load_js_step_file

__all__ = ["JS_STEP_FILE_SUFFIXES", "JavaScriptError", "NodeUnavailable", "NodeWorkerDied", "load_js_step_file"]
