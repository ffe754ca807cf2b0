"""Writes and enqueues inside a transaction that commits or rolls back."""

from django.contrib.auth.models import User
from django.db import transaction

from motia import ApiResponse, http, queue, step


def write_and_enqueue(req, ctx):
    try:
        with transaction.atomic():
            User.objects.create(username=req.body["username"])
            ctx.enqueue({"topic": "t.user-created", "data": {"username": req.body["username"]}})
            if req.body.get("fail"):
                raise ValueError("roll back")
    except ValueError:
        return ApiResponse(status=409, body={"rolled_back": True})
    return ApiResponse(status=201, body={"created": req.body["username"]})


def welcome(data, ctx):
    ctx.state.set("welcomed", data["username"], {"exists": User.objects.filter(username=data["username"]).exists()})


creator = step({"name": "txn-creator", "triggers": [http("POST", "/txn/users")], "enqueues": ["t.user-created"]},
               write_and_enqueue)
welcomer = step({"name": "txn-welcomer", "triggers": [queue("t.user-created")]}, welcome)
