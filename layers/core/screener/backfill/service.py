"""One SQS body in, one typed outcome out: the backfill's whole behaviour behind the thin handler.

Invalid messages (unknown field, wrong type, foreign bucket, empty or malformed body) can never
succeed, so they are not retried: they are sent straight to the DLQ with the error as a message
attribute, and deleted from the work queue. Only when no DLQ is configured, or sending to it
fails, is the message reported as failed instead; the queue's redrive policy then moves it to
the DLQ after maxReceiveCount receives. Either way it ends in the DLQ and never loops.
"""
from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Callable, Union

from ..classifier import Classifier
from ..config import Config
from ..s3_objects import S3Objects
from .fanout import FanOutResult, fan_out
from .messages import Ignored, Listing, MessageError, Work, parse_message
from .report import ObjectResult
from .settings import BackfillSettings
from .worker import WorkerDeps, process_work, write_part


class InvalidMessage(Exception):
    """Raised for an invalid message that could not be dead-lettered directly: report it failed."""


@dataclass(frozen=True)
class IgnoredOutcome:
    why: str


@dataclass(frozen=True)
class InvalidOutcome:
    error: str
    field: str | None
    dead_lettered: bool


@dataclass(frozen=True)
class ListingOutcome:
    run_id: str
    result: FanOutResult


@dataclass(frozen=True)
class WorkOutcome:
    run_id: str
    part_key: str
    rows: tuple[ObjectResult, ...]


Outcome = Union[IgnoredOutcome, InvalidOutcome, ListingOutcome, WorkOutcome]


class Backfill:
    def __init__(self, *, objects: S3Objects, sqs: Any, classifier: Classifier, config: Config,
                 settings: BackfillSettings, pool: Executor):
        self.objects = objects
        self.sqs = sqs
        self.settings = settings
        self.rules = settings.rules(config.prefixes)
        self.deps = WorkerDeps(objects, classifier, config, self.rules, pool, settings.prefetch)

    def handle(self, body: str | None, message_id: str, time_left_ms: Callable[[], int] | None = None) -> Outcome:
        """Process one message. Raises (so the message is retried) only for transient failures."""
        try:
            msg = parse_message(body, self.rules)
        except MessageError as e:
            return self._invalid(body, message_id, e)
        if isinstance(msg, Ignored):
            return IgnoredOutcome(msg.why)
        if isinstance(msg, Listing):
            s = self.settings
            try:
                res = fan_out(msg, objects=self.objects, sqs=self.sqs, queue_url=s.queue_url, rules=self.rules,
                              keys_per_message=s.keys_per_message, page_size=s.page_size, message_id=message_id)
            except MessageError as e:  # e.g. an inventory manifest that names another bucket
                return self._invalid(body, message_id, e)
            return ListingOutcome(msg.scope.run_id, res)
        assert isinstance(msg, Work)
        rows = process_work(msg, self.deps, time_left_ms, self.settings.min_remaining_ms)
        key = write_part(msg, rows, self.objects)
        return WorkOutcome(msg.scope.run_id, key, tuple(rows))

    def _invalid(self, body: str | None, message_id: str, e: MessageError) -> InvalidOutcome:
        dlq = self.settings.dlq_url
        if dlq is None:
            raise InvalidMessage(str(e)) from e
        try:
            self.sqs.send_message(
                QueueUrl=dlq,
                MessageBody=body if body else "(empty body)",  # SQS refuses an empty body
                MessageAttributes={
                    "error": {"DataType": "String", "StringValue": str(e)[:1000]},
                    "source_message_id": {"DataType": "String", "StringValue": message_id},
                },
            )
        except Exception as send_error:  # noqa: BLE001 - fall back to the redrive policy
            raise InvalidMessage(f"{e} (and sending it to the DLQ failed: {send_error})") from e
        return InvalidOutcome(str(e), e.field, dead_lettered=True)
