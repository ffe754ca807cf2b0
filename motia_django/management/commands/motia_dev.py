"""``manage.py motia_dev``: the ASGI server, a Celery worker and beat in one terminal.

It prints one summary (the app's URLs, the steps, where the logs go), then step
logs: the worker and beat run without banners and write their own log lines
(Celery's, kombu's, Python warnings) to files under ``--log-dir``.  Each runs
as a child process; Ctrl-C (or SIGTERM) stops them all.  A worker or beat that
dies is started again after a backoff (1 s, doubling up to 30 s) while the
server serves on; if the server dies, the others are stopped and the command
fails naming it.  When a step file changes, all three are restarted so they load
the new steps (``--no-reload`` to keep them running).
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
from ...logs import DEV_CONSOLE_ENV
from ...node.steps import JS_SOURCE_EXTENSIONS
from ...registry import Registry, reload_registry
from .motia_discover import steps_table

#: Seconds before a dead worker or beat is started again: doubled at each death, reset after a long run.
FIRST_BACKOFF, LAST_BACKOFF, STEADY_RUN = 1.0, 30.0, 60.0


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
        parser.add_argument("--log-dir", default=None,
                            help="where the worker and beat write their logs (default: VAR_DIR/log, else var/log)")

    def handle(self, *args: Any, **options: Any) -> None:
        registry = reload_registry()
        for error in registry.errors:
            self.stderr.write(self.style.ERROR(f"error: {error}"))
        app = options["celery_app"] or os.environ["DJANGO_SETTINGS_MODULE"].split(".")[0]
        asgi = getattr(settings, "ASGI_APPLICATION", None)
        if not asgi:
            raise CommandError("set ASGI_APPLICATION in settings (e.g. 'project.asgi.application')")
        module, _, attr = asgi.rpartition(".")
        log_dir = self._log_dir(options["log_dir"])
        commands = {
            "server": [sys.executable, "-m", "uvicorn", f"{module}:{attr}", "--host", options["host"],
                       "--port", str(options["port"]), "--log-level", "warning"],
        }
        logs: dict[str, Path] = {}
        if not options["no_worker"]:
            logs["worker"] = log_dir / "worker.log"
            commands["worker"] = [sys.executable, "-m", "celery", "-A", app, "--quiet", "worker", "--loglevel", "INFO",
                                  "--logfile", str(logs["worker"]), "--concurrency", str(options["concurrency"]),
                                  "--hostname", "motia-dev@%h"]
        if not options["no_beat"]:
            logs["beat"] = log_dir / "beat.log"
            commands["beat"] = [sys.executable, "-m", "celery", "-A", app, "--quiet", "beat", "--loglevel", "INFO",
                                "--logfile", str(logs["beat"]),
                                "--scheduler", "motia_django.cron.scheduler:CronScheduler"]
        self._summary(registry, options, logs)
        self._warn_about_channel_layer(options)
        watched = [] if options["no_reload"] else [p for p in motia_settings().steps_paths if p.is_dir()]
        died = self._supervise(commands, watched)
        if died:
            raise CommandError(f"{died}, so motia_dev stopped (see its output above)")

    @staticmethod
    def _log_dir(option: str | None) -> Path:
        if option:
            folder = Path(option)
        else:
            folder = Path(getattr(settings, "VAR_DIR", Path(getattr(settings, "BASE_DIR", Path.cwd())) / "var")) / "log"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _summary(self, registry: Registry, options: dict[str, Any], logs: dict[str, Path]) -> None:
        """One screen: where the app is, which steps it serves, where the logs go."""
        base = f"http://{options['host']}:{options['port']}"
        broker = settings.CELERY_BROKER_URL.split("://")[0] if getattr(settings, "CELERY_BROKER_URL", None) else "?"
        self.stdout.write(self.style.SUCCESS(f"motia-django dev: {len(registry.steps)} step(s), broker {broker}://"))
        self.stdout.write(self.style.HTTP_INFO(f"  {'app':<10}{base}/"))
        for name, label in (("motia:home", "workbench"), ("admin:index", "admin"), ("motia:flows", "flows"),
                            ("motia:traces", "traces"), ("motia:endpoints", "endpoints"), ("motia:queues", "queues")):
            try:
                self.stdout.write(self.style.HTTP_INFO(f"  {label:<10}{base}{reverse(name)}"))
            except NoReverseMatch:
                continue
        self.stdout.write(self.style.HTTP_INFO(
            f"  {'streams':<10}ws://{options['host']}:{options['port']}{motia_settings().STREAM_WEBSOCKET_PATH}"
        ))
        if settings.DEBUG and motia_settings().DEV_LOGIN:
            self.stdout.write("  the workbench signs this machine's browser in as 'motia-dev' (DEBUG, MOTIA DEV_LOGIN)")
        self.stdout.write("")
        header, *lines = steps_table(registry)
        self.stdout.write("  " + self.style.MIGRATE_HEADING(header))
        for line in lines:
            self.stdout.write("  " + line)
        self.stdout.write("")
        for name, path in logs.items():
            self.stdout.write(f"  {name} log: {path}")
        self.stdout.write("  step logs follow here")

    def _warn_about_channel_layer(self, options: dict[str, Any]) -> None:
        layer = getattr(settings, "CHANNEL_LAYERS", {}).get("default", {}).get("BACKEND", "")
        if layer.endswith("InMemoryChannelLayer") and not options["no_worker"]:
            self.stdout.write(self.style.WARNING(
                "  note: the in-memory channel layer does not cross processes: stream changes made by the worker "
                "reach WebSocket clients only with a Redis channel layer (set CHANNEL_LAYER_URL)"
            ))

    def _supervise(self, commands: dict[str, list[str]], watched: list[Path]) -> str:
        """Run the children until a signal or until the server dies (returns how); a dead worker or beat restarts."""
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
        started = dict.fromkeys(children, time.monotonic())
        backoff = dict.fromkeys(children, FIRST_BACKOFF)
        restart_at: dict[str, float] = {}
        try:
            while not stopping.is_set():
                if changed.is_set():
                    changed.clear()
                    self.stdout.write(self.style.WARNING("step files changed; restarting server, worker and beat"))
                    self._stop(children)
                    self._check_steps()
                    children = self._start(commands)
                    started = dict.fromkeys(children, time.monotonic())
                    restart_at.clear()
                now = time.monotonic()
                for name, child in children.items():
                    if name in restart_at or child.poll() is None or stopping.is_set():
                        continue
                    status = f"{name} {self._exit_status(child.returncode)}"
                    if name == "server":
                        died = status
                        self.stderr.write(self.style.ERROR(f"{died}; stopping the others"))
                        stopping.set()
                        break
                    if now - started[name] > STEADY_RUN:
                        backoff[name] = FIRST_BACKOFF
                    restart_at[name] = now + backoff[name]
                    self.stderr.write(self.style.ERROR(f"{status}; starting it again in {backoff[name]:g}s"))
                    backoff[name] = min(backoff[name] * 2, LAST_BACKOFF)
                for name, when in list(restart_at.items()):
                    if when <= now and not stopping.is_set():
                        del restart_at[name]
                        children[name] = subprocess.Popen(commands[name], env=self._child_env())
                        started[name] = time.monotonic()
                        self.stdout.write(self.style.WARNING(f"{name} started again"))
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
    def _child_env() -> dict[str, str]:
        return {**os.environ, DEV_CONSOLE_ENV: "1"}

    def _start(self, commands: dict[str, list[str]]) -> dict[str, subprocess.Popen[bytes]]:
        return {name: subprocess.Popen(argv, env=self._child_env()) for name, argv in commands.items()}

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
