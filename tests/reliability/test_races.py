"""Races, on moto and on SeaweedFS: a photo re-uploaded while it is being screened, and two
deliveries of one event running at the same time.

The re-upload is made at each step of the pipeline by a hook on the handler's own S3 client, so
the interleaving is exact rather than hoped for. V1 is a good photo (approved), V2 the same key
re-uploaded as a dark-backdrop photo (review): a stale verdict would put V2's bytes in approved/.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fixtures import images
from tests.reliability.conftest import Lambda, md5

KEY = "incoming/catalog/re uploaded.jpg"
V1, V2 = images.good_jpeg(seed=1), images.dark_jpeg(seed=2)


def once(action):
    done = threading.Event()

    def hook(kwargs):
        if not done.is_set():
            done.set()
            action()
    return hook


@pytest.mark.parametrize("at, first_outcome", [
    ("get_object", "superseded"),  # after HEAD: the pinned GET (If-Match) is refused
    ("get_object_tagging", "superseded"),  # after the bytes were read: the copy is refused
    ("copy_object", "superseded"),  # just before the copy: CopySourceIfMatch refuses it
    ("delete_object", "copied-source-changed"),  # after the copy: the conditional delete keeps V2
])
def test_a_reupload_during_screening_never_gets_the_old_verdict(store, at, first_outcome):
    store.put(KEY, V1, ContentType="image/jpeg")
    stale_event = store.event(KEY)
    fn = Lambda(wrap=lambda c: store.wrap(c, **{at: once(lambda: store.put(KEY, V2, ContentType="image/jpeg"))}))
    [rec] = fn(stale_event)["records"]
    assert rec["outcome"] == first_outcome
    assert store.body(KEY) == V2  # the new upload is untouched, waiting for its own event
    if first_outcome == "copied-source-changed":
        # V1 was screened and copied before V2 arrived: it lands with its own verdict.
        assert store.keys("approved/") == ["approved/catalog/re uploaded.jpg"]
        assert store.body("approved/catalog/re uploaded.jpg") == V1
    else:
        assert store.keys("approved/") == store.keys("review/") == []

    [rec2] = Lambda()(store.event(KEY))["records"]  # V2's own event
    assert (rec2["outcome"], rec2["verdict"], rec2["reasons"]) == ("moved", "review", ["background"])
    assert store.keys("incoming/") == []
    assert store.body("review/catalog/re uploaded.jpg") == V2
    assert store.tags("review/catalog/re uploaded.jpg")["screen:verdict"] == "review"
    for key in store.keys("approved/"):  # whatever is approved is V1, never V2 on V1's verdict
        assert store.body(key) == V1


def test_an_event_delivered_after_the_object_was_overwritten_does_nothing(store):
    store.put(KEY, V1)
    stale = store.event(KEY)
    store.put(KEY, V2)
    [rec] = Lambda()(stale)["records"]
    assert rec["outcome"] == "superseded" and store.keys() == [KEY] and store.body(KEY) == V2


def rendezvous(barrier: threading.Barrier):
    """Each container waits for the other at its first call of the hooked operation."""
    local = threading.local()

    def hook(kwargs):
        if not getattr(local, "met", False):
            local.met = True
            barrier.wait(timeout=20)
    return hook


@pytest.mark.parametrize("meet_at", ["head_object", "copy_object", "delete_object"])
def test_two_concurrent_deliveries_of_one_event_are_harmless(store, meet_at):
    """Two containers receive the same event and are made to reach the same step together."""
    keys = [f"incoming/catalog/twin {i}.jpg" for i in range(3)]
    for i, key in enumerate(keys):
        store.put(key, images.good_jpeg(seed=i) if i % 2 == 0 else images.dark_jpeg(seed=i))
    event = store.event(*keys)
    barrier = threading.Barrier(2)
    # Containers are built here, on one thread: boto3 client creation is not thread-safe.
    twins = [Lambda(wrap=lambda c: store.wrap(c, **{meet_at: rendezvous(barrier)})) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda fn: fn(event)["records"], twins))
    for records in results:
        assert {r["outcome"] for r in records} <= {"moved", "duplicate", "superseded"}
    assert any(r["outcome"] == "moved" for r in results[0] + results[1])
    assert store.keys("incoming/") == []
    expected = ["approved/catalog/twin 0.jpg", "approved/catalog/twin 2.jpg", "review/catalog/twin 1.jpg"]
    assert store.keys() == expected  # exactly one copy each, in the right place
    for i, key in enumerate(sorted(expected, key=lambda k: k.rsplit(" ", 1)[1])):
        body = images.good_jpeg(seed=i) if i % 2 == 0 else images.dark_jpeg(seed=i)
        assert store.client.head_object(Bucket=store.bucket, Key=key)["ETag"] == md5(body)
