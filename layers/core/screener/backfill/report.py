"""What a backfill writes, and how it is read back. Pure: bytes and rows in, rows and text out.

Layout under the screened bucket (the function may write nowhere else)::

    reports/backfill/<run_id>/pages/p000001.json         one per listed page: how many objects it fanned out
    reports/backfill/<run_id>/parts/p000001-c0000.jsonl  one per work message: one ObjectResult per line

Names derive from (page, chunk), so a redelivered message overwrites its own files and never
double-counts. ``progress`` and ``aggregate`` read these back for ``screener backfill status``
and ``screener backfill report``.
"""
from __future__ import annotations

import csv
import html
import io
import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping, Sequence

REPORTS_ROOT = "reports/backfill/"


def run_root(run_id: str) -> str:
    return f"{REPORTS_ROOT}{run_id}/"


def page_key(run_id: str, page: int) -> str:
    return f"{run_root(run_id)}pages/p{page:06d}.json"


def part_key(run_id: str, part_name: str) -> str:
    return f"{run_root(run_id)}parts/{part_name}.jsonl"


class Status(str, Enum):
    SCREENED = "screened"  # fetched, screened and tagged (and moved, in move mode) by this run
    SKIPPED = "skipped"  # already tagged by this model version: verdict read back from its tags
    MISSING = "missing"  # gone between listing and fetch (deleted, or moved by another path)
    # Re-uploaded during screening: the move's ETag condition refused it, or (tag mode, unversioned)
    # the key held other bytes after tagging. Either way the new bytes carry no verdict: a later run screens them.
    CHANGED = "changed"


@dataclass(frozen=True)
class Timings:
    """Milliseconds per stage for one object.

    fetch: HEAD + tags + GET; decode: header and pixels; prepare: resize and quality statistics;
    infer: the ONNX session; tag: PutObjectTagging (tag mode); move: copy + delete (move mode).
    """

    fetch: float = 0.0
    decode: float = 0.0
    prepare: float = 0.0
    infer: float = 0.0
    tag: float = 0.0
    move: float = 0.0

    @property
    def total(self) -> float:
        return self.fetch + self.decode + self.prepare + self.infer + self.tag + self.move


STAGES = ("fetch", "decode", "prepare", "infer", "tag", "move")


