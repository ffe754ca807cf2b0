from motia import step


async def handler(req, ctx):
    return None


bad = step(
    {
        "name": "bad-config",
        "triggers": [{"type": "http", "path": "no-slash", "method": "FETCH"}],
    },
    handler,
)
