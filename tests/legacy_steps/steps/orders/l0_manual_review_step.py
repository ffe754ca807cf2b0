"""A Motia 0.x noop step: someone reviews large orders by hand, outside the system."""

config = {
    "type": "noop",
    "name": "l0-manual-review",
    "description": "A person checks large orders",
    "virtualSubscribes": ["l0-order-flagged", "l0-audit-report"],
    "virtualEmits": [{"topic": "l0-order-requested", "label": "Re-order"}],
    "flows": ["l0-orders"],
}
