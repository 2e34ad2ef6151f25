"""Fault injection: every S3 call the handler makes can fail, once or every time, before or after
it took effect, or the container can die at that point. The photo is never lost, never lands
under the wrong verdict, and the retries Lambda makes converge.

Faults sit in a wrapper around the handler's own S3 client, i.e. *above* botocore: a fault here
is a call that still failed after the SDK's own retries (standard mode, 4 retries = 5 attempts,
which ``test_the_sdk_absorbs_four_throttles_and_gives_up_on_the_fifth`` checks separately).
"""
from __future__ import annotations

import itertools
from enum import Enum
from typing import Any, Callable

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import screener.s3_objects as s3_objects
from screener.deps import Dependencies
from screener.s3_objects import S3Objects
from tests.fixtures import images
from tests.fixtures.s3 import client_error
from tests.reliability.conftest import Ctx, Lambda, load_handler, md5

KEY = "incoming/catalog/red shoe.jpg"
DEST = "approved/catalog/red shoe.jpg"
OPS = ("head_object", "get_object", "get_object_tagging", "copy_object", "delete_object")
GOOD, GOOD2, DARK, DARK2 = (images.encode(images.product((128, 128), seed=1), "JPEG"),
                            images.encode(images.product((128, 128), seed=2), "JPEG"),
                            images.encode(images.product((128, 128), bg=(10, 10, 10), seed=3), "JPEG"),
                            images.encode(images.product((128, 128), bg=(10, 10, 10), seed=4), "JPEG"))
PHOTOS = {"good": GOOD, "good2": GOOD2, "dark": DARK, "dark2": DARK2}  # by name: readable repros
PREFIX = {GOOD: "approved/", GOOD2: "approved/", DARK: "review/", DARK2: "review/"}


@pytest.fixture(autouse=True)
def small_photos(handler_env):
    """128 px photos with a 64 px minimum side: the faults, not the pixels, are under test here."""
    handler_env.setenv("APPROVAL_POLICY", '{"min_side_px": 64}')


class ProcessKilled(BaseException):
    """The container dies here (timeout, out of memory, a host failure): the handler cannot
    catch it (BaseException, like the real thing), and nothing after this point runs."""


class Fault(str, Enum):
    THROTTLE = "503 SlowDown"
    ERROR = "500 InternalError"
    RESET = "connection reset before the request"
    RESET_AFTER = "connection reset after S3 acted (response lost)"
    KILL = "container killed before the call"
    KILL_AFTER = "container killed after the call"

    def raise_for(self, op: str) -> None:
        if self is Fault.THROTTLE:
            raise client_error("SlowDown", 503, op)
        if self is Fault.ERROR:
            raise client_error("InternalError", 500, op)
        if self in (Fault.RESET, Fault.RESET_AFTER):
            raise ConnectionClosedError(endpoint_url=f"https://s3.invalid/{op}")
        raise ProcessKilled(op)

    @property
    def after(self) -> bool:
        return self in (Fault.RESET_AFTER, Fault.KILL_AFTER)


class Faulty:
    """Wraps an S3 client. ``decide(op, n)`` (n counts every call made through this wrapper)
    returns the Fault for that call, or None; ``before_call(n)`` runs first (e.g. a re-upload)."""

    def __init__(self, client: Any, decide: Callable[[str, int], Fault | None],
                 before_call: Callable[[int], None] | None = None):
        self._client, self._decide, self._before_call = client, decide, before_call
        self._n = itertools.count()
        self.fired: list[tuple[str, Fault]] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            n = next(self._n)
            if self._before_call is not None:
                self._before_call(n)
            fault = self._decide(name, n)
            if fault is not None and not fault.after:
                self.fired.append((name, fault))
                fault.raise_for(name)
            out = target(*args, **kwargs)
            if fault is not None:
                self.fired.append((name, fault))
                fault.raise_for(name)
            return out

        return call


