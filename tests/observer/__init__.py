"""A test-only app for servers and workers: what the runtime's and Celery's signals and spans tell integrations.

Installed when ``MOTIA_TEST_OBSERVER`` names a file (see ``tests/settings.py``): every
process appends one JSON line per signal or finished span to it, so a test reads
what a worker saw.
"""
