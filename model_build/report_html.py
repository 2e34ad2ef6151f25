"""report/index.html: every figure and table of the evaluation on one self-contained page."""
from __future__ import annotations

import html
import json

HEAD_FIGS = ("background", "angle", "crop", "quality")


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _num(v, nd=3) -> str:
    return "—" if v is None else f"{v:.{nd}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _head_rows(sets: dict) -> list[list[str]]:
    rows = []
    fields = [
        ("background accuracy", lambda m: _pct(m["background"]["accuracy"])),
        ("angle accuracy", lambda m: _pct(m["angle"]["accuracy"])),
        ("crop F1 (adequate)", lambda m: _num(m["crop"]["f1"])),
        ("crop F1 (defect)", lambda m: _num(m["crop"]["f1_defect"])),
        ("quality MAE", lambda m: _num(m["quality"]["mae"])),
        ("quality AUC good vs poor", lambda m: _num(m["quality"]["auc_good_vs_poor"])),
        ("background ECE", lambda m: _num(m["background"]["calibration"]["ece"])),
        ("angle ECE", lambda m: _num(m["angle"]["calibration"]["ece"])),
        ("crop ECE", lambda m: _num(m["crop"]["calibration"]["ece"])),
    ]
    for label, get in fields:
        row = [label]
        for e in sets.values():
            row.append(get(e["int8"]))
            row.append(get(e["fp32"]) if "fp32" in e else "—")
        rows.append(row)
    return rows


