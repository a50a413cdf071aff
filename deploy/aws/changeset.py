"""Reading a change set the way a reviewer must: every change, nested stacks included.

The one rule that protects data lives in `Change.danger`: a stateful resource that
would be replaced or removed, or changed in place in a way that destroys what it holds
or what protects it, makes the whole change set dangerous, and `apply` refuses it unless
the operator passes --allow-data-loss. The stack policy the tool sets (`stack_policy`)
denies the same replacements and deletions to anyone who updates the stack without it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# Resources whose loss is loss of data (or of the key that decrypts it, the logs, the
# recovery points, or the distribution's domain name that DNS points at). Removing a
# nested stack deletes everything inside it, so it counts as well.
STATEFUL_TYPES = frozenset(
    {
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::CacheCluster",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::Backup::BackupVault",
        "AWS::CloudFront::Distribution",
        "AWS::CloudFormation::Stack",
    }
)

# "Conditional" replacement and the "Dynamic" action mean CloudFormation cannot
# tell before it runs: for data, an unknown is treated as a yes.
_REPLACING = frozenset({"True", "Conditional"})
_RECREATING = frozenset({"Always", "Conditionally"})
# Deletion and replace policies that keep the resource (or a snapshot of it).
_KEEPING_POLICIES = frozenset({"Retain", "RetainExceptOnCreate", "Snapshot"})
# Properties whose new value regenerates a secret: RDS and ElastiCache keep the old one.
_SECRET_VALUE = frozenset({"GenerateSecretString", "SecretString"})


@dataclass(frozen=True)
class Detail:
    """One target of a resource change (what changes, and why, as CloudFormation says)."""

    attribute: str
    name: str = ""
    requires_recreation: str = ""
    evaluation: str = ""
    before: str | None = None
    after: str | None = None

    @classmethod
    def from_api(cls, raw: dict) -> Detail:
        target = raw.get("Target", {})
        return cls(
            attribute=target.get("Attribute", ""),
            name=target.get("Name", ""),
            requires_recreation=target.get("RequiresRecreation", ""),
            evaluation=raw.get("Evaluation", ""),
            before=target.get("BeforeValue"),
            after=target.get("AfterValue"),
        )


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _in_place_danger(resource_type: str, detail: Detail) -> str | None:
    """Why an in-place change of one target destroys data or its protection."""
    if detail.attribute in ("DeletionPolicy", "UpdateReplacePolicy"):
        if detail.after in _KEEPING_POLICIES:
            return None
        return f"left without a keeping {detail.attribute} (now {detail.after or 'unknown'})"
    if detail.attribute != "Properties":
        return None
    if detail.evaluation == "Dynamic" and detail.requires_recreation in _RECREATING:
        return f"may be replaced ({detail.name} is decided only at execution)"
    if resource_type == "AWS::SecretsManager::Secret" and detail.name in _SECRET_VALUE:
        return "regenerated (a new value; the database or cache keeps the old one)"
    if detail.name == "DeletionProtection" and (detail.after or "").lower() != "true":
        return f"left without deletion protection ({detail.before} -> {detail.after})"
    if detail.name == "BackupRetentionPeriod":
        before, after = _number(detail.before), _number(detail.after)
        if before is None or after is None or after < before:
            return (
                f"keeping fewer automated backups ({detail.before} -> {detail.after} days:"
                " older backups are deleted)"
            )
    return None


@dataclass(frozen=True)
class Change:
    """One resource change; `path` is `NestedStack/Logical` for nested changes."""

    path: str
    resource_type: str
    action: str
    replacement: str | None = None
    targets: tuple[str, ...] = ()
    details: tuple[Detail, ...] = ()

    @property
    def danger(self) -> str | None:
        """Why this change can destroy data, or None when it cannot."""
        if self.resource_type not in STATEFUL_TYPES:
            return None
        if self.action == "Remove":
            return "deleted"
        if self.resource_type == "AWS::CloudFormation::Stack":
            return None  # its own resources are listed and judged one by one
        if self.action == "Dynamic":
            return "may be replaced (decided only at execution)"
        if self.action == "Modify" and self.replacement in _REPLACING:
            verb = "replaced" if self.replacement == "True" else "may be replaced"
            return f"{verb} (new physical resource, the old one is deleted)"
        reasons = [r for d in self.details if (r := _in_place_danger(self.resource_type, d))]
        return "; ".join(dict.fromkeys(reasons)) or None


def stack_policy(*, lifted: bool = False) -> str:
    """The stack policy of every stack of the environment: any update may modify
    resources, none may replace or delete a stateful one. `lifted` allows everything,
    for the one update the operator agreed to with --allow-data-loss."""
    statements = [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
    if not lifted:
        statements.append(
            {
                "Effect": "Deny",
                "Action": ["Update:Replace", "Update:Delete"],
                "Principal": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"ResourceType": sorted(STATEFUL_TYPES)}},
            }
        )
    return json.dumps({"Statement": statements})


def _describe_all(cf, change_set_id: str) -> tuple[dict, list[dict]]:
    """The change set's description and all of its pages of changes."""
    pages = list(
        cf.get_paginator("describe_change_set").paginate(
            ChangeSetName=change_set_id, IncludePropertyValues=True
        )
    )
    return pages[0], [change for page in pages for change in page.get("Changes", [])]


