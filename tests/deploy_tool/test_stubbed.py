"""What moto cannot produce, answered by botocore's Stubber:

- a change set that says Replacement: True, and nested change sets
  (IncludeNestedStacks): moto reports Add/Modify/Remove only, without replacement
  or nested change set ids;
- a failed update and its rollback: moto applies every change set successfully;
- UPDATE_ROLLBACK_FAILED and ContinueUpdateRollback, which moto does not implement;
- property values in change sets (BeforeValue/AfterValue), termination protection,
  rollback triggers and drift detection, which moto does not implement either.

The Stubber also proves what is *not* called: any request without a queued
response (ExecuteChangeSet after a refusal, DeleteStack ever) fails the test.
"""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deploy.aws import cfn
from deploy.aws.changeset import STATEFUL_TYPES, Change, Detail, stack_policy
from deploy.aws.cli import Commands, main
from tests.deploy_tool.conftest import no_sleep

ACCOUNT = "arn:aws:cloudformation:eu-west-1:123456789012"
ROOT_ID = f"{ACCOUNT}:stack/webshop-test/0001"
APP_ID = f"{ACCOUNT}:stack/webshop-test-AppStack-1A2B/0002"
DATA_ID = f"{ACCOUNT}:stack/webshop-test-DataStack-3C4D/0003"
ROOT_CS = f"{ACCOUNT}:changeSet/restore-db/aaaa"
DATA_CS = f"{ACCOUNT}:changeSet/restore-db-DataStack/bbbb"
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


class StubbedSession:
    """Hands one stubbed CloudFormation client to every region the tool asks for."""

    def __init__(self, cf):
        self.cf = cf
        self.s3 = boto3.client(
            "s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
        )

    def client(self, service, region_name=None):
        return self.cf if service == "cloudformation" else self.s3


