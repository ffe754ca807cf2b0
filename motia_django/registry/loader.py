"""Load step files by path and collect the steps they define.

A step is found whatever variable holds it: any ``StepDefinition`` (from
``step(config, handler)``, a builder's ``.handle`` or ``step_wrapper``) or, failing
that, a module-level ``config`` plus ``handler`` (a Motia 0.x config with a
top-level ``type`` goes through :mod:`.legacy`).  Errors carry file and line.

As Motia's runner did, the project root (the directory holding ``steps/``) is on
the import path while step files run, so a step imports its sibling packages
(``from services.pricing import quote``).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..node.steps import JS_STEP_FILE_SUFFIXES, JsStepFileError, load_js_step_file
from ..steps.definition import (
    MultiTriggerStepBuilder,
    StepBuilder,
    StepConfigError,
    StepDefinition,
)
from .legacy import is_legacy_config, legacy_step

__all__ = ["DiscoveryError", "StepFileError", "find_step_files", "load_step_file", "load_stream_file",
           "module_name_for"]

PYTHON_STEP_FILE_SUFFIXES = ("_step.py", ".step.py")
STEP_FILE_SUFFIXES = (*PYTHON_STEP_FILE_SUFFIXES, *JS_STEP_FILE_SUFFIXES)
#: Python stream files, and the TypeScript/JavaScript ones (``JS_STREAM_FILE_SUFFIXES``)
STREAM_FILE_SUFFIXES = ("_stream.py", ".stream.py", ".stream.ts", ".stream.js", ".stream.mts", ".stream.mjs")
MODULE_PREFIX = "motia_steps"


@dataclass(frozen=True)
class DiscoveryError:
    file: str
    line: int | None
    message: str
    step: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class StepFileError(Exception):
    def __init__(self, error: DiscoveryError) -> None:
        self.error = error
        super().__init__(str(error))


def find_step_files(directories: list[Path], suffixes: tuple[str, ...] = STEP_FILE_SUFFIXES) -> list[Path]:
    """Every ``*_step.py`` / ``*.step.py`` / ``*.step.ts`` ... (or other ``suffixes``) below ``directories``,
    in a stable order."""
    found: list[Path] = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*.*")):
            parts = path.relative_to(directory).parts
            if any(p.startswith(".") or p in ("__pycache__", "node_modules") for p in parts):
                continue
            if path.name.endswith(suffixes):
                found.append(path)
    return found


def module_name_for(path: Path) -> str:
    digest = re.sub(r"\W", "_", str(path.resolve().with_suffix("")))
    return f"{MODULE_PREFIX}.{digest}"


def _line_in_file(exc: BaseException, path: Path) -> int | None:
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == path.resolve():
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    return line


def _assignment_line(path: Path, name: str) -> int | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node.lineno
    return None


def _project_root(path: Path) -> Path | None:
    """The directory holding the ``steps/`` folder that ``path`` lives in, if any."""
    return next((parent.parent for parent in path.resolve().parents if parent.name == "steps"), None)


def _exec_module(path: Path) -> ModuleType:
    root = _project_root(path)
    if root is not None and str(root) not in sys.path:
        sys.path.append(str(root))  # after installed packages, so a project folder shadows none of them
    name = module_name_for(path)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        step = exc.step_name if isinstance(exc, StepConfigError) else None
        message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, StepConfigError) else str(exc)
        raise StepFileError(DiscoveryError(str(path), _line_in_file(exc, path), message, step)) from exc
    return module


def _collect(module: ModuleType, path: Path) -> list[StepDefinition]:
    definitions: list[StepDefinition] = []
    unfinished: list[tuple[str, StepBuilder | MultiTriggerStepBuilder]] = []
    for var, value in vars(module).items():
        if isinstance(value, StepDefinition):
            candidate: StepDefinition | None = value
        elif isinstance(value, StepBuilder | MultiTriggerStepBuilder):
            candidate = value.definition
            if candidate is None:
                unfinished.append((var, value))
        else:
            candidate = None
        if candidate is not None and all(candidate is not d for d in definitions):
            definitions.append(candidate)
    if not definitions and unfinished:
        var, builder = unfinished[0]
        raise StepFileError(
            DiscoveryError(str(path), _assignment_line(path, var), f"step {builder.config.name!r} has no handler "
                           "(call .handle(handler) or .handlers())", builder.config.name)
        )
    if not definitions and is_legacy_config(getattr(module, "config", None)):
        try:
            definitions.append(legacy_step(module.config, getattr(module, "handler", None), str(path)))
        except (StepConfigError, TypeError) as exc:
            step = exc.step_name if isinstance(exc, StepConfigError) else None
            raise StepFileError(DiscoveryError(str(path), _assignment_line(path, "config"), str(exc), step)) from exc
    if not definitions and hasattr(module, "config") and hasattr(module, "handler"):
        try:
            definitions.append(StepDefinition(module.config, module.handler, str(path)))
        except (StepConfigError, TypeError) as exc:
            step = exc.step_name if isinstance(exc, StepConfigError) else None
            raise StepFileError(DiscoveryError(str(path), _assignment_line(path, "config"), str(exc), step)) from exc
    if not definitions:
        raise StepFileError(
            DiscoveryError(
                str(path), None, "defines no step: use step(config, handler) or module-level config + handler"
            )
        )
    for definition in definitions:
        definition.file_path = str(path)
    return definitions


def load_step_file(path: Path) -> list[StepDefinition]:
    """Execute one step file and return its steps; raises :class:`StepFileError`.

    TypeScript and JavaScript files are handed to the Node worker (:mod:`motia_django.node`).
    """
    if path.name.endswith(JS_STEP_FILE_SUFFIXES):
        try:
            return load_js_step_file(path)
        except JsStepFileError as exc:
            raise StepFileError(DiscoveryError(exc.file, exc.line, exc.message, exc.step)) from exc
    return _collect(_exec_module(path), path)


def load_stream_file(path: Path) -> None:
    """Execute one ``*_stream.py`` file (or load a ``*.stream.ts`` one in Node) and declare its streams;
    raises :class:`StepFileError`."""
    from ..node.streams import JS_STREAM_FILE_SUFFIXES, load_js_stream_file
    from ..streams.declarations import declare_module_streams

    if path.name.endswith(JS_STREAM_FILE_SUFFIXES):
        try:
            load_js_stream_file(path)
        except JsStepFileError as exc:
            raise StepFileError(DiscoveryError(exc.file, exc.line, exc.message)) from exc
        return
    module = _exec_module(path)
    try:
        declare_module_streams(module)
    except (TypeError, ValueError) as exc:
        raise StepFileError(DiscoveryError(str(path), _assignment_line(path, "config"), str(exc))) from exc
