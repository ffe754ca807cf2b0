"""The files under ``deploy/`` run what exists: commands, modules, settings, variables, probes and stop timeouts.

Each Compose service, systemd unit and Kubernetes container is read as its tool
reads it; every command line is parsed by the program it starts (Django's
management commands, Celery's and uvicorn's click commands, gunicorn's argument
parser), every target it names is imported, and every environment variable it
sets must be one the example project reads.  ``kubectl`` and ``systemd-analyze``
are asked as well when they are installed.
"""

from __future__ import annotations

import ast
import json
import os
import re
import runpy
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
import yaml
from django.core.management import get_commands, load_command_class
from django.http.request import validate_host
from django.test import Client, override_settings

from motia_django.conf import motia_settings
from motia_django.queues.policy import hard_time_limit, policy_for
from motia_django.registry import get_registry
from motia_django.testing.processes import ChildProcess

from .conftest import ROOT, database_url, free_port, service_up

DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
COMPOSE = DEPLOY / "compose.yaml"
#: The image every app process of Compose and Kubernetes runs.
IMAGE = "motia-django"
#: Variables read by something other than the project's own modules, and what reads them.
READ_ELSEWHERE = {
    "PROMETHEUS_MULTIPROC_DIR": "prometheus-client and deploy/gunicorn.conf.py (docs/operations.md)",
    "PYTHONUNBUFFERED": "the Python interpreter",
    "PYTHONDONTWRITEBYTECODE": "the Python interpreter",
    "PIP_NO_CACHE_DIR": "pip, while the image is built",
    "PIP_DISABLE_PIP_VERSION_CHECK": "pip, while the image is built",
}
#: What a deployment must give the project, whatever the tool.
REQUIRED = {"DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "CHANNEL_LAYER_URL"}
#: Plain shell utilities a command may use around the project's programs.
SHELL_TOOLS = {"sleep", "test", "kill"}
SHELL_KEYWORDS = {"until", "while", "do", "then", "exec"}


# -- reading the files ----------------------------------------------------------------------------


def yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def manifests() -> list[dict[str, Any]]:
    return [doc for path in sorted(KUBERNETES.glob("*.yaml")) if path.name != "kustomization.yaml"
            for doc in yaml_documents(path)]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in manifests() if doc["kind"] == kind]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return dict(workload["spec"]["template"]["spec"])


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))


def app_services() -> dict[str, dict[str, Any]]:
    """The Compose services that run the project's image (PostgreSQL and Redis are left out)."""
    return {name: service for name, service in compose()["services"].items() if "build" in service}


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``$NAME``, ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``, and ``$$`` for a dollar."""
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, rest = match.group(1) or match.group(4), match.group(2), match.group(3) or ""
        if env.get(name):
            return env[name]
        if operator == ":?":
            raise AssertionError(f"compose needs {name}: {rest}")
        return rest if operator == ":-" else ""

    return re.sub(r"\$\$|\$\{(\w+)(?:(:[-?])([^}]*))?\}|\$(\w+)", one, value)


@dataclass
class Unit:
    path: Path
    sections: dict[str, list[tuple[str, str]]]

    def values(self, section: str, key: str) -> list[str]:
        return [value for name, value in self.sections.get(section, []) if name == key]

    def value(self, section: str, key: str) -> str | None:
        found = self.values(section, key)
        return found[-1] if found else None


def read_unit(path: Path) -> Unit:
    """An INI file as systemd reads it: repeated keys kept in order, ``\\`` continues a line, ``#``/``;`` comments."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    logical = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not logical and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        line, logical = logical + line, ""
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{path.name}: {line!r} before any section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: {line!r} is not key=value"
        current.append((key.strip(), value.strip()))
    return Unit(path, sections)


def units() -> list[Unit]:
    return [read_unit(path) for path in sorted(SYSTEMD.glob("*.service"))]


def dockerfile_cmd() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    [cmd] = re.findall(r"^CMD (\[.*\])$", text, re.MULTILINE)
    return list(json.loads(cmd))


#: What systemd puts for the specifiers the units use, on an instance ``1`` of a template.
SPECIFIERS = {"%": "%", "i": "1", "I": "1", "H": "host.example", "t": "/run"}


