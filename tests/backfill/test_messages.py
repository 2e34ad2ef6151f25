"""Strict validation of seed, continuation and work messages."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from screener.backfill.messages import (
    Ignored,
    Kind,
    Listing,
    MessageError,
    Mode,
    Rules,
    Scope,
    Work,
    WorkItem,
    encode,
    parse_message,
)

RULES = Rules(buckets=frozenset({"catalog"}))


def seed(**kw):
    d = {"bucket": "catalog", "prefix": "skus/", "mode": "tag", "run_id": "r1", "force": False}
    d.update(kw)
    return json.dumps(d)


def test_seed_parses_with_defaults():
    m = parse_message(json.dumps({"bucket": "catalog", "run_id": "r1"}), RULES)
    assert m == Listing(Scope("catalog", "", Mode.TAG, "r1", False))
    assert m.kind is Kind.SEED


def test_full_seed_round_trips():
    m = parse_message(seed(mode="move", prefix="incoming/", force=True), RULES)
    assert isinstance(m, Listing) and m.scope.mode is Mode.MOVE and m.scope.force is True
    assert parse_message(encode(m), RULES) == m


@pytest.mark.parametrize(
    "body, field, words",
    [
        (seed(colour="red"), "colour", "unknown field"),
        (seed(force="yes"), "force", "must be bool"),
        (seed(force=1), "force", "must be bool"),
        (seed(bucket="someone-elses"), "bucket", "allow-list"),
        (seed(bucket=["catalog"]), "bucket", "must be str"),
        (seed(mode="delete"), "mode", "mode must be one of"),
        (seed(run_id="../../etc"), "run_id", "run_id"),
        (seed(prefix="reports/backfill/"), "prefix", "reserved"),
        (json.dumps({"bucket": "catalog"}), "run_id", "missing required field"),
        (seed(kind="nonsense"), "kind", "kind must be one of"),
    ],
)
def test_seed_errors_name_the_field(body, field, words):
    with pytest.raises(MessageError) as e:
        parse_message(body, RULES)
    assert e.value.field == field
    assert words in str(e.value)


@pytest.mark.parametrize("prefix", ["", "skus/", "approved/", "approved/shoes/", "review/x", "in"])
def test_move_mode_only_takes_prefixes_under_incoming(prefix):
    with pytest.raises(MessageError, match="move mode"):
        parse_message(seed(mode="move", prefix=prefix), RULES)


def test_move_mode_under_incoming_is_accepted():
    assert parse_message(seed(mode="move", prefix="incoming/vendor/"), RULES).scope.mode is Mode.MOVE


def test_empty_bucket_allow_list_refuses_everything():
    with pytest.raises(MessageError, match="allow-list"):
        parse_message(seed(), Rules(buckets=frozenset()))


@pytest.mark.parametrize("body", [None, "", "   \n", "{not json", "[1,2]", '"str"', "null"])
def test_empty_and_malformed_bodies_are_message_errors(body):
    with pytest.raises(MessageError):
        parse_message(body, RULES)


def test_oversized_body_is_refused():
    with pytest.raises(MessageError, match="larger than"):
        parse_message(seed(prefix="x" * 300_000), RULES)


def test_s3_test_event_is_ignored():
    body = json.dumps(
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-01-01T00:00:00.000Z", "Bucket": "catalog", "RequestId": "X", "HostId": "Y"}
    )
    assert parse_message(body, RULES) == Ignored("s3:TestEvent")


def work_body(**kw):
    d = {
        "kind": "work", "bucket": "catalog", "prefix": "skus/", "mode": "tag", "run_id": "r1", "force": False,
        "page": 3, "chunk": 2, "objects": [{"key": "skus/a.jpg", "size": 10}],
    }  # fmt: skip
    d.update(kw)
    return json.dumps(d)


def test_work_round_trips_and_names_its_part():
    m = parse_message(work_body(), RULES)
    assert isinstance(m, Work) and m.objects == (WorkItem("skus/a.jpg", 10),)
    assert m.part_name == "p000003-c0002"
    assert parse_message(encode(m), RULES) == m


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"objects": []}, "objects must hold"),
        ({"objects": [{"key": "skus/a.jpg", "size": 1, "etag": "x"}]}, "unknown field"),
        ({"objects": [{"key": "other/a.jpg", "size": 1}]}, "outside the run's prefix"),
        ({"objects": [{"key": "skus/a.jpg", "size": -1}]}, "size >= 0"),
        ({"objects": [{"key": "skus/a.jpg", "size": "1"}]}, "must be an integer"),
        ({"objects": ["skus/a.jpg"]}, "must be an object"),
        ({"page": True}, "must be an integer"),
        ({"page": 0}, "page must be >= 1"),
        ({"chunk": -1}, "chunk must be >= 0"),
        ({"token": "t"}, "unknown field"),
        ({"bucket": "elsewhere"}, "allow-list"),
    ],
)
def test_work_errors(kw, words):
    with pytest.raises(MessageError, match=words):
        parse_message(work_body(**kw), RULES)


def test_work_with_empty_prefix_still_refuses_reserved_keys():
    with pytest.raises(MessageError, match="outside"):
        parse_message(work_body(prefix="", objects=[{"key": "reports/backfill/x/parts/p.jsonl", "size": 1}]), RULES)


def test_continuation_round_trips_and_validates():
    scope = Scope("catalog", "skus/", Mode.TAG, "r1", True)
    c = Listing(scope, page=2, token="tok==")
    assert c.kind is Kind.CONTINUATION
    assert parse_message(encode(c), RULES) == c
    body = json.loads(encode(c))
    for bad, words in (({"page": 1}, "page 2 or later"), ({"token": ""}, "token"), ({"objects": []}, "unknown field")):
        with pytest.raises(MessageError, match=words):
            parse_message(json.dumps({**body, **bad}), RULES)


keys = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    prefix=st.sampled_from(["", "skus/", "ü/ñ "]),
    names=st.lists(keys, min_size=1, max_size=5),
    mode=st.sampled_from([Mode.TAG]),
    force=st.booleans(),
    page=st.integers(1, 10**6),
    chunk=st.integers(0, 10**4),
)
def test_any_valid_work_message_round_trips(prefix, names, mode, force, page, chunk):
    objs = tuple(WorkItem(prefix + n, i) for i, n in enumerate(names) if not (prefix + n).startswith("reports/"))
    if not objs:
        return
    w = Work(Scope("catalog", prefix, mode, "run-1", force), page, chunk, objs)
    assert parse_message(encode(w), RULES) == w
