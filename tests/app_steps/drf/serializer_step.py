"""A DRF ``Serializer`` as ``body_schema`` and ``response_schema``: the handler gets the validated data."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from motia import ApiResponse, FlowContext, http, step


class DrfSignupSerializer(serializers.Serializer):
    email = serializers.EmailField()
    age = serializers.IntegerField(min_value=18)
    tags = serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    newsletter = serializers.BooleanField(default=False)


async def signup(input: Any, ctx: FlowContext[Any]) -> ApiResponse[Any]:
    data = input.request.body
    return ApiResponse(201, {**data, "age_type": type(data["age"]).__name__})


signup_step = step(
    {"name": "drf-signup", "flows": ["drf"],
     "triggers": [http("POST", "/drf/signup", body_schema=DrfSignupSerializer,
                       response_schema={201: DrfSignupSerializer})]},
    signup,
)
