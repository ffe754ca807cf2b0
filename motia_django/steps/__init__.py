"""The step API: triggers, configs, ``step()`` and handler inputs (public via ``motia``)."""