def collect_changes(cf, change_set_id: str, prefix: str = "") -> list[Change]:
    """Flatten a change set, descending into nested stacks' change sets."""
    _, raw = _describe_all(cf, change_set_id)
    result = []
    for item in raw:
        rc = item.get("ResourceChange", {})
        path = prefix + rc.get("LogicalResourceId", "?")
        details = tuple(Detail.from_api(d) for d in rc.get("Details", []))
        targets = tuple(sorted({d.name or d.attribute for d in details if d.name or d.attribute}))
        result.append(
            Change(
                path=path,
                resource_type=rc.get("ResourceType", "?"),
                action=rc.get("Action", "?"),
                replacement=rc.get("Replacement"),
                targets=targets,
                details=details,
            )
        )
        nested_id = rc.get("ChangeSetId")
        if rc.get("ResourceType") == "AWS::CloudFormation::Stack" and nested_id:
            result.extend(collect_changes(cf, nested_id, prefix=path + "/"))
    return result


def dangerous(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.danger]


def parameter_changes(description: dict, current: dict[str, str]) -> list[tuple[str, str, str]]:
    """(key, old, new) for every parameter the change set sets differently."""
    diffs = []
    for p in description.get("Parameters", []):
        key, new = p["ParameterKey"], p.get("ParameterValue", "")
        old = current.get(key, "")
        if key not in current or old != new:
            diffs.append((key, old if key in current else "(new)", new))
    return diffs


def render(description: dict, changes: list[Change], current_params: dict[str, str]) -> str:
    """The preview printed for the operator, dangers last so they are what stays on screen."""
    lines = [
        f"Change set {description['ChangeSetName']} on stack {description['StackName']}"
        f" ({description.get('Status', '?')}, execution {description.get('ExecutionStatus', '?')})"
    ]
    params = parameter_changes(description, current_params)
    if params:
        lines.append("Parameters:")
        width = max(len(k) for k, _, _ in params)
        lines += [
            f"  {k:<{width}}  {old or '(empty)'} -> {new or '(empty)'}" for k, old, new in params
        ]
    if not changes:
        lines.append("No resource changes.")
    else:
        lines.append("Resource changes:")
        width = max(len(c.path) for c in changes)
        type_width = max(len(c.resource_type) for c in changes)
        for c in changes:
            replacement = f"  replacement={c.replacement}" if c.replacement else ""
            targets = f"  ({', '.join(c.targets)})" if c.targets else ""
            lines.append(
                f"  {c.action:<8} {c.path:<{width}}  {c.resource_type:<{type_width}}"
                f"{replacement}{targets}"
            )
    risky = dangerous(changes)
    if risky:
        lines.append("")
        lines.append(f"DANGER: {len(risky)} change(s) can destroy data:")
        lines += [f"  !! {c.path} ({c.resource_type}) would be {c.danger}" for c in risky]
        lines.append("Executing this change set requires --allow-data-loss.")
    else:
        lines.append("No stateful resource is replaced or deleted.")
    return "\n".join(lines)
