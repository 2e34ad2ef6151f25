"""template.yaml as the local tools read it, plus the hardening the issue asks for."""
import json
from pathlib import Path

import pytest

from screener.config import load_config
from screener_cli.template import TemplateError, load_template, resolve_function

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template():
    return load_template(ROOT / "template.yaml")


def test_short_tags_load_as_intrinsics(template):
    fn = template["Resources"]["UploadFunction"]["Properties"]
    assert fn["Events"]["Upload"]["Properties"]["Bucket"] == {"Ref": "Bucket"}
    assert fn["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["UploadDeadLetterQueue", "Arn"]}


def test_resolve_upload_function(template):
    spec = resolve_function(template, "UploadFunction", {"ReviewPrefix": "needs-review/"}, root=ROOT)
    assert spec.handler == "app.lambda_handler" and spec.code_dir == ROOT / "functions/upload"
    assert spec.layers == ("RuntimeLayer", "CoreLayer", "ModelLayer")
    assert spec.layer_dirs == (ROOT / "layers/core",)
    env = spec.environment
    assert env["REVIEW_PREFIX"] == "needs-review/" and env["INCOMING_PREFIX"] == "incoming/"
    assert env["POWERTOOLS_SERVICE_NAME"] == "upload-screener" and env["MODEL_DIR"] == "/opt/model"
    json.loads(env["APPROVAL_POLICY"])
    load_config(env)  # the template's own defaults are a valid configuration


def test_unknown_function_and_parameter(template):
    with pytest.raises(TemplateError, match="UploadFunction"):
        resolve_function(template, "Nope", root=ROOT)
    with pytest.raises(TemplateError, match="Typo"):
        resolve_function(template, "UploadFunction", {"Typo": "x"}, root=ROOT)


def _statements(template):
    out = []
    for pol in template["Resources"]["UploadFunction"]["Properties"]["Policies"]:
        if "Fn::If" in pol:
            assert pol["Fn::If"][0] == "UseKms" and pol["Fn::If"][2] == {"Ref": "AWS::NoValue"}
            pol = pol["Fn::If"][1]
        out += pol["Statement"]
    return out


def test_least_privilege(template):
    for st in _statements(template):
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        assert not any(a in ("*", "s3:*") for a in actions)
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert "*" not in resources
        if any(a.startswith("s3:") and a != "s3:ListBucket" for a in actions):
            subs = [r["Fn::Sub"] for r in resources]
            assert all(s.endswith("Prefix}*") for s in subs), subs
        if any(a.startswith("kms:") for a in actions):
            assert resources == [{"Ref": "KmsKeyArn"}]


def test_bucket_hardening(template):
    r = template["Resources"]
    props = r["Bucket"]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert "ServerSideEncryptionConfiguration" in props["BucketEncryption"]
    [deny] = r["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    fn = r["UploadFunction"]["Properties"]
    assert fn["RecursiveLoop"] == "Terminate"
    assert fn["EventInvokeConfig"]["MaximumRetryAttempts"] <= 2
    rules = fn["Events"]["Upload"]["Properties"]["Filter"]["S3Key"]["Rules"]
    assert rules == [{"Name": "prefix", "Value": {"Ref": "IncomingPrefix"}}]
