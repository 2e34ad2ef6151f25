"""Least privilege and hardening, read from template.yaml itself.

Written over every resource rather than by name, so a function, role or queue added later is
held to the same rules: no wildcard actions, no ``Resource: '*'`` on data, S3 access only to this
bucket (the upload function only to its three prefixes), KMS only when a key is configured and
only through S3, public access blocked, encryption on, TLS only, and a dead-letter queue with
bounded retries behind every asynchronous path. Both branches of every ``Fn::If`` are checked.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from screener_cli.template import load_template

ROOT = Path(__file__).resolve().parents[2]
T = load_template(ROOT / "template.yaml")
RES = T["Resources"]
BUCKET_ARN = "arn:${AWS::Partition}:s3:::${BucketBaseName}-${AWS::AccountId}-${AWS::Region}"
UPLOAD_PREFIXES = {"${IncomingPrefix}*", "${ApprovedPrefix}*", "${ReviewPrefix}*"}
# Services whose actions touch data: these never get Resource '*'. (X-Ray has no resource-level
# permissions, so '*' is the only way to allow tracing; it carries no data.)
DATA_SERVICES = {"s3", "sqs", "kms", "sns", "dynamodb", "secretsmanager", "ssm", "lambda", "events"}
SYNC_SOURCES = {"SQS", "Kinesis", "DynamoDB", "MSK", "MQ", "SelfManagedKafka", "DocumentDB", "Api", "HttpApi"}


def of_type(*types: str) -> dict[str, dict]:
    return {name: r for name, r in RES.items() if r.get("Type") in types}


def branches(node: Any, conds: tuple[str, ...] = ()) -> Iterator[tuple[Any, tuple[str, ...]]]:
    """Every concrete value ``node`` can take, with the Conditions it takes it under."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        cond, yes, no = node["Fn::If"]
        yield from branches(yes, conds + (cond,))
        yield from branches(no, conds + ("!" + cond,))
    elif node == {"Ref": "AWS::NoValue"}:
        return
    else:
        yield node, conds


def listed(x: Any) -> list:
    return x if isinstance(x, list) else [x]


def statements() -> Iterator[tuple[str, dict, tuple[str, ...]]]:
    """(owner, statement, conditions) for every IAM statement granted to a function or role."""
    docs: list[tuple[str, Any]] = []
    for name, r in of_type("AWS::Serverless::Function").items():
        for p in listed(r["Properties"].get("Policies", [])):
            docs.append((name, p))
    for name, r in of_type("AWS::IAM::Role").items():
        for p in r["Properties"].get("Policies", []):
            docs.append((name, p))
        docs += [(name, p) for p in r["Properties"].get("ManagedPolicyArns", [])]
    for name, r in of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy").items():
        docs.append((name, r["Properties"]["PolicyDocument"]))
    for owner, doc in docs:
        for d, conds in branches(doc):
            d = d.get("PolicyDocument", d) if isinstance(d, dict) else d
            if isinstance(d, str) or (isinstance(d, dict) and "Statement" not in d):
                yield owner, {"ManagedOrTemplate": d}, conds  # checked by its own test
                continue
            for st, c2 in ((s, c) for raw in listed(d["Statement"]) for s, c in branches(raw, conds)):
                yield owner, st, c2


ALLOWS = [(o, s, c) for o, s, c in statements() if s.get("Effect") == "Allow"]


def actions(st: dict) -> list[str]:
    return [a for a in listed(st.get("Action", [])) if isinstance(a, str)]


def resource_strings(st: dict) -> list[str]:
    """Resources as text: a Sub's template string, a GetAtt as '<Res.Attr>', a Ref as '${Name}'."""
    out = []
    for r in listed(st.get("Resource", [])):
        for v, _ in branches(r):
            if isinstance(v, str):
                out.append(v)
            elif "Fn::Sub" in v:
                out.append(v["Fn::Sub"] if isinstance(v["Fn::Sub"], str) else v["Fn::Sub"][0])
            elif "Fn::GetAtt" in v:
                g = v["Fn::GetAtt"]
                out.append("<" + (".".join(g) if isinstance(g, list) else g) + ">")
            elif "Ref" in v:
                out.append("${" + v["Ref"] + "}")
            else:
                out.append(repr(v))
    return out


