"""A Motia 0.x stream file (the ``config`` dict of Motia 0.x's stream docs), used by the Motia 1.0
steps beside it through ``Stream("rmGreetings")``: the two styles share one declaration."""

config = {
    "name": "rmGreetings",
    "schema": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "message": {"type": "string"}},
        "required": ["name", "message"],
    },
    "baseConfig": {"storageType": "default"},
}
