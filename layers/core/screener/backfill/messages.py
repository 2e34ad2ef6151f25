"""The backfill's three message kinds, validated strictly. Pure.

Wire shapes (JSON bodies on the backfill queue):

- seed, written by people and by ``screener backfill start``::

      {"bucket": "b", "prefix": "catalog/", "mode": "tag", "run_id": "2026-01-01", "force": false}

  ``bucket`` and ``run_id`` are required; ``prefix`` defaults to "", ``mode`` to "tag" (backfilled
  photos are live on product pages, so moving them is opt-in) and ``force`` to false. Optional
  ``inventory``: the key of an S3 Inventory ``manifest.json`` (CSV) delivered into the same
  bucket, read instead of listing (see inventory.py).
- continuation (``"kind": "continuation"``): the seed's fields plus the listing ``page`` number
  and the ``token`` (ListObjectsV2 ContinuationToken) to list it from.
- work (``"kind": "work"``): the seed's fields plus ``page``, ``chunk`` and ``objects``, a list of
  ``{"key", "size"}`` taken from one listing page.

Anything else is a ``MessageError``: an unknown field, a wrong type, a bucket outside the
allow-list, a key outside the message's prefix. Such an error is permanent (retrying cannot fix
it), so the handler sends the message to the DLQ instead of letting it be retried.
``s3:TestEvent`` bodies (S3 sends one when a notification is wired to a queue) are recognised
and ignored.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping, Union

from ..s3_keys import MAX_KEY_BYTES, key_fits

# SQS's classic per-message limit; fan-out keeps every body, and every SendMessageBatch, below it.
MAX_BODY_BYTES = 256 * 1024
MAX_OBJECTS_PER_WORK = 100  # one part file per work message; keeps a retry's blast radius small
MAX_TOKEN_CHARS = 4096
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # it becomes part of an S3 key


class Mode(str, Enum):
    TAG = "tag"  # tag in place (default)
    MOVE = "move"  # tag, then move to approved/ or review/ with the shared loss-free move


class Kind(str, Enum):
    SEED = "seed"
    CONTINUATION = "continuation"
    WORK = "work"


class MessageError(ValueError):
    """A message that can never be processed. ``field`` names the offending field when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Rules:
    """What a message may ask for. Comes from the function's configuration, never from a message."""

    buckets: frozenset[str]  # the allow-list; empty means every message is refused (fail closed)
    reserved_prefixes: tuple[str, ...] = ("reports/",)  # our own output: never listed or screened
    # Move mode re-screens uploads stranded under incoming/ (e.g. from before the function
    # existed): only there may it delete a source, and only under these may it write copies.
    move_sources: tuple[str, ...] = ("incoming/",)
    move_destinations: tuple[str, ...] = ("approved/", "review/")

    def check_bucket(self, bucket: str) -> None:
        if bucket not in self.buckets:
            raise MessageError(f"bucket {bucket!r} is not in the backfill allow-list", "bucket")

    def is_reserved(self, key: str) -> bool:
        return any(key.startswith(p) for p in self.reserved_prefixes)


@dataclass(frozen=True)
class Scope:
    """What one backfill run covers; every message of the run carries it unchanged."""

    bucket: str
    prefix: str
    mode: Mode
    run_id: str
    force: bool
    inventory: str | None = None  # key of an S3 Inventory manifest.json in the same bucket

    def fields(self) -> dict[str, Any]:
        d = {"bucket": self.bucket, "prefix": self.prefix, "mode": self.mode.value, "run_id": self.run_id, "force": self.force}
        if self.inventory is not None:
            d["inventory"] = self.inventory
        return d


@dataclass(frozen=True)
class Listing:
    """List one page of the run's prefix. Page 1 is the seed; later pages are continuations."""

    scope: Scope
    page: int = 1
    token: str | None = None

    @property
    def kind(self) -> Kind:
        return Kind.SEED if self.page == 1 and self.token is None else Kind.CONTINUATION


