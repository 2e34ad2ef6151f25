"""Backfill worker throughput with S3 latency injected, against the same worker without it.

The real ``screener.backfill.worker.process_work`` runs over the real ``S3Objects`` adapter. Below
that adapter sits an in-memory S3 client (the handful of calls a tag-mode backfill makes), wrapped
by ``LatencyClient``, which sleeps before the calls it is told to delay, as a remote S3 would wait
on the network. An in-memory store instead of moto keeps moto's own CPU use (request parsing,
XML) from competing with decode and inference on the same cores, so the figure isolates what the
worker's overlap of S3 I/O with compute achieves.
"""
from __future__ import annotations

import hashlib
import io
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from screener.classifier import Classifier
from screener.config import Config

BUCKET = "bench-catalog"


class MemoryS3:
    """HEAD, GET, GetObjectTagging and PutObjectTagging on a dict, unversioned: enough for tag mode."""

    def __init__(self, objects: dict[str, bytes]):
        self._data = dict(objects)
        self._etags = {k: '"%s"' % hashlib.md5(v).hexdigest() for k, v in objects.items()}
        self._tags: dict[str, list[dict[str, str]]] = {}
        self._lock = threading.Lock()

    def head_object(self, Bucket: str, Key: str, **_: Any) -> dict:
        return {"ContentLength": len(self._data[Key]), "ETag": self._etags[Key], "ContentType": "image/jpeg", "Metadata": {}}

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict:
        return {"Body": io.BytesIO(self._data[Key]), "ETag": self._etags[Key]}

    def get_object_tagging(self, Bucket: str, Key: str, **_: Any) -> dict:
        with self._lock:
            return {"TagSet": list(self._tags.get(Key, []))}

    def put_object_tagging(self, Bucket: str, Key: str, Tagging: dict, **_: Any) -> dict:
        with self._lock:
            self._tags[Key] = list(Tagging["TagSet"])
        return {}


class LatencyClient:
    """Delays the named client calls by ``latency_s`` each, then forwards them."""

    def __init__(self, inner: Any, latency_s: float, calls: frozenset[str]):
        self._inner, self._latency, self._calls = inner, latency_s, calls

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._inner, name)
        if name not in self._calls or self._latency <= 0:
            return fn

        def delayed(*args: Any, **kw: Any) -> Any:
            time.sleep(self._latency)
            return fn(*args, **kw)

        return delayed


@dataclass(frozen=True)
class WorkerFigures:
    objects: int
    no_latency_per_s: float
    get_latency_per_s: float  # 30 ms on every GET
    all_latency_per_s: float  # 30 ms on every S3 call (HEAD, tagging, GET, PUT tagging, the HEAD after it)
    ratio: float  # get_latency / no_latency, median of per-round ratios
    all_ratio: float
    prefetch: int
    io_threads: int
    rounds: int


def measure(photos: list[bytes], clf: Classifier, config: Config, rounds: int, n_objects: int | None = None,
            latency_s: float = 0.030) -> WorkerFigures:
    """Objects/s through ``process_work`` for one work message of ``n_objects`` (default: the
    function's keys per message), with no latency, 30 ms per GET, and 30 ms per S3 call; the
    variants interleave round by round, since the figure is wall-clock by nature."""
    from screener.backfill.messages import Mode, Rules, Scope, Work, WorkItem
    from screener.backfill.settings import BackfillSettings
    from screener.backfill.worker import WorkerDeps, process_work
    from screener.s3_objects import S3Objects

    settings = BackfillSettings(buckets=frozenset({BUCKET}), queue_url="unused")  # the defaults the function uses
    n_objects = n_objects or settings.keys_per_message
    objects = {f"catalog/{i:05d}.jpg": photos[i % len(photos)] for i in range(n_objects)}
    store = MemoryS3(objects)
    # force: every round re-screens everything instead of skipping what the last round tagged.
    work = Work(scope=Scope(BUCKET, "catalog/", Mode.TAG, "bench", force=True), page=1, chunk=0,
                objects=tuple(WorkItem(k, len(v)) for k, v in objects.items()))
    rules = Rules(buckets=frozenset({BUCKET}))
    every = frozenset({"head_object", "get_object", "get_object_tagging", "put_object_tagging"})
    variants = {"none": frozenset(), "get": frozenset({"get_object"}), "all": every}
    rates: dict[str, list[float]] = {k: [] for k in variants}
    with ThreadPoolExecutor(settings.io_threads, thread_name_prefix="s3io") as pool:
        def run(calls: frozenset[str]) -> float:
            deps = WorkerDeps(objects=S3Objects(LatencyClient(store, latency_s, calls)), classifier=clf,
                              config=config, rules=rules, pool=pool, prefetch=settings.prefetch)
            t0 = time.perf_counter()
            rows = process_work(work, deps)
            dt = time.perf_counter() - t0
            assert len(rows) == n_objects and all(r.status.value == "screened" for r in rows), rows[:2]
            return n_objects / dt

        run(frozenset())  # warm
        for r in range(rounds):
            names = list(variants)
            names = names[r % 3:] + names[: r % 3]
            for name in names:
                rates[name].append(run(variants[name]))
    med = statistics.median
    return WorkerFigures(
        objects=n_objects,
        no_latency_per_s=med(rates["none"]), get_latency_per_s=med(rates["get"]), all_latency_per_s=med(rates["all"]),
        ratio=med(g / n for g, n in zip(rates["get"], rates["none"])),
        all_ratio=med(a / n for a, n in zip(rates["all"], rates["none"])),
        prefetch=settings.prefetch, io_threads=settings.io_threads, rounds=rounds,
    )
