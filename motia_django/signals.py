"""The signals motia-django sends, for projects and integrations to receive.

Only declarations live here; the app's own receivers are connected in
``MotiaConfig.ready()``.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["stream_changed"]

#: Sent after commit for every stream item change: ``stream``, ``group_id``, ``item_id``,
#: ``event`` (``{"type": "create"|"update"|"delete", "data": item}``), ``version`` (the
#: item's ``StreamItem.version`` after the change, one more than the last for a delete:
#: orders changes of one item), ``timestamp`` (the writer's wall clock, ms; not an order).
stream_changed = Signal()
