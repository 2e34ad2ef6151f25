from __future__ import annotations

import numpy as np

from model_build import categories


def test_every_imagenet_class_in_exactly_one_group():
    m = categories.grouping_matrix()
    assert m.shape == (1000, len(categories.LABELS))
    assert np.all(m.sum(1) == 1)
    idx = categories.group_indices()
    assert sorted(i for v in idx.values() for i in v) == list(range(1000))


def test_grouping_places_known_classes():
    idx = categories.group_indices()
    assert 831 in idx["furniture"]  # studio couch
    assert 846 in idx["lighting"]  # table lamp
    assert 883 in idx["home_decor"]  # vase
    assert 721 in idx["textiles"]  # pillow
    assert 967 in idx["kitchen_tableware"]  # espresso
    assert 285 in idx["other"]  # Egyptian cat


def test_markdown_table_lists_every_group():
    table = categories.markdown_table()
    for label in categories.LABELS:
        assert f"| {label} |" in table
