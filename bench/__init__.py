"""Speed benchmarks (issue 6): ``python -m bench`` (make bench) and ``python -m bench.layer``
(make layer-size). Figures only, never pass/fail on timing; see bench/__main__.py."""