@dataclass(frozen=True)
class WorkItem:
    key: str
    size: int


@dataclass(frozen=True)
class Work:
    """Screen these objects. (page, chunk) names the report part, so a redelivery overwrites it."""

    scope: Scope
    page: int
    chunk: int
    objects: tuple[WorkItem, ...] = field(default_factory=tuple)

    kind = Kind.WORK

    @property
    def part_name(self) -> str:
        return f"p{self.page:06d}-c{self.chunk:04d}"


@dataclass(frozen=True)
class Ignored:
    """A body that is not ours but harmless (``s3:TestEvent``): log it and delete it."""

    why: str


Message = Union[Listing, Work]

_SCOPE_FIELDS = {"bucket", "prefix", "mode", "run_id", "force", "inventory"}
_ALLOWED = {
    Kind.SEED: _SCOPE_FIELDS | {"kind"},
    Kind.CONTINUATION: _SCOPE_FIELDS | {"kind", "page", "token"},
    Kind.WORK: _SCOPE_FIELDS | {"kind", "page", "chunk", "objects"},
}


def _get(d: Mapping[str, Any], name: str, typ: type, default: Any = ..., where: str = "message") -> Any:
    if name not in d:
        if default is ...:
            raise MessageError(f"{where}: missing required field {name!r}", name)
        return default
    v = d[name]
    # bool is an int subclass: an int field must not accept true/false, nor a bool field 0/1.
    if typ is int and (isinstance(v, bool) or not isinstance(v, int)):
        raise MessageError(f"{where}: field {name!r} must be an integer, got {type(v).__name__}", name)
    if typ is not int and not isinstance(v, typ):
        raise MessageError(f"{where}: field {name!r} must be {typ.__name__}, got {type(v).__name__}", name)
    return v


def parse_scope(d: Mapping[str, Any], rules: Rules, where: str) -> Scope:
    bucket = _get(d, "bucket", str, where=where)
    rules.check_bucket(bucket)
    prefix = _get(d, "prefix", str, "", where)
    if len(prefix.encode("utf-8")) > MAX_KEY_BYTES:
        raise MessageError(f"{where}: prefix is longer than {MAX_KEY_BYTES} bytes", "prefix")
    mode_raw = _get(d, "mode", str, Mode.TAG.value, where)
    try:
        mode = Mode(mode_raw)
    except ValueError:
        raise MessageError(f"{where}: mode must be one of {[m.value for m in Mode]}, got {mode_raw!r}", "mode") from None
    run_id = _get(d, "run_id", str, where=where)
    if not _RUN_ID.match(run_id):
        raise MessageError(f"{where}: run_id {run_id!r} must match {_RUN_ID.pattern}", "run_id")
    force = _get(d, "force", bool, False, where)
    inventory = _get(d, "inventory", str, None, where)
    if inventory is not None and (not inventory.endswith("manifest.json") or not key_fits(inventory)):
        raise MessageError(f"{where}: inventory must be the key of an S3 Inventory manifest.json in the bucket", "inventory")
    if prefix and rules.is_reserved(prefix):
        raise MessageError(f"{where}: prefix {prefix!r} lies in a reserved prefix {rules.reserved_prefixes}", "prefix")
    if mode is Mode.MOVE:
        # Catalog photos are live on product pages: moving them is never a backfill's job.
        if not any(prefix.startswith(src) for src in rules.move_sources):
            raise MessageError(
                f"{where}: move mode only re-screens uploads under {rules.move_sources}, got prefix {prefix!r}", "prefix"
            )
        # A prefix overlapping a destination would list objects already moved.
        for dest in rules.move_destinations:
            if not prefix or prefix.startswith(dest) or dest.startswith(prefix):
                raise MessageError(
                    f"{where}: in move mode the prefix must not overlap the destinations {rules.move_destinations}, got {prefix!r}",
                    "prefix",
                )
    return Scope(bucket=bucket, prefix=prefix, mode=mode, run_id=run_id, force=force, inventory=inventory)


