"""The backfill's resources in template.yaml: event source, queue timing, DLQ, concurrency, IAM."""
from __future__ import annotations

from pathlib import Path

import pytest

from screener.backfill.settings import load_settings
from screener.config import load_config
from screener_cli.template import load_template, resolve_function, resolve_resource

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template():
    return load_template(ROOT / "template.yaml")


def test_sqs_source_reports_batch_item_failures_and_caps_concurrency(template):
    spec = resolve_function(template, "BackfillFunction", root=ROOT)
    (event,) = spec.events.values()
    assert event["Type"] == "SQS"
    p = event["Properties"]
    assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= int(p["BatchSize"]) <= 10 and "MaximumBatchingWindowInSeconds" in p
    assert int(p["ScalingConfig"]["MaximumConcurrency"]) == template["Parameters"]["BackfillReservedConcurrency"]["Default"]
    fn = template["Resources"]["BackfillFunction"]["Properties"]
    assert fn["ReservedConcurrentExecutions"] == {"Ref": "BackfillReservedConcurrency"}


def test_queue_visibility_is_six_times_the_timeout_and_redrives_to_the_dlq(template):
    spec = resolve_function(template, "BackfillFunction", root=ROOT)
    q = resolve_resource(template, "BackfillQueue")
    assert int(q["VisibilityTimeout"]) >= 6 * spec.timeout
    assert q["RedrivePolicy"]["deadLetterTargetArn"] == "<BackfillDeadLetterQueue.Arn>"
    assert 2 <= int(q["RedrivePolicy"]["maxReceiveCount"]) <= 10


def test_environment_is_a_valid_configuration(template):
    spec = resolve_function(template, "BackfillFunction", root=ROOT)
    env = spec.environment
    s = load_settings(env)
    assert s.buckets == {"product-photos-123456789012-us-east-1"}  # the stack's bucket, nothing else
    assert s.queue_url == "BackfillQueue" and s.dlq_url == "BackfillDeadLetterQueue"
    load_config(env)
    # The worker gives up starting objects well before Lambda kills it.
    assert s.min_remaining_ms < spec.timeout * 1000 / 2


def _statements(template):
    out = []
    for pol in template["Resources"]["BackfillFunctionRole"]["Properties"]["Policies"]:
        if "Fn::If" in pol:
            assert pol["Fn::If"][0] == "UseKms" and pol["Fn::If"][2] == {"Ref": "AWS::NoValue"}
            pol = pol["Fn::If"][1]
        out += pol["PolicyDocument"]["Statement"]
    return out


def test_least_privilege(template):
    bucket = "arn:${AWS::Partition}:s3:::${BucketBaseName}-${AWS::AccountId}-${AWS::Region}"
    for st in _statements(template):
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert not any(a.endswith("*") for a in actions), st
        if "*" in resources:
            assert all(a.startswith("xray:") for a in actions), st  # X-Ray has no resource ARNs
        for r in resources:
            if any(a.startswith("s3:") for a in actions):
                assert r["Fn::Sub"].startswith(bucket), st  # this bucket only
            if any(a.startswith("sqs:") for a in actions):
                assert r in ({"Fn::GetAtt": ["BackfillQueue", "Arn"]}, {"Fn::GetAtt": ["BackfillDeadLetterQueue", "Arn"]})
        if "s3:DeleteObject" in actions:
            assert [r["Fn::Sub"] for r in resources] == [bucket + "/${IncomingPrefix}*"]
        if actions == ["s3:PutObject"]:
            assert all(r["Fn::Sub"].endswith(("/reports/backfill/*", "Prefix}*")) for r in resources)
    fn = template["Resources"]["BackfillFunction"]["Properties"]
    assert fn["Role"] == {"Fn::GetAtt": ["BackfillFunctionRole", "Arn"]} and "Policies" not in fn
