"""``manage.py motia_dev``: the ASGI server, a Celery worker and beat in one terminal.

Each runs as a child process; Ctrl-C (or SIGTERM) stops them all, and if one of
them dies the others are stopped too and the command fails with the name and
exit status of the one that died.  When a step file changes, all three are
restarted so they load the new steps (``--no-reload`` to keep them running).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import NoReverseMatch, reverse

from ...conf import motia_settings
from ...node.steps import JS_SOURCE_EXTENSIONS
from ...registry import reload_registry


class Command(BaseCommand):
    help = "Run the ASGI server, a Celery worker and Celery beat together (development)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=3111)
        parser.add_argument("--celery-app", default=None, help="Celery app for -A (default: the settings package)")
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
        parser.add_argument("--no-worker", action="store_true")
        parser.add_argument("--no-beat", action="store_true")
        parser.add_argument("--no-reload", action="store_true", help="do not restart when step files change")

    def handle(self, *args: Any, **options: Any) -> None:
        registry = reload_registry()
        for error in registry.errors:
            self.stderr.write(self.style.ERROR(f"error: {error}"))
        app = options["celery_app"] or os.environ["DJANGO_SETTINGS_MODULE"].split(".")[0]
        asgi = getattr(settings, "ASGI_APPLICATION", None)
        if not asgi:
            raise CommandError("set ASGI_APPLICATION in settings (e.g. 'project.asgi.application')")
        module, _, attr = asgi.rpartition(".")
        commands = {
            "server": [sys.executable, "-m", "uvicorn", f"{module}:{attr}", "--host", options["host"],
                       "--port", str(options["port"]), "--log-level", "warning"],
        }
        if not options["no_worker"]:
            commands["worker"] = [sys.executable, "-m", "celery", "-A", app, "worker", "--loglevel", "INFO",
                                  "--concurrency", str(options["concurrency"]), "--hostname", "motia-dev@%h"]
        if not options["no_beat"]:
            commands["beat"] = [sys.executable, "-m", "celery", "-A", app, "beat", "--loglevel", "INFO",
                                "--scheduler", "motia_django.cron.scheduler:CronScheduler"]
        self._summary(registry, options)
        self._warn_about_channel_layer(options)
        watched = [] if options["no_reload"] else [p for p in motia_settings().steps_paths if p.is_dir()]
        died = self._supervise(commands, watched)
        if died:
            raise CommandError(f"{died}, so motia_dev stopped (see its output above)")

    def _summary(self, registry: Any, options: dict[str, Any]) -> None:
        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(self.style.SUCCESS(f"motia-django: {len(registry.steps)} step(s), broker "
                                             f"{settings.CELERY_BROKER_URL.split('://')[0]}://"))
        for binding in registry.routes:
            trigger = binding.trigger
            self.stdout.write(f"  {trigger.method:<7}{base}{trigger.path}  -> {binding.step.name}")
        for topic in registry.topics:
            names = ", ".join(b.step.name for b in registry.subscribers(topic))
            self.stdout.write(f"  queue  {topic}  -> {names}")
        for binding in registry.schedules:
            self.stdout.write(f"  cron   {binding.trigger.expression}  -> {binding.step.name}")
        self.stdout.write(self.style.HTTP_INFO(
            f"  streams   ws://{options['host']}:{options['port']}{motia_settings().STREAM_WEBSOCKET_PATH}"
        ))
        for name, label in (("admin:index", "admin"), ("motia:flows", "flows"), ("motia:traces", "traces"),
                            ("motia:endpoints", "endpoints"), ("motia:openapi", "openapi"), ("motia:queues", "queues")):
            try:
                self.stdout.write(self.style.HTTP_INFO(f"  {label:<10}{base}{reverse(name)}"))
            except NoReverseMatch:
                continue

    def _warn_about_channel_layer(self, options: dict[str, Any]) -> None:
        layer = getattr(settings, "CHANNEL_LAYERS", {}).get("default", {}).get("BACKEND", "")
        if layer.endswith("InMemoryChannelLayer") and not options["no_worker"]:
            self.stdout.write(self.style.WARNING(
                "  note: the in-memory channel layer does not cross processes: stream changes made by the worker "
                "reach WebSocket clients only with a Redis channel layer (set CHANNEL_LAYER_URL)"
            ))

    def _supervise(self, commands: dict[str, list[str]], watched: list[Path]) -> str:
        """Run the children until a signal or until one of them dies; returns which died, and how (or "")."""
        stopping = threading.Event()
        changed = threading.Event()
        died = ""

        def stop(signum: int, frame: Any) -> None:
            stopping.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        if watched:
            threading.Thread(target=self._watch, args=(watched, changed, stopping), daemon=True).start()
        children = self._start(commands)
        try:
            while not stopping.is_set():
                if changed.is_set():
                    changed.clear()
                    self.stdout.write(self.style.WARNING("step files changed; restarting server, worker and beat"))
                    self._stop(children)
                    self._check_steps()
                    children = self._start(commands)
                for name, child in children.items():
                    if child.poll() is not None and not stopping.is_set():
                        died = f"{name} {self._exit_status(child.returncode)}"
                        self.stderr.write(self.style.ERROR(f"{died}; stopping the others"))
                        stopping.set()
                time.sleep(0.2)
        finally:
            self._stop(children)
            self.stdout.write("motia-django stopped")
        return died

    @staticmethod
    def _exit_status(code: int) -> str:
        if code >= 0:
            return f"exited with {code}"
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"

    @staticmethod
    def _start(commands: dict[str, list[str]]) -> dict[str, subprocess.Popen[bytes]]:
        return {name: subprocess.Popen(argv) for name, argv in commands.items()}

    @staticmethod
    def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def _check_steps(self) -> None:
        """Report discovery errors of the changed files before the children load them."""
        registry = reload_registry()
        for error in registry.errors:
            self.stderr.write(self.style.ERROR(f"error: {error}"))
        self.stdout.write(self.style.SUCCESS(f"{len(registry.steps)} step(s) loaded"))

    @staticmethod
    def _watch(paths: list[Path], changed: threading.Event, stopping: threading.Event) -> None:
        from watchfiles import PythonFilter, watch

        step_sources = PythonFilter(extra_extensions=JS_SOURCE_EXTENSIONS)
        for _ in watch(*paths, watch_filter=step_sources, stop_event=stopping, debounce=300):
            changed.set()
