"""The distributed engine: Celery over Redis, configured for crawls that must not be lost.

Why Celery rather than scrapy-redis (README, "Many machines"): a unit of work here is a crawl of
many sites (one Scrapy process, as on one machine), not a request. Celery delivers such a task to one
worker and, with ``acks_late`` and ``reject_on_worker_lost``, keeps it in Redis until that worker
says it is done; scrapy-redis pops requests destructively (a dying worker loses what it held), marks
them seen when queued, and starts spiders with ``start_requests()``, which Scrapy 2.16+ no longer
calls. Neither engine alone knows when a worker is dead soon enough (Redis redelivers an
unacknowledged task only after the visibility timeout), so the catalog keeps the record — each
dispatch, its attempt, its worker's heartbeat — and the scheduler sends a dead worker's dispatches
again; a worker runs only a dispatch's current attempt, so a copy Redis delivers later is dropped.

One queue (``nianbao``), one task (``nianbao.crawl``), no result backend (results are the catalog's).
"""

from __future__ import annotations

from celery import Celery

from .config import ScheduleSettings

QUEUE = "nianbao"
TASK = "nianbao.crawl"


def make_app(settings: ScheduleSettings) -> Celery:
    if not settings.broker:
        raise ValueError("no broker: NIANBAO_BROKER is not set")
    app = Celery("nianbao", broker=settings.broker, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,  # acknowledged when the crawl ended, not when it was received
        # A pool process lost mid-task gives its message back (prefork pools; the worker's threads die with it, and
        # Redis gives an unacknowledged message back only after the visibility timeout: the catalog hands on sooner).
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,  # a worker holds only the tasks it runs: nothing waits behind a long crawl
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # Redis restarted: reconnect until it is back …
        worker_cancel_long_running_tasks_on_connection_loss=False,  # … and the crawls under way go on meanwhile
        broker_transport_options={"visibility_timeout": settings.broker_visibility},
        task_serializer="json", accept_content=["json"],
    )
    return app


#: Redis priorities (kombu's steps 0, 3, 6, 9; 0 is taken first): a dispatch handed on from a dead or stopped
#: worker goes before the round's others, so it waits for the next free slot, not for the whole queue.
HANDED_ON, ROUND = 0, 6


def send(app: Celery, dispatch_id: int, attempt: int, priority: int = ROUND) -> None:
    app.send_task(TASK, args=(dispatch_id, attempt), queue=QUEUE, priority=priority)


def broker_id(app: Celery) -> str | None:
    """Which Redis instance holds the queue (its run_id changes on every restart: then it forgot what it held,
    unless persisted); None when it cannot be asked now."""
    try:
        with app.connection_for_write() as connection:
            client = connection.default_channel.client
            return str(client.info("server").get("run_id"))
    except Exception:  # noqa: BLE001 - any broker failure means "unknown now", checked again next time
        return None
