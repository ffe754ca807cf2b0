"""Container health check for the web servers: ``python deploy/probe.py --port 8000 /readyz``.

The image has no curl, and a probe must not follow Django's HTTPS redirect (a 301
is not "ready"): this sends one GET to the loopback port with a ``Host`` Django
allows (the first of ``DJANGO_ALLOWED_HOSTS``) and ``X-Forwarded-Proto: https``,
as the TLS-terminating proxy in front does, and exits 0 only on a 200.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys

__all__ = ["allowed_host", "main", "parser"]


def allowed_host(setting: str) -> str:
    """A concrete host name that ``ALLOWED_HOSTS`` (``DJANGO_ALLOWED_HOSTS``, comma-separated) accepts."""
    for host in (part.strip() for part in setting.split(",")):
        if host and host != "*":
            return host.lstrip(".")
    return "localhost"


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("path", help="the endpoint to ask, e.g. /healthz or /readyz")
    options.add_argument("--port", type=int, default=8000)
    options.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the answer")
    options.add_argument("--host", default=None, help="Host header (default: the first of DJANGO_ALLOWED_HOSTS)")
    return options


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    host = args.host or allowed_host(os.environ.get("DJANGO_ALLOWED_HOSTS", ""))
    connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.timeout)
    try:
        connection.request("GET", args.path, headers={"Host": host, "X-Forwarded-Proto": "https"})
        status = connection.getresponse().status
    except OSError as exc:
        print(f"{args.path}: {exc}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"{args.path}: HTTP {status}", file=sys.stderr)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