def is_test_event(d: Mapping[str, Any]) -> bool:
    return d.get("Event") == "s3:TestEvent" and d.get("Service") == "Amazon S3"


def parse_message(body: str | None, rules: Rules) -> Message | Ignored:
    """Validate one SQS body. Raises MessageError for anything that can never be processed."""
    if body is None or not body.strip():
        raise MessageError("empty message body")
    if len(body.encode("utf-8")) > MAX_BODY_BYTES:
        raise MessageError(f"message body is larger than {MAX_BODY_BYTES} bytes")
    try:
        d = json.loads(body)
    except json.JSONDecodeError as e:
        raise MessageError(f"message body is not JSON: {e.msg} at position {e.pos}") from None
    if not isinstance(d, dict):
        raise MessageError(f"message body must be a JSON object, got {type(d).__name__}")
    if is_test_event(d):
        return Ignored("s3:TestEvent")
    kind_raw = _get(d, "kind", str, Kind.SEED.value)
    try:
        kind = Kind(kind_raw)
    except ValueError:
        raise MessageError(f"kind must be one of {[k.value for k in Kind]}, got {kind_raw!r}", "kind") from None
    where = f"{kind.value} message"
    unknown = sorted(set(d) - _ALLOWED[kind])
    if unknown:
        raise MessageError(f"{where}: unknown field(s) {unknown}", unknown[0])
    scope = parse_scope(d, rules, where)
    if kind is Kind.SEED:
        return Listing(scope)
    page = _get(d, "page", int, where=where)
    if page < 1:
        raise MessageError(f"{where}: page must be >= 1", "page")
    if kind is Kind.CONTINUATION:
        token = _get(d, "token", str, where=where)
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise MessageError(f"{where}: token must be 1..{MAX_TOKEN_CHARS} characters", "token")
        if page < 2:
            raise MessageError(f"{where}: a continuation lists page 2 or later", "page")
        return Listing(scope, page=page, token=token)
    chunk = _get(d, "chunk", int, where=where)
    if chunk < 0:
        raise MessageError(f"{where}: chunk must be >= 0", "chunk")
    raw_objects = _get(d, "objects", list, where=where)
    if not 1 <= len(raw_objects) <= MAX_OBJECTS_PER_WORK:
        raise MessageError(f"{where}: objects must hold 1..{MAX_OBJECTS_PER_WORK} entries", "objects")
    items = []
    for i, o in enumerate(raw_objects):
        w = f"{where}: objects[{i}]"
        if not isinstance(o, dict):
            raise MessageError(f"{w} must be an object", "objects")
        extra = sorted(set(o) - {"key", "size"})
        if extra:
            raise MessageError(f"{w}: unknown field(s) {extra}", "objects")
        key = _get(o, "key", str, where=w)
        size = _get(o, "size", int, where=w)
        if not key_fits(key) or size < 0:
            raise MessageError(f"{w}: key must be 1..{MAX_KEY_BYTES} bytes and size >= 0", "objects")
        # The work may only touch what its own listing could have produced.
        if not key.startswith(scope.prefix) or rules.is_reserved(key):
            raise MessageError(f"{w}: key {key!r} lies outside the run's prefix {scope.prefix!r}", "objects")
        items.append(WorkItem(key, size))
    return Work(scope, page=page, chunk=chunk, objects=tuple(items))


def encode(msg: Message) -> str:
    """The JSON body for a message; ``parse_message(encode(m)) == m`` for every valid message."""
    d = msg.scope.fields()
    if isinstance(msg, Listing):
        if msg.kind is Kind.CONTINUATION:
            d.update(kind=Kind.CONTINUATION.value, page=msg.page, token=msg.token)
    else:
        d.update(
            kind=Kind.WORK.value,
            page=msg.page,
            chunk=msg.chunk,
            objects=[{"key": o.key, "size": o.size} for o in msg.objects],
        )
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)
