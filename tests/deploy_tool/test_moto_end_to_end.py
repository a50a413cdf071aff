"""The deploy tool against a moto server over HTTP: S3 upload, stack creation,
change sets created, described and executed, events followed. Everything here is
what moto implements; tests/deploy_tool/test_stubbed.py covers what it cannot."""

import io
import shutil
import tarfile

import pytest

from deploy.aws import artifacts, cfn
from deploy.aws.cli import AMI_PARAMETER, CLOUDFRONT_PREFIX_LIST, TEMPLATES, main
from tests.deploy_tool.conftest import no_sleep

# moto creates what it implements and says so for the rest (bucket policies, WAF).
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.*:UserWarning")

SITE = [
    "--param", "DomainName=shop.example.com",
    "--param", "CertificateArn=arn:aws:acm:eu-west-1:123456789012:certificate/site",
    "--param", "CloudFrontCertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/site",
    "--param", "WebAclArn=arn:aws:wafv2:us-east-1:123456789012:global/webacl/webshop-test/1",
    "--param", "FromEmail=shop@example.com",
    "--param", "SesIdentity=example.com",
]  # fmt: skip

# A stand-in for the main stack (moto cannot run the real one: it skips
# ElastiCache and CloudFront): one stateful bucket, one release-driven parameter.
SMALL_STACK = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  ReleaseVersion:
    Type: String
Resources:
  MediaBucket:
    Type: AWS::S3::Bucket
  Release:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /webshop-test/release
      Type: String
      Value: !Ref ReleaseVersion