@pytest.fixture
def cf():
    client = boto3.client(
        "cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        client.stubber = stubber
        yield client
        stubber.assert_no_pending_responses()


def _stack(status, **extra):
    return {
        "Stacks": [
            {
                "StackName": "webshop-test",
                "StackId": ROOT_ID,
                "StackStatus": status,
                "CreationTime": T0 - timedelta(days=30),
                **extra,
            }
        ]
    }


def _event(event_id, stack_id, logical, resource_type, status, minutes, reason=None, physical=None):
    event = {
        "StackId": stack_id,
        "EventId": event_id,
        "StackName": stack_id.split("/")[1],
        "LogicalResourceId": logical,
        "PhysicalResourceId": physical or "",
        "ResourceType": resource_type,
        "Timestamp": T0 + timedelta(minutes=minutes),
        "ResourceStatus": status,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


OLD_EVENT = _event(
    "e0", ROOT_ID, "webshop-test", "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", -60
)


@pytest.mark.parametrize(
    ("resource_type", "action", "replacement", "danger"),
    [
        ("AWS::RDS::DBInstance", "Modify", "True", "replaced"),
        ("AWS::RDS::DBInstance", "Modify", "Conditional", "may be replaced"),
        ("AWS::RDS::DBInstance", "Modify", "False", None),
        ("AWS::ElastiCache::ReplicationGroup", "Dynamic", None, "may be replaced"),
        ("AWS::S3::Bucket", "Remove", None, "deleted"),
        ("AWS::SecretsManager::Secret", "Remove", None, "deleted"),
        ("AWS::KMS::Key", "Modify", "True", "replaced"),
        ("AWS::CloudFormation::Stack", "Remove", None, "deleted"),
        ("AWS::CloudFormation::Stack", "Dynamic", None, None),
        ("AWS::EC2::LaunchTemplate", "Modify", "True", None),
        ("AWS::AutoScaling::AutoScalingGroup", "Remove", None, None),
        ("AWS::Logs::LogGroup", "Modify", "True", "replaced"),
        ("AWS::CloudFront::Distribution", "Modify", "True", "replaced"),
        ("AWS::Backup::BackupVault", "Remove", None, "deleted"),
    ],
)
def test_which_changes_destroy_data(resource_type, action, replacement, danger):
    found = Change("X", resource_type, action, replacement).danger
    assert (found and found.split(" (")[0]) == danger


def _property(name, before=None, after=None, evaluation="Static", recreation="Never"):
    return Detail("Properties", name, recreation, evaluation, before, after)


@pytest.mark.parametrize(
    ("resource_type", "detail", "danger"),
    [
        # A new GenerateSecretString regenerates the password; RDS keeps the old one.
        ("AWS::SecretsManager::Secret", _property("GenerateSecretString"), "regenerated"),
        ("AWS::SecretsManager::Secret", _property("Description"), None),
        ("AWS::RDS::DBInstance", _property("DeletionProtection", "true", "false"), "left without"),
        ("AWS::RDS::DBInstance", _property("DeletionProtection", None, None), "left without"),
        ("AWS::RDS::DBInstance", _property("DeletionProtection", "false", "true"), None),
        ("AWS::RDS::DBInstance", _property("BackupRetentionPeriod", "14", "7"), "keeping fewer"),
        ("AWS::RDS::DBInstance", _property("BackupRetentionPeriod", None, None), "keeping fewer"),
        ("AWS::RDS::DBInstance", _property("BackupRetentionPeriod", "7", "14"), None),
        ("AWS::RDS::DBInstance", _property("DBInstanceClass", "a", "b"), None),
        # Evaluated only at execution, and recreating if it resolves to a new value.
        (
            "AWS::ElastiCache::ReplicationGroup",
            _property("CacheSubnetGroupName", evaluation="Dynamic", recreation="Always"),
            "may be replaced",
        ),
        (
            "AWS::ElastiCache::ReplicationGroup",
            _property("SnapshotWindow", evaluation="Dynamic", recreation="Never"),
            None,
        ),
        # A DeletionPolicy-only change: dangerous unless the new policy still keeps it.
        ("AWS::S3::Bucket", Detail("DeletionPolicy", after="Delete"), "left without"),
        ("AWS::S3::Bucket", Detail("DeletionPolicy"), "left without"),
        ("AWS::S3::Bucket", Detail("DeletionPolicy", after="RetainExceptOnCreate"), None),
        ("AWS::RDS::DBInstance", Detail("UpdateReplacePolicy", after="Snapshot"), None),
        ("AWS::KMS::Key", Detail("UpdateReplacePolicy", after="Delete"), "left without"),
        # Not stateful: deletion protection of the ALB is an attribute list, not data.
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", Detail("DeletionPolicy"), None),
    ],
)
def test_in_place_changes_that_destroy_data(resource_type, detail, danger):
    found = Change("X", resource_type, "Modify", "False", details=(detail,)).danger
    assert (found and found[: len(danger)]) == danger if danger else found is None


def test_the_stack_policy_denies_replacing_or_deleting_every_stateful_type():
    statements = json.loads(stack_policy())["Statement"]
    allow, deny = statements
    assert allow == {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}
    assert deny["Effect"] == "Deny"
    assert deny["Action"] == ["Update:Replace", "Update:Delete"]
    assert set(deny["Condition"]["StringEquals"]["ResourceType"]) == STATEFUL_TYPES
    assert json.loads(stack_policy(lifted=True))["Statement"] == [allow]


def test_apply_refuses_a_database_replacement_found_in_a_nested_change_set(cf, capsys):
    root = {
        "ChangeSetName": "restore-db",
        "ChangeSetId": ROOT_CS,
        "StackId": ROOT_ID,
        "StackName": "webshop-test",
        "Status": "CREATE_COMPLETE",
        "ExecutionStatus": "AVAILABLE",
        "Parameters": [{"ParameterKey": "DbSnapshotIdentifier", "ParameterValue": "before-import"}],
        "Changes": [
            {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "DataStack",
                    "PhysicalResourceId": DATA_ID,
                    "ResourceType": "AWS::CloudFormation::Stack",
                    "Replacement": "False",
                    "ChangeSetId": DATA_CS,
                },
            }
        ],
    }
    nested = {
        "ChangeSetName": "restore-db-DataStack",
        "ChangeSetId": DATA_CS,
        "StackId": DATA_ID,
        "StackName": "webshop-test-DataStack-3C4D",
        "Status": "CREATE_COMPLETE",
        "ExecutionStatus": "AVAILABLE",
        "Changes": [
            {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "Database",
                    "ResourceType": "AWS::RDS::DBInstance",
                    "Replacement": "True",
                    "Details": [
                        {
                            "Target": {
                                "Attribute": "Properties",
                                "Name": "DBSnapshotIdentifier",
                                "RequiresRecreation": "Always",
                            },
                            "Evaluation": "Static",
                            "ChangeSource": "ParameterReference",
                        }
                    ],
                },
            }
        ],
    }
    current = _stack(
        "UPDATE_COMPLETE",
        Parameters=[{"ParameterKey": "DbSnapshotIdentifier", "ParameterValue": ""}],
    )
    stub = cf.stubber
    stub.add_response(
        "describe_change_set", root, {"ChangeSetName": "restore-db", "StackName": "webshop-test"}
    )
    stub.add_response("describe_change_set", root, {"ChangeSetName": ROOT_CS})
    stub.add_response("describe_stacks", current, {"StackName": "webshop-test"})
    with_values = {"IncludePropertyValues": True}
    stub.add_response("describe_change_set", root, {"ChangeSetName": ROOT_CS, **with_values})
    stub.add_response("describe_change_set", nested, {"ChangeSetName": DATA_CS, **with_values})

    argv = ["apply", "--env", "test", "--change-set", "restore-db"]
    assert main(argv, session=StubbedSession(cf), sleep=no_sleep) == 3
    out = capsys.readouterr().out
    assert "DbSnapshotIdentifier  (empty) -> before-import" in out
    assert "Modify   DataStack/Database" in out and "replacement=True" in out
    assert "(DBSnapshotIdentifier)" in out
    assert "!! DataStack/Database (AWS::RDS::DBInstance) would be replaced" in out
    assert "Refused" in out


