"""Stack operations the CLI composes: change sets in, live events out, never a delete.

Every update goes through a change set so that `changeset.py` can judge it before it
runs, with the monitoring stack's alarms as rollback triggers; a failed update is
explained from its events (the first failing resource and the rollback status), and
UPDATE_ROLLBACK_FAILED is resolved with continue-update-rollback. After the first
create, `protect` turns on termination protection, the stack policy (on the root and
every nested stack) and deletion protection. Nothing here deletes a stack.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import ClientError, WaiterError

from deploy.aws import changeset

SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# Failures that only echo another resource's failure; the root cause is elsewhere.
_ECHOES = ("Resource update cancelled", "Resource creation cancelled", "Embedded stack")

# After an update, the rollback triggers watch the alarms this long before the update
# counts as complete: the 5xx alarms need 3 bad minutes out of 5 to go off.
ROLLBACK_MONITORING_MINUTES = 10

ROLLBACK_ADVICE = {
    "UPDATE_ROLLBACK_COMPLETE": "rolled back: the stack runs the previous template and parameters.",
    "ROLLBACK_COMPLETE": (
        "the first creation failed and was rolled back; the empty stack can only be deleted"
        " before a retry: `aws cloudformation delete-stack --stack-name {stack}`"
        " (deploy/README.md, 'When the first create fails')."
    ),
    "ROLLBACK_FAILED": (
        "the first creation failed and its rollback could not delete the resources named"
        " above (deletion protection turned on by hand, files put in a bucket). The stack"
        " holds no data yet: fix those resources, then"
        " `aws cloudformation delete-stack --stack-name {stack}` and plan again"
        " (deploy/README.md, 'When the first create fails')."
    ),
    "DELETE_FAILED": (
        "the deletion stopped at the resources named above. Fix them, or keep them with"
        " `aws cloudformation delete-stack --stack-name {stack} --retain-resources"
        " <LogicalId>...`, and delete again (deploy/README.md, 'When the first create"
        " fails'); a stack with data is never deleted."
    ),
    "UPDATE_ROLLBACK_FAILED": (
        "the rollback itself failed: fix the cause, then run"
        " `python -m deploy.aws recover --env <env>` (never delete the stack)."
    ),
}
# States in which CloudFormation accepts no change set: the advice says what does.
BLOCKED = ("UPDATE_ROLLBACK_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")


def advice(status: str, stack_name: str) -> str:
    return ROLLBACK_ADVICE.get(status, "see the events above.").format(stack=stack_name)


class DeployError(Exception):
    """An operator-facing failure: the message says what to do."""


def find_stack(cf, name: str) -> dict | None:
    try:
        return cf.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def outputs(stack: dict | None) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs") or []}


def parameters(stack: dict | None) -> dict[str, str]:
    return {
        p["ParameterKey"]: p.get("ParameterValue", "")
        for p in (stack or {}).get("Parameters") or []
    }


def change_set_name(label: str, now: datetime | None = None) -> str:
    """Names must start with a letter and hold only letters, digits and hyphens."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in label).strip("-")
    return f"{cleaned or 'update'}-{stamp}"[:128]