def test_there_is_something_to_check():
    assert len(ALLOWS) >= 5 and of_type("AWS::Serverless::Function")


def test_no_wildcard_actions_and_no_not_action_or_not_resource():
    for owner, st, _ in ALLOWS:
        assert "NotAction" not in st and "NotResource" not in st, (owner, st.get("Sid"))
        for a in actions(st):
            assert "*" not in a, f"{owner}/{st.get('Sid')}: wildcard action {a}"


def test_data_actions_never_on_resource_star():
    for owner, st, _ in ALLOWS:
        services = {a.split(":", 1)[0] for a in actions(st)}
        if services & DATA_SERVICES:
            assert "*" not in resource_strings(st), f"{owner}/{st.get('Sid')}: data action on Resource '*'"


def test_s3_access_is_scoped_to_this_bucket():
    for owner, st, _ in ALLOWS:
        if not any(a.startswith("s3:") for a in actions(st)):
            continue
        for res in resource_strings(st):
            assert res == BUCKET_ARN or res.startswith(BUCKET_ARN + "/"), f"{owner}/{st.get('Sid')}: {res}"
            if res.startswith(BUCKET_ARN + "/"):
                assert "*" not in res[len(BUCKET_ARN):-1], f"{owner}/{st.get('Sid')}: wildcard mid-key in {res}"


def test_the_upload_function_reaches_only_its_three_prefixes_and_never_writes_incoming():
    upload = [(st, c) for o, st, c in ALLOWS if o == "UploadFunction"]
    assert upload
    for st, _ in upload:
        for res in resource_strings(st):
            if res.startswith(BUCKET_ARN + "/"):
                assert res[len(BUCKET_ARN) + 1:] in UPLOAD_PREFIXES, f"{st.get('Sid')}: {res}"
            if "s3:PutObject" in actions(st):
                # Writing under incoming/ would re-trigger the function on its own output.
                assert not res.endswith("${IncomingPrefix}*"), st.get("Sid")


def test_reviewers_reach_only_review_and_approved_and_delete_only_in_review():
    reviewer = [st for o, st, _ in ALLOWS if o == "ReviewerPolicy"]
    assert reviewer
    for st in reviewer:
        for res in resource_strings(st):
            if res.startswith(BUCKET_ARN + "/"):
                prefix = res[len(BUCKET_ARN) + 1:]
                assert prefix in {"${ReviewPrefix}*", "${ApprovedPrefix}*"}, f"{st.get('Sid')}: {res}"
                if "s3:DeleteObject" in actions(st):
                    assert prefix == "${ReviewPrefix}*", f"{st.get('Sid')}: a reviewer could delete {res}"


def test_no_broad_managed_policies_or_s3_kms_policy_templates():
    for owner, st, _ in statements():
        p = st.get("ManagedOrTemplate")
        if p is None:
            continue
        name = p if isinstance(p, str) else next(iter(p))
        assert not name.startswith(("S3", "KMS")) and "FullAccess" not in name and "PowerUser" not in name, \
            f"{owner}: {name} grants more than the statements this test can check"


def test_kms_only_when_a_key_is_configured_and_only_through_s3():
    conditions = T.get("Conditions", {})

    def on_key(cond: str) -> bool:
        return not cond.startswith("!") and "KmsKeyArn" in repr(conditions.get(cond))

    kms = [(o, st, c) for o, st, c in ALLOWS if any(a.startswith("kms:") for a in actions(st))]
    assert kms, "the template should allow KMS when a key is configured"
    for owner, st, conds in kms:
        assert any(on_key(c) for c in conds), f"{owner}/{st.get('Sid')}: KMS granted without a key parameter"
        assert st["Resource"] == {"Ref": "KmsKeyArn"}, f"{owner}/{st.get('Sid')}"
        via = st.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
        assert via == {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}, f"{owner}/{st.get('Sid')}: usable outside S3"