def on(op: str, fault: Fault, times: int | None = 1) -> Callable[[str, int], Fault | None]:
    """Fail the first ``times`` calls of ``op`` (every call when ``times`` is None)."""
    count = itertools.count()

    def decide(name: str, n: int) -> Fault | None:
        if name != op:
            return None
        return fault if times is None or next(count) < times else None
    return decide


def deliver(fn: Lambda, event: dict) -> str:
    """One delivery. Returns how it ended: 'ok', 'retry' (the handler asked for one), 'killed'."""
    try:
        fn(event)
        return "ok"
    except ProcessKilled:
        return "killed"
    except fn.app.RetryLater:
        return "retry"


def assert_never_lost(store, body: bytes) -> None:
    """The photo is under incoming/ or in its destination, byte for byte, and nowhere else."""
    where = [k for k in store.keys() if store.client.head_object(Bucket=store.bucket, Key=k)["ETag"] == md5(body)]
    assert where and set(where) <= {KEY, DEST}, store.keys()
    assert set(store.keys()) <= {KEY, DEST}


def assert_converged(store, body: bytes) -> None:
    assert store.keys() == [DEST] and store.body(DEST) == body
    assert store.tags(DEST)["screen:verdict"] == "approved"


# ---------------------------------------------------------------- one call, once or always
@pytest.mark.parametrize("fault", list(Fault), ids=lambda f: f.name.lower())
@pytest.mark.parametrize("op", OPS)
def test_a_call_failing_once_is_retried_to_one_copy(moto_store, op, fault):
    body = GOOD
    moto_store.put(KEY, body)
    event = moto_store.event(KEY)
    fn = Lambda(wrap=lambda c: Faulty(moto_store.wrap(c), on(op, fault)))
    first = deliver(fn, event)
    assert first == ("killed" if fault.name.startswith("KILL") else "retry")
    assert fn.wrapped.fired == [(op, fault)]
    assert_never_lost(moto_store, body)
    if fault.after and op in ("copy_object", "delete_object") or op == "delete_object":
        assert DEST in moto_store.keys()  # the copy was made before the failure; the source waits
    else:
        assert moto_store.keys() == [KEY]  # nothing changed: the photo waits for the retry
    assert deliver(Lambda(), event) == "ok"  # Lambda's retry, in a fresh container
    assert_converged(moto_store, body)


@pytest.mark.parametrize("fault", [Fault.THROTTLE, Fault.ERROR, Fault.RESET], ids=lambda f: f.name.lower())
@pytest.mark.parametrize("op", OPS)
def test_a_call_failing_every_time_keeps_the_photo_until_the_dead_letter_redrive(moto_store, op, fault):
    body = GOOD
    moto_store.put(KEY, body)
    event = moto_store.event(KEY)
    for _ in range(3):  # the delivery and the template's MaximumRetryAttempts: 2
        fn = Lambda(wrap=lambda c: Faulty(moto_store.wrap(c), on(op, fault, times=None)))
        assert deliver(fn, event) == "retry"
        assert_never_lost(moto_store, body)
        assert moto_store.body(KEY) == body  # the original stays, untouched, for the redrive
    # The event now sits in the DLQ; once S3 recovers, a redrive converges.
    assert deliver(Lambda(), event) == "ok"
    assert_converged(moto_store, body)


@pytest.mark.parametrize("times", [1, None], ids=["once", "always"])
def test_tagging_in_place_failing_keeps_the_object_where_it_is(moto_store, handler_env, monkeypatch, times):
    """Objects over CopyObject's 5 GiB are tagged where they lie (PutObjectTagging), not moved."""
    monkeypatch.setattr(s3_objects, "MAX_COPY_BYTES", 4096)
    handler_env.setenv("MAX_IMAGE_BYTES", "2048")
    body = bytes(5000)
    moto_store.put(KEY, body)
    event = moto_store.event(KEY)
    fn = Lambda(wrap=lambda c: Faulty(moto_store.wrap(c), on("put_object_tagging", Fault.THROTTLE, times)))
    assert deliver(fn, event) == "retry"
    assert moto_store.keys() == [KEY] and moto_store.tags(KEY) == {}
    if times is None:
        assert deliver(fn, event) == "retry"
        return
    [rec] = Lambda()(event)["records"]
    assert rec["outcome"] == "tagged-in-place" and rec["reasons"] == ["too-large-bytes"]
    assert moto_store.keys() == [KEY] and moto_store.tags(KEY)["screen:verdict"] == "review"