def create_change_set(
    cf,
    *,
    stack_name: str,
    template_body: str,
    values: dict[str, str],
    name: str,
    tags: dict[str, str],
    rollback_alarms: list[str] = (),
) -> str | None:
    """Create a change set and wait for it; None when it would change nothing.

    On an update every template parameter that is not given keeps its previous
    value, so a release only has to name the release. Without a template body the
    stack's current template is kept (a parameter-only change). An update rolls back
    by itself when one of `rollback_alarms` goes off while it runs.
    """
    stack = find_stack(cf, stack_name)
    updating = stack is not None and stack["StackStatus"] != "REVIEW_IN_PROGRESS"
    if stack and stack["StackStatus"] in BLOCKED:
        raise DeployError(
            f"stack {stack_name} is {stack['StackStatus']}: "
            + advice(stack["StackStatus"], stack_name)
        )
    template = {"TemplateBody": template_body} if template_body else {"StackName": stack_name}
    summary = cf.get_template_summary(**template)
    declared = [p["ParameterKey"] for p in summary.get("Parameters", [])]
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise DeployError(f"parameters not in the template: {', '.join(unknown)}")
    previous = parameters(stack) if updating else {}
    params = []
    for key in declared:
        if key in values:
            params.append({"ParameterKey": key, "ParameterValue": values[key]})
        elif key in previous:
            params.append({"ParameterKey": key, "UsePreviousValue": True})
    request = {
        "StackName": stack_name,
        "ChangeSetName": name,
        "ChangeSetType": "UPDATE" if updating else "CREATE",
        "Parameters": params,
        "Capabilities": ["CAPABILITY_IAM"],
        "IncludeNestedStacks": True,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if template_body:
        request["TemplateBody"] = template_body
    else:
        request["UsePreviousTemplate"] = True
    if updating and rollback_alarms:
        request["RollbackConfiguration"] = {
            "RollbackTriggers": [
                {"Arn": arn, "Type": "AWS::CloudWatch::Alarm"} for arn in rollback_alarms
            ],
            "MonitoringTimeInMinutes": ROLLBACK_MONITORING_MINUTES,
        }
    try:
        created = cf.create_change_set(**request)
    except ClientError as exc:
        # CloudFormation reports "nothing to do" as a failed change set; some
        # endpoints (moto) refuse the request instead. Both mean no changes.
        if any(marker in str(exc) for marker in NO_CHANGES):
            return None
        raise
    try:
        # botocore's waiter polls until CREATE_COMPLETE and fails on FAILED.
        cf.get_waiter("change_set_create_complete").wait(
            ChangeSetName=created["Id"], WaiterConfig={"Delay": 3, "MaxAttempts": 200}
        )
    except WaiterError as exc:
        reason = (exc.last_response or {}).get("StatusReason", str(exc))
        if any(marker in reason for marker in NO_CHANGES):
            cf.delete_change_set(ChangeSetName=created["Id"])
            return None
        raise DeployError(f"change set {name} failed: {reason}") from exc
    return created["Id"]


@dataclass
class EventLog:
    """Events of a stack and its nested stacks, printed once each, oldest first."""

    root_id: str
    after_event_id: str | None
    print_line: Callable[[str], None]
    events: list[dict] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    _stacks: list[str] = field(default_factory=list)
    _started: datetime | None = None

    def __post_init__(self) -> None:
        self._stacks.append(self.root_id)

    def poll(self, cf) -> None:
        for stack_id in list(self._stacks):
            fresh = self._new_events(cf, stack_id)
            for event in reversed(fresh):
                self._record(event)

    def _new_events(self, cf, stack_id: str) -> list[dict]:
        fresh: list[dict] = []
        for page in cf.get_paginator("describe_stack_events").paginate(StackName=stack_id):
            for event in page["StackEvents"]:
                if event["EventId"] in self._seen or event["EventId"] == self.after_event_id:
                    return fresh
                if self._started and event["Timestamp"] < self._started:
                    return fresh
                fresh.append(event)
        return fresh

    def _record(self, event: dict) -> None:
        self._seen.add(event["EventId"])
        if self._started is None:
            self._started = event["Timestamp"]
        self.events.append(event)
        physical = event.get("PhysicalResourceId", "")
        if (
            event["ResourceType"] == "AWS::CloudFormation::Stack"
            and physical.startswith("arn:")
            and physical not in self._stacks
        ):
            self._stacks.append(physical)
        reason = event.get("ResourceStatusReason")
        self.print_line(
            f"{event['Timestamp']:%H:%M:%S}  {event['StackName']}/{event['LogicalResourceId']}"
            f"  {event['ResourceType']}  {event['ResourceStatus']}"
            + (f"  {reason}" if reason else "")
        )

    def first_failure(self) -> dict | None:
        """The earliest failed event that is a cause rather than an echo of one."""
        failed = sorted(
            (e for e in self.events if e["ResourceStatus"].endswith("_FAILED")),
            key=lambda e: e["Timestamp"],
        )
        causes = [
            e for e in failed if not (e.get("ResourceStatusReason") or "").startswith(_ECHOES)
        ]
        return (causes or failed or [None])[0]


def latest_event_id(cf, stack_name: str) -> str | None:
    events = cf.describe_stack_events(StackName=stack_name)["StackEvents"]
    return events[0]["EventId"] if events else None


def follow(
    cf,
    stack_name: str,
    *,
    after_event_id: str | None,
    print_line: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = 5.0,
) -> str:
    """Print events live until the stack settles; explain a failure. Returns the status."""
    stack = find_stack(cf, stack_name)
    if stack is None:
        raise DeployError(f"stack {stack_name} does not exist")
    log = EventLog(stack["StackId"], after_event_id, print_line)
    while True:
        log.poll(cf)
        status = cf.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            log.poll(cf)
            break
        sleep(poll_seconds)
    print_line(f"Stack {stack_name}: {status}")
    if status not in SUCCESS:
        cause = log.first_failure()
        if cause:
            reason = cause.get("ResourceStatusReason", "no reason given")
            print_line(
                f"First failure: {cause['StackName']}/{cause['LogicalResourceId']}"
                f" ({cause['ResourceType']}): {reason}"
            )
        print_line(f"Rollback status: {status}: {advice(status, stack_name)}")
    return status


def execute(
    cf,
    stack_name: str,
    change_set_id: str,
    *,
    print_line: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Execute a change set and follow it to the end. Returns the final stack status."""
    stack = find_stack(cf, stack_name)
    after = None
    if stack and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
        after = latest_event_id(cf, stack_name)
    cf.execute_change_set(ChangeSetName=change_set_id, StackName=stack_name)
    return follow(cf, stack_name, after_event_id=after, print_line=print_line, sleep=sleep)


def continue_rollback(
    cf,
    stack_name: str,
    *,
    skip: list[str],
    print_line: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Finish a rollback that failed; the only way out of UPDATE_ROLLBACK_FAILED we use."""
    stack = find_stack(cf, stack_name)
    status = stack["StackStatus"] if stack else "missing"
    if status != "UPDATE_ROLLBACK_FAILED":
        raise DeployError(
            f"stack {stack_name} is {status}; continue-update-rollback applies only to"
            " UPDATE_ROLLBACK_FAILED"
        )
    after = latest_event_id(cf, stack_name)
    request = {"StackName": stack_name}
    if skip:
        request["ResourcesToSkip"] = skip
    cf.continue_update_rollback(**request)
    return follow(cf, stack_name, after_event_id=after, print_line=print_line, sleep=sleep)


# --- protections ---------------------------------------------------------------------


def stack_tree(cf, stack_name: str) -> list[str]:
    """The stack and all of its nested stacks (ids), parents first."""
    root = find_stack(cf, stack_name)
    if root is None:
        raise DeployError(f"stack {stack_name} does not exist")
    found, pending = [], [root["StackId"]]
    while pending:
        stack_id = pending.pop(0)
        found.append(stack_id)
        for page in cf.get_paginator("list_stack_resources").paginate(StackName=stack_id):
            pending += [
                r["PhysicalResourceId"]
                for r in page["StackResourceSummaries"]
                if r["ResourceType"] == "AWS::CloudFormation::Stack"
                and r.get("PhysicalResourceId", "").startswith("arn:")
            ]
    return found


def protect_stack(cf, stack_name: str, print_line: Callable[[str], None] = print) -> None:
    """Termination protection on the root (it covers the nested stacks), and the stack
    policy on every stack: a stack policy applies only to the stack it is set on."""
    cf.update_termination_protection(EnableTerminationProtection=True, StackName=stack_name)
    tree = stack_tree(cf, stack_name)
    for stack_id in tree:
        cf.set_stack_policy(StackName=stack_id, StackPolicyBody=changeset.stack_policy())
    print_line(
        f"{stack_name}: termination protection on; stack policy on {len(tree)} stack(s):"
        " stateful resources can be modified, never replaced or deleted"
    )


@contextmanager
def stack_policy_lifted(cf, stack_name: str, print_line: Callable[[str], None] = print):
    """Let one agreed update replace or delete stateful resources (apply
    --allow-data-loss): change sets cannot override a stack policy, so every stack's
    policy is relaxed for the update and set again after it, whatever happened."""
    tree = stack_tree(cf, stack_name)
    for stack_id in tree:
        cf.set_stack_policy(StackName=stack_id, StackPolicyBody=changeset.stack_policy(lifted=True))
    print_line(f"{stack_name}: stack policy lifted for this update")
    try:
        yield
    finally:
        for stack_id in stack_tree(cf, stack_name):
            cf.set_stack_policy(StackName=stack_id, StackPolicyBody=changeset.stack_policy())
        print_line(f"{stack_name}: stack policy set again")


# --- drift ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    stack: str
    logical_id: str
    resource_type: str
    status: str
    differences: tuple[str, ...]

    def render(self) -> str:
        detail = f": {'; '.join(self.differences)}" if self.differences else ""
        return f"  {self.status:<8} {self.stack}/{self.logical_id} ({self.resource_type}){detail}"


def detect_drift(
    cf,
    stack_name: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = 3.0,
    max_polls: int = 200,
) -> list[Drift]:
    """Resources changed or deleted outside CloudFormation, in the stack and every nested
    stack (drift detection on a stack does not look into its nested stacks)."""
    drifts: list[Drift] = []
    for stack_id in stack_tree(cf, stack_name):
        detection = cf.detect_stack_drift(StackName=stack_id)["StackDriftDetectionId"]
        for _ in range(max_polls):
            state = cf.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
            if state["DetectionStatus"] != "DETECTION_IN_PROGRESS":
                break
            sleep(poll_seconds)
        else:
            raise DeployError(f"drift detection on {stack_id} did not finish")
        if state["DetectionStatus"] == "DETECTION_FAILED":
            raise DeployError(
                f"drift detection on {stack_id} failed: {state.get('DetectionStatusReason')}"
            )
        name = stack_id.split("/")[1] if stack_id.startswith("arn:") else stack_id
        request = {
            "StackName": stack_id,
            "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"],
        }
        while True:  # botocore has no paginator for this one
            page = cf.describe_stack_resource_drifts(**request)
            for r in page["StackResourceDrifts"]:
                drifts.append(
                    Drift(
                        stack=name,
                        logical_id=r["LogicalResourceId"],
                        resource_type=r["ResourceType"],
                        status=r["StackResourceDriftStatus"],
                        differences=tuple(
                            f"{d['PropertyPath']} {d.get('ExpectedValue')!s} ->"
                            f" {d.get('ActualValue')!s}"
                            for d in r.get("PropertyDifferences", [])
                        ),
                    )
                )
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
    return drifts
