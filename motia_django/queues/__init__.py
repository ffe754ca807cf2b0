"""Queue triggers on Celery: publishing, per-topic queues and delivery to subscribers."""
