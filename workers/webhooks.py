"""The webhook delivery task: one attempt per run, claimed in the database so it never doubles."""

from __future__ import annotations

from celery import shared_task

from service.webhooks import delivery
from service.webhooks.events import DELIVER_TASK


@shared_task(name=DELIVER_TASK, acks_late=True)
def deliver_webhook(delivery_id: int) -> str | None:
    """Attempt the delivery if it is due and unclaimed; a duplicate message does nothing."""
    return delivery.attempt(delivery_id)
