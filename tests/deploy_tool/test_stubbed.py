"""What moto cannot produce, answered by botocore's Stubber:

- a change set that says Replacement: True, and nested change sets
  (IncludeNestedStacks): moto reports Add/Modify/Remove only, without replacement
  or nested change set ids;
- a failed update and its rollback: moto applies every change set successfully;
- UPDATE_ROLLBACK_FAILED and ContinueUpdateRollback, which moto does not implement.

The Stubber also proves what is *not* called: any request without a queued
response (ExecuteChangeSet after a refusal, DeleteStack ever) fails the test.
"""

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from deploy.aws.changeset import Change
from deploy.aws.cli import main
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
    ],
)
def test_which_changes_destroy_data(resource_type, action, replacement, danger):
    found = Change("X", resource_type, action, replacement).danger
    assert (found and found.split(" (")[0]) == danger


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
    stub.add_response("describe_change_set", root, {"ChangeSetName": ROOT_CS})
    stub.add_response("describe_change_set", nested, {"ChangeSetName": DATA_CS})

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