def test_the_bucket_is_private_encrypted_and_tls_only():
    buckets = of_type("AWS::S3::Bucket")
    assert buckets
    policies = of_type("AWS::S3::BucketPolicy")
    for name, b in buckets.items():
        p = b["Properties"]
        assert p["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                       "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        assert p["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]  # no ACLs
        for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]:
            for default, _ in branches(rule["ServerSideEncryptionByDefault"]):
                assert default["SSEAlgorithm"] in ("AES256", "aws:kms")
        mine = [q for q in policies.values() if q["Properties"]["Bucket"] == {"Ref": name}]
        tls = [s for q in mine for s in q["Properties"]["PolicyDocument"]["Statement"]
               if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
        assert tls, f"{name}: no TLS-only bucket policy"
        st = tls[0]
        assert st["Principal"] == "*" and st["Action"] in ("s3:*", ["s3:*"])
        assert {"Fn::GetAtt": ["Bucket", "Arn"]} in st["Resource"] and {"Fn::Sub": "${Bucket.Arn}/*"} in st["Resource"]


def test_every_queue_is_encrypted():
    for name, q in of_type("AWS::SQS::Queue").items():
        p = q["Properties"]
        assert p.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in p, name


def _arn_target(ref: Any) -> str | None:
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        g = ref["Fn::GetAtt"]
        return (g if isinstance(g, list) else g.split("."))[0]
    return None


def test_every_async_path_ends_in_a_dead_letter_queue_with_bounded_retries():
    dlqs: set[str] = set()
    queues = of_type("AWS::SQS::Queue")
    for fname, f in of_type("AWS::Serverless::Function").items():
        props = f["Properties"]
        timeout = props.get("Timeout", T.get("Globals", {}).get("Function", {}).get("Timeout", 3))
        for ename, ev in props.get("Events", {}).items():
            kind = ev["Type"]
            if kind == "SQS":
                q = queues[_arn_target(ev["Properties"]["Queue"])]["Properties"]
                redrive = q.get("RedrivePolicy")
                assert redrive, f"{fname}.{ename}: its queue has no RedrivePolicy"
                assert 1 <= int(redrive["maxReceiveCount"]) <= 10
                dlqs.add(_arn_target(redrive["deadLetterTargetArn"]))
                assert int(q.get("VisibilityTimeout", 30)) >= 6 * int(timeout), f"{fname}: visibility < 6x timeout"
            elif kind not in SYNC_SOURCES:  # invoked asynchronously: S3, SNS, EventBridge, schedules, ...
                cfg = props.get("EventInvokeConfig")
                assert cfg, f"{fname}.{ename} ({kind}) is asynchronous but has no EventInvokeConfig"
                assert 0 <= int(cfg["MaximumRetryAttempts"]) <= 2
                assert "MaximumEventAgeInSeconds" in cfg
                on_failure = cfg["DestinationConfig"]["OnFailure"]
                assert on_failure["Type"] == "SQS"
                dlqs.add(_arn_target(on_failure["Destination"]))
    for name, q in queues.items():
        if name in dlqs:
            assert int(q["Properties"]["MessageRetentionPeriod"]) == 1209600, f"{name}: keep failures 14 days"
        else:
            assert "RedrivePolicy" in q["Properties"], f"{name}: neither a DLQ nor protected by one"
    assert dlqs <= set(queues) and dlqs


@pytest.mark.parametrize("fname", sorted(n for n, f in of_type("AWS::Serverless::Function").items()
                                         if any(e["Type"] == "S3" for e in f["Properties"].get("Events", {}).values())))
def test_s3_triggers_are_prefix_filtered_and_loop_protected(fname):
    props = RES[fname]["Properties"]
    assert props.get("RecursiveLoop") == "Terminate"
    for ev in props["Events"].values():
        if ev["Type"] == "S3":
            rules = ev["Properties"]["Filter"]["S3Key"]["Rules"]
            assert {"Name": "prefix", "Value": {"Ref": "IncomingPrefix"}} in rules
