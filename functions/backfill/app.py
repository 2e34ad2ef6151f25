"""Backfill function: an SQS batch of listing and work messages, with partial batch failures.

Thin by design: what a message means and does lives in ``screener.backfill``; this module only
builds the clients and the model once per container, and turns outcomes into logs and metrics.
A message fails (and SQS redelivers it) only for transient trouble; a bad photo is a review
verdict, and an invalid message goes to the DLQ (see screener/backfill/service.py).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from screener.backfill.clients import backfill_s3_client, sqs_client
from screener.backfill.service import (
    Backfill,
    IgnoredOutcome,
    InvalidMessage,
    InvalidOutcome,
    ListingOutcome,
    WorkOutcome,
)
from screener.backfill.settings import load_settings
from screener.deps import build_dependencies

logger = Logger(service="backfill")
metrics = Metrics(namespace="ProductPhotoScreener", service="backfill")
# All records failing is still a partial response (every id listed), not an exception: the
# outcome for SQS is the same, and the function's error metric stays about real crashes.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

# Once per container: configuration (fails fast), model session, clients and the I/O pool.
SETTINGS = load_settings()
DEPS = build_dependencies(s3_client_=backfill_s3_client(os.environ, SETTINGS.io_threads))
CLASSIFIER = DEPS.classifier
BACKFILL = Backfill(
    objects=DEPS.objects,
    sqs=sqs_client(),
    classifier=DEPS.classifier,
    config=DEPS.config,
    settings=SETTINGS,
    pool=ThreadPoolExecutor(SETTINGS.io_threads, thread_name_prefix="s3io"),
)


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    time_left = lambda_context.get_remaining_time_in_millis if lambda_context else None
    try:
        out = BACKFILL.handle(record.body, record.message_id, time_left)
    except InvalidMessage as e:
        # No DLQ to send it to: fail it, and the redrive policy moves it after maxReceiveCount.
        logger.error("invalid backfill message, left for the redrive policy", extra={"message_id": record.message_id, "error": str(e)})
        metrics.add_metric("InvalidMessages", MetricUnit.Count, 1)
        raise
    except Exception:
        logger.exception("message failed; SQS will redeliver it", extra={"message_id": record.message_id})
        metrics.add_metric("FailedMessages", MetricUnit.Count, 1)
        raise
    if isinstance(out, IgnoredOutcome):
        logger.info("ignored message", extra={"message_id": record.message_id, "why": out.why})
        metrics.add_metric("IgnoredMessages", MetricUnit.Count, 1)
    elif isinstance(out, InvalidOutcome):
        logger.error("invalid backfill message sent to the DLQ",
                     extra={"message_id": record.message_id, "error": out.error, "field": out.field})
        metrics.add_metric("InvalidMessages", MetricUnit.Count, 1)
    elif isinstance(out, ListingOutcome):
        r = out.result
        logger.info("listed page", extra={"run_id": out.run_id, "page": r.page, "listed": r.listed,
                                          "work_messages": r.work_messages, "continued": r.continued,
                                          "duplicate": r.duplicate, "last": r.last})
        metrics.add_metric("PagesListed", MetricUnit.Count, 1)
        metrics.add_metric("ObjectsListed", MetricUnit.Count, r.listed)
    elif isinstance(out, WorkOutcome):
        counts: dict[str, int] = {}
        for row in out.rows:
            counts[row.status.value] = counts.get(row.status.value, 0) + 1
            if row.verdict:
                counts[row.verdict] = counts.get(row.verdict, 0) + 1
        logger.info("work done", extra={"run_id": out.run_id, "part": out.part_key, **counts})
        for name, n in counts.items():
            metrics.add_metric(f"Objects.{name}", MetricUnit.Count, n)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
