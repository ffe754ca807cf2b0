"""The embedded development broker: kombu's filesystem transport, safe under bursts of messages.

kombu writes a message in place under its final name, so a worker listing the
folder meanwhile can take the file while it is still empty or half written; it
deletes the file before parsing it, so the message is lost, and the parse error
stops the worker.  This transport writes each message under a name readers skip
and renames it into place once complete, and moves a file it cannot parse to
``rejected_folder`` (with an error in the log) instead of deleting it.
Everything else (names, order, folders, options) is kombu's.

.. code-block:: python

    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "motia_django.queues.dev_broker:Transport"

``rejected_folder`` defaults to ``rejected`` beside ``data_folder_in``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from contextlib import suppress
from functools import cached_property
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

__all__ = ["Channel", "Transport"]

logger = logging.getLogger("motia.queues")

#: A message is written under ``.<final name>.partial``: readers take only names whose
#: part after the first dot is ``<queue>.msg``, which this one, ending in ``.partial``, never is.
PARTIAL_SUFFIX = ".partial"


class Channel(filesystem.Channel):
    """Writes whole messages only, and never loses a file it cannot read as one."""

    # kombu's own signature, which its stubs mark as overriding the base class's the same way
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        """Write the message under a name readers skip, then give it its final name in one rename."""
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}{PARTIAL_SUFFIX}")
        try:
            with open(partial, "xb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            with suppress(OSError):
                os.unlink(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        """Take the oldest message of ``queue``, as kombu does, but set aside a file that is not one.

        Like kombu's, it never waits: ``timeout`` is there for the signature of the base class.
        """
        wanted = f"{queue}.msg"
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            folder = self.processed_folder if self.store_processed else tempfile.gettempdir()
            try:
                shutil.move(os.path.join(self.data_folder_in, filename), folder)
            except OSError:  # taken by another consumer in the meantime
                continue
            path = os.path.join(folder, filename)
            try:
                with open(path, "rb") as file:
                    payload = file.read()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {path!r} from queue.") from exc
            try:
                message = loads(bytes_to_str(payload))
            except ValueError:
                message = None
            if not isinstance(message, dict):
                self._reject(path, len(payload))
                continue
            if not self.store_processed:
                os.remove(path)
            return message
        raise Empty()

    def _reject(self, path: str, size: int) -> None:
        """Keep a file that is not a message where someone can look at it; the worker carries on."""
        target = os.path.join(self.rejected_folder, os.path.basename(path))
        try:
            os.makedirs(self.rejected_folder, exist_ok=True)
            shutil.move(path, target)
        except OSError as exc:
            logger.error("broker file %s (%d bytes) is not a message; left there, as moving it to %s failed: %s",
                         path, size, self.rejected_folder, exc)
            return
        logger.error("broker file %s (%d bytes) is not a message; moved to %s", os.path.basename(path), size, target)

    @cached_property
    def rejected_folder(self) -> str:
        default = os.path.join(os.path.dirname(os.path.abspath(self.data_folder_in)), "rejected")
        return str(self.transport_options.get("rejected_folder", default))


class Transport(filesystem.Transport):
    """kombu's filesystem transport with :class:`Channel`."""

    Channel = Channel
