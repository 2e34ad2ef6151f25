"""Reading a run back from S3: its page markers and report parts (for status, report, progress)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

from ..s3_objects import S3Objects
from .report import ObjectResult, PageMarker, Progress, decode_part, progress, run_root


class RunReader:
    """Reads one run's files, re-reading a part only when its ETag changed (cheap to poll)."""

    def __init__(self, objects: S3Objects, bucket: str, run_id: str, threads: int = 8):
        self.objects = objects
        self.bucket = bucket
        self.run_id = run_id
        self.threads = threads
        self._parts: dict[str, tuple[str, list[ObjectResult]]] = {}  # key -> (etag, rows)
        self._pages: dict[str, PageMarker] = {}

    def _read_new(self, prefix: str) -> Iterable[tuple[str, str, bytes]]:
        todo = []
        for o in self.objects.iter_objects(self.bucket, run_root(self.run_id) + prefix):
            known = self._parts.get(o.key)
            if prefix == "parts/" and known and known[0] == o.etag:
                continue
            if prefix == "pages/" and o.key in self._pages:
                continue  # markers are written once
            todo.append(o)
        with ThreadPoolExecutor(self.threads) as pool:
            datas = list(pool.map(lambda o: self.objects.get_bytes(self.bucket, o.key), todo))
        return [(o.key, o.etag, d) for o, d in zip(todo, datas) if d is not None]

    def refresh(self) -> None:
        for key, _, data in self._read_new("pages/"):
            self._pages[key] = PageMarker.from_bytes(data)
        for key, etag, data in self._read_new("parts/"):
            self._parts[key] = (etag, decode_part(data))

    def results(self) -> list[ObjectResult]:
        return [r for _, (_, rows) in sorted(self._parts.items()) for r in rows]

    def markers(self) -> list[PageMarker]:
        return list(self._pages.values())

    def progress(self) -> Progress:
        self.refresh()
        return progress(self.markers(), self.results())

    def exists(self) -> bool:
        return bool(self.objects.list_page(self.bucket, run_root(self.run_id), max_keys=1).objects)