@dataclass(frozen=True)
class ObjectResult:
    key: str
    status: Status
    size: int = 0
    verdict: str | None = None  # "approved" | "review"
    reasons: tuple[str, ...] = ()
    category: str | None = None
    model: str | None = None  # name@version that produced the verdict
    destination: str | None = None  # move mode: the key it now lives under
    timings: Timings = field(default_factory=Timings)

    def to_json(self) -> str:
        d = asdict(self)
        d["status"] = self.status.value
        d["reasons"] = list(self.reasons)
        d["timings"] = {k: round(v, 2) for k, v in d["timings"].items()}
        return json.dumps(d, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> "ObjectResult":
        d = json.loads(line)
        return cls(
            key=d["key"],
            status=Status(d["status"]),
            size=int(d.get("size", 0)),
            verdict=d.get("verdict"),
            reasons=tuple(d.get("reasons", ())),
            category=d.get("category"),
            model=d.get("model"),
            destination=d.get("destination"),
            timings=Timings(**{k: float(v) for k, v in d.get("timings", {}).items() if k in STAGES}),
        )


def encode_part(results: Iterable[ObjectResult]) -> bytes:
    return "".join(r.to_json() + "\n" for r in results).encode("utf-8")


def decode_part(data: bytes) -> list[ObjectResult]:
    return [ObjectResult.from_json(line) for line in data.decode("utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class PageMarker:
    """Written once a page's work messages are all on the queue; ``last`` when listing is complete."""

    page: int
    listed: int
    last: bool
    message_id: str  # the SQS message that fanned the page out (see fanout.py's duplicate guard)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "PageMarker":
        d = json.loads(data)
        return cls(page=int(d["page"]), listed=int(d["listed"]), last=bool(d["last"]), message_id=str(d["message_id"]))


@dataclass(frozen=True)
class Progress:
    listed: int  # objects fanned out so far
    done: int  # objects with a result line
    pages: int
    listing_complete: bool  # the last page has been listed: ``listed`` is final
    by_verdict: Mapping[str, int]
    by_status: Mapping[str, int]

    @property
    def finished(self) -> bool:
        return self.listing_complete and self.done >= self.listed


def progress(markers: Iterable[PageMarker], results: Iterable[ObjectResult]) -> Progress:
    ms = {m.page: m for m in markers}
    rows = dedupe(results)
    return Progress(
        listed=sum(m.listed for m in ms.values()),
        done=len(rows),
        pages=len(ms),
        listing_complete=any(m.last for m in ms.values()),
        by_verdict=dict(Counter(r.verdict or "none" for r in rows)),
        by_status=dict(Counter(r.status.value for r in rows)),
    )


def dedupe(results: Iterable[ObjectResult]) -> list[ObjectResult]:
    """One row per key (the last one read wins), so overlapping parts never double-count."""
    return list({r.key: r for r in results}.values())


@dataclass(frozen=True)
class Summary:
    run_id: str
    total: int
    by_status: Mapping[str, int]
    by_verdict: Mapping[str, int]
    by_reason: Mapping[str, int]
    by_category: Mapping[str, int]
    median_ms: Mapping[str, float]  # per stage, over objects screened by this run
    slowest: tuple[ObjectResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "total": self.total,
            "by_status": dict(self.by_status),
            "by_verdict": dict(self.by_verdict),
            "by_reason": dict(self.by_reason),
            "by_category": dict(self.by_category),
            "median_ms": dict(self.median_ms),
            "slowest": [{"key": r.key, "total_ms": round(r.timings.total, 1), "size": r.size} for r in self.slowest],
        }


def aggregate(run_id: str, results: Iterable[ObjectResult], slowest: int = 10) -> Summary:
    rows = dedupe(results)
    screened = [r for r in rows if r.status is Status.SCREENED]
    median_ms = {}
    for stage in STAGES + ("total",):
        vals = [getattr(r.timings, stage) for r in screened]
        median_ms[stage] = round(statistics.median(vals), 2) if vals else 0.0
    return Summary(
        run_id=run_id,
        total=len(rows),
        by_status=_sorted_counts(r.status.value for r in rows),
        by_verdict=_sorted_counts(r.verdict for r in rows if r.verdict),
        by_reason=_sorted_counts(reason for r in rows for reason in r.reasons),
        by_category=_sorted_counts(r.category or "unknown" for r in rows if r.verdict),
        median_ms=median_ms,
        slowest=tuple(sorted(screened, key=lambda r: r.timings.total, reverse=True)[:slowest]),
    )


def _sorted_counts(items: Iterable[Any]) -> dict[str, int]:
    return dict(sorted(Counter(items).items(), key=lambda kv: (-kv[1], kv[0])))


CSV_COLUMNS = ("key", "status", "verdict", "reasons", "category", "model", "destination", "size") + tuple(f"{s}_ms" for s in STAGES)


def to_csv(results: Iterable[ObjectResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in sorted(dedupe(results), key=lambda r: r.key):
        w.writerow(
            [r.key, r.status.value, r.verdict or "", ";".join(r.reasons), r.category or "", r.model or "", r.destination or "", r.size]
            + [f"{getattr(r.timings, s):.1f}" for s in STAGES]
        )
    return buf.getvalue()


def summary_text(s: Summary) -> str:
    def block(title: str, counts: Mapping[str, int]) -> list[str]:
        lines = [f"{title}:"]
        lines += [f"  {k:<24} {v:>8}" for k, v in counts.items()] or ["  (none)"]
        return lines

    out = [f"backfill run {s.run_id}: {s.total} objects"]
    out += block("by status", s.by_status) + block("by verdict", s.by_verdict)
    out += block("by reason", s.by_reason) + block("by category", s.by_category)
    out.append("median ms per object screened: " + ", ".join(f"{k} {v:.1f}" for k, v in s.median_ms.items()))
    out.append("slowest:")
    out += [f"  {r.timings.total:8.1f} ms  {r.size:>9} B  {r.key}" for r in s.slowest] or ["  (none)"]
    return "\n".join(out)


_COLORS = {"approved": "#2e7d32", "review": "#c62828"}


def verdict_chart_svg(by_verdict: Mapping[str, int], width: int = 420) -> str:
    """A horizontal bar chart as inline SVG: the page stays one self-contained file."""
    total = max(sum(by_verdict.values()), 1)
    row = 28
    bars = []
    for i, (label, n) in enumerate(by_verdict.items()):
        w = round((width - 170) * n / total)
        y = i * row + 4
        bars.append(
            f'<text x="0" y="{y + 15}" font-size="13">{html.escape(label)}</text>'
            f'<rect x="80" y="{y}" width="{w}" height="20" fill="{_COLORS.get(label, "#555")}"/>'
            f'<text x="{86 + w}" y="{y + 15}" font-size="13">{n} ({100 * n / total:.1f}%)</text>'
        )
    h = max(len(by_verdict), 1) * row + 8
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" role="img" aria-label="verdicts">{"".join(bars)}</svg>'


def to_html(s: Summary, review: Sequence[ObjectResult], thumbnails: Mapping[str, str]) -> str:
    """The report page. ``thumbnails`` maps a key to a data: URI (see thumbs.py)."""

    def table(title: str, counts: Mapping[str, int]) -> str:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in counts.items())
        return f"<h3>{title}</h3><table>{rows or '<tr><td>(none)</td></tr>'}</table>"

    cards = []
    for r in review:
        img = thumbnails.get(r.key)
        pic = f'<img src="{img}" alt="">' if img else '<div class="noimg">no preview</div>'
        cards.append(
            f'<figure>{pic}<figcaption><b>{html.escape(", ".join(r.reasons) or "review")}</b><br>'
            f"{html.escape(r.key)}<br><small>{html.escape(r.category or '')}</small></figcaption></figure>"
        )
    medians = ", ".join(f"{k} {v:.1f} ms" for k, v in s.median_ms.items())
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Backfill {html.escape(s.run_id)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;margin-bottom:1em}}
td{{border:1px solid #ccc;padding:2px 8px}} .grid{{display:flex;flex-wrap:wrap;gap:12px}}
figure{{width:180px;margin:0;font-size:12px;word-break:break-all}} img,.noimg{{width:180px;height:180px;object-fit:contain;background:#f4f4f4}}
.cols{{display:flex;gap:3em;flex-wrap:wrap}}
</style></head><body>
<h1>Backfill run {html.escape(s.run_id)}</h1>
<p>{s.total} objects. Median per screened object: {medians}.</p>
<h2>Verdicts</h2>{verdict_chart_svg(s.by_verdict)}
<div class="cols">{table("By status", s.by_status)}{table("By reason", s.by_reason)}{table("By category", s.by_category)}</div>
<h2>Needs review ({s.by_verdict.get("review", 0)}; {len(review)} shown)</h2>
<div class="grid">{"".join(cards)}</div>
</body></html>
"""