def render_index(r: dict) -> str:
    sets = r["sets"]
    names = list(sets)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>product-photo-qa evaluation</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}.met{color:#070}.missed{color:#b00;font-weight:bold}"
        "img{max-width:100%;border:1px solid #eee;margin:4px}</style></head><body>",
        f"<h1>{html.escape(r.get('model_id', 'model'))}: evaluation</h1>",
        f"<p>{html.escape(r.get('note', ''))}</p>",
    ]
    if r.get("targets"):
        rows = [[html.escape(t["figure"]), html.escape(t["target"]), _num(t["measured"], 4),
                 f"{_num(t['ci95'][0], 4)} – {_num(t['ci95'][1], 4)}" if "ci95" in t else "",
                 f"<span class='{'met' if t['met'] else 'missed'}'>{'met' if t['met'] else 'MISSED'}</span>"
                 + (" (whole interval)" if t.get("certain") else " (not the whole interval)" if t["met"] and "ci95" in t else "")]
                for t in r["targets"]]
        parts += ["<h2>Targets (shifted held-out set, INT8)</h2>",
                  "<p>95 % Wilson intervals for the proportions: a few hundred held-out photos leave wide margins.</p>",
                  _table(["figure", "target", "measured", "95 % interval", ""], rows)]
    header = ["metric"] + [f"{n} {k}" for n in names for k in ("INT8", "fp32")]
    parts += ["<h2>Per-head metrics: in-distribution vs shifted</h2>", _table(header, _head_rows(sets))]
    drows = []
    for n, e in sets.items():
        if "delta_int8_minus_fp32" in e:
            d = e["delta_int8_minus_fp32"]
            drows.append([n] + [_num(100 * d[k], 2) for k in ("background_acc", "angle_acc", "crop_f1", "quality_mae", "quality_auc")]
                         + [_num(max(e["max_abs_diff_int8_vs_fp32"].values()), 4), _pct(e["category_top1_agreement_int8_vs_fp32"])])
    if drows:
        parts += ["<h2>INT8 minus fp32 (points)</h2>",
                  _table(["set", "background acc", "angle acc", "crop F1", "quality MAE", "quality AUC", "max |Δ| any output", "category top-1 agreement"], drows)]
    op = r.get("operating_point", {})
    parts += ["<h2>Approval policy</h2>",
              "<p>Compliant = background in {white, lifestyle}, angle in {front, side, angle}, cropping adequate, "
              "quality ≥ 0.5 (screener.policy.Policy defaults). Auto-approve rate = approved compliant / compliant; "
              "false-approve rate = approved non-compliant / non-compliant. Thresholds were chosen on "
              f"{html.escape(str(op.get('selected_on', 'a validation set')))}, not on the sets below.</p>",
              f"<p>Thresholds: <code>{html.escape(json.dumps(r.get('thresholds', {})))}</code></p>"]
    half = op.get("validation_split_half")
    if half:  # builds since 1.6.0 record how the choice carries to photos it was not fitted on
        parts.append(f"<p>The same choice fitted on half the validation set and scored on the other half "
                     f"({half['splits']} random splits): false-approve {_pct(half['held_out_false_approve']['mean'])} "
                     f"on average (90th percentile {_pct(half['held_out_false_approve']['p90'])}), auto-approve "
                     f"{_pct(half['held_out_auto_approve']['mean'])}. The validation rate itself is fitted to a few "
                     f"photos and flatters.</p>")
    arows = []
    for n, e in sets.items():
        p = e["approval"]["operating_point"]
        p32 = e.get("approval_fp32")
        arows.append([n, str(e["approval"]["n"]), str(e["approval"]["compliant"]), _pct(p["auto_approve"]), _pct(p["false_approve"]),
                      _pct(p["approved_bad_share"]), _pct(p32["auto_approve"]) if p32 else "—", _pct(p32["false_approve"]) if p32 else "—"])
    parts.append(_table(["set", "photos", "compliant", "auto-approve (INT8)", "false-approve (INT8)", "bad share of approved",
                         "auto-approve (fp32)", "false-approve (fp32)"], arows))
    figs = r.get("figures", {})
    if "approval" in figs:
        parts.append(f"<img src='{figs['approval']}' alt='approval curve'>")
    parts.append("<h2>Confusion matrices and calibration (INT8)</h2>")
    for h in HEAD_FIGS:
        for kind in ("confusion", "calibration"):
            key = f"{kind}_{h}"
            if key in figs:
                parts.append(f"<img src='{figs[key]}' alt='{key}'>")
    if r.get("latency_ms"):
        lat = r["latency_ms"]
        parts += ["<h2>Latency (batch 1, 1 intra-op thread, serving session options)</h2>",
                  _table(["model", "median ms", "p90 ms", "runs"],
                         [[k, _num(v["median"], 2), _num(v["p90"], 2), str(v["runs"])] for k, v in lat.items()])]
    if r.get("quantization"):
        q = r["quantization"]
        qrows = [[html.escape(k), _num(v.get("size_mb"), 2), _num(v.get("latency_ms"), 2), _num(v.get("worst_drop_points"), 2),
                  _num(v.get("max_abs_diff"), 4)] for k, v in q.get("variants", {}).items()]
        parts += ["<h2>Quantisation: what stays fp32 (measured on the validation set)</h2>",
                  _table(["kept fp32", "size MB", "latency ms", "worst per-head drop (points)", "max |Δ| vs fp32"], qrows),
                  f"<p>Chosen: <b>{html.escape(str(q.get('chosen')))}</b>. {html.escape(str(q.get('rule', '')))}</p>"]
    for n, e in sets.items():
        for key, groups in e.get("slices", {}).items():
            rows = [[html.escape(g), str(v["n"]), _pct(v["background_acc"]), _pct(v["angle_acc"]), _pct(v["crop_acc"])] for g, v in groups.items()]
            parts += [f"<h3>{html.escape(n)}: by {html.escape(key)} (INT8)</h3>",
                      _table([key, "n", "background acc", "angle acc", "crop acc"], rows)]
    if r.get("real_photos"):
        rows = [[html.escape(x["photo"]), f"{x['background']} ({x['p_background']:.2f})", f"{x['angle']} ({x['p_angle']:.2f})",
                 _num(x["crop_ok"], 2), _num(x["quality"], 2), f"{x['category']} ({x['p_category']:.2f})",
                 html.escape(x["verdict"] + (": " + ", ".join(x["reasons"]) if x["reasons"] else "")),
                 "yes" if x["background_not_white"] else "<span class='missed'>no</span>"] for x in r["real_photos"]]
        parts += ["<h2>Sanity: real photographs (skimage, matplotlib)</h2>",
                  "<p>None of these is a white-studio product shot; the background should not come out white.</p>",
                  _table(["photo", "background", "angle", "P(crop ok)", "quality", "category", "verdict", "not white?"], rows)]
    parts.append("</body></html>")
    return "\n".join(parts)
