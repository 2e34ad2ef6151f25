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


EVERY_CALL = frozenset({"head_object", "get_object", "get_object_tagging", "put_object_tagging"})
LATENCY_VARIANTS = {"none": frozenset(), "get": frozenset({"get_object"}), "all": EVERY_CALL}


class _Runner:
    """Objects/s through ``process_work`` over the in-memory S3, for work messages run one after
    another as the handler runs a batch's records."""

    def __init__(self, photos: list[bytes], n_objects: int, clf: Classifier, config: Config, latency_s: float):
        from screener.backfill.messages import Mode, Rules, Scope, WorkItem

        objects = {f"catalog/{i:05d}.jpg": photos[i % len(photos)] for i in range(n_objects)}
        self.store, self.clf, self.config, self.latency_s = MemoryS3(objects), clf, config, latency_s
        # force: every round re-screens everything instead of skipping what the last round tagged.
        self.scope = Scope(BUCKET, "catalog/", Mode.TAG, "bench", force=True)
        self.items = tuple(WorkItem(k, len(v)) for k, v in objects.items())
        self.rules = Rules(buckets=frozenset({BUCKET}))

    def works(self, keys_per_message: int) -> list:
        from screener.backfill.messages import Work

        k = keys_per_message
        return [Work(scope=self.scope, page=1, chunk=c, objects=self.items[c * k:(c + 1) * k])
                for c in range((len(self.items) + k - 1) // k)]

    def rate(self, works: list, calls: frozenset[str], pool: ThreadPoolExecutor, prefetch: int) -> float:
        from screener.backfill.worker import WorkerDeps, process_work
        from screener.s3_objects import S3Objects

        deps = WorkerDeps(objects=S3Objects(LatencyClient(self.store, self.latency_s, calls)), classifier=self.clf,
                          config=self.config, rules=self.rules, pool=pool, prefetch=prefetch)
        t0 = time.perf_counter()
        rows = [r for w in works for r in process_work(w, deps)]
        dt = time.perf_counter() - t0
        assert len(rows) == len(self.items) and all(r.status.value == "screened" for r in rows), rows[:2]
        return len(rows) / dt


def measure(photos: list[bytes], clf: Classifier, config: Config, rounds: int, n_objects: int | None = None,
            latency_s: float = 0.030) -> WorkerFigures:
    """Objects/s through ``process_work`` for one work message of ``n_objects`` (default: the
    function's keys per message), with no latency, 30 ms per GET, and 30 ms per S3 call; the
    variants interleave round by round, since the figure is wall-clock by nature."""
    from screener.backfill.settings import BackfillSettings

    settings = BackfillSettings(buckets=frozenset({BUCKET}), queue_url="unused")  # the defaults the function uses
    n_objects = n_objects or settings.keys_per_message
    runner = _Runner(photos, n_objects, clf, config, latency_s)
    works = runner.works(n_objects)
    rates: dict[str, list[float]] = {k: [] for k in LATENCY_VARIANTS}
    with ThreadPoolExecutor(settings.io_threads, thread_name_prefix="s3io") as pool:
        runner.rate(works, frozenset(), pool, settings.prefetch)  # warm
        for r in range(rounds):
            names = list(LATENCY_VARIANTS)
            names = names[r % 3:] + names[: r % 3]
            for name in names:
                rates[name].append(runner.rate(works, LATENCY_VARIANTS[name], pool, settings.prefetch))
    med = statistics.median
    return WorkerFigures(
        objects=n_objects,
        no_latency_per_s=med(rates["none"]), get_latency_per_s=med(rates["get"]), all_latency_per_s=med(rates["all"]),
        ratio=med(g / n for g, n in zip(rates["get"], rates["none"])),
        all_ratio=med(a / n for a, n in zip(rates["all"], rates["none"])),
        prefetch=settings.prefetch, io_threads=settings.io_threads, rounds=rounds,
    )


def message_sizes(photos: list[bytes], clf: Classifier, config: Config, rounds: int, per_invocation: int = 100,
                  keys_per_message: tuple[int, ...] = (20, 100), prefetch_io: tuple[tuple[int, int], ...] = ((4, 8), (6, 12), (8, 16)),
                  latency_s: float = 0.030) -> list[dict]:
    """One invocation's photos as work messages of each size, run one after another (the handler
    runs a batch's records in turn), for each prefetch depth and I/O pool: objects/s with no
    latency, 30 ms per GET and 30 ms per S3 call, and each against no latency (median of
    per-round ratios). Everything interleaves round by round."""
    runner = _Runner(photos, per_invocation, clf, config, latency_s)
    cases = [(k, pf, io) for pf, io in prefetch_io for k in keys_per_message]
    pools = {io: ThreadPoolExecutor(io, thread_name_prefix="s3io") for _, io in prefetch_io}
    rates = {(c, v): [] for c in cases for v in LATENCY_VARIANTS}
    try:
        runner.rate(runner.works(per_invocation), frozenset(), pools[prefetch_io[0][1]], prefetch_io[0][0])  # warm
        for _ in range(rounds):
            for c in cases:
                for v, calls in LATENCY_VARIANTS.items():
                    rates[(c, v)].append(runner.rate(runner.works(c[0]), calls, pools[c[2]], c[1]))
    finally:
        for pool in pools.values():
            pool.shutdown()
    med = statistics.median
    return [{"messages": f"{-(-per_invocation // k)} x {k}", "prefetch": pf, "io_threads": io,
             **{f"{v}_per_s": med(rates[((k, pf, io), v)]) for v in LATENCY_VARIANTS},
             **{f"{v}_ratio": med(a / b for a, b in zip(rates[((k, pf, io), v)], rates[((k, pf, io), "none")]))
                for v in ("get", "all")}}
            for k, pf, io in cases]


def main(argv: list[str] | None = None) -> int:
    """python -m bench.worker_io [--rounds 5]: the message-size table (README "Backfill")."""
    import argparse
    from pathlib import Path

    from screener.config import load_config

    from .images import photo
    from .table import table

    ap = argparse.ArgumentParser(description="backfill throughput by work-message size, prefetch and I/O threads")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--model-dir", type=Path, default=Path("layers/model"))
    a = ap.parse_args(argv)
    config = load_config({"MODEL_DIR": str(a.model_dir)})
    clf = Classifier.from_dir(a.model_dir, 1)
    rows = message_sizes([photo("JPEG", 1500).data, photo("JPEG", 3000).data], clf, config, a.rounds)
    print(f"100 photos per invocation (jpeg-1500, jpeg-3000 alternating), 30 ms injected; wall clock, median of {a.rounds} rounds\n")
    print(table(["messages", "prefetch", "I/O threads", "none /s", "30 ms per GET /s", "vs none", "30 ms per call /s", "vs none"],
                [[r["messages"], r["prefetch"], r["io_threads"], r["none_per_s"], r["get_per_s"], f"{r['get_ratio']:.2f}",
                  r["all_per_s"], f"{r['all_ratio']:.2f}"] for r in rows]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
