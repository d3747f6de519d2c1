"""The webhook delivery task: one attempt per run, claimed in the database so it never doubles."""

from __future__ import annotations

from celery import Task, shared_task

from service.webhooks import delivery
from service.webhooks.events import DELIVER_TASK
from workers.tasks import retry_delay, waiting_out_database_errors


@shared_task(name=DELIVER_TASK, bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self: Task, delivery_id: int,
                    own_claims: list[str] | None = None) -> str | None:
    """Attempt the delivery if it is due and unclaimed; a duplicate message does nothing.
    A database outage sends the task again with backoff instead of consuming it.

    `own_claims`: the times this task claimed the row, across its tries and re-sends (Celery's
    retry re-sends the request's kwargs), so a claim that committed just before the database
    went away is released rather than left "sending" (found by the fault suite)."""
    claims = list(own_claims or [])
    self.request.kwargs = {**(self.request.kwargs or {}), "own_claims": claims}
    outcome = waiting_out_database_errors(self, delivery.attempt, delivery_id, claims)
    if outcome == delivery.BUSY:
        # Its clinic has its share of slots: wait a moment without holding one. Other clinics'
        # deliveries meanwhile take the free slots.
        raise self.retry(countdown=retry_delay(0) + 0.5, max_retries=None)
    return outcome
