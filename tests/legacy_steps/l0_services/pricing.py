"""Order pricing shared by the 0.x test steps."""

from __future__ import annotations

from typing import Any

__all__ = ["FLAG_ABOVE", "order_total"]

#: Orders above this total are flagged for review.
FLAG_ABOVE = 100


def order_total(items: list[dict[str, Any]]) -> int:
    return sum(int(item["price"]) * int(item["quantity"]) for item in items)
