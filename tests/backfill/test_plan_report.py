"""Fan-out planning and report aggregation (pure)."""
from __future__ import annotations

import csv
import io
import json

import pytest

from screener.backfill.messages import MAX_BODY_BYTES, Listing, Mode, Rules, Scope, parse_message
from screener.backfill.plan import Entry, batches, entries_for, plan_page
from screener.backfill.report import (
    ObjectResult,
    PageMarker,
    Status,
    Timings,
    aggregate,
    decode_part,
    encode_part,
    progress,
    to_csv,
    to_html,
    verdict_chart_svg,
)

RULES = Rules(buckets=frozenset({"catalog"}))
SCOPE = Scope("catalog", "skus/", Mode.TAG, "r1", False)


def contents(n, prefix="skus/"):
    return [{"Key": f"{prefix}{i:05d}.jpg", "Size": 100 + i} for i in range(n)]


def test_page_fans_out_in_chunks_of_n_with_a_continuation():
    plan = plan_page(Listing(SCOPE), contents(23), "tok", keys_per_message=10, rules=RULES)
    assert [len(w.objects) for w in plan.work] == [10, 10, 3]
    assert [w.chunk for w in plan.work] == [0, 1, 2]
    assert plan.listed == 23
    assert plan.next == Listing(SCOPE, page=2, token="tok")
    # Every planned key appears exactly once, in listing order.
    assert [o.key for w in plan.work for o in w.objects] == [c["Key"] for c in contents(23)]
    # Every planned message is itself valid.
    for e in entries_for(plan):
        assert parse_message(e.body, RULES) is not None


def test_last_page_has_no_continuation_and_ignores_markers_and_reports():
    page = contents(2) + [{"Key": "skus/folder/", "Size": 0}]
    plan = plan_page(Listing(SCOPE, page=4, token="t"), page, None, 10, RULES)
    assert plan.next is None and plan.listed == 2 and plan.ignored == ("skus/folder/",)
    everything = Listing(Scope("catalog", "", Mode.TAG, "r1", False))
    plan = plan_page(everything, contents(1, "") + [{"Key": "reports/backfill/r0/parts/p.jsonl", "Size": 5}], None, 10, RULES)
    assert plan.listed == 1 and plan.ignored == ("reports/backfill/r0/parts/p.jsonl",)


def test_empty_page_plans_nothing_but_still_continues():
    plan = plan_page(Listing(SCOPE), [], "tok", 10, RULES)
    assert plan.work == () and plan.next is not None


def test_replanning_a_page_is_identical():
    a = plan_page(Listing(SCOPE, 3, "t"), contents(57), "u", 25, RULES)
    b = plan_page(Listing(SCOPE, 3, "t"), contents(57), "u", 25, RULES)
    assert a == b and [w.part_name for w in a.work] == ["p000003-c0000", "p000003-c0001", "p000003-c0002"]


def test_batches_respect_ten_entries_and_payload_size():
    es = [Entry(f"c{i}", "x" * 100) for i in range(23)]
    assert [len(b) for b in batches(es)] == [10, 10, 3]
    big = [Entry(f"c{i}", "x" * 100_000) for i in range(5)]
    out = batches(big)
    assert all(sum(len(e.body) for e in b) <= MAX_BODY_BYTES for b in out)
    assert [e.id for b in out for e in b] == [e.id for e in big]
    with pytest.raises(ValueError):
        batches([Entry("x", "x" * (MAX_BODY_BYTES + 1))])


def test_worst_case_work_message_fits_one_sqs_message():
    long_keys = [{"Key": "skus/" + "k" * 1010 + f"{i:05d}", "Size": 1} for i in range(100)]
    plan = plan_page(Listing(SCOPE), long_keys, None, 100, RULES)
    (entry,) = entries_for(plan)
    assert len(entry.body.encode()) <= MAX_BODY_BYTES


def row(key, verdict="approved", reasons=(), status=Status.SCREENED, cat="shoes", total=10.0):
    return ObjectResult(key, status, 1000, verdict, tuple(reasons), cat, "m@1", None, Timings(fetch=total / 2, decode=total / 4, infer=total / 4))


def test_part_round_trip():
    rows = [row("skus/ü 1.jpg", "review", ["background", "crop"]), row("skus/2.jpg"), ObjectResult("skus/3.jpg", Status.MISSING)]
    assert decode_part(encode_part(rows)) == rows


def test_aggregate_counts_and_dedupes_redelivered_parts():
    rows = [
        row("a", "review", ["background"], cat="bags", total=50),
        row("b", total=5),
        row("c", "review", ["background", "quality"], total=30),
        row("a", "review", ["background"], cat="bags", total=50),  # a redelivery's duplicate line
        row("d", "approved", status=Status.SKIPPED, total=0),
        ObjectResult("e", Status.MISSING),
    ]
    s = aggregate("r1", rows, slowest=2)
    assert s.total == 5
    assert s.by_verdict == {"approved": 2, "review": 2}
    assert s.by_reason == {"background": 2, "quality": 1}
    assert s.by_category == {"shoes": 3, "bags": 1}
    assert s.by_status == {"screened": 3, "missing": 1, "skipped": 1}
    assert [r.key for r in s.slowest] == ["a", "c"]
    assert s.median_ms["total"] == 30.0


def test_csv_has_one_row_per_object():
    rows = [row("b"), row("a", "review", ["crop", "angle"]), row("a", "review", ["crop", "angle"])]
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert [r["key"] for r in parsed] == ["a", "b"]
    assert parsed[0]["reasons"] == "crop;angle" and parsed[0]["verdict"] == "review"


def test_html_escapes_keys_and_embeds_thumbnails_and_chart():
    bad = row("<script>x</script>.jpg", "review", ["background"])
    s = aggregate("r1", [bad, row("ok.jpg")])
    page = to_html(s, [bad], {bad.key: "data:image/jpeg;base64,AAAA"})
    assert "<script>x" not in page and "&lt;script&gt;" in page
    assert 'src="data:image/jpeg;base64,AAAA"' in page and "<svg" in page
    assert "review" in verdict_chart_svg({"approved": 3, "review": 1})


def test_progress_is_final_only_when_the_last_page_is_listed_and_all_done():
    markers = [PageMarker(1, 3, False, "m1"), PageMarker(2, 2, True, "m2"), PageMarker(2, 2, True, "m2")]
    p = progress(markers, [row("a"), row("b", "review"), row("b", "review")])
    assert (p.listed, p.done, p.pages, p.listing_complete, p.finished) == (5, 2, 2, True, False)
    assert p.by_verdict == {"approved": 1, "review": 1}
    p = progress(markers, [row(k) for k in "abcde"])
    assert p.finished
    assert json.loads(PageMarker(1, 3, True, "m").to_bytes())["last"] is True
    assert PageMarker.from_bytes(PageMarker(1, 3, True, "m").to_bytes()) == PageMarker(1, 3, True, "m")
