"""Upload screening: S3 ObjectCreated on incoming/ -> screen -> tag -> move to approved/ or review/.

Thin on purpose: all decisions live in the core layer (screener.process). This module only
unpacks the event, skips what is not ours, and reports. Bad photos never raise (they go to
review); an S3 failure is re-raised after every other record is done, so Lambda's async retry
redelivers the event, which is safe because processing a record twice is a no-op.
"""
from __future__ import annotations

import os
from functools import lru_cache
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event

from screener.deps import Dependencies, build_dependencies
from screener.process import ObjectOutcome, process_object

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ProductPhotoScreener")
logger, metrics = Logger(), Metrics()


def traced(handler):
    """Powertools' Tracer, only when XRAY_SDK_TRACING=true. It imports the X-Ray SDK, which
    builds botocore clients at import: ~180 ms of every cold start. Without it, Lambda's active
    tracing (template.yaml) still records each invocation and its init; the SDK adds the S3
    calls as subsegments, worth turning on to chase a slow call."""
    if os.environ.get("XRAY_SDK_TRACING", "false").lower() != "true":
        return handler
    from aws_lambda_powertools import Tracer

    return Tracer().capture_lambda_handler(capture_response=False)(handler)


class RetryLater(Exception):
    """Some records hit S3 errors; their photos stay in incoming/ until the redelivery."""


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:  # once per container: the model load is the cold-start cost
    return build_dependencies()


def skip_reason(event_name: str, key: str, incoming: str) -> str | None:
    if not event_name.startswith("ObjectCreated:"):
        return f"not an upload ({event_name})"
    if not key.startswith(incoming):
        return f"outside {incoming}"
    if key.endswith("/"):
        return "folder marker"
    return None


def report(out: ObjectOutcome) -> None:
    summary = out.as_dict()
    logger.info("screened", extra=summary)
    metrics.add_metric(name=f"Outcome_{out.outcome.value}", unit=MetricUnit.Count, value=1)
    if out.result is None:
        return
    r = out.result
    metrics.add_metric(name="Screened", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Approved" if r.approved else "Review", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ScreenLatency", unit=MetricUnit.Milliseconds, value=r.timings_ms.get("total", 0.0))
    for reason in r.reasons:
        with single_metric(name="ReviewByReason", unit=MetricUnit.Count, value=1,
                           default_dimensions=metrics.default_dimensions) as m:
            m.add_dimension(name="reason", value=reason.value)


@metrics.log_metrics
@traced
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: object) -> dict:
    if event.get("Event") == "s3:TestEvent":  # sent once when the notification is configured
        logger.info("skipped s3:TestEvent", extra={"bucket": event.get("Bucket")})
        metrics.add_metric(name="Skipped", unit=MetricUnit.Count, value=1)
        return {"records": []}
    deps = dependencies()
    results, failed = [], []
    # powertools' S3Event rather than hand-parsing: it knows the record shapes (IntelligentTiering
    # events say get_object). Its data_classes package costs ~30 ms of cold start, measured and kept.
    for record in S3Event(event).records:  # every record, never just the first
        obj = record.s3.get_object
        key = unquote_plus(obj.key)  # S3 URL-encodes keys in events ('+' is a space): decode once, here
        skip = skip_reason(record.event_name, key, deps.config.prefixes.incoming)
        if skip:
            logger.info("skipped record", extra={"key": key, "skip": skip})
            metrics.add_metric(name="Skipped", unit=MetricUnit.Count, value=1)
            results.append({"key": key, "outcome": "skipped", "detail": skip})
            continue
        try:
            out = process_object(deps.objects, deps.classifier, deps.config, record.s3.bucket.name, key,
                                 version_id=obj.version_id, etag=obj.etag or "")
        except Exception as e:  # noqa: BLE001 - finish the other records first, then ask for a retry
            logger.exception("record failed; object left in incoming/ for the retry", extra={"key": key})
            metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=1)
            failed.append(key)
            results.append({"key": key, "outcome": "failed", "detail": type(e).__name__})
            continue
        report(out)
        results.append(out.as_dict())
    if failed:
        raise RetryLater(f"{len(failed)} of {len(results)} record(s) failed: {failed[:5]}")
    return {"records": results}
