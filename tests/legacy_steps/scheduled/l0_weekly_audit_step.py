"""A Motia 0.x cron step: ``handler(context)``, a 5-field expression (Mondays at midnight)."""

config = {
    "type": "cron",
    "name": "l0-weekly-audit",
    "cron": "0 0 * * 1",
    "emits": ["l0-audit-report"],
    "flows": ["l0-orders"],
}


def handler(context):
    flagged = context.state.get("l0-flagged", "orders") or []
    context.state.set("l0-audit", "last", {"flagged": len(flagged), "traceId": context.trace_id})
    context.emit({"topic": "l0-audit-report", "data": {"flagged": len(flagged)}})
