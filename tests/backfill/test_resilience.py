"""Interruptions, throttling, move-mode safety, SQS partial failures and I/O overlap."""
from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

import screener.backfill.worker as worker
from screener.backfill.fanout import SendFailed, send_entries
from screener.backfill.messages import Mode, Rules, Scope, Work, WorkItem
from screener.backfill.plan import Entry
from screener.backfill.report import Status
from screener.backfill.runs import RunReader
from screener_cli.local_esm import EsmSettings, LocalEventSourceMapping

from .conftest import BUCKET, catalog_photos, drain, load_app, put_all, seed_body, tags_of
from .faults import CopySourceIfMatch, S3Faults


def esm(aws, handler, **kw):
    return LocalEventSourceMapping(aws.sqs, aws.queue, handler, EsmSettings(**{"batch_size": 4, "function_timeout_s": 60, **kw}))


@pytest.fixture
def screened(monkeypatch):
    """Counts screenings per key (the model actually run on the object's bytes)."""
    counts: Counter = Counter()
    real = worker.screen

    def counting(f, deps):
        counts[f.item.key] += 1
        return real(f, deps)

    monkeypatch.setattr(worker, "screen", counting)
    return counts


def test_resume_after_interruption_halfway_screens_each_object_once(monkeypatch, aws, model_dir, screened):
    photos = catalog_photos(30)
    put_all(aws.s3, photos)
    app = load_app(monkeypatch, aws, model_dir, BACKFILL_MIN_REMAINING_MS="1000")
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=seed_body())
    stop = threading.Event()

    def interrupted(event, ctx):
        # Halfway through, the clock "runs out" inside an invocation and the whole fleet stops.
        if sum(screened.values()) >= 14:
            stop.set()
        ctx.get_remaining_time_in_millis = lambda: 0 if sum(screened.values()) >= 14 else 60_000
        return app.lambda_handler(event, ctx)

    esm(aws, interrupted).run_until_drained(max_seconds=60, tick_s=0.05, stop=stop)
    done_before = sum(screened.values())
    assert 14 <= done_before < 30
    assert RunReader(app.BACKFILL.objects, BUCKET, "run1").progress().finished is False

    # A fresh container picks the queue up again.
    app = load_app(monkeypatch, aws, model_dir)
    stats = esm(aws, app.lambda_handler).run_until_drained(max_seconds=60, tick_s=0.1)
    assert stats.whole_batch_failures == 0, stats.errors
    assert set(screened) == set(photos) and set(screened.values()) == {1}  # nothing twice, nothing skipped
    p = RunReader(app.BACKFILL.objects, BUCKET, "run1").progress()
    assert p.finished and p.done == p.listed == 30
    assert all(tags_of(aws.s3, k)["screen:model"] == app.CLASSIFIER.model_id for k in photos)


def test_throttling_and_5xx_are_retried_by_the_client(aws, app, screened):
    photos = catalog_photos(9)
    put_all(aws.s3, photos)
    faults = S3Faults(app.BACKFILL.objects.client)
    faults.fail("ListObjectsV2", 503, times=1)
    faults.fail("GetObject", 503, times=2, key="skus/0001.jpg")
    faults.fail("GetObject", 500, times=1, key="skus/0002.jpg")
    faults.fail("PutObjectTagging", 503, times=1, key="skus/0005.jpg")
    faults.fail("PutObject", 500, times=1)  # a report part
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=seed_body())
    stats = esm(aws, app.lambda_handler).run_until_drained(max_seconds=60, tick_s=0.1)
    assert dict(faults.fired) == {("ListObjectsV2", 503): 1, ("GetObject", 503): 2, ("GetObject", 500): 1,
                                  ("PutObjectTagging", 503): 1, ("PutObject", 500): 1}
    # Every fault was absorbed by the retry config: no message failed, nothing redelivered.
    assert stats.failed == 0 and stats.whole_batch_failures == 0, stats.errors
    assert set(screened.values()) == {1} and len(screened) == 9
    assert all("screen:verdict" in tags_of(aws.s3, k) for k in photos)


