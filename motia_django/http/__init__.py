"""HTTP triggers as Django views: routing, request parsing, middleware, responses."""
