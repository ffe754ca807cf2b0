"""The state API handlers call (``ctx.state`` and the module-level ``stateManager``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..execution import in_thread, sync_or_async
from ..store import JsonStore, SetResult

__all__ = ["StateManager"]


class StateManager:
    """``get/set/update/delete/list/get_group/list_groups/clear`` on ``(scope, key)``.

    Each answers in the caller's kind (a value in sync code, an awaitable in
    async code); ``aget``, ``aset``, ... are the typed async twins.
    """

    @property
    def _store(self) -> JsonStore:
        from ..models import StateEntry

        return JsonStore(StateEntry)

    def _get(self, scope: str, key: str) -> Any:
        return self._store.get(scope, key)

    def _set(self, scope: str, key: str, value: Any) -> SetResult:
        return self._store.set(scope, key, value)

    def _update(self, scope: str, key: str, ops: Sequence[Mapping[str, Any]]) -> SetResult:
        return self._store.update(scope, key, ops)

    def _delete(self, scope: str, key: str) -> Any:
        return self._store.delete(scope, key)

    def _list(self, scope: str) -> list[Any]:
        return self._store.list(scope)

    def _list_groups(self) -> list[str]:
        return self._store.list_groups()

    def _clear(self, scope: str) -> None:
        self._store.clear(scope)

    get = sync_or_async("state.get")(_get)
    set = sync_or_async("state.set")(_set)
    update = sync_or_async("state.update")(_update)
    delete = sync_or_async("state.delete")(_delete)
    list = sync_or_async("state.list")(_list)
    get_group = list
    list_groups = sync_or_async("state.list_groups")(_list_groups)
    clear = sync_or_async("state.clear")(_clear)

    aget = in_thread(_get)
    aset = in_thread(_set)
    aupdate = in_thread(_update)
    adelete = in_thread(_delete)
    alist = in_thread(_list)
    aget_group = alist
    alist_groups = in_thread(_list_groups)
    aclear = in_thread(_clear)
