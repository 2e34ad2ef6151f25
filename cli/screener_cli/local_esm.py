"""A local stand-in for Lambda's SQS event source mapping (ESM), for any SQS endpoint.

It does what the managed poller does, so a handler runs locally exactly as it will on Lambda:

- **Batching.** Long-polls the queue and gathers up to ``batch_size`` messages, for at most
  ``batching_window_s`` seconds (one receive when the window is 0), then invokes the handler
  once with a Lambda-shaped ``{"Records": [...]}`` SQS event.
- **Results.** With ``ReportBatchItemFailures``, messages named in ``batchItemFailures`` stay
  on the queue and every other message is deleted. As on Lambda, a raised exception, a timeout,
  or a response naming an unknown, empty or null ``itemIdentifier`` fails the *whole* batch.
  Without it, success deletes the batch and an error leaves all of it.
- **Retries.** Nothing is put back explicitly: a failed message becomes visible again when its
  visibility timeout runs out, exactly as on SQS.
- **DLQ.** The queue's own ``RedrivePolicy`` moves a message to the DLQ once it has been
  received ``maxReceiveCount`` times (moto server and SQS both honour it). An endpoint that
  ignores the policy would hand the message out again with ``ApproximateReceiveCount`` above
  the limit; the emulator then moves it itself (send to the DLQ, then delete), so the
  behaviour is the same on any endpoint.
- **Concurrency.** ``concurrency`` pollers invoke the handler in parallel, like Lambda's
  concurrent executions (bounded by reserved concurrency or the ESM's MaximumConcurrency). They
  are threads sharing one module, which Lambda never does: a handler with per-invocation module
  state (a powertools BatchProcessor) needs one process per execution environment instead, which
  is what ``screener backfill --concurrency`` runs (esm_runner.py).
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

log = logging.getLogger("screener.esm")

Handler = Callable[[dict, Any], Any]


@dataclass(frozen=True)
class EsmSettings:
    batch_size: int = 10
    batching_window_s: float = 0.0
    report_batch_item_failures: bool = True
    function_timeout_s: float = 60.0
    concurrency: int = 1
    function_name: str = "local-function"
    memory_mb: int = 1024

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError("batch_size must lie in 1..10000")
        if self.batch_size > 10 and self.batching_window_s < 1:
            # Lambda refuses this combination too: more than 10 needs a window to gather them.
            raise ValueError("a batch size above 10 needs a batching window of at least 1 s")
        if not 0 <= self.batching_window_s <= 300:
            raise ValueError("batching_window_s must lie in 0..300")


@dataclass
class EsmStats:
    invocations: int = 0
    records: int = 0
    deleted: int = 0
    failed: int = 0  # records left on the queue by a (partial) failure
    whole_batch_failures: int = 0
    redriven_by_emulator: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: "EsmStats") -> None:
        for f in ("invocations", "records", "deleted", "failed", "whole_batch_failures", "redriven_by_emulator"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.errors.extend(other.errors)


class LocalLambdaContext:
    """The parts of Lambda's context object that handlers and powertools read."""

    def __init__(self, settings: EsmSettings, region: str):
        self.function_name = settings.function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = settings.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{region}:000000000000:function:{settings.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{settings.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + settings.function_timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class QueueInfo:
    url: str
    arn: str
    visibility_timeout_s: int
    max_receive_count: int | None
    dlq_url: str | None


def describe_queue(sqs: Any, url: str) -> QueueInfo:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    max_rc = dlq_url = None
    if attrs.get("RedrivePolicy"):
        policy = json.loads(attrs["RedrivePolicy"])
        max_rc = int(policy["maxReceiveCount"])
        dlq_name = policy["deadLetterTargetArn"].rsplit(":", 1)[-1]
        dlq_url = sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
    return QueueInfo(url, attrs["QueueArn"], int(attrs.get("VisibilityTimeout", 30)), max_rc, dlq_url)


def to_record(m: Mapping[str, Any], arn: str, region: str) -> dict[str, Any]:
    """One SQS message as Lambda presents it in an event record."""
    attrs = m.get("Attributes", {})
    msg_attrs = {
        name: {
            "stringValue": v.get("StringValue"),
            "binaryValue": v.get("BinaryValue"),
            "stringListValues": v.get("StringListValues", []),
            "binaryListValues": v.get("BinaryListValues", []),
            "dataType": v["DataType"],
        }
        for name, v in m.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m.get("Body", ""),
        "attributes": {
            k: str(attrs[k])
            for k in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
            if k in attrs
        },
        "messageAttributes": msg_attrs,
        "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }


def failed_ids(response: Any, batch_ids: set[str]) -> set[str] | None:
    """The message ids a ReportBatchItemFailures response leaves on the queue.

    None means "the whole batch failed", which is what Lambda concludes from a response it
    cannot trust: an itemIdentifier that is missing, empty, null or not in the batch.
    """
    if response is None or response == {} or response == "":
        return set()
    if not isinstance(response, Mapping):
        return None
    items = response.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return None
    out: set[str] = set()
    for it in items:
        ident = it.get("itemIdentifier") if isinstance(it, Mapping) else None
        if not isinstance(ident, str) or not ident or ident not in batch_ids:
            return None
        out.add(ident)
    return out


class LocalEventSourceMapping:
    def __init__(self, sqs: Any, queue_url: str, handler: Handler, settings: EsmSettings, region: str = "us-east-1"):
        self.sqs = sqs
        self.queue = describe_queue(sqs, queue_url)
        self.handler = handler
        self.settings = settings
        self.region = region
        self.stats = EsmStats()
        self._lock = threading.Lock()
        self._busy = 0

    # -- one poll ---------------------------------------------------------------------------
    def _receive(self, wait_s: float) -> list[dict]:
        """Gather one batch: keep receiving until it is full or the batching window closes."""
        s = self.settings
        out: list[dict] = []
        deadline = time.monotonic() + s.batching_window_s
        while len(out) < s.batch_size:
            left = deadline - time.monotonic()
            wait = int(max(0, min(20, wait_s if not out else left)))
            resp = self.sqs.receive_message(
                QueueUrl=self.queue.url,
                MaxNumberOfMessages=min(10, s.batch_size - len(out)),
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            got = resp.get("Messages", [])
            out.extend(self._redrive_over_limit(got))
            if s.batching_window_s <= 0 or time.monotonic() >= deadline:
                break
            if not got and left <= 0:
                break
        return out

    def _redrive_over_limit(self, msgs: list[dict]) -> list[dict]:
        """Emulate the redrive policy where the endpoint did not apply it itself."""
        q = self.queue
        if q.max_receive_count is None or q.dlq_url is None:
            return msgs
        keep = []
        for m in msgs:
            if int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)) > q.max_receive_count:
                self.sqs.send_message(QueueUrl=q.dlq_url, MessageBody=m["Body"])
                self.sqs.delete_message(QueueUrl=q.url, ReceiptHandle=m["ReceiptHandle"])
                with self._lock:
                    self.stats.redriven_by_emulator += 1
            else:
                keep.append(m)
        return keep

    def poll_once(self, wait_s: float = 1.0) -> EsmStats | None:
        """Receive one batch and invoke the handler with it. None when the queue had nothing."""
        msgs = self._receive(wait_s)
        if not msgs:
            return None
        with self._lock:
            self._busy += 1
        try:
            return self._invoke(msgs)
        finally:
            with self._lock:
                self._busy -= 1

    def _invoke(self, msgs: list[dict]) -> EsmStats:
        s = self.settings
        st = EsmStats(invocations=1, records=len(msgs))
        event = {"Records": [to_record(m, self.queue.arn, self.region) for m in msgs]}
        by_id = {m["MessageId"]: m["ReceiptHandle"] for m in msgs}
        ctx = LocalLambdaContext(s, self.region)
        t0 = time.monotonic()
        try:
            response = self.handler(event, ctx)
            # Lambda serialises the response; a handler returning something unserialisable fails.
            response = json.loads(json.dumps(response)) if response is not None else None
            error = None
        except Exception as e:  # noqa: BLE001 - a function error fails the batch, as on Lambda
            response, error = None, f"{type(e).__name__}: {e}"
        elapsed = time.monotonic() - t0
        if error is None and elapsed > s.function_timeout_s:
            error = f"Task timed out after {elapsed:.2f} seconds"
        if error is not None:
            failed: set[str] | None = None
            st.errors.append(error)
            log.warning("invocation failed, whole batch of %d returns after the visibility timeout: %s", len(msgs), error)
        elif s.report_batch_item_failures:
            failed = failed_ids(response, set(by_id))
            if failed is None:
                st.errors.append(f"invalid batchItemFailures response: {response!r}"[:300])
                log.warning("response names unknown or empty itemIdentifiers: whole batch fails")
        else:
            failed = set()
        if failed is None:
            st.whole_batch_failures = 1
            st.failed = len(msgs)
            return self._account(st)
        done = [(mid, rh) for mid, rh in by_id.items() if mid not in failed]
        for i in range(0, len(done), 10):
            chunk = done[i : i + 10]
            resp = self.sqs.delete_message_batch(
                QueueUrl=self.queue.url, Entries=[{"Id": str(j), "ReceiptHandle": rh} for j, (_, rh) in enumerate(chunk)]
            )
            st.deleted += len(resp.get("Successful", []))
            for f in resp.get("Failed", []):
                st.errors.append(f"delete failed: {f.get('Code')} {f.get('Message')}")
        st.failed = len(failed)
        return self._account(st)

    def _account(self, st: EsmStats) -> EsmStats:
        with self._lock:
            self.stats.add(st)
        return st

    # -- draining ---------------------------------------------------------------------------
    def queue_empty(self) -> bool:
        a = self.sqs.get_queue_attributes(
            QueueUrl=self.queue.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        return all(int(a.get(k, 0)) == 0 for k in a)

    def run_until_drained(
        self,
        max_seconds: float = 600.0,
        on_tick: Callable[[EsmStats], None] | None = None,
        tick_s: float = 0.5,
        stop: threading.Event | None = None,
    ) -> EsmStats:
        """Poll with ``concurrency`` workers until the queue holds nothing, visible or in flight.

        Failed messages stay in flight until their visibility timeout, so draining also waits out
        retries and redrives: when it returns, every message was deleted or moved to the DLQ.
        """
        stop = stop or threading.Event()
        deadline = time.monotonic() + max_seconds

        def worker() -> None:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    self.poll_once(wait_s=1.0)
                except Exception as e:  # noqa: BLE001 - an SQS hiccup must not end the poller
                    with self._lock:
                        self.stats.errors.append(f"poller: {type(e).__name__}: {e}")
                    time.sleep(0.5)

        threads = [threading.Thread(target=worker, name=f"esm-{i}", daemon=True) for i in range(self.settings.concurrency)]
        for t in threads:
            t.start()
        try:
            idle_checks = 0
            while time.monotonic() < deadline and not stop.is_set():
                time.sleep(tick_s)
                if on_tick:
                    on_tick(self.stats)
                with self._lock:
                    busy = self._busy
                # Two empty readings in a row: SQS's counters are approximate.
                idle_checks = idle_checks + 1 if busy == 0 and self.queue_empty() else 0
                if idle_checks >= 2:
                    break
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=self.settings.function_timeout_s + 25)
        if on_tick:
            on_tick(self.stats)
        return self.stats
