"""Celery workers: render handouts, sweep the outbox. Thin: load by id, call the domain, store."""