def test_a_failed_update_names_the_first_failing_resource_and_the_rollback(cf, capsys):
    asg_reason = (
        "Received 0 SUCCESS signal(s) out of 1. Unable to satisfy 100% "
        "MinSuccessfulInstancesPercent requirement"
    )
    stack_type = "AWS::CloudFormation::Stack"
    root_events = [
        _event("r4", ROOT_ID, "webshop-test", stack_type, "UPDATE_ROLLBACK_COMPLETE", 30),
        _event(
            "r3", ROOT_ID, "AppStack", stack_type, "UPDATE_FAILED", 20,
            reason=f"Embedded stack {APP_ID} was not successfully updated.", physical=APP_ID,
        ),
        _event("r2", ROOT_ID, "AppStack", stack_type, "UPDATE_IN_PROGRESS", 1, physical=APP_ID),
        _event("r1", ROOT_ID, "webshop-test", stack_type, "UPDATE_IN_PROGRESS", 0,
               reason="User Initiated"),
        OLD_EVENT,
    ]  # fmt: skip
    app_events = [
        _event(
            "a3", APP_ID, "CpuTargetTracking", "AWS::AutoScaling::ScalingPolicy",
            "UPDATE_FAILED", 19, reason="Resource update cancelled",
        ),
        _event(
            "a2", APP_ID, "AutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup",
            "UPDATE_FAILED", 18, reason=asg_reason,
        ),
        _event("a1", APP_ID, "LaunchTemplate", "AWS::EC2::LaunchTemplate", "UPDATE_COMPLETE", 2),
        _event("a0", APP_ID, "webshop-test-AppStack-1A2B", stack_type, "UPDATE_IN_PROGRESS", 1),
        _event("old", APP_ID, "AutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup",
               "UPDATE_COMPLETE", -70),
    ]  # fmt: skip
    stub = cf.stubber
    stub.add_response(
        "describe_stack_events", {"StackEvents": [OLD_EVENT]}, {"StackName": "webshop-test"}
    )
    stub.add_response(
        "describe_stacks", _stack("UPDATE_IN_PROGRESS"), {"StackName": "webshop-test"}
    )
    stub.add_response("describe_stack_events", {"StackEvents": root_events}, {"StackName": ROOT_ID})
    stub.add_response("describe_stacks", _stack("UPDATE_ROLLBACK_COMPLETE"), {"StackName": ROOT_ID})
    stub.add_response("describe_stack_events", {"StackEvents": root_events}, {"StackName": ROOT_ID})
    stub.add_response("describe_stack_events", {"StackEvents": app_events}, {"StackName": APP_ID})

    assert main(["watch", "--env", "test"], session=StubbedSession(cf), sleep=no_sleep) == 1
    out = capsys.readouterr().out
    assert (
        "webshop-test-AppStack-1A2B/LaunchTemplate  AWS::EC2::LaunchTemplate  UPDATE_COMPLETE"
        in out
    )
    assert out.count("AutoScalingGroup  AWS::AutoScaling") == 1  # not the older event
    assert (
        "First failure: webshop-test-AppStack-1A2B/AutoScalingGroup"
        f" (AWS::AutoScaling::AutoScalingGroup): {asg_reason}"
    ) in out
    assert "Rollback status: UPDATE_ROLLBACK_COMPLETE: rolled back" in out