def systemd_argv(line: str) -> list[str]:
    """``ExecStart=`` as systemd runs it: specifiers expanded (``%%`` is a percent sign), then split into words."""
    def specifier(match: re.Match[str]) -> str:
        assert match.group(1) in SPECIFIERS, f"the units do not use %{match.group(1)}: {line}"
        return SPECIFIERS[match.group(1)]

    return shlex.split(re.sub(r"%(.)", specifier, line.lstrip("-@:+!")))


def command_lines() -> Iterator[tuple[str, list[str]]]:
    """(where, argv) of every command the deployment files run in the project's image or install."""
    for name, service in app_services().items():
        # Compose reads ``$$`` in a command as one ``$``, left to the container's shell
        yield f"compose {name}", [interpolate(word, {}) for word in service.get("command") or dockerfile_cmd()]
        if "healthcheck" in service:
            test = [interpolate(word, {}) for word in service["healthcheck"]["test"]]
            yield f"compose {name} healthcheck", [test[1]] if test[0] == "CMD-SHELL" else test[1:]
    for workload in [*of_kind("Deployment"), *of_kind("Job")]:
        for container in containers(workload):
            where = f"kubernetes {workload['metadata']['name']}/{container['name']}"
            assert container["image"] == IMAGE, where
            yield where, [*container["command"], *container.get("args", [])]
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if "exec" in container.get(probe, {}):
                    yield f"{where} {probe}", container[probe]["exec"]["command"]
            if "exec" in container.get("lifecycle", {}).get("preStop", {}):
                yield f"{where} preStop", container["lifecycle"]["preStop"]["exec"]["command"]
    for unit in units():
        for key in ("ExecStartPre", "ExecStart", "ExecReload"):
            for line in unit.values("Service", key):
                yield f"systemd {unit.path.name} {key}", systemd_argv(line)
    yield "Dockerfile CMD", dockerfile_cmd()


def invocations(argv: list[str]) -> list[list[str]]:
    """The programs one command line runs: a ``sh -c`` script (or Compose's CMD-SHELL string) split into them."""
    if argv[:2] == ["sh", "-c"]:
        script = argv[2]
    elif len(argv) == 1:
        script = argv[0]
    else:
        return [argv]
    found = []
    for part in re.split(r"&&|\|\||;|\n", script):
        words = shlex.split(part)
        while words and words[0] in SHELL_KEYWORDS:
            words = words[1:]
        if words and words != ["done"]:
            found.append(words)
    return found


def every_invocation() -> list[tuple[str, list[str]]]:
    return [(where, words) for where, argv in command_lines() for words in invocations(argv)]


def program(words: list[str]) -> str:
    """``manage.py``, ``probe.py``, ``celery``, ``gunicorn``, ...: what one invocation runs."""
    name = Path(words[0]).name
    if name.startswith("python") and len(words) > 1:
        return Path(words[1]).name
    return name


# -- what the programs accept -----------------------------------------------------------------------


def check_manage(words: list[str]) -> None:
    assert words[1] == "manage.py" and (ROOT / "manage.py").is_file()
    name, args = words[2], words[3:]
    commands = get_commands()
    assert name in commands, f"manage.py has no command {name!r}"
    load_command_class(commands[name], name).create_parser("manage.py", name).parse_args(args)


def check_celery(words: list[str]) -> click.Context:
    from celery.app.utils import find_app
    from celery.bin.base import CLIContext
    from celery.bin.celery import celery

    from project.celery import app as project_app

    group = celery.make_context("celery", list(words[1:]))
    app = find_app(group.params["app"])
    assert app is project_app, f"-A {group.params['app']} is not the project's Celery app"
    group.obj = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
    with warnings.catch_warnings():  # click 8.2 deprecates protected_args; the subcommand is still there
        warnings.simplefilter("ignore", DeprecationWarning)
        [name, *rest] = [*group.protected_args, *group.args]
    assert name in celery.commands, f"celery has no command {name!r}"
    return celery.commands[name].make_context(name, rest, parent=group)


def gunicorn_options(words: list[str]) -> Any:
    from gunicorn.config import Config

    try:
        return Config().parser().parse_args(words[1:])
    except SystemExit as exc:  # argparse's way of refusing an option
        raise AssertionError(f"gunicorn refuses {words[1:]}") from exc


