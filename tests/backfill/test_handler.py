"""The real backfill handler against moto S3 + SQS, driven by real SQS events or the local ESM."""
from __future__ import annotations

import json

import pytest

from screener.backfill.report import Status, aggregate
from screener.backfill.runs import RunReader
from screener_cli.local_esm import EsmSettings, LocalEventSourceMapping

from .conftest import BUCKET, GHOST, catalog_photos, drain, put_all, seed_body, sqs_event, tags_of


def run_esm(aws, app, seconds=60, **kw):
    settings = EsmSettings(**{"batch_size": 5, "function_timeout_s": 60, **kw})
    return LocalEventSourceMapping(aws.sqs, aws.queue, app.lambda_handler, settings).run_until_drained(max_seconds=seconds, tick_s=0.1)


class Ctx:
    function_name = "backfill"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:backfill"
    aws_request_id = "req-1"

    def __init__(self, ms=60_000):
        self.ms = ms

    def get_remaining_time_in_millis(self):
        return self.ms


def reader(aws, app, run_id="run1"):
    return RunReader(app.BACKFILL.objects, BUCKET, run_id)


def test_backfill_over_several_pages_tags_everything_and_reports_it(aws, app):
    photos = catalog_photos(25)
    put_all(aws.s3, photos)
    aws.s3.put_object(Bucket=BUCKET, Key="skus/folder/", Body=b"")  # a folder marker: ignored
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=seed_body())
    stats = run_esm(aws, app)
    assert stats.failed == 0 and stats.whole_batch_failures == 0, stats.errors
    for key in photos:
        t = tags_of(aws.s3, key)
        assert t["screen:verdict"] in ("approved", "review") and t["screen:model"] == app.CLASSIFIER.model_id
    assert tags_of(aws.s3, "skus/folder/") == {}
    rd = reader(aws, app)
    p = rd.progress()
    # 26 keys at 7 per page: 4 pages, so the chain had 3 continuations; the marker is ignored.
    assert (p.pages, p.listed, p.done, p.listing_complete, p.finished) == (4, 25, 25, True, True)
    s = aggregate("run1", rd.results())
    assert s.total == 25 and s.by_status == {"screened": 25}
    # Undecodable bytes are reviews with named reasons; they never failed the batch.
    rows = {r.key: r for r in rd.results()}
    assert rows["skus/0003.jpg"].verdict == "review" and "truncated" in rows["skus/0003.jpg"].reasons
    assert rows["skus/0004.jpg"].reasons[0] == "not-an-image"
    assert all(r.timings.fetch > 0 for r in rows.values())
    assert drain(aws.sqs, aws.dlq) == []


def test_partial_batch_failure_reports_only_the_failing_message(aws, app):
    put_all(aws.s3, catalog_photos(4))
    good = json.dumps({"kind": "work", "bucket": BUCKET, "prefix": "skus/", "mode": "tag", "run_id": "r",
                       "force": False, "page": 1, "chunk": 0,
                       "objects": [{"key": "skus/0000.jpg", "size": 1}, {"key": "skus/0003.jpg", "size": 1}]})
    failing = good.replace(BUCKET, GHOST)  # S3 says NoSuchBucket: a real failure, retried later
    resp = app.lambda_handler(sqs_event(good, failing, seed_body(run_id="r2"), ids=["a", "b", "c"]), Ctx())
    assert resp == {"batchItemFailures": [{"itemIdentifier": "b"}]}
    assert tags_of(aws.s3, "skus/0000.jpg")["screen:verdict"]
    assert tags_of(aws.s3, "skus/0003.jpg")["screen:verdict"] == "review"  # the bad photo did not fail "a"


def test_poison_message_reaches_the_dlq_after_max_receive_count(aws, app):
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=seed_body(bucket=GHOST))
    calls = []

    def counting(event, ctx):
        calls.extend(r["body"] for r in event["Records"])
        return app.lambda_handler(event, ctx)

    settings = EsmSettings(batch_size=5, function_timeout_s=60)
    LocalEventSourceMapping(aws.sqs, aws.queue, counting, settings).run_until_drained(max_seconds=120, tick_s=0.1)
    assert len(calls) == 3  # maxReceiveCount
    dead = drain(aws.sqs, aws.dlq)
    assert [json.loads(m["Body"])["bucket"] for m in dead] == [GHOST]


