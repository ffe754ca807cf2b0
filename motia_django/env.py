"""The project's ``.env`` file, loaded as Motia's CLI loads it: real environment variables win.

Settings that read the environment call :func:`load_env` first::

    # settings.py
    from motia_django.env import load_env

    BASE_DIR = Path(__file__).resolve().parent.parent
    load_env(BASE_DIR)

``MotiaConfig.ready()`` loads ``MOTIA["ENV_FILE"]`` itself too, so every process
(web server, Celery worker, beat, management commands) has it before any step
file is imported.  Loading twice changes nothing: set variables are never
overwritten.  Pure Python, so settings may import it before Django is set up.
"""

from __future__ import annotations

from pathlib import Path

from dotenv import load_dotenv

__all__ = ["load_env"]


def load_env(path: str | Path = ".env") -> Path | None:
    """Set the variables of ``path`` (a ``.env`` file, or a directory holding one) that are not set yet.

    Returns the file loaded, or ``None`` when there is none.
    """
    file = Path(path)
    if file.is_dir():
        file = file / ".env"
    if not file.is_file():
        return None
    load_dotenv(file, override=False, interpolate=True)
    return file