"""


def _release(tmp_path, version="1.4.0", with_bootstrap=True):
    path = tmp_path / f"webshop-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in ("manage.py", "deploy/bootstrap.sh") if with_bootstrap else ("manage.py",):
            data = b"#!/bin/bash\n"
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _small_stack_change_set(cf, template, release):
    return cfn.create_change_set(
        cf,
        stack_name="webshop-test",
        template_body=template,
        values={"ReleaseVersion": release},
        name=cfn.change_set_name(f"release-{release}"),
        tags={"Project": "webshop"},
    )


def test_bootstrap_creates_both_stacks_and_a_rerun_changes_nothing(aws, capsys):
    assert main(["bootstrap", "--env", "test"], session=aws, sleep=no_sleep) == 0
    out = capsys.readouterr().out
    assert "Add      ArtifactBucket" in out and "Add      WebAcl" in out
    assert "Stack webshop-test-bootstrap: CREATE_COMPLETE" in out
    assert "Stack webshop-test-waf: CREATE_COMPLETE" in out
    # moto records stack-level events only for an executed change set
    assert "webshop-test-bootstrap/webshop-test-bootstrap  AWS::CloudFormation::Stack" in out
    waf = aws.client("cloudformation", region_name="us-east-1")
    assert waf.describe_stacks(StackName="webshop-test-waf")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    assert main(["bootstrap", "--env", "test"], session=aws, sleep=no_sleep) == 0
    out = capsys.readouterr().out
    assert "webshop-test-bootstrap: no changes." in out and "webshop-test-waf: no changes." in out


def test_upload_release_puts_the_tarball_where_instances_fetch_it(aws, bootstrap_outputs, tmp_path):
    assert main(["upload-release", "--env", "test", str(_release(tmp_path))], session=aws) == 0
    head = aws.client("s3").head_object(
        Bucket=bootstrap_outputs["ArtifactBucketName"], Key="releases/webshop-1.4.0.tar.gz"
    )
    assert head["ContentLength"] > 0


def test_a_release_is_never_overwritten(aws, bootstrap_outputs, tmp_path, capsys):
    path = _release(tmp_path)
    assert main(["upload-release", "--env", "test", str(path)], session=aws) == 0
    assert main(["upload-release", "--env", "test", str(path)], session=aws) == 1
    assert "releases are immutable" in capsys.readouterr().err


def test_a_tarball_without_the_bootstrap_is_refused(aws, bootstrap_outputs, tmp_path, capsys):
    path = _release(tmp_path, with_bootstrap=False)
    assert main(["upload-release", "--env", "test", str(path)], session=aws) == 1
    assert "deploy/bootstrap.sh" in capsys.readouterr().err


def test_plan_packages_the_tiers_and_previews_the_whole_stack(
    aws, bootstrap_outputs, tmp_path, capsys
):
    main(["upload-release", "--env", "test", str(_release(tmp_path))], session=aws)
    argv = ["plan", "--env", "test", "--release", "1.4.0", *SITE]
    assert main(argv, session=aws, sleep=no_sleep) == 0
    out = capsys.readouterr().out
    for tier in ("NetworkStack", "SecurityStack", "DataStack", "AppStack", "EdgeStack"):
        assert f"Add      {tier}" in out
    assert "ReleaseVersion" in out and "-> 1.4.0" in out
    assert "No stateful resource is replaced or deleted." in out
    assert "Next: python -m deploy.aws apply --env test --change-set release-1-4-0-" in out
    cf = aws.client("cloudformation")
    (summary,) = cf.list_change_sets(StackName="webshop-test")["Summaries"]
    params = {
        p["ParameterKey"]: p["ParameterValue"]
        for p in cf.describe_change_set(ChangeSetName=summary["ChangeSetId"])["Parameters"]
    }
    assert params["ArtifactBucketName"] == bootstrap_outputs["ArtifactBucketName"]
    s3 = aws.client("s3")
    tiers = ["app", "backup", "data", "edge", "monitoring", "network", "security"]
    for tier in tiers:
        key = params[f"{tier.capitalize()}TemplateKey"]
        assert key.endswith(f"/{tier}.yaml")
        assert s3.head_object(Bucket=params["ArtifactBucketName"], Key=key)["ContentLength"] > 0
    # Looked up, not asked for: the image of the first deploy and CloudFront's prefix list.
    ami = aws.client("ssm").get_parameter(Name=AMI_PARAMETER)["Parameter"]["Value"]
    assert params["AmiId"] == ami
    (prefix_list,) = aws.client("ec2").describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST]}]
    )["PrefixLists"]
    assert params["CloudFrontPrefixListId"] == prefix_list["PrefixListId"]


def test_editing_one_template_changes_only_its_key(aws, bootstrap_outputs, tmp_path):
    bucket = bootstrap_outputs["ArtifactBucketName"]
    copy = tmp_path / "stacks"
    shutil.copytree(TEMPLATES / "stacks", copy)
    before = artifacts.package_templates(aws.client("s3"), bucket, copy)
    monitoring = copy / "monitoring.yaml"
    monitoring.write_text(monitoring.read_text() + "\n# an edit\n")
    after = artifacts.package_templates(aws.client("s3"), bucket, copy)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"MonitoringTemplateKey"}


def test_plan_refuses_a_release_that_was_not_uploaded(aws, bootstrap_outputs, capsys):
    argv = ["plan", "--env", "test", "--release", "9.9.9", *SITE]
    assert main(argv, session=aws, sleep=no_sleep) == 1
    assert "run upload-release first" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        (["AsgMinSize=3", "AsgMaxSize=3", "AsgDesiredCapacity=3"], "must be below AsgMaxSize"),
        (["AsgMinSize=2", "AsgMaxSize=4", "AsgDesiredCapacity=5"], "must lie in [2, 4]"),
    ],
)
def test_plan_refuses_group_sizes_a_rolling_update_cannot_work_with(
    aws, bootstrap_outputs, capsys, sizes, message
):
    argv = ["plan", "--env", "test", *SITE]
    for pair in sizes:
        argv += ["--param", pair]
    assert main(argv, session=aws, sleep=no_sleep) == 1
    assert message in capsys.readouterr().err


def test_release_update_executes_and_prints_its_events(aws, capsys):
    cf = aws.client("cloudformation")
    created = _small_stack_change_set(cf, SMALL_STACK, "1.0.0")
    assert cfn.execute(cf, "webshop-test", created, sleep=no_sleep) == "CREATE_COMPLETE"
    update = _small_stack_change_set(cf, SMALL_STACK, "1.1.0")
    name = cf.describe_change_set(ChangeSetName=update)["ChangeSetName"]
    capsys.readouterr()
    argv = ["apply", "--env", "test", "--change-set", name]
    assert main(argv, session=aws, sleep=no_sleep) == 0
    out = capsys.readouterr().out
    assert "ReleaseVersion  1.0.0 -> 1.1.0" in out
    assert "Stack webshop-test: UPDATE_COMPLETE" in out
    value = aws.client("ssm").get_parameter(
        Name=cf.describe_stack_resource(StackName="webshop-test", LogicalResourceId="Release")[
            "StackResourceDetail"
        ]["PhysicalResourceId"]
    )["Parameter"]["Value"]
    assert value == "1.1.0"


def test_deleting_a_bucket_is_refused_without_the_flag(aws, capsys):
    cf, s3 = aws.client("cloudformation"), aws.client("s3")
    created = _small_stack_change_set(cf, SMALL_STACK, "1.0.0")
    cfn.execute(cf, "webshop-test", created, sleep=no_sleep)
    bucket = cf.describe_stack_resource(StackName="webshop-test", LogicalResourceId="MediaBucket")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    without_bucket = SMALL_STACK.replace("  MediaBucket:\n    Type: AWS::S3::Bucket\n", "")
    removal = _small_stack_change_set(cf, without_bucket, "1.0.0")
    name = cf.describe_change_set(ChangeSetName=removal)["ChangeSetName"]
    capsys.readouterr()

    argv = ["apply", "--env", "test", "--change-set", name]
    assert main(argv, session=aws, sleep=no_sleep) == 3
    out = capsys.readouterr().out
    assert "!! MediaBucket (AWS::S3::Bucket) would be deleted" in out
    assert "Refused" in out
    assert s3.head_bucket(Bucket=bucket)
    assert cf.describe_stacks(StackName="webshop-test")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )

    assert main([*argv, "--allow-data-loss"], session=aws, sleep=no_sleep) == 0
    assert "Stack webshop-test: UPDATE_COMPLETE" in capsys.readouterr().out


def test_status_prints_the_release_and_outputs(aws, bootstrap_outputs, capsys):
    cf = aws.client("cloudformation")
    cfn.execute(
        cf, "webshop-test", _small_stack_change_set(cf, SMALL_STACK, "2.0.0"), sleep=no_sleep
    )
    assert main(["status", "--env", "test"], session=aws) == 0
    out = capsys.readouterr().out
    assert "webshop-test: CREATE_COMPLETE" in out and "ReleaseVersion = 2.0.0" in out
