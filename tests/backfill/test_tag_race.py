"""Tag mode in an unversioned bucket: a photo replaced while it was being screened.

PutObjectTagging takes no ETag condition, so the verdict can land on bytes nobody screened. The
worker HEADs the key after tagging; these tests replace the photo just before and just after the
tagging call (moto, real S3Objects) and check that no verdict is left on the new bytes and that
the next run screens them instead of skipping them.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from screener.backfill import worker
from screener.backfill.messages import Mode, Rules, Scope, Work, WorkItem
from screener.backfill.report import Status
from screener.s3_objects import S3Objects
from screener.tags import NAMESPACE
from tests.fixtures.images import dark_jpeg, good_jpeg
from tests.fixtures.s3 import BUCKET

KEY = "catalog/sku-1.jpg"
NEW_TAGS = "owner=studio"  # the replacement's own tags, as its uploader sent them


class ReplacedAroundTagging(S3Objects):
    """Replaces the photo once, just before or just after the first PutObjectTagging."""

    def __init__(self, client, when: str):
        super().__init__(client)
        self.when = when

    def put_tags(self, bucket, key, tags, version_id=None):
        replace_now, self.when = self.when, ""
        if replace_now == "before":
            self.client.put_object(Bucket=bucket, Key=key, Body=dark_jpeg(), Tagging=NEW_TAGS)
        super().put_tags(bucket, key, tags, version_id)
        if replace_now == "after":
            self.client.put_object(Bucket=bucket, Key=key, Body=dark_jpeg(), Tagging=NEW_TAGS)


def run(objects, classifier, config):
    work = Work(Scope(BUCKET, "catalog/", Mode.TAG, "r", False), 1, 0, (WorkItem(KEY, 0),))
    with ThreadPoolExecutor(2) as pool:
        deps = worker.WorkerDeps(objects, classifier, config, Rules(buckets=frozenset({BUCKET})), pool)
        (row,) = worker.process_work(work, deps)
    return row


def tags(s3) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=BUCKET, Key=KEY)["TagSet"]}


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_photo_replaced_around_tagging_keeps_no_verdict_and_is_screened_next_run(s3, classifier, config, when):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=good_jpeg(), Tagging="sku=1")
    row = run(ReplacedAroundTagging(s3, when), classifier, config)
    assert row.status is Status.CHANGED
    left = tags(s3)
    assert not [k for k in left if k.startswith(NAMESPACE)], left  # no verdict on the new bytes
    if when == "after":
        assert left == {"owner": "studio"}  # the tagging hit the old bytes: the new ones are untouched
    again = run(S3Objects(s3), classifier, config)  # the next run screens the new photo
    assert again.status is Status.SCREENED and again.reasons == ("background",)
    assert tags(s3)[NAMESPACE + "verdict"] == "review"


def test_an_unchanged_photo_costs_one_head_more_and_keeps_its_verdict(s3, classifier, config):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=good_jpeg())
    heads = []
    s3.meta.events.register("before-call.s3.HeadObject", lambda **kw: heads.append(1))
    row = run(S3Objects(s3), classifier, config)
    assert row.status is Status.SCREENED and tags(s3)[NAMESPACE + "verdict"] == "approved"
    assert len(heads) == 2  # the fetch's HEAD and the check after tagging


def test_a_versioned_bucket_pins_the_tags_and_needs_no_check(s3, classifier, config):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=BUCKET, Key=KEY, Body=good_jpeg())["VersionId"]
    row = run(ReplacedAroundTagging(s3, "before"), classifier, config)
    assert row.status is Status.SCREENED  # the screened version got the verdict, the new one nothing
    old = s3.get_object_tagging(Bucket=BUCKET, Key=KEY, VersionId=first)["TagSet"]
    assert {t["Key"]: t["Value"] for t in old}[NAMESPACE + "verdict"] == "approved"
    assert tags(s3) == {"owner": "studio"}
