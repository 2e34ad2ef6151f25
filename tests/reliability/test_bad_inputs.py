"""The bad-input matrix (matrix.py) through the real handler, on moto.

Every input gets its verdict and exactly its named reasons, ends under review/ (or approved/ for
legitimate photos in awkward encodings) with its bytes and headers intact, is never lost or
duplicated, and the container stays healthy for the next photo. Decoding and downloading are
observed, not assumed: a spy on ``decode_rgb`` records every decode (and hands the test the
pixels the model saw), and the handler's S3 client records every call.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import screener.screening as screening
from tests.fixtures import images
from tests.reliability import matrix
from tests.reliability.conftest import Lambda

ROOT = Path(__file__).resolve().parents[2]


def destination(key: str, verdict: str) -> str:
    return ("approved/" if verdict == "approved" else "review/") + key[len("incoming/"):]


@pytest.fixture()
def decoded(monkeypatch) -> list:
    """Every decode_rgb call: the decoded image, or the exception it raised."""
    seen: list = []
    real = screening.decode_rgb

    def spy(im, min_side):
        try:
            out = real(im, min_side)
        except Exception as e:
            seen.append(e)
            raise
        seen.append(out)
        return out

    monkeypatch.setattr(screening, "decode_rgb", spy)
    return seen


def put_case(store, case: matrix.Case) -> bytes:
    data = case.data()
    store.put(case.key, data, **({"ContentType": case.content_type} if case.content_type else {}))
    return data


@pytest.mark.parametrize("case", matrix.CASES, ids=lambda c: c.id)
def test_bad_input(case, moto_store, handler_env, decoded):
    handler_env.setenv("MAX_IMAGE_BYTES", str(matrix.MAX_BYTES))
    data = put_case(moto_store, case)
    fn = Lambda(wrap=moto_store.wrap)
    [rec] = fn(moto_store.event(case.key))["records"]

    assert rec["key"] == case.key  # decoded once, exactly as uploaded
    assert (rec["outcome"], rec["verdict"], tuple(rec["reasons"])) == ("moved", case.verdict, case.reasons)
    dest = destination(case.key, case.verdict)
    assert rec["destination"] == dest and len(dest.encode()) <= matrix.S3_MAX_KEY_BYTES
    assert moto_store.keys() == [dest]  # nothing left in incoming/, one copy, nothing else
    assert moto_store.body(dest) == data
    head = moto_store.client.head_object(Bucket=moto_store.bucket, Key=dest)
    if case.content_type:
        assert head["ContentType"] == case.content_type
    tags = moto_store.tags(dest)
    assert tags["screen:verdict"] == case.verdict
    assert tags["screen:reasons"] == (" ".join(case.reasons) or "none")

    gets = [kw for op, kw in fn.wrapped.calls if op == "get_object"]
    assert bool(gets) == case.downloaded, f"GetObject calls: {len(gets)}"
    assert bool(decoded) == case.decoded, f"decode_rgb calls: {decoded}"
    if case.check is not None:
        case.check(decoded[-1])


def test_the_whole_matrix_in_one_event_leaves_the_container_healthy(moto_store, handler_env):
    """One S3 event carrying every bad input, then a good photo, in one container: every record
    is processed, none is lost, and the photo after them is screened normally."""
    handler_env.setenv("MAX_IMAGE_BYTES", str(matrix.MAX_BYTES))
    for case in matrix.CASES:
        put_case(moto_store, case)
    after = "incoming/zz/the photo after all that.jpg"
    moto_store.put(after, images.good_jpeg(seed=3), ContentType="image/jpeg")
    fn = Lambda()
    out = fn(moto_store.event(*[c.key for c in matrix.CASES], after))["records"]
    assert [r["outcome"] for r in out] == ["moved"] * (len(matrix.CASES) + 1)
    assert [tuple(r["reasons"]) for r in out[:-1]] == [c.reasons for c in matrix.CASES]
    assert out[-1]["verdict"] == "approved"
    assert moto_store.keys("incoming/") == []
    assert len(moto_store.keys()) == len(matrix.CASES) + 1
    # And the same container keeps serving: a second invocation.
    again = "incoming/zz/next invocation.jpg"
    moto_store.put(again, images.good_jpeg(seed=4))
    assert fn(moto_store.event(again))["records"][0]["verdict"] == "approved"


def _peak_rss_reset() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (peak RSS) to the current RSS
        return True
    except OSError:
        return False


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def test_a_decompression_bomb_costs_no_memory(moto_store, handler_env, decoded):
    """The 40,000 x 40,000 PNG would need 1.6 GB as 8-bit gray and 4.8 GB as RGB. Refused from
    the header: the process's peak RSS barely moves."""
    bomb = matrix.by_id("bomb-40k")
    put_case(moto_store, bomb)
    fn = Lambda()
    fn.app.dependencies()  # the model load is not what is measured
    if not _peak_rss_reset():
        pytest.skip("cannot reset the peak RSS counter here")
    before = _rss_kb("VmRSS")
    [rec] = fn(moto_store.event(bomb.key))["records"]
    grew_mb = (_rss_kb("VmHWM") - before) / 1024
    assert rec["reasons"] == ["decompression-bomb"] and decoded == []
    assert grew_mb < 64, f"peak RSS grew {grew_mb:.0f} MB while refusing a bomb"


def test_reliability_md_carries_the_matrix_verbatim():
    text = (ROOT / "RELIABILITY.md").read_text()
    assert matrix.render() in text, "RELIABILITY.md is out of date: paste `python -m tests.reliability.matrix`"
