"""Reading a change set the way a reviewer must: every change, nested stacks included.

The one rule that protects data lives in `Change.danger`: a stateful resource that
would be replaced or removed makes the whole change set dangerous, and `apply`
refuses it unless the operator passes --allow-data-loss.
"""

from __future__ import annotations

from dataclasses import dataclass

# Resources whose loss is loss of data (or of the key that decrypts it). Removing a
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
        "AWS::CloudFormation::Stack",
    }
)

# "Conditional" replacement and the "Dynamic" action mean CloudFormation cannot
# tell before it runs: for data, an unknown is treated as a yes.
_REPLACING = frozenset({"True", "Conditional"})


@dataclass(frozen=True)
class Change:
    """One resource change; `path` is `NestedStack/Logical` for nested changes."""

    path: str
    resource_type: str
    action: str
    replacement: str | None = None
    targets: tuple[str, ...] = ()

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
        return None


def _describe_all(cf, change_set_id: str) -> tuple[dict, list[dict]]:
    """The change set's description and all of its pages of changes."""
    pages = list(cf.get_paginator("describe_change_set").paginate(ChangeSetName=change_set_id))
    return pages[0], [change for page in pages for change in page.get("Changes", [])]


def collect_changes(cf, change_set_id: str, prefix: str = "") -> list[Change]:
    """Flatten a change set, descending into nested stacks' change sets."""
    _, raw = _describe_all(cf, change_set_id)
    result = []
    for item in raw:
        rc = item.get("ResourceChange", {})
        path = prefix + rc.get("LogicalResourceId", "?")
        targets = tuple(
            sorted(
                {
                    d["Target"]["Name"]
                    for d in rc.get("Details", [])
                    if d.get("Target", {}).get("Name")
                }
            )
        )
        result.append(
            Change(
                path=path,
                resource_type=rc.get("ResourceType", "?"),
                action=rc.get("Action", "?"),
                replacement=rc.get("Replacement"),
                targets=targets,
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
