"""The local SQS event source mapping behaves like Lambda's, against moto's SQS."""
from __future__ import annotations

import json
import threading
import time

import boto3
import pytest
from moto import mock_aws

from screener_cli.local_esm import EsmSettings, LocalEventSourceMapping, failed_ids


@pytest.fixture
def sqs(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def make_queue(sqs, name="q", visibility=1, max_receive=None):
    attrs = {"VisibilityTimeout": str(visibility)}
    dlq_url = None
    if max_receive:
        dlq_url = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(max_receive)})
    return sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"], dlq_url


def send(sqs, url, bodies):
    for b in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=b)


def count(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in a["Attributes"].values())


class Recorder:
    def __init__(self, fail_bodies=(), raise_on=None, bogus=False):
        self.events = []
        self.fail_bodies = set(fail_bodies)
        self.raise_on = raise_on
        self.bogus = bogus
        self.lock = threading.Lock()

    def __call__(self, event, context):
        with self.lock:
            self.events.append(event)
        assert context.get_remaining_time_in_millis() > 0
        bodies = [r["body"] for r in event["Records"]]
        if self.raise_on and self.raise_on in bodies:
            raise RuntimeError("boom")
        if self.bogus:
            return {"batchItemFailures": [{"itemIdentifier": ""}]}
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in self.fail_bodies]}

    def bodies(self):
        return [r["body"] for e in self.events for r in e["Records"]]


def test_batches_are_lambda_shaped_and_successes_deleted(sqs):
    url, _ = make_queue(sqs)
    send(sqs, url, [f"m{i}" for i in range(23)])
    h = Recorder()
    esm = LocalEventSourceMapping(sqs, url, h, EsmSettings(batch_size=10))
    stats = esm.run_until_drained(max_seconds=120, tick_s=0.1)
    assert sorted(h.bodies()) == sorted(f"m{i}" for i in range(23))
    assert all(len(e["Records"]) <= 10 for e in h.events)
    rec = h.events[0]["Records"][0]
    assert rec["eventSource"] == "aws:sqs" and rec["eventSourceARN"].endswith(":q")
    assert rec["attributes"]["ApproximateReceiveCount"] == "1" and rec["receiptHandle"] and rec["md5OfBody"]
    assert stats.deleted == 23 and stats.failed == 0 and count(sqs, url) == 0


def test_batching_window_gathers_more_than_ten(sqs):
    url, _ = make_queue(sqs)
    send(sqs, url, [f"m{i}" for i in range(25)])
    h = Recorder()
    esm = LocalEventSourceMapping(sqs, url, h, EsmSettings(batch_size=25, batching_window_s=1))
    esm.poll_once()
    assert len(h.events) == 1 and len(h.events[0]["Records"]) == 25


def test_batch_size_above_ten_needs_a_window():
    with pytest.raises(ValueError, match="batching window"):
        EsmSettings(batch_size=50)


def test_partial_failure_retries_only_the_failed_message(sqs):
    url, _ = make_queue(sqs, visibility=1)
    send(sqs, url, ["ok1", "bad", "ok2"])
    h = Recorder(fail_bodies={"bad"})
    esm = LocalEventSourceMapping(sqs, url, h, EsmSettings(batch_size=10))
    first = esm.poll_once()
    assert (first.deleted, first.failed) == (2, 1)
    assert esm.poll_once(wait_s=0) is None  # the failure is invisible until its timeout
    time.sleep(1.2)
    h.fail_bodies.clear()
    again = esm.poll_once()
    assert [r["body"] for r in h.events[-1]["Records"]] == ["bad"]
    assert h.events[-1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert again.deleted == 1 and count(sqs, url) == 0


def test_exception_or_bogus_identifier_fails_the_whole_batch(sqs):
    url, _ = make_queue(sqs, visibility=30)
    send(sqs, url, ["a", "b"])
    esm = LocalEventSourceMapping(sqs, url, Recorder(raise_on="a"), EsmSettings(batch_size=10))
    st = esm.poll_once()
    assert st.whole_batch_failures == 1 and st.deleted == 0 and count(sqs, url) == 2
    url2, _ = make_queue(sqs, "q2", visibility=30)
    send(sqs, url2, ["a", "b"])
    st = LocalEventSourceMapping(sqs, url2, Recorder(bogus=True), EsmSettings()).poll_once()
    assert st.whole_batch_failures == 1 and st.deleted == 0


@pytest.mark.parametrize(
    "resp, expected",
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "a"}]}, {"a"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"id": "a"}]}, None),
        ("nonsense", None),
    ],
)
def test_failed_ids_follows_lambdas_rules(resp, expected):
    assert failed_ids(resp, {"a", "b"}) == expected


def test_poison_message_reaches_the_dlq_via_the_queues_redrive_policy(sqs):
    url, dlq = make_queue(sqs, visibility=1, max_receive=2)
    send(sqs, url, ["poison", "fine"])
    h = Recorder(fail_bodies={"poison"})
    esm = LocalEventSourceMapping(sqs, url, h, EsmSettings(batch_size=10))
    stats = esm.run_until_drained(max_seconds=120, tick_s=0.2)
    assert h.bodies().count("poison") == 2 and h.bodies().count("fine") == 1
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]
    assert stats.redriven_by_emulator == 0  # moto applied the policy itself
    assert count(sqs, url) == 0


class NoRedriveSQS:
    """An endpoint that stores a RedrivePolicy but never applies it."""

    def __init__(self, real, fake_policy):
        self.real, self.fake_policy = real, fake_policy

    def get_queue_attributes(self, **kw):
        r = self.real.get_queue_attributes(**kw)
        if "All" in kw.get("AttributeNames", []):
            r["Attributes"]["RedrivePolicy"] = self.fake_policy
        return r

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_emulator_redrives_itself_when_the_endpoint_does_not(sqs):
    url, _ = make_queue(sqs, visibility=1)
    dlq = sqs.create_queue(QueueName="manual-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client = NoRedriveSQS(sqs, json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2}))
    send(sqs, url, ["poison"])
    h = Recorder(fail_bodies={"poison"})
    stats = LocalEventSourceMapping(client, url, h, EsmSettings()).run_until_drained(max_seconds=120, tick_s=0.2)
    assert h.bodies() == ["poison", "poison"] and stats.redriven_by_emulator == 1
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=dlq)["Messages"]] == ["poison"]


def test_slow_invocation_times_out_and_keeps_the_batch(sqs):
    url, _ = make_queue(sqs, visibility=30)
    send(sqs, url, ["slow"])

    def slow(event, ctx):
        time.sleep(0.3)
        return {}

    st = LocalEventSourceMapping(sqs, url, slow, EsmSettings(function_timeout_s=0.1)).poll_once()
    assert st.whole_batch_failures == 1 and "timed out" in st.errors[0] and count(sqs, url) == 1


def test_concurrent_pollers_process_every_message(sqs):
    url, _ = make_queue(sqs, visibility=30)
    send(sqs, url, [f"m{i}" for i in range(40)])
    h = Recorder()
    LocalEventSourceMapping(sqs, url, h, EsmSettings(batch_size=5, concurrency=3)).run_until_drained(max_seconds=120, tick_s=0.1)
    # Standard queues deliver at least once (in-process moto, racing receives, sometimes twice too).
    assert set(h.bodies()) == {f"m{i}" for i in range(40)} and count(sqs, url) == 0