@pytest.mark.parametrize(
    "body, field",
    [
        (seed_body(colour="red"), "colour"),
        (seed_body(force="yes"), "force"),
        (seed_body(bucket="foreign"), "bucket"),
        ("{not json", None),
        ("   ", None),
        ('["a list"]', None),
    ],
)
def test_invalid_messages_go_straight_to_the_dlq_and_touch_nothing(aws, app, body, field):
    put_all(aws.s3, {"skus/x.jpg": b"x"}, bucket="foreign")
    resp = app.lambda_handler(sqs_event(body), Ctx())
    assert resp == {"batchItemFailures": []}  # deleted from the work queue: never retried
    (dead,) = drain(aws.sqs, aws.dlq)
    assert dead["Body"] == body
    assert dead["MessageAttributes"]["source_message_id"]["StringValue"] == "msg-0"
    err = dead["MessageAttributes"]["error"]["StringValue"]
    if field:
        assert field in err
    assert drain(aws.sqs, aws.queue) == []  # nothing fanned out
    assert tags_of(aws.s3, "skus/x.jpg", bucket="foreign") == {}
    assert "Contents" not in aws.s3.list_objects_v2(Bucket="foreign", Prefix="reports/")


def test_without_a_dlq_url_invalid_messages_fail_and_the_redrive_policy_moves_them(monkeypatch, aws, model_dir):
    from .conftest import load_app

    app = load_app(monkeypatch, aws, model_dir, BACKFILL_DLQ_URL=None)
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=seed_body(mode="delete"))
    run_esm(aws, app, seconds=120)
    (dead,) = drain(aws.sqs, aws.dlq)
    assert json.loads(dead["Body"])["mode"] == "delete"


def test_s3_test_event_is_deleted_not_dead_lettered(aws, app):
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-01-01T00:00:00.000Z",
                             "Bucket": BUCKET, "RequestId": "R", "HostId": "H"})
    assert app.lambda_handler(sqs_event(test_event), Ctx()) == {"batchItemFailures": []}
    assert drain(aws.sqs, aws.dlq) == [] and drain(aws.sqs, aws.queue) == []


def test_duplicate_listing_delivery_never_forks_the_chain(aws, app):
    put_all(aws.s3, catalog_photos(10))  # two pages of 7
    seed = seed_body(run_id="dup")
    app.lambda_handler(sqs_event(seed, ids=["seed-1"]), Ctx())
    first = drain(aws.sqs, aws.queue)
    # A second delivery of the same seed under another id (a duplicate send): same work, no continuation.
    app.lambda_handler(sqs_event(seed, ids=["seed-2"]), Ctx())
    second = drain(aws.sqs, aws.queue)
    kinds = lambda ms: sorted(json.loads(m["Body"]).get("kind") for m in ms)  # noqa: E731
    assert kinds(first) == ["continuation", "work", "work", "work"]
    assert kinds(second) == ["work", "work", "work"]
    # The owner's own redelivery (same message id) re-sends the continuation: the chain never breaks.
    app.lambda_handler(sqs_event(seed, ids=["seed-1"]), Ctx())
    assert kinds(drain(aws.sqs, aws.queue)) == ["continuation", "work", "work", "work"]


def test_work_stops_early_when_the_invocation_runs_out_of_time(monkeypatch, aws, model_dir):
    from .conftest import load_app

    app = load_app(monkeypatch, aws, model_dir, BACKFILL_MIN_REMAINING_MS="5000")
    put_all(aws.s3, catalog_photos(2))
    work = json.dumps({"kind": "work", "bucket": BUCKET, "prefix": "skus/", "mode": "tag", "run_id": "t",
                       "force": False, "page": 1, "chunk": 0, "objects": [{"key": "skus/0000.jpg", "size": 1}]})
    assert app.lambda_handler(sqs_event(work), Ctx(ms=1000)) == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert app.lambda_handler(sqs_event(work), Ctx(ms=60_000)) == {"batchItemFailures": []}
    assert RunReader(app.BACKFILL.objects, BUCKET, "t").progress().done == 1


def test_second_run_skips_everything_and_force_rescreens(aws, app, monkeypatch):
    put_all(aws.s3, catalog_photos(8))
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=seed_body(run_id="first"))
    run_esm(aws, app)
    screened = []
    import screener.backfill.worker as worker

    real = worker.screen_bytes
    monkeypatch.setattr(worker, "screen_bytes", lambda data, *a, **k: screened.append(1) or real(data, *a, **k))
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=seed_body(run_id="second"))
    run_esm(aws, app)
    assert screened == []
    rd = RunReader(app.BACKFILL.objects, BUCKET, "second")
    rd.refresh()
    rows = rd.results()
    assert {r.status for r in rows} == {Status.SKIPPED} and len(rows) == 8
    r1 = RunReader(app.BACKFILL.objects, BUCKET, "first")
    r1.refresh()
    # Skipped rows carry the verdicts read back from the tags: the second report matches the first.
    assert aggregate("x", rows).by_verdict == aggregate("x", r1.results()).by_verdict
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=seed_body(run_id="third", force=True))
    run_esm(aws, app)
    assert len(screened) == 8
