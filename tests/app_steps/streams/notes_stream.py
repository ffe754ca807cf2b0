"""An open stream with a pydantic schema: everyone may subscribe."""

from pydantic import BaseModel

from motia import StreamConfig


class Note(BaseModel):
    title: str
    done: bool = False


config = StreamConfig(name="notes", schema=Note, can_access=lambda subscription, auth_context: True)