def check_gunicorn(words: list[str]) -> None:
    from gunicorn.config import Config

    options = gunicorn_options(words)
    [target] = options.args
    import_target(target)
    assert options.config, "gunicorn runs without deploy/gunicorn.conf.py"
    config, hooks = Config(), runpy.run_path(str(ROOT / options.config))
    for name, value in hooks.items():
        if name in config.settings:
            config.set(name, value)  # gunicorn's own check of each hook's signature
    assert {"on_starting", "child_exit"} <= set(hooks)


def uvicorn_context(words: list[str]) -> click.Context:
    import uvicorn.main  # noqa: F401  (the module; ``uvicorn.main`` the attribute is its command)

    return sys.modules["uvicorn.main"].main.make_context("uvicorn", list(words[1:]))


def check_uvicorn(words: list[str]) -> None:
    import_target(uvicorn_context(words).params["app"])


def check_probe(words: list[str]) -> None:
    probe = runpy.run_path(str(ROOT / words[1]))
    options = probe["parser"]().parse_args(words[2:])
    assert options.path.strip("/") in health_paths(), options.path


def import_target(target: str) -> None:
    import importlib

    module, _, attribute = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))


def health_paths() -> set[str]:
    options = motia_settings()
    return {path.strip("/") for path in (options.HEALTH_LIVENESS_PATH, options.HEALTH_READINESS_PATH) if path}


CHECKERS = {"manage.py": check_manage, "celery": check_celery, "gunicorn": check_gunicorn,
            "uvicorn": check_uvicorn, "probe.py": check_probe}


def test_every_yaml_file_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yaml"))
    assert {path.relative_to(DEPLOY).as_posix() for path in files} >= {"compose.yaml", "kubernetes/kustomization.yaml"}
    for path in files:
        assert yaml_documents(path), f"{path} is empty"
        assert all(isinstance(doc, dict) for doc in yaml_documents(path)), path


def test_every_command_names_programs_modules_and_options_that_exist() -> None:
    seen: set[str] = set()
    for where, words in every_invocation():
        name = program(words)
        seen.add(name)
        if name in SHELL_TOOLS:
            continue
        assert name in CHECKERS, f"{where}: {' '.join(words)} runs {name!r}, which nothing here checks"
        try:
            CHECKERS[name](words)
        except Exception as exc:
            raise AssertionError(f"{where}: {' '.join(words)}: {exc}") from exc
    assert {"manage.py", "celery", "gunicorn", "uvicorn", "probe.py"} <= seen


def test_each_tool_runs_every_process() -> None:
    """web, asgi, worker, beat and the migrations: in Compose, in systemd and in Kubernetes."""
    def roles(lines: list[list[str]]) -> set[str]:
        found = set()
        for words in lines:
            if program(words) == "gunicorn":
                found.add("web")
            elif program(words) == "uvicorn":
                found.add("asgi")
            elif program(words) == "celery" and len(words) > 3 and words[3] in ("worker", "beat"):
                found.add(words[3])
            elif program(words) == "manage.py" and words[2] in ("migrate", "motia_discover"):
                found.add(words[2])
        return found

    everything = {"web", "asgi", "worker", "beat", "migrate", "motia_discover"}
    main_commands = [(where, argv) for where, argv in command_lines() if "healthcheck" not in where
                     and "Probe" not in where and "preStop" not in where and "ExecStartPre" not in where]
    for tool in ("compose", "kubernetes", "systemd"):
        lines = [words for where, argv in main_commands if where.startswith(tool) for words in invocations(argv)]
        assert roles(lines) == everything, tool


def test_beat_runs_the_cron_scheduler_the_project_configures() -> None:
    from celery.utils.imports import symbol_by_name
    from django_celery_beat.schedulers import DatabaseScheduler

    from motia_django.cron.scheduler import CronScheduler
    from project.celery import app

    for where, words in every_invocation():
        if program(words) == "celery" and "beat" in words:
            scheduler = check_celery(words).params.get("scheduler") or app.conf.beat_scheduler
            assert symbol_by_name(scheduler) is CronScheduler, where
    assert issubclass(CronScheduler, DatabaseScheduler)