# ---------------------------------------------------------------- the container dies
@pytest.mark.parametrize("fault", [Fault.KILL, Fault.KILL_AFTER], ids=["before", "after"])
@pytest.mark.parametrize("op", OPS)
def test_killed_at_any_call_then_redelivered_to_a_fresh_container_converges(moto_store, op, fault):
    body = GOOD
    moto_store.put(KEY, body)
    event = moto_store.event(KEY)
    assert deliver(Lambda(wrap=lambda c: Faulty(moto_store.wrap(c), on(op, fault))), event) == "killed"
    assert_never_lost(moto_store, body)
    assert deliver(Lambda(), event) == "ok"
    assert_converged(moto_store, body)


def test_killed_between_the_copy_and_the_delete(moto_store):
    """The one window where two copies exist: the copy is made, the source not yet deleted."""
    body = GOOD
    moto_store.put(KEY, body)
    event = moto_store.event(KEY)
    fn = Lambda(wrap=lambda c: Faulty(moto_store.wrap(c), on("delete_object", Fault.KILL)))
    assert deliver(fn, event) == "killed"
    assert moto_store.keys() == [DEST, KEY] and moto_store.body(KEY) == body  # both, until the retry
    [rec] = Lambda()(event)["records"]  # Lambda retries the failed invocation
    assert rec["outcome"] == "moved"  # re-screened, copied again over the same bytes, then deleted
    assert_converged(moto_store, body)


# ---------------------------------------------------------------- the SDK's own retries
def test_the_sdk_absorbs_four_throttles_and_gives_up_on_the_fifth(moto_store, monkeypatch):
    """The handler's client (deps.s3_client: standard mode, max_attempts 4 = retries after the
    first attempt) retries HTTP 503s itself;
    past that the record fails and Lambda's retry takes over. Bounded at both levels."""
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0)
    body = GOOD
    moto_store.put(KEY, body)
    event = moto_store.event(KEY)
    for throttles, expected in ((5, "retry"), (4, "ok")):  # all 5 attempts fail; then the 5th gets through
        fn = Lambda()
        client = fn.app.dependencies().objects.client
        sent = []

        def throttle(request, event_name, **_):
            if event_name.endswith(".CopyObject"):
                sent.append(1)
                if len(sent) <= throttles:
                    request.url = "https://fault-injected.invalid/"  # so moto's own handler skips it
                    return AWSResponse(request.url, 503, {}, _Body(b"<Error><Code>SlowDown</Code></Error>"))
            return None

        client.meta.events.register_first("before-send.s3", throttle)
        assert deliver(fn, event) == expected
        assert len(sent) == 5
    assert_converged(moto_store, body)


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data


# ---------------------------------------------------------------- random schedules (hypothesis)
schedules = st.dictionaries(st.integers(0, 8), st.sampled_from(list(Fault)), max_size=3)

@st.composite
def scenarios(draw) -> dict:
    """Deliveries of the first upload's event ("v1") or the re-upload's ("v2"), each with its own
    faults, and maybe a re-upload: before delivery i, or during it just before its call c."""
    deliveries = draw(st.lists(st.tuples(st.sampled_from(["v1", "v2"]), schedules), min_size=1, max_size=5))
    when = draw(st.sampled_from(["never", "between", "during"]))
    at = draw(st.integers(0, len(deliveries) - (when == "during")))
    call = draw(st.integers(0, 6)) if when == "during" else None
    if when == "during":
        deliveries[at] = ("v1", deliveries[at][1])  # a re-upload during a delivery of v1's event
    return {"v1": draw(st.sampled_from(["good", "dark"])), "v2": draw(st.sampled_from(["good2", "dark2"])),
            "deliveries": deliveries, "reupload": None if when == "never" else (at, call),
            "final_order": draw(st.sampled_from([("v1", "v2"), ("v2", "v1")]))}