def test_recover_continues_the_rollback_and_never_deletes(cf, capsys):
    stack_type = "AWS::CloudFormation::Stack"
    events = [
        _event("r2", ROOT_ID, "webshop-test", stack_type, "UPDATE_ROLLBACK_COMPLETE", 5),
        _event("r1", ROOT_ID, "webshop-test", stack_type, "UPDATE_ROLLBACK_IN_PROGRESS", 0),
        OLD_EVENT,
    ]
    stub = cf.stubber
    stub.add_response(
        "describe_stacks", _stack("UPDATE_ROLLBACK_FAILED"), {"StackName": "webshop-test"}
    )
    stub.add_response(
        "describe_stack_events", {"StackEvents": [OLD_EVENT]}, {"StackName": "webshop-test"}
    )
    stub.add_response(
        "continue_update_rollback",
        {},
        {"StackName": "webshop-test", "ResourcesToSkip": ["AppStack.AutoScalingGroup"]},
    )
    stub.add_response(
        "describe_stacks", _stack("UPDATE_ROLLBACK_IN_PROGRESS"), {"StackName": "webshop-test"}
    )
    stub.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": ROOT_ID})
    stub.add_response("describe_stacks", _stack("UPDATE_ROLLBACK_COMPLETE"), {"StackName": ROOT_ID})
    stub.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": ROOT_ID})

    argv = ["recover", "--env", "test", "--skip-resource", "AppStack.AutoScalingGroup"]
    assert main(argv, session=StubbedSession(cf), sleep=no_sleep) == 0
    assert "Stack webshop-test: UPDATE_ROLLBACK_COMPLETE" in capsys.readouterr().out


def test_recover_refuses_a_stack_that_is_not_stuck(cf, capsys):
    cf.stubber.add_response(
        "describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": "webshop-test"}
    )
    assert main(["recover", "--env", "test"], session=StubbedSession(cf), sleep=no_sleep) == 1
    assert "applies only to UPDATE_ROLLBACK_FAILED" in capsys.readouterr().err


# --- protections, rollback triggers, drift, advice ----------------------------------

NESTED_DATA = f"{ACCOUNT}:stack/webshop-test-DataStack-3C4D/0003"


def _tree(stub):
    """Stubbed answers for cfn.stack_tree: the root holds one nested stack (and a bucket)."""
    stub.add_response("describe_stacks", _stack("CREATE_COMPLETE"), {"StackName": "webshop-test"})
    root = [
        {
            "LogicalResourceId": "DataStack",
            "PhysicalResourceId": NESTED_DATA,
            "ResourceType": "AWS::CloudFormation::Stack",
            "LastUpdatedTimestamp": T0,
            "ResourceStatus": "CREATE_COMPLETE",
        },
        {
            "LogicalResourceId": "Logs",
            "PhysicalResourceId": "webshop-logs",
            "ResourceType": "AWS::S3::Bucket",
            "LastUpdatedTimestamp": T0,
            "ResourceStatus": "CREATE_COMPLETE",
        },
    ]
    stub.add_response(
        "list_stack_resources", {"StackResourceSummaries": root}, {"StackName": ROOT_ID}
    )
    stub.add_response(
        "list_stack_resources", {"StackResourceSummaries": []}, {"StackName": NESTED_DATA}
    )


def test_protect_turns_on_termination_protection_and_a_policy_on_every_stack(cf, capsys):
    """A stack policy covers only its own stack: the nested stacks get one each."""
    stub = cf.stubber
    stub.add_response(
        "update_termination_protection",
        {"StackId": ROOT_ID},
        {"EnableTerminationProtection": True, "StackName": "webshop-test"},
    )
    _tree(stub)
    for stack_id in (ROOT_ID, NESTED_DATA):
        stub.add_response(
            "set_stack_policy", {}, {"StackName": stack_id, "StackPolicyBody": stack_policy()}
        )
    stub.add_response(
        "describe_stacks",
        _stack(
            "UPDATE_COMPLETE",
            Parameters=[{"ParameterKey": "DeletionProtection", "ParameterValue": "true"}],
        ),
        {"StackName": "webshop-test"},
    )
    assert main(["protect", "--env", "test"], session=StubbedSession(cf), sleep=no_sleep) == 0
    out = capsys.readouterr().out
    assert "termination protection on; stack policy on 2 stack(s)" in out
    assert "deletion protection already on" in out


