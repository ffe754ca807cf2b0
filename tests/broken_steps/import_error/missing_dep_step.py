from motia import http

import a_module_that_does_not_exist  # noqa: F401

config = {"name": "needs-dep", "triggers": [http("GET", "/dep")]}