_examples = itertools.count()


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sc=scenarios())
def test_random_fault_schedules_and_redeliveries_always_converge(moto_store, handler_env, sc):
    """S3 delivers at least once, in any order; any call may fail or the container die; the
    photo may be re-uploaded between or during deliveries. Throughout: the latest upload is
    never lost and whatever sits in approved/ or review/ is there on its own bytes' verdict.
    After one fault-free delivery of each event (Lambda's retry or the DLQ redrive): nothing
    in incoming/, the latest upload in exactly its destination, and more deliveries change nothing."""
    n = next(_examples)
    key, rest = f"incoming/ex{n}/photo.jpg", f"ex{n}/photo.jpg"
    store = moto_store
    app = load_handler()
    real = app.dependencies()
    uploads = {"v1": PHOTOS[sc["v1"]]}
    store.put(key, uploads["v1"])
    events = {"v1": store.event(key)}

    def reupload() -> None:
        if "v2" not in uploads:
            uploads["v2"] = PHOTOS[sc["v2"]]
            store.client.put_object(Bucket=store.bucket, Key=key, Body=uploads["v2"])
            events["v2"] = store.event(key)

    def invoke(which: str, schedule: dict, during: int | None = None) -> None:
        mid = (lambda c: reupload() if c == during else None) if during is not None else None
        client = Faulty(store.wrap(real.objects.client), lambda op, c: schedule.get(c), mid)
        app.dependencies = lambda: Dependencies(real.config, S3Objects(client), real.classifier)
        try:
            app.lambda_handler(events[which], Ctx())
        except (ProcessKilled, app.RetryLater):
            pass

    def etags(*prefixes: str) -> dict[str, str]:
        keys = [k for p in prefixes for k in store.keys(f"{p}ex{n}/")]
        return {k: store.client.head_object(Bucket=store.bucket, Key=k)["ETag"] for k in keys}

    def check_safe() -> None:
        latest = uploads.get("v2", uploads["v1"])
        present = etags("incoming/", "approved/", "review/")
        assert md5(latest) in present.values(), "the latest upload was lost"
        by_etag = {md5(b): b for b in uploads.values()}
        for k, etag in present.items():
            if k == key:
                continue
            assert etag in by_etag, f"{k} holds bytes nobody uploaded"
            assert k == PREFIX[by_etag[etag]] + rest, f"{k} holds a photo whose verdict is {PREFIX[by_etag[etag]]}"
            assert store.tags(k)["screen:verdict"] + "/" == PREFIX[by_etag[etag]]

    for i, (which, schedule) in enumerate(sc["deliveries"]):
        r = sc["reupload"]
        if r is not None and r[0] == i and r[1] is None:
            reupload()
        if which in events:
            invoke(which, schedule, during=r[1] if r is not None and r[0] == i else None)
        check_safe()
    if sc["reupload"] is not None:
        reupload()  # scheduled after the last delivery: it still happens
        check_safe()

    for which in sc["final_order"]:  # one fault-free delivery of every event
        if which in events:
            invoke(which, {})
    check_safe()
    latest = uploads.get("v2", uploads["v1"])
    assert store.keys(f"incoming/ex{n}/") == [], "left behind in incoming/"
    assert store.body(PREFIX[latest] + rest) == latest
    before = etags("approved/", "review/")
    for which in events:  # late duplicates are no-ops
        invoke(which, {})
    assert etags("incoming/", "approved/", "review/") == before
