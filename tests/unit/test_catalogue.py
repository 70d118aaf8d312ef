"""The Celery app, routes and schedule follow the table of tasks in workers/catalogue.py."""

from __future__ import annotations

from greenlight.queues import ENGINE_QUEUES, NOTIFICATION_QUEUES, Queue
from greenlight.settings import get_settings
from workers import catalogue
from workers.app import app


def test_every_task_in_the_table_is_registered_with_its_policy() -> None:
    import workers.tasks  # noqa: F401  (registers the tasks)

    registered = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert set(registered) == {spec.name for spec in catalogue.TASKS}
    for spec in catalogue.TASKS:
        task = registered[spec.name]
        assert isinstance(task, spec.base), spec.name
        assert task.name.startswith(f"{spec.queue.value}."), spec.name


def test_engine_tasks_never_give_up_and_notification_tasks_do() -> None:
    assert catalogue.EngineTask.max_retries is None
    assert catalogue.NotificationTask.max_retries == 5
    for base in (catalogue.EngineTask, catalogue.NotificationTask):
        assert set(base.autoretry_for) == set(catalogue.RETRYABLE)


def test_every_queue_is_declared_and_routed_to() -> None:
    assert {queue.name for queue in app.conf.task_queues} == {queue.value for queue in Queue}
    routes = app.conf.task_routes
    assert {route["queue"] for route in routes.values()} == {queue.value for queue in Queue}
    assert all(routes[spec.name] == {"queue": spec.queue.value} for spec in catalogue.TASKS)
    # Every queue is taken by one kind of worker.
    assert sorted((*ENGINE_QUEUES, *NOTIFICATION_QUEUES)) == sorted(Queue)


def test_beat_runs_the_periodic_tasks_of_the_table() -> None:
    schedule = app.conf.beat_schedule
    settings = get_settings()
    assert set(schedule) == {periodic.entry for periodic in catalogue.PERIODIC}
    for periodic in catalogue.PERIODIC:
        entry = schedule[periodic.entry]
        assert entry["task"] == periodic.task.name
        assert entry["schedule"] == periodic.interval(settings)
        assert entry["options"]["expires"] == 2 * entry["schedule"]
