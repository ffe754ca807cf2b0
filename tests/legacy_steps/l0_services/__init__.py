"""A project package beside ``steps/``, imported by the 0.x step files as on Motia."""