def test_worker_pings_address_the_worker_of_their_own_host() -> None:
    """A ping to ``celery@$HOSTNAME`` only answers if the worker beside it kept Celery's default node name."""
    for where, argv in command_lines():
        for words in invocations(argv):
            if program(words) == "celery" and "ping" in words:
                context = check_celery(words)
                [destination] = context.params["destination"]
                assert destination == "celery@$HOSTNAME", where
    for where, words in every_invocation():
        if program(words) == "celery" and "worker" in words and not where.startswith("systemd"):
            assert check_celery(words).params["hostname"].startswith("celery@"), where


# -- environment variables ---------------------------------------------------------------------------


def project_reads() -> set[str]:
    """Names the example project's modules read from the environment (``os.environ``, ``_flag(...)``)."""
    names: set[str] = set()
    for path in (ROOT / "project").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                key = node.slice
            elif isinstance(node, ast.Call) and ast.unparse(node.func) in (
                    "os.environ.get", "os.environ.setdefault", "os.getenv", "_flag"):
                key = node.args[0]
            else:
                continue
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.add(key.value)
    return names


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#"))
    return {key: value for key, value in pairs}


def systemd_environment(unit: Unit) -> dict[str, str]:
    return dict(pair.split("=", 1) for line in unit.values("Service", "Environment") for pair in shlex.split(line))


def kubernetes_environment() -> dict[str, str]:
    [config] = of_kind("ConfigMap")
    env = {key: str(value) for key, value in config["data"].items()}
    for workload in [*of_kind("Deployment"), *of_kind("Job")]:
        for container in containers(workload):
            env.update({item["name"]: item.get("value", "") for item in container.get("env", [])})
    return env


def kubernetes_secret_keys() -> set[str]:
    """The keys of the Secret ``motia-secrets``, from the ``kubectl create secret`` line beside the ConfigMap."""
    return set(re.findall(r"--from-literal=(\w+)=", (KUBERNETES / "configmap.yaml").read_text(encoding="utf-8")))


def dockerfile_environment() -> set[str]:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return {name for line in re.findall(r"^ENV (.*)$", text, re.MULTILINE) for name in re.findall(r"(\w+)=", line)}


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in service["environment"].items()}


def test_the_project_reads_every_variable_the_files_set() -> None:
    reads = project_reads()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"} <= reads  # the reading works
    sets = {
        "compose.yaml": {key for service in app_services().values() for key in compose_environment(service)},
        "systemd units": {key for unit in units() for key in systemd_environment(unit)},
        "systemd/motia.env.example": set(env_file(SYSTEMD / "motia.env.example")),
        "kubernetes": set(kubernetes_environment()) | kubernetes_secret_keys(),
        "Dockerfile": dockerfile_environment(),
    }
    for where, names in sets.items():
        assert names, where
        assert sorted(names - reads - set(READ_ELSEWHERE)) == [], f"{where} sets variables nothing reads"
    assert "PROMETHEUS_MULTIPROC_DIR" in (DEPLOY / "gunicorn.conf.py").read_text(encoding="utf-8")


def test_every_deployment_gives_what_production_settings_require() -> None:
    given = {
        "compose.yaml": compose_deployment_env(),
        "systemd/motia.env.example": env_file(SYSTEMD / "motia.env.example"),
        "kubernetes": {**kubernetes_environment(), **dict.fromkeys(kubernetes_secret_keys(), "")},
    }
    for where, env in given.items():
        assert sorted(REQUIRED - set(env)) == [], where
        # every one sits behind a TLS-terminating proxy, whose X-Forwarded-Proto the probes imitate
        assert (env["DJANGO_DEBUG"], env["DJANGO_SECURE_PROXY_SSL_HEADER"]) == ("0", "1"), where