def digest(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def test_move_mode_never_loses_an_object(aws, app, monkeypatch):
    photos = {k.replace("skus/", "incoming/"): v for k, v in catalog_photos(14).items()}
    put_all(aws.s3, photos)
    aws.s3.put_object_tagging(Bucket=BUCKET, Key="incoming/0000.jpg",
                              Tagging={"TagSet": [{"Key": "owner", "Value": "studio"}]})
    faults = S3Faults(app.BACKFILL.objects.client)
    condition = CopySourceIfMatch(app.BACKFILL.objects.client, aws.s3)
    faults.fail("DeleteObject", 403, times=1, key="incoming/0002.jpg")  # copy done, delete refused
    faults.fail("CopyObject", 403, times=1, key="approved/0006.jpg")  # copy refused
    faults.fail("CopyObject", 403, times=1, key="review/0006.jpg")
    # One photo is re-uploaded while it is being screened: it must stay, with its new bytes.
    real = worker.screen
    reuploads = []

    def reupload_during_screening(f, deps):
        out = real(f, deps)
        if f.item.key == "incoming/0007.jpg" and not reuploads:
            reuploads.append(aws.s3.put_object(Bucket=BUCKET, Key=f.item.key, Body=b"new upload")["ETag"])
        return out

    monkeypatch.setattr(worker, "screen", reupload_during_screening)
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=seed_body(prefix="incoming/", mode="move"))
    stats = esm(aws, app.lambda_handler).run_until_drained(max_seconds=60, tick_s=0.1)
    assert stats.failed >= 1  # the refused copy/delete failed their messages, which were redelivered

    listing = {o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET).get("Contents", []) if not o["Key"].startswith("reports/")}
    for key, body in photos.items():
        rest = key.removeprefix("incoming/")
        where = [p for p in (key, "approved/" + rest, "review/" + rest) if p in listing]
        assert len(where) == 1, (key, where)  # exactly one copy, never zero, never two
        got = aws.s3.get_object(Bucket=BUCKET, Key=where[0])["Body"].read()
        if key == "incoming/0007.jpg":
            assert where == [key] and got == b"new upload"
        else:
            assert where[0] != key and digest(got) == digest(body)
            t = tags_of(aws.s3, where[0])
            assert where[0].startswith(t["screen:verdict"] + "/")
    assert tags_of(aws.s3, [p for p in listing if p.endswith("0000.jpg")][0])["owner"] == "studio"
    rd = RunReader(app.BACKFILL.objects, BUCKET, "run1")
    rd.refresh()
    rows = {r.key: r for r in rd.results()}
    assert rows["incoming/0007.jpg"].status is Status.CHANGED and condition.refused == 1
    # Moved by the first delivery of a message whose redelivery found them gone: still reported, with verdicts.
    assert rows["incoming/0001.jpg"].destination in ("approved/0001.jpg", "review/0001.jpg")
    assert rows["incoming/0001.jpg"].verdict and rows["incoming/0001.jpg"].status in (Status.SCREENED, Status.SKIPPED)
    assert not [r for r in rows.values() if r.status is Status.MISSING]
    assert drain(aws.sqs, aws.dlq) == []


class FlakySQS:
    def __init__(self, fail_ids_first=(), sender_fault=False):
        self.calls: list[list[str]] = []
        self.fail_first = set(fail_ids_first)
        self.sender_fault = sender_fault

    def send_message_batch(self, QueueUrl, Entries):
        ids = [e["Id"] for e in Entries]
        self.calls.append(ids)
        failed = [i for i in ids if i in self.fail_first]
        self.fail_first -= set(failed)
        return {"Successful": [{"Id": i} for i in ids if i not in failed],
                "Failed": [{"Id": i, "SenderFault": self.sender_fault, "Code": "InternalError", "Message": "x"} for i in failed]}


def test_send_message_batch_resends_only_failed_entries():
    sqs = FlakySQS(fail_ids_first={"c1", "c11"})
    send_entries(sqs, "url", [Entry(f"c{i}", "{}") for i in range(13)], sleep=lambda s: None)
    assert sqs.calls == [[f"c{i}" for i in range(10)], ["c1"], ["c10", "c11", "c12"], ["c11"]]


def test_send_message_batch_gives_up_on_sender_faults_and_persistent_failures():
    with pytest.raises(SendFailed, match="refused entry c0"):
        send_entries(FlakySQS({"c0"}, sender_fault=True), "url", [Entry("c0", "{}")], sleep=lambda s: None)

    class Always(FlakySQS):
        def send_message_batch(self, QueueUrl, Entries):
            self.fail_first = {e["Id"] for e in Entries}
            return super().send_message_batch(QueueUrl, Entries)

    with pytest.raises(SendFailed, match="still failing"):
        send_entries(Always(), "url", [Entry("c0", "{}")], attempts=3, sleep=lambda s: None)


def test_fetches_overlap_with_screening(monkeypatch, classifier, config):
    """The next objects are being fetched while the current one is screened."""
    events: list[tuple[str, str, float]] = []
    lock = threading.Lock()

    def note(kind, key):
        with lock:
            events.append((kind, key, time.perf_counter()))

    class SlowS3:
        def head(self, bucket, key):
            from screener.s3_objects import ObjectInfo

            return ObjectInfo(bucket, key, 10, '"e"', None)

        def get_tags(self, info):
            return {}

        def read(self, info, max_bytes):
            note("fetch-start", info.key)
            time.sleep(0.05)
            note("fetch-end", info.key)
            return b"not an image"

        def put_tags(self, *a):
            pass

    real = worker.screen

    def slow_screen(f, deps):
        note("screen-start", f.item.key)
        time.sleep(0.05)
        out = real(f, deps)
        note("screen-end", f.item.key)
        return out

    monkeypatch.setattr(worker, "screen", slow_screen)
    rules = Rules(buckets=frozenset({"b"}))
    with ThreadPoolExecutor(4) as pool:
        deps = worker.WorkerDeps(SlowS3(), classifier, config, rules, pool, prefetch=2)
        work = Work(Scope("b", "", Mode.TAG, "r", False), 1, 0, tuple(WorkItem(f"k{i}", 10) for i in range(6)))
        t0 = time.perf_counter()
        rows = worker.process_work(work, deps)
        wall = time.perf_counter() - t0
    assert [r.key for r in rows] == [f"k{i}" for i in range(6)]
    assert all(r.reasons == ("not-an-image",) for r in rows)
    at = {(k, key): t for k, key, t in events}
    for i in range(1, 6):
        assert at[("fetch-start", f"k{i}")] < at[("screen-end", f"k{i-1}")]
    # Serial would be 6 x (50 + 50) ms; overlapped it is close to 6 x 50 ms + one fetch.
    assert wall < 0.5
