"""Cron triggers: expression parsing and scheduling on django-celery-beat."""