def clean_environment(tmp_path: Path, **deployment: str) -> dict[str, str]:
    """The deployment's variables alone (none of the test run's), in a fresh ``MOTIA_VAR_DIR``."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR"}
    return {**{key: value for key, value in os.environ.items() if key in keep}, **deployment,
            "DJANGO_SETTINGS_MODULE": "project.settings", "MOTIA_VAR_DIR": str(tmp_path / "var")}


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def compose_deployment_env() -> dict[str, str]:
    given = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "POSTGRES_PASSWORD": "pw"}
    [env] = {json.dumps({key: interpolate(value, given) for key, value in compose_environment(s).items()
                         if key != "PROMETHEUS_MULTIPROC_DIR"}, sort_keys=True) for s in app_services().values()}
    return dict(json.loads(env))


@pytest.mark.parametrize("deployment", ["compose", "systemd", "kubernetes"])
def test_the_settings_start_in_production_mode_with_each_deployments_variables(
        deployment: str, tmp_path: Path) -> None:
    """``manage.py check --deploy`` passes on exactly the variables the files give (secrets filled in)."""
    if deployment == "compose":
        env = compose_deployment_env()
    elif deployment == "systemd":
        env = env_file(SYSTEMD / "motia.env.example")
    else:
        env = {**kubernetes_environment(), "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
               "DATABASE_URL": "postgres://motia:pw@postgres:5432/motia",
               "CELERY_BROKER_URL": "redis://redis:6379/0", "CHANNEL_LAYER_URL": "redis://redis:6379/1"}
    assert env["DJANGO_DEBUG"] == "0", deployment
    done = deploy_check(clean_environment(tmp_path, **{k: v for k, v in env.items() if k != "MOTIA_VAR_DIR"}))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


# -- stopping: every grace period outlasts what it waits for ----------------------------------------------


def longest_delivery() -> float:
    """Seconds the slowest background step of the example project can hold a message: its hard time limit."""
    steps = ROOT / "steps"
    limits = [hard_time_limit(policy_for(binding)) or 0.0 for binding in get_registry().background_bindings
              if binding.step.file_path and Path(binding.step.file_path).resolve().is_relative_to(steps)]
    assert limits, "the example project has background steps"
    return max(limits)


def seconds(value: str | int) -> float:
    match = re.fullmatch(r"(\d+)(s|min)?", str(value).strip())
    assert match, value
    return float(match.group(1)) * (60 if match.group(2) == "min" else 1)


def graceful_seconds(words: list[str]) -> float:
    """How long a web server waits for requests in flight after SIGTERM, by its own defaults and options."""
    if program(words) == "gunicorn":
        return float(gunicorn_options(words).graceful_timeout or 30)
    timeout = uvicorn_context(words).params["timeout_graceful_shutdown"]
    assert timeout, "uvicorn without --timeout-graceful-shutdown waits for WebSockets forever"
    return float(timeout)


def test_workers_are_given_longer_to_stop_than_the_longest_delivery() -> None:
    longest = longest_delivery()
    worker_units = [u for u in units() if program(words := systemd_argv(u.values("Service", "ExecStart")[0]))
                    == "celery" and "worker" in words]
    assert worker_units and all(seconds(u.value("Service", "TimeoutStopSec") or 0) > longest for u in worker_units)
    assert seconds(app_services()["worker"]["stop_grace_period"]) > longest
    [worker] = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "motia-worker"]
    assert pod_spec(worker)["terminationGracePeriodSeconds"] > longest


def test_web_servers_are_given_longer_to_stop_than_their_graceful_timeout() -> None:
    for name in ("web", "asgi"):
        service = app_services()[name]
        assert seconds(service["stop_grace_period"]) > graceful_seconds(service["command"]), name
    for deployment in of_kind("Deployment"):
        spec = pod_spec(deployment)
        for container in spec["containers"]:
            words = invocations(container["command"])[0]
            if program(words) in ("gunicorn", "uvicorn"):
                [sleep, pause] = container["lifecycle"]["preStop"]["exec"]["command"]
                assert sleep == "sleep"
                # the preStop pause counts against the grace period too
                assert spec["terminationGracePeriodSeconds"] > float(pause) + graceful_seconds(words), container["name"]
    for unit in units():
        for start in unit.values("Service", "ExecStart"):
            words = systemd_argv(start)
            if program(words) in ("gunicorn", "uvicorn"):
                assert seconds(unit.value("Service", "TimeoutStopSec") or 0) > graceful_seconds(words), unit.path.name


# -- systemd ---------------------------------------------------------------------------------------


def test_systemd_units_stop_gracefully_and_restart() -> None:
    services = units()
    assert {u.path.name for u in services} >= {"motia-web.service", "motia-asgi.service", "motia-worker@.service",
                                               "motia-beat.service", "motia-migrate.service"}
    for unit in services:
        name = unit.path.name
        assert unit.values("Service", "ExecStart"), name
        if unit.value("Service", "Type") == "oneshot":
            continue
        assert unit.value("Service", "KillSignal") == "SIGTERM", name
        assert seconds(unit.value("Service", "TimeoutStopSec") or "") > 0, name
        assert unit.value("Service", "Restart") in ("always", "on-failure"), name
        assert unit.value("Install", "WantedBy") == "motia.target", name
        assert "motia-migrate.service" in (unit.value("Unit", "After") or "").split(), name
        # SIGTERM to every process of the group would reach the pool processes of Celery and gunicorn
        # directly, past their main process's shutdown
        words = systemd_argv(unit.values("Service", "ExecStart")[0])
        if program(words) == "gunicorn" or (program(words) == "celery" and "worker" in words):
            assert unit.value("Service", "KillMode") == "mixed", name


def test_the_target_starts_units_that_exist() -> None:
    target = read_unit(SYSTEMD / "motia.target")
    wanted = (target.value("Unit", "Wants") or "").split()
    assert len(wanted) == 5
    for name in wanted:
        template = re.sub(r"@[^.]+\.service$", "@.service", name)
        assert (SYSTEMD / template).is_file(), name


def test_systemd_analyze_finds_nothing_but_the_missing_install(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    for path in SYSTEMD.glob("motia*"):
        if path.suffix in (".service", ".target"):
            shutil.copy(path, tmp_path / path.name.replace("@.service", "@1.service"))
    done = subprocess.run([tool, "verify", "--man=no", *sorted(map(str, tmp_path.iterdir()))], capture_output=True,
                          text=True, timeout=60)
    complaints = [line for line in (done.stdout + done.stderr).splitlines()
                  if line.strip() and not line.endswith("is not executable: No such file or directory")]
    assert complaints == []


# -- Kubernetes ------------------------------------------------------------------------------------


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text(encoding="utf-8"))
    files = {path.name for path in KUBERNETES.iterdir() if path.suffix in (".yaml", ".yml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)
    assert [image["name"] for image in kustomization["images"]] == [IMAGE]


def test_kubectl_builds_the_kustomization() -> None:
    tool = shutil.which("kubectl")
    if tool is None:
        pytest.skip("kubectl is not installed")
    done = subprocess.run([tool, "kustomize", str(KUBERNETES)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(done.stdout) if doc)
    assert kinds == sorted(doc["kind"] for doc in manifests())


def test_every_deployment_has_probes_a_grace_period_and_the_projects_config() -> None:
    deployments = {d["metadata"]["name"]: d for d in of_kind("Deployment")}
    assert set(deployments) == {"motia-web", "motia-asgi", "motia-worker", "motia-beat"}
    config_names = {c["metadata"]["name"] for c in of_kind("ConfigMap")}
    for name, deployment in deployments.items():
        spec = pod_spec(deployment)
        assert spec["terminationGracePeriodSeconds"] > 0, name
        for container in spec["containers"]:
            assert {"livenessProbe", "readinessProbe"} <= set(container), name
        for container in containers(deployment):
            refs = {ref["configMapRef"]["name"] for ref in container["envFrom"] if "configMapRef" in ref}
            assert refs and refs <= config_names, name
        # the release's schema is applied before any of its pods runs
        assert [c["name"] for c in spec.get("initContainers", [])] == ["wait-for-migrations"], name
    [job] = of_kind("Job")
    [migrate, discover] = [words for container in containers(job) for words in invocations(container["command"])]
    assert [migrate[:2], migrate[2], discover[2]] == [["python", "manage.py"], "migrate", "motia_discover"]


def http_probes() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(kind, probe, container) of every HTTP probe."""
    for deployment in of_kind("Deployment"):
        for container in pod_spec(deployment)["containers"]:
            for kind in ("livenessProbe", "readinessProbe"):
                if "httpGet" in container[kind]:
                    yield kind, container[kind]["httpGet"] | {"timeoutSeconds": container[kind].get(
                        "timeoutSeconds", 1)}, container


