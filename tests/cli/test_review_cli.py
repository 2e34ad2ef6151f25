"""`screener review` as a catalog team member runs it, against a moto S3."""
from __future__ import annotations

import json

from screener_cli.main import main
from tests.fixtures import images
from tests.fixtures.s3 import BUCKET, keys

WAITING = {
    "review/catalog/oak chair.jpg": "screen:verdict=review&screen:reasons=background&screen:background=other:0.64"
                                    "&screen:angle=front:0.86&screen:crop=0.90&screen:quality=0.80",
    "review/catalog/lamp - blurred.jpg": "screen:verdict=review&screen:reasons=quality"
                                         "&screen:scores=bg%3Dwhite:0.99 angle%3Dside:0.7 crop%3D0.95 quality%3D0.31",
}


def _fill(s3) -> None:
    for key, tagging in WAITING.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=images.good_jpeg(), ContentType="image/jpeg", Tagging=tagging)


def test_list_shows_each_waiting_photo_with_its_reasons_and_labels(s3, capsys):
    _fill(s3)
    assert main(["review", "list", "--bucket", BUCKET]) == 0
    out = capsys.readouterr().out
    assert "review/catalog/oak chair.jpg" in out and "other:0.64 | front:0.86 | 0.90 | 0.80" in out
    assert "white:0.99 | side:0.7 | 0.95 | 0.31" in out and out.count("waiting\n") == 2


def test_approve_publishes_reject_marks_and_list_pending_shows_what_is_left(s3, capsys):
    _fill(s3)
    assert main(["review", "approve", "--bucket", BUCKET, "--by", "alice", "--note", "grey is on brand",
                 "review/catalog/oak chair.jpg"]) == 0
    assert "approved       review/catalog/oak chair.jpg -> approved/catalog/oak chair.jpg" in capsys.readouterr().out
    assert keys(s3) == ["approved/catalog/oak chair.jpg", "review/catalog/lamp - blurred.jpg"]
    main(["review", "list", "--bucket", BUCKET, "--json"])
    [row] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert row["key"] == "review/catalog/lamp - blurred.jpg" and row["reasons"] == ["quality"] and row["decision"] is None
    assert row["since"].endswith("+00:00")

    assert main(["review", "reject", "--bucket", BUCKET, "--by", "bob", "review/catalog/lamp - blurred.jpg"]) == 0
    capsys.readouterr()
    assert main(["review", "list", "--bucket", BUCKET, "--pending", "--json"]) == 0
    assert capsys.readouterr().out == ""  # nothing left to decide
    main(["review", "list", "--bucket", BUCKET, "--json"])
    [row] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert row["decision"].startswith("rejected by bob at ")


def test_a_key_that_cannot_be_decided_fails_the_command_and_says_why(s3, capsys):
    _fill(s3)
    rc = main(["review", "approve", "--bucket", BUCKET, "--by", "alice",
               "review/catalog/nope.jpg", "approved/x.jpg", "review/catalog/oak chair.jpg"])
    err = capsys.readouterr().err
    assert rc == 1 and "missing" in err and "not-in-review" in err
    assert "approved/catalog/oak chair.jpg" in keys(s3)  # the good key in the same call went through


def test_a_decision_without_a_usable_name_is_refused(s3, capsys):
    _fill(s3)
    assert main(["review", "reject", "--bucket", BUCKET, "--by", "  ", "review/catalog/oak chair.jpg"]) == 2
    assert "reviewer's name" in capsys.readouterr().err
    assert "review/catalog/oak chair.jpg" in keys(s3)