def test_deletion_protection_is_a_parameter_change_on_the_deployed_template(cf):
    """protect's change set keeps the stack's own template (not the checkout's) and
    every parameter but DeletionProtection."""
    stub = cf.stubber
    stub.add_response(
        "describe_stacks",
        _stack(
            "CREATE_COMPLETE",
            Parameters=[
                {"ParameterKey": "DeletionProtection", "ParameterValue": "false"},
                {"ParameterKey": "ReleaseVersion", "ParameterValue": "1.0.0"},
            ],
        ),
        {"StackName": "webshop-test"},
    )
    stub.add_response(
        "get_template_summary",
        {
            "Parameters": [
                {"ParameterKey": "DeletionProtection"},
                {"ParameterKey": "ReleaseVersion"},
            ]
        },
        {"StackName": "webshop-test"},
    )
    stub.add_response(
        "create_change_set",
        {"Id": ROOT_CS, "StackId": ROOT_ID},
        {
            "StackName": "webshop-test",
            "ChangeSetName": "deletion-protection-1",
            "ChangeSetType": "UPDATE",
            "UsePreviousTemplate": True,
            "Parameters": [
                {"ParameterKey": "DeletionProtection", "ParameterValue": "true"},
                {"ParameterKey": "ReleaseVersion", "UsePreviousValue": True},
            ],
            "Capabilities": ["CAPABILITY_IAM"],
            "IncludeNestedStacks": True,
            "Tags": ANY,
        },
    )
    stub.add_response(
        "describe_change_set",
        {"Status": "CREATE_COMPLETE", "ChangeSetName": "deletion-protection-1"},
        {"ChangeSetName": ROOT_CS},
    )
    created = cfn.create_change_set(
        cf,
        stack_name="webshop-test",
        template_body=None,
        values={"DeletionProtection": "true"},
        name="deletion-protection-1",
        tags={},
    )
    assert created == ROOT_CS