def test_http_probes_ask_the_health_endpoints_on_the_servers_port() -> None:
    options = motia_settings()
    expected = {"livenessProbe": f"/{options.HEALTH_LIVENESS_PATH}",
                "readinessProbe": f"/{options.HEALTH_READINESS_PATH}"}
    probes = list(http_probes())
    assert len(probes) == 4  # web and asgi, liveness and readiness
    for kind, probe, container in probes:
        assert probe["path"] == expected[kind], container["name"]
        [port] = [p["containerPort"] for p in container["ports"] if p["name"] == probe["port"]]
        words = invocations(container["command"])[0]
        if program(words) == "gunicorn":
            assert gunicorn_options(words).bind == [f"0.0.0.0:{port}"]
        else:
            assert uvicorn_context(words).params["port"] == port
        if kind == "readinessProbe":
            assert probe["timeoutSeconds"] > options.HEALTH_TIMEOUT + 1, "the readiness checks get a second of grace"
        assert "preStop" in container.get("lifecycle", {}), f"{container['name']} serves HTTP without a preStop pause"


def test_probes_of_web_pods_send_a_host_the_settings_allow() -> None:
    [config] = of_kind("ConfigMap")
    allowed = config["data"]["DJANGO_ALLOWED_HOSTS"].split(",")
    for _, probe, container in http_probes():
        headers = {h["name"]: h["value"] for h in probe["httpHeaders"]}
        assert validate_host(headers["Host"], allowed), container["name"]


