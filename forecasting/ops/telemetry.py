"""Prometheus series of the forecast jobs and workers (served by ``deploy.metrics`` / the API)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Final, ParamSpec, TypeVar

from prometheus_client import Counter, Histogram

P = ParamSpec("P")
R = TypeVar("R")

JOBS: Final = Counter(
    "obrador_forecast_jobs", "Scheduled forecast jobs run, by job and outcome", ["job", "outcome"]
)
JOB_SECONDS: Final = Histogram(
    "obrador_forecast_job_seconds",
    "Duration of a scheduled forecast job",
    ["job"],
    buckets=(1, 5, 15, 60, 300, 900, 3600),
)
TRAINING: Final = Counter(
    "obrador_forecast_training_jobs",
    "Training jobs a worker took from the work queue, by outcome",
    ["outcome"],
)


def observed(job: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Count a scheduled job's runs (ok / failed) and time them."""

    def wrap(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                result = func(*args, **kwargs)
            except Exception:
                JOBS.labels(job, "failed").inc()
                raise
            finally:
                JOB_SECONDS.labels(job).observe(time.perf_counter() - started)
            JOBS.labels(job, "ok").inc()
            return result

        return run

    return wrap
