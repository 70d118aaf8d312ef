"""The operator surface: readiness for load balancers, metrics for Prometheus."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.responses import ReadinessReport
from greenlight import metrics
from greenlight.queues import Queue
from greenlight.readiness import Report, run_checks, storage_checks
from greenlight.settings import get_settings
from workers.health import ping_workers

router = APIRouter(tags=["operator"])

METRICS_EXAMPLE = f"""# HELP greenlight_operations_accepted_total Operations accepted (recorded)
# TYPE greenlight_operations_accepted_total counter
greenlight_operations_accepted_total{{kind="persona.promote"}} 42.0
# HELP greenlight_queue_depth Messages waiting in a Celery queue (Redis LLEN)
# TYPE greenlight_queue_depth gauge
greenlight_queue_depth{{queue="{Queue.OPERATIONS.value}"}} 0.0
"""


def _readiness() -> Report:
    timeout = get_settings().readiness_timeout_seconds
    checks = storage_checks(timeout / 2)
    checks["workers"] = lambda: ping_workers(timeout / 2)
    return run_checks(checks, timeout)


@router.get(
    "/readyz",
    summary="Ready to serve: database, migrations, Redis and at least one worker",
    response_model=ReadinessReport,
    responses={503: {"model": ReadinessReport, "description": "A check failed; `failed` names it"}},
)
async def readyz() -> Response:
    report = await run_in_threadpool(_readiness)
    return JSONResponse(report.as_dict(), status_code=200 if report.ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics, computed from the database and Redis",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {"text/plain": {"example": METRICS_EXAMPLE}},
        }
    },
)
async def prometheus_metrics() -> Response:
    body = await run_in_threadpool(metrics.render)
    return Response(body, media_type=metrics.CONTENT_TYPE)