PRODUCTION = {"DEBUG": False, "SECURE_SSL_REDIRECT": True,
              "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}


def production_settings(env: dict[str, str]) -> dict[str, Any]:
    """What ``project/settings.py`` makes of a deployment's hosts and proxy flag, with ``DEBUG`` off."""
    proxied = env.get("DJANGO_SECURE_PROXY_SSL_HEADER", "").strip().lower() in ("1", "true", "yes", "on")
    return {**PRODUCTION, "ALLOWED_HOSTS": env["DJANGO_ALLOWED_HOSTS"].split(","),
            "SECURE_PROXY_SSL_HEADER": PRODUCTION["SECURE_PROXY_SSL_HEADER"] if proxied else None}


@pytest.mark.django_db(transaction=True)
def test_the_probed_paths_answer_200_with_production_settings(broker_url: str) -> None:
    """What the kubelet sends, through Django with HTTPS redirects on; without the proxy's header it is a redirect."""
    [config] = of_kind("ConfigMap")
    # the kubelet connects from the node's address, which no server trusts for X-Forwarded-Proto: Django decides
    with override_settings(**production_settings(config["data"])):
        client = Client()
        for kind, probe, container in http_probes():
            headers = {h["name"]: h["value"] for h in probe["httpHeaders"]}
            response = client.get(probe["path"], headers={k: v for k, v in headers.items() if k != "Host"},
                                  HTTP_HOST=headers["Host"])
            assert response.status_code == 200, (container["name"], kind, response.content)
            plain = client.get(probe["path"], HTTP_HOST=headers["Host"])
            assert plain.status_code == 301, "the header must matter, or this test shows nothing"


@pytest.mark.django_db(transaction=True)
def test_the_compose_probe_passes_only_on_a_ready_server(live_server: Any, broker_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy/probe.py against a real server with the Compose file's hosts: 200 passes, a refused host fails."""
    probe = runpy.run_path(str(DEPLOY / "probe.py"))
    hosts = compose_deployment_env()["DJANGO_ALLOWED_HOSTS"]
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", hosts)
    port = str(live_server.url.rsplit(":", 1)[1])
    with override_settings(**production_settings(compose_deployment_env())):
        for path in sorted(health_paths()):
            assert probe["main"](["--port", port, f"/{path}"]) == 0, path
        assert probe["main"](["--port", port, "--host", "elsewhere.example", "/healthz"]) == 1
        assert probe["main"](["--port", port, "/no-such-endpoint"]) == 1
    assert probe["allowed_host"](".example.com,*") == "example.com"
    assert probe["allowed_host"]("*") == "localhost"


def replace_option(words: list[str], option: str, value: str) -> list[str]:
    at = words.index(option)
    return [*words[:at + 1], value, *words[at + 2:]]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["web", "asgi"])
def test_compose_servers_pass_their_own_health_check_in_production(name: str, tmp_path: Path, broker_url: str) -> None:
    """The service's command on a loopback port, with its environment (the test database and broker in place of
    the Compose hosts), answers its healthcheck run as Docker runs it, and stops on SIGTERM within its grace."""
    service, port = app_services()[name], str(free_port())
    words = [interpolate(word, {}) for word in service["command"]]
    if program(words) == "gunicorn":
        words = replace_option(words, "--bind", f"127.0.0.1:{port}")
    else:
        words = replace_option(replace_option(words, "--host", "127.0.0.1"), "--port", port)
    metrics = tmp_path / "prometheus"
    metrics.mkdir()
    (metrics / "counter_1.db").write_bytes(b"left by an earlier run")
    env = clean_environment(tmp_path, **{**compose_deployment_env(), "DATABASE_URL": database_url(),
                                         "CELERY_BROKER_URL": broker_url, "CHANNEL_LAYER_URL": broker_url,
                                         **({"PROMETHEUS_MULTIPROC_DIR": str(metrics)}
                                            if "PROMETHEUS_MULTIPROC_DIR" in service["environment"] else {})})
    server = ChildProcess([sys.executable, "-m", *words], log=tmp_path / f"{name}.log", env=env, cwd=ROOT, name=name)
    try:
        server.wait_until_ready(lambda _: service_up("127.0.0.1", int(port)), timeout=60)
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD"
        healthcheck = replace_option([sys.executable if word == "python" else word for word in test[1:]],
                                     "--port", port)
        done = subprocess.run(healthcheck, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr + server.tail()
        host = compose_deployment_env()["DJANGO_ALLOWED_HOSTS"].split(",")[0]
        plain = httpx.get(f"http://127.0.0.1:{port}/readyz", headers={"Host": host}, timeout=10)
        assert plain.status_code == 301, "a plain HTTP request is redirected: the probe's header is what passes"
        if "PROMETHEUS_MULTIPROC_DIR" in env:
            assert not (metrics / "counter_1.db").exists(), "gunicorn.conf.py empties the folder at start"
        started = time.monotonic()
        server.popen.send_signal(signal.SIGTERM)
        # gunicorn exits 0; uvicorn, after its graceful shutdown, ends by the signal it was sent
        assert server.popen.wait(seconds(service["stop_grace_period"])) in (0, -signal.SIGTERM), server.tail()
        assert time.monotonic() - started < seconds(service["stop_grace_period"])
    finally:
        server.stop()


# -- Compose ---------------------------------------------------------------------------------------


def test_compose_starts_everything_after_the_one_shot_migration() -> None:
    services = app_services()
    assert set(services) == {"migrate", "web", "asgi", "worker", "beat"}
    assert services["migrate"]["restart"] == "no"
    for name, service in services.items():
        assert "healthcheck" in service or name == "migrate", name
        if name != "migrate":
            assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    for name, service in compose()["services"].items():
        for dependency in service.get("depends_on", {}).values():
            assert dependency["condition"] in ("service_healthy", "service_completed_successfully"), name
        assert "healthcheck" in service or name == "migrate", name


def test_compose_publishes_the_web_ports_on_loopback_only() -> None:
    """The services trust X-Forwarded-Proto, so only the proxy on the host may reach them."""
    for name, service in compose()["services"].items():
        for published in service.get("ports", []):
            assert str(published).startswith("127.0.0.1:"), name


def test_the_image_installs_what_the_commands_run() -> None:
    """The Dockerfile installs requirements.txt above its marker line, plus gunicorn."""
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    [marker] = re.findall(r"sed '/\^(.+?)/q' requirements\.txt", dockerfile)
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert marker in lines, "the marker line the Dockerfile stops at"
    runtime = lines[:lines.index(marker)] + [line for line in lines if line.startswith("gunicorn")]
    names = {re.split(r"[\[<>=~! ]", line, maxsplit=1)[0].lower() for line in runtime
             if line.strip() and not line.startswith(("#", "-"))}
    assert {"django", "celery", "django-celery-beat", "gunicorn", "uvicorn", "channels-redis", "psycopg",
            "dj-database-url", "prometheus-client"} <= names
    assert "pytest" not in names


# -- documentation links ---------------------------------------------------------------------------


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("document", ["README.md", "docs/deploy.md"])
def test_links_to_the_docs_reach_their_sections(document: str) -> None:
    source = ROOT / document
    links = re.findall(r"\]\(((?:docs/)?[\w.-]+\.md)(?:#([\w-]+))?\)", source.read_text(encoding="utf-8"))
    assert links, document
    for target, anchor in links:
        path = (source.parent / target).resolve()
        assert path.is_file(), f"{document} links to {target}, which does not exist"
        if anchor:
            assert anchor in anchors(path), f"{document} links to {target}#{anchor}, which has no such heading"