def test_every_update_rolls_back_when_a_trigger_alarm_goes_off(cf):
    alarms = [f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{n}" for n in ("a", "b")]
    stub = cf.stubber
    stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE"), {"StackName": "webshop-test"})
    stub.add_response("get_template_summary", {"Parameters": []}, {"TemplateBody": "{}"})
    stub.add_response(
        "create_change_set",
        {"Id": ROOT_CS, "StackId": ROOT_ID},
        {
            "StackName": "webshop-test",
            "ChangeSetName": "update-1",
            "ChangeSetType": "UPDATE",
            "TemplateBody": "{}",
            "Parameters": [],
            "Capabilities": ["CAPABILITY_IAM"],
            "IncludeNestedStacks": True,
            "Tags": [],
            "RollbackConfiguration": {
                "RollbackTriggers": [{"Arn": a, "Type": "AWS::CloudWatch::Alarm"} for a in alarms],
                "MonitoringTimeInMinutes": cfn.ROLLBACK_MONITORING_MINUTES,
            },
        },
    )
    stub.add_response(
        "describe_change_set",
        {"Status": "CREATE_COMPLETE", "ChangeSetName": "update-1"},
        {"ChangeSetName": ROOT_CS},
    )
    created = cfn.create_change_set(
        cf,
        stack_name="webshop-test",
        template_body="{}",
        values={},
        name="update-1",
        tags={},
        rollback_alarms=alarms,
    )
    assert created == ROOT_CS


def test_an_agreed_data_loss_lifts_the_stack_policies_and_sets_them_again(cf):
    stub = cf.stubber
    _tree(stub)
    for stack_id in (ROOT_ID, NESTED_DATA):
        stub.add_response(
            "set_stack_policy",
            {},
            {"StackName": stack_id, "StackPolicyBody": stack_policy(lifted=True)},
        )
    _tree(stub)
    for stack_id in (ROOT_ID, NESTED_DATA):
        stub.add_response(
            "set_stack_policy", {}, {"StackName": stack_id, "StackPolicyBody": stack_policy()}
        )
    with pytest.raises(RuntimeError), cfn.stack_policy_lifted(cf, "webshop-test"):
        raise RuntimeError("the update failed")  # the policies come back all the same


def test_plan_reports_drift_in_nested_stacks(cf, capsys):
    stub = cf.stubber
    _tree(stub)
    for stack_id, detection in ((ROOT_ID, "d1"), (NESTED_DATA, "d2")):
        stub.add_response(
            "detect_stack_drift", {"StackDriftDetectionId": detection}, {"StackName": stack_id}
        )
        base = {"StackId": stack_id, "StackDriftDetectionId": detection, "Timestamp": T0}
        stub.add_response(
            "describe_stack_drift_detection_status",
            {**base, "DetectionStatus": "DETECTION_IN_PROGRESS"},
            {"StackDriftDetectionId": detection},
        )
        stub.add_response(
            "describe_stack_drift_detection_status",
            {**base, "DetectionStatus": "DETECTION_COMPLETE", "StackDriftStatus": "DRIFTED"},
            {"StackDriftDetectionId": detection},
        )
        drifts = []
        if stack_id == NESTED_DATA:
            drifts = [
                {
                    "StackId": stack_id,
                    "LogicalResourceId": "Database",
                    "ResourceType": "AWS::RDS::DBInstance",
                    "StackResourceDriftStatus": "MODIFIED",
                    "Timestamp": T0,
                    "PropertyDifferences": [
                        {
                            "PropertyPath": "/BackupRetentionPeriod",
                            "ExpectedValue": "14",
                            "ActualValue": "1",
                            "DifferenceType": "NOT_EQUAL",
                        }
                    ],
                }
            ]
        stub.add_response(
            "describe_stack_resource_drifts",
            {"StackResourceDrifts": drifts},
            {"StackName": stack_id, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]},
        )
    commands = Commands(StubbedSession(cf), "test", sleep=no_sleep)
    commands._report_drift("webshop-test")
    out = capsys.readouterr().out
    assert "DRIFT: 1 resource(s) changed outside CloudFormation:" in out
    assert (
        "MODIFIED webshop-test-DataStack-3C4D/Database (AWS::RDS::DBInstance):"
        " /BackupRetentionPeriod 14 -> 1"
    ) in out


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        ("ROLLBACK_FAILED", "aws cloudformation delete-stack --stack-name webshop-test"),
        ("DELETE_FAILED", "--retain-resources"),
        ("ROLLBACK_COMPLETE", "aws cloudformation delete-stack --stack-name webshop-test"),
        ("UPDATE_ROLLBACK_FAILED", "python -m deploy.aws recover"),
    ],
)
def test_a_stack_no_change_set_can_fix_gets_the_way_out(cf, status, advice):
    cf.stubber.add_response("describe_stacks", _stack(status), {"StackName": "webshop-test"})
    with pytest.raises(cfn.DeployError, match=status) as raised:
        cfn.create_change_set(
            cf, stack_name="webshop-test", template_body="{}", values={}, name="x", tags={}
        )
    assert advice in str(raised.value)


def test_a_first_create_whose_rollback_failed_is_explained(cf, capsys):
    stack_type = "AWS::CloudFormation::Stack"
    events = [
        _event("r3", ROOT_ID, "webshop-test", stack_type, "ROLLBACK_FAILED", 40),
        _event(
            "r2", ROOT_ID, "DataStack", stack_type, "DELETE_FAILED", 35,
            reason="Cannot delete protected DB Instance", physical=DATA_ID,
        ),
        _event(
            "r1", ROOT_ID, "AppStack", stack_type, "CREATE_FAILED", 30,
            reason="Received 0 SUCCESS signal(s) out of 2", physical=APP_ID,
        ),
        OLD_EVENT,
    ]  # fmt: skip
    stub = cf.stubber
    stub.add_response(
        "describe_stack_events", {"StackEvents": [OLD_EVENT]}, {"StackName": "webshop-test"}
    )
    stub.add_response(
        "describe_stacks", _stack("ROLLBACK_IN_PROGRESS"), {"StackName": "webshop-test"}
    )
    stub.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": ROOT_ID})
    stub.add_response("describe_stacks", _stack("ROLLBACK_FAILED"), {"StackName": ROOT_ID})
    stub.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": ROOT_ID})
    stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": APP_ID})
    stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": DATA_ID})
    assert main(["watch", "--env", "test"], session=StubbedSession(cf), sleep=no_sleep) == 1
    out = capsys.readouterr().out
    assert "First failure: webshop-test/AppStack" in out
    assert "Rollback status: ROLLBACK_FAILED: the first creation failed" in out
    assert "`aws cloudformation delete-stack --stack-name webshop-test`" in out
