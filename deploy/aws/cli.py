"""Ops commands for the webshop stack: `python -m deploy.aws <command> --env <env>`.

  bootstrap       create/update the artifact+log buckets stack, the us-east-1 WAF and edge
                  alarms stack, and with --dr-region the DR region's bootstrap and DR stacks
  upload-release  put dist/webshop-<version>.tar.gz under releases/ in the artifact bucket
  plan            package the templates, report drift, create a change set, print it, flag
                  data loss
  apply           execute a planned change set (refused on data loss without
                  --allow-data-loss) and follow the events to the end; after the first
                  create, protect the stack
  protect         termination protection, stack policies, deletion protection (apply does
                  it after the first create; rerun it any time)
  status          stack status, parameters that matter and outputs
  watch           follow a stack operation that is already running
  recover         continue-update-rollback for a stack in UPDATE_ROLLBACK_FAILED

Exit codes: 0 done, 1 failed, 3 the change set would destroy data (plan warns, apply refuses).
deploy/README.md is the runbook that strings these together.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3

from deploy.aws import artifacts, cfn, changeset
from deploy.aws.cfn import DeployError

TEMPLATES = Path(__file__).resolve().parents[2] / "cloudformation"
WAF_REGION = "us-east-1"
EXIT_DATA_LOSS = 3
# The image the instances boot; x86_64 like the release's wheels (deploy/release/build.py).
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
# DR stack output -> main stack parameter.
DR_PARAMETERS = {
    "DrKeyArn": "DrKeyArn",
    "DrBackupVaultArn": "DrBackupVaultArn",
    "DrMediaBucketName": "DrMediaBucketName",
}


def stack_names(env: str) -> dict[str, str]:
    return {
        "main": f"webshop-{env}",
        "bootstrap": f"webshop-{env}-bootstrap",
        "waf": f"webshop-{env}-waf",
        "dr": f"webshop-{env}-dr",
    }


def parse_values(pairs: list[str], parameters_file: Path | None) -> dict[str, str]:
    """Parameters from a JSON file ({"Key": "value"}) overridden by --param KEY=VALUE."""
    values: dict[str, str] = {}
    if parameters_file:
        loaded = json.loads(parameters_file.read_text())
        if not isinstance(loaded, dict):
            raise DeployError(f'{parameters_file}: expected a JSON object {{"Key": "value"}}')
        values.update({k: str(v) for k, v in loaded.items()})
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DeployError(f"--param {pair!r}: expected KEY=VALUE")
        values[key] = value
    return values


def check_group_sizes(values: dict[str, str], previous: dict[str, str]) -> None:
    """Min <= Desired <= Max, and Min < Max: the rolling update keeps MinSize
    instances in service and needs room above it for the new one."""
    merged = {**previous, **values}
    try:
        low, high = int(merged["AsgMinSize"]), int(merged["AsgMaxSize"])
        desired = int(merged["AsgDesiredCapacity"])
    except (KeyError, ValueError):
        return  # template defaults apply; they satisfy the rule
    if not low < high:
        raise DeployError(f"AsgMinSize ({low}) must be below AsgMaxSize ({high})")
    if not low <= desired <= high:
        raise DeployError(f"AsgDesiredCapacity ({desired}) must lie in [{low}, {high}]")


class Commands:
    """One method per command; clients come from one boto3 session."""

    def __init__(self, session, env: str, *, sleep: Callable[[float], None] = time.sleep):
        self.session = session
        self.cf = session.client("cloudformation")
        self.cf_global = session.client("cloudformation", region_name=WAF_REGION)
        self.s3 = session.client("s3")
        self.ec2 = session.client("ec2")
        self.ssm = session.client("ssm")
        self.env = env
        self.names = stack_names(env)
        self.print = print
        self.sleep = sleep

    def _tags(self) -> dict[str, str]:
        return {"Project": "webshop", "Environment": self.env}

    def _bootstrap_outputs(self, cf=None) -> dict[str, str]:
        found = cfn.outputs(cfn.find_stack(cf or self.cf, self.names["bootstrap"]))
        if "ArtifactBucketName" not in found:
            raise DeployError(
                f"stack {self.names['bootstrap']} has no outputs; run"
                f" `python -m deploy.aws bootstrap --env {self.env}` first"
            )
        return found

    def _plan_and_maybe_apply(
        self, cf, name: str, body: str, values: dict, allow_data_loss: bool
    ) -> int:
        change_set = cfn.create_change_set(
            cf,
            stack_name=name,
            template_body=body,
            values=values,
            name=cfn.change_set_name("bootstrap"),
            tags=self._tags(),
        )
        if change_set is None:
            self.print(f"{name}: no changes.")
            return 0
        code = self._preview(cf, change_set)
        if code == EXIT_DATA_LOSS and not allow_data_loss:
            self.print("Refused: not executed.")
            return code
        return self._finish(cfn.execute(cf, name, change_set, sleep=self.sleep))

    def bootstrap(
        self, allow_data_loss: bool, dr_region: str | None = None, alarm_email: str | None = None
    ) -> int:
        values = {"EnvironmentName": self.env}
        code = self._plan_and_maybe_apply(
            self.cf,
            self.names["bootstrap"],
            (TEMPLATES / "bootstrap.yaml").read_text(),
            values,
            allow_data_loss,
        )
        if code:
            return code
        edge = dict(values)
        # The distribution to watch exists once the main stack does (run bootstrap again
        # after the first deploy).
        distribution = cfn.outputs(cfn.find_stack(self.cf, self.names["main"])).get(
            "DistributionId"
        )
        if distribution:
            edge["DistributionId"] = distribution
        if alarm_email is not None:
            edge["AlarmEmail"] = alarm_email
        code = self._plan_and_maybe_apply(
            self.cf_global,
            self.names["waf"],
            (TEMPLATES / "waf.yaml").read_text(),
            edge,
            allow_data_loss,
        )
        if code or not dr_region:
            return code
        cf_dr = self.session.client("cloudformation", region_name=dr_region)
        code = self._plan_and_maybe_apply(
            cf_dr,
            self.names["bootstrap"],
            (TEMPLATES / "bootstrap.yaml").read_text(),
            values,
            allow_data_loss,
        )
        if code:
            return code
        dr_values = {**values, "LogBucketName": self._bootstrap_outputs(cf_dr)["LogBucketName"]}
        return self._plan_and_maybe_apply(
            cf_dr, self.names["dr"], (TEMPLATES / "dr.yaml").read_text(), dr_values, allow_data_loss
        )

    def upload_release(self, path: Path) -> int:
        bucket = self._bootstrap_outputs()["ArtifactBucketName"]
        version = artifacts.upload_release(self.s3, bucket, path)
        self.print(f"Uploaded s3://{bucket}/{artifacts.release_key(version)}")
        self.print(f"Next: python -m deploy.aws plan --env {self.env} --release {version}")
        return 0

    def _site_values(self, values: dict[str, str], previous: dict[str, str], latest_ami: bool):
        """What the tool looks up instead of the operator: the WAF, CloudFront's prefix
        list, the DR stack's outputs and, on the first plan or when asked, the AMI."""
        if "WebAclArn" not in values:
            waf = cfn.outputs(cfn.find_stack(self.cf_global, self.names["waf"]))
            if "WebAclArn" in waf:
                values["WebAclArn"] = waf["WebAclArn"]
        if "CloudFrontPrefixListId" not in values:
            lists = self.ec2.describe_managed_prefix_lists(
                Filters=[{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST]}]
            )["PrefixLists"]
            if not lists:
                raise DeployError(f"no managed prefix list {CLOUDFRONT_PREFIX_LIST} here")
            values["CloudFrontPrefixListId"] = lists[0]["PrefixListId"]
        if "AmiId" not in values and (latest_ami or "AmiId" not in previous):
            values["AmiId"] = self.ssm.get_parameter(Name=AMI_PARAMETER)["Parameter"]["Value"]
        dr_region = values.get("DrRegion", previous.get("DrRegion", ""))
        if dr_region:
            cf_dr = self.session.client("cloudformation", region_name=dr_region)
            dr = cfn.outputs(cfn.find_stack(cf_dr, self.names["dr"]))
            if not dr:
                raise DeployError(
                    f"no stack {self.names['dr']} in {dr_region}; run"
                    f" `python -m deploy.aws bootstrap --env {self.env} --dr-region {dr_region}`"
                )
            for output, parameter in DR_PARAMETERS.items():
                values.setdefault(parameter, dr[output])

    def _report_drift(self, name: str) -> None:
        drifts = cfn.detect_drift(self.cf, name, sleep=self.sleep)
        if not drifts:
            self.print(f"Drift: none (every resource matches what {name} last deployed).")
            return
        self.print(f"DRIFT: {len(drifts)} resource(s) changed outside CloudFormation:")
        for drift in drifts:
            self.print(drift.render())
        self.print(
            "An update may overwrite these changes or fail on them: put them in the"
            " templates or undo them first (deploy/README.md, 'Drift')."
        )

    def plan(self, release: str | None, values: dict[str, str], latest_ami: bool = False) -> int:
        boot = self._bootstrap_outputs()
        for key in ("ArtifactBucketName", "LogBucketName", "LogBucketDomainName"):
            values.setdefault(key, boot[key])
        values.setdefault("EnvironmentName", self.env)
        if release:
            values["ReleaseVersion"] = release
        if "ReleaseVersion" in values and not artifacts.release_exists(
            self.s3, values["ArtifactBucketName"], values["ReleaseVersion"]
        ):
            raise DeployError(
                f"release {values['ReleaseVersion']} is not in s3://{values['ArtifactBucketName']}"
                "/releases/; run upload-release first"
            )
        current = cfn.find_stack(self.cf, self.names["main"])
        previous = cfn.parameters(current)
        check_group_sizes(values, previous)
        self._site_values(values, previous, latest_ami)
        values.update(
            artifacts.package_templates(self.s3, values["ArtifactBucketName"], TEMPLATES / "stacks")
        )
        if current and current["StackStatus"] not in (*cfn.BLOCKED, "REVIEW_IN_PROGRESS"):
            self._report_drift(self.names["main"])  # a stack never created has no drift
        alarms = cfn.outputs(current).get("RollbackAlarmArns", "")
        change_set = cfn.create_change_set(
            self.cf,
            stack_name=self.names["main"],
            template_body=(TEMPLATES / "webshop.yaml").read_text(),
            values=values,
            name=cfn.change_set_name(f"release-{release}" if release else "update"),
            tags=self._tags(),
            rollback_alarms=[arn for arn in alarms.split(",") if arn],
        )
        if change_set is None:
            self.print(f"{self.names['main']}: no changes.")
            return 0
        code = self._preview(self.cf, change_set)
        name = self.cf.describe_change_set(ChangeSetName=change_set)["ChangeSetName"]
        flag = " --allow-data-loss" if code == EXIT_DATA_LOSS else ""
        self.print(f"Next: python -m deploy.aws apply --env {self.env} --change-set {name}{flag}")
        return code

    def _preview(self, cf, change_set_id: str) -> int:
        description = cf.describe_change_set(ChangeSetName=change_set_id)
        current = cfn.parameters(cfn.find_stack(cf, description["StackName"]))
        changes = changeset.collect_changes(cf, change_set_id)
        self.print(changeset.render(description, changes, current))
        return EXIT_DATA_LOSS if changeset.dangerous(changes) else 0

    def apply(self, change_set_name: str, allow_data_loss: bool) -> int:
        name = self.names["main"]
        description = self.cf.describe_change_set(ChangeSetName=change_set_name, StackName=name)
        if description.get("ExecutionStatus") != "AVAILABLE":
            raise DeployError(
                f"change set {change_set_name} cannot run: execution status"
                f" {description.get('ExecutionStatus')} ({description.get('StatusReason', '')})"
            )
        code = self._preview(self.cf, description["ChangeSetId"])
        if code == EXIT_DATA_LOSS and not allow_data_loss:
            self.print("Refused: this change set destroys data. Re-run with --allow-data-loss")
            self.print("only after taking a snapshot and agreeing on it (deploy/README.md).")
            return code
        first_create = cfn.find_stack(self.cf, name)["StackStatus"] == "REVIEW_IN_PROGRESS"
        if code == EXIT_DATA_LOSS:
            with cfn.stack_policy_lifted(self.cf, name, print_line=self.print):
                status = cfn.execute(self.cf, name, description["ChangeSetId"], sleep=self.sleep)
        else:
            status = cfn.execute(self.cf, name, description["ChangeSetId"], sleep=self.sleep)
        if first_create and status == "CREATE_COMPLETE":
            self.print("First create complete: protecting the stack.")
            return self.protect()
        return self._finish(status)

    def protect(self) -> int:
        """Termination protection and stack policies, then deletion protection on RDS and
        the ALB: off during the first create so that a failed one rolls back cleanly."""
        name = self.names["main"]
        cfn.protect_stack(self.cf, name, print_line=self.print)
        stack = cfn.find_stack(self.cf, name)
        if cfn.parameters(stack).get("DeletionProtection") == "true":
            self.print(f"{name}: deletion protection already on")
            return 0
        change_set = cfn.create_change_set(
            self.cf,
            stack_name=name,
            template_body=None,
            values={"DeletionProtection": "true"},
            name=cfn.change_set_name("deletion-protection"),
            tags=self._tags(),
        )
        if change_set is None:
            return 0
        if self._preview(self.cf, change_set) == EXIT_DATA_LOSS:
            self.print("Refused: turning on deletion protection should change nothing else.")
            return EXIT_DATA_LOSS
        return self._finish(cfn.execute(self.cf, name, change_set, sleep=self.sleep))

    def status(self) -> int:
        found = cfn.find_stack(self.cf, self.names["main"])
        if found is None:
            self.print(f"{self.names['main']}: does not exist")
            return 1
        self.print(f"{self.names['main']}: {found['StackStatus']}")
        params = cfn.parameters(found)
        for key in (
            "ReleaseVersion",
            "InstanceGeneration",
            "AmiId",
            "AsgMinSize",
            "AsgMaxSize",
            "DeletionProtection",
            "DrRegion",
        ):
            if key in params:
                self.print(f"  {key} = {params[key]}")
        for key, value in sorted(cfn.outputs(found).items()):
            self.print(f"  {key}: {value}")
        return 0

    def watch(self) -> int:
        return self._finish(
            cfn.follow(
                self.cf,
                self.names["main"],
                after_event_id=cfn.latest_event_id(self.cf, self.names["main"]),
                sleep=self.sleep,
            )
        )

    def recover(self, skip: list[str]) -> int:
        status = cfn.continue_rollback(self.cf, self.names["main"], skip=skip, sleep=self.sleep)
        return 0 if status == "UPDATE_ROLLBACK_COMPLETE" else 1

    def _finish(self, status: str) -> int:
        return 0 if status in cfn.SUCCESS else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.aws",
        description=__doc__.split("\n\n", 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--region", help="AWS region of the stack (default: the profile's)")
    parser.add_argument("--profile", help="AWS profile")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--env", required=True, help="environment name, e.g. prod")
        return p

    p = command("bootstrap", "create or update the bootstrap, WAF (and DR) stacks")
    p.add_argument("--allow-data-loss", action="store_true")
    p.add_argument("--dr-region", help="also the bootstrap and DR stacks in this region")
    p.add_argument("--alarm-email", help="subscribe it to the us-east-1 edge alarms")
    p = command("upload-release", "upload a release tarball to the artifact bucket")
    p.add_argument("file", type=Path, help="dist/webshop-<version>.tar.gz")
    p = command("plan", "create and print a change set for the main stack")
    p.add_argument("--release", help="release version to roll out (sets ReleaseVersion)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--parameters-file", type=Path, help='JSON object {"Key": "value"}')
    p.add_argument(
        "--latest-ami", action="store_true", help="move AmiId to the latest Amazon Linux 2023"
    )
    p = command("apply", "execute a planned change set and follow it")
    p.add_argument("--change-set", required=True)
    p.add_argument("--allow-data-loss", action="store_true")
    command("protect", "termination protection, stack policies, deletion protection")
    command("status", "print the stack's status and outputs")
    command("watch", "follow a running stack operation")
    p = command("recover", "continue-update-rollback (UPDATE_ROLLBACK_FAILED only)")
    p.add_argument("--skip-resource", action="append", default=[], metavar="LOGICAL_ID")
    return parser


def main(
    argv: list[str] | None = None,
    *,
    session=None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    args = build_parser().parse_args(argv)
    session = session or boto3.Session(profile_name=args.profile, region_name=args.region)
    commands = Commands(session, args.env, sleep=sleep)
    try:
        match args.command:
            case "bootstrap":
                return commands.bootstrap(args.allow_data_loss, args.dr_region, args.alarm_email)
            case "upload-release":
                return commands.upload_release(args.file)
            case "plan":
                values = parse_values(args.param, args.parameters_file)
                return commands.plan(args.release, values, args.latest_ami)
            case "apply":
                return commands.apply(args.change_set, args.allow_data_loss)
            case "protect":
                return commands.protect()
            case "status":
                return commands.status()
            case "watch":
                return commands.watch()
            case "recover":
                return commands.recover(args.skip_resource)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1
