"""The signals motia-django sends, for projects and integrations to receive.

Only declarations live here; the app's own receivers are connected in
``MotiaConfig.ready()``, and :mod:`motia_django.integrations` sends the
execution and dead-letter signals.  A receiver that raises is logged and
never fails the execution (they are sent robustly).
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["dead_letter_replayed", "dead_lettered", "execution_finished", "execution_started", "stream_changed"]

#: Sent after commit for every stream item change: ``stream``, ``group_id``, ``item_id``,
#: ``event`` (``{"type": "create"|"update"|"delete", "data": item}``), ``version`` (the
#: item's ``StreamItem.version`` after the change, one more than the last for a delete:
#: orders changes of one item), ``timestamp`` (the writer's wall clock, ms; not an order).
stream_changed = Signal()

#: Sent before a handler runs, by the process that runs it (server or worker), with the step's
#: ``StepDefinition`` as sender: ``step`` (its name), ``trigger`` (``"http"``, ``"queue"``, ``"cron"``,
#: ``"state"``, ``"stream"``), ``trace_id``, ``input`` (what the handler receives), ``ctx``.
execution_started = Signal()

#: Sent after the handler returned or raised, with what ``execution_started`` had plus ``outcome``
#: (``"succeeded"`` or ``"failed"``), ``duration`` (seconds) and ``error`` (the exception, or ``None``).
execution_finished = Signal()

#: Sent after commit when a message ran out of attempts, with ``DeadLetter`` as sender:
#: ``dead_letter`` (the row), ``error`` (the last attempt's exception).
dead_lettered = Signal()

#: Sent after commit when a dead letter was delivered again, with ``DeadLetter`` as sender:
#: ``dead_letter`` (the row, deleted by then), ``envelope`` (the new message: its ``id``, ``replayOf``).
dead_letter_replayed = Signal()
