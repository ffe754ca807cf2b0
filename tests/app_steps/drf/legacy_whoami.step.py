"""A Motia 0.x API step reading the caller from the request dict, with optional token authentication."""

config = {
    "type": "api",
    "name": "drf-legacy-whoami",
    "path": "/drf/legacy/whoami",
    "method": "GET",
    "authenticationClasses": ["rest_framework.authentication.TokenAuthentication"],
    "emits": [],
    "flows": ["drf"],
}


def handler(req, context):
    user, auth = req["user"], req["auth"]
    return {"status": 200, "body": {"user": user.get_username() if user.is_authenticated else None,
                                    "auth": getattr(auth, "key", None)}}
