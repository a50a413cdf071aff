"""The root stack and its tiers fit together: every parameter passed exists, every
required one is passed, every output read is produced, every nested template is packaged."""

import re

import pytest

from deploy.aws.artifacts import template_parameter
from tests.cloudformation.conftest import CFN, NESTED

NESTED_STACKS = {
    "NetworkStack": "network",
    "SecurityStack": "security",
    "DataStack": "data",
    "AppStack": "app",
    "EdgeStack": "edge",
    "MonitoringStack": "monitoring",
    "BackupStack": "backup",
}


def test_the_tiers_are_the_nested_stacks_of_the_root(templates):
    stacks = {
        logical: r["Properties"]["TemplateURL"]["Fn::Sub"]
        for logical, r in templates["webshop"]["Resources"].items()
        if r["Type"] == "AWS::CloudFormation::Stack"
    }
    assert set(stacks) == set(NESTED_STACKS)
    # Each tier's own key (named by its content, deploy/aws/artifacts.py): an edit to one
    # template changes one TemplateURL, so only that tier updates.
    for logical, url in stacks.items():
        tier = NESTED_STACKS[logical]
        parameter = template_parameter(CFN / "stacks" / f"{tier}.yaml")
        assert url.endswith("/${" + parameter + "}"), (logical, url)
        assert templates["webshop"]["Parameters"][parameter]["AllowedPattern"].endswith(
            f"/{tier}\\.yaml$"
        )
    assert sorted(p.stem for p in (CFN / "stacks").glob("*.yaml")) == sorted(NESTED)


@pytest.mark.parametrize("logical", sorted(NESTED_STACKS))
def test_nested_parameters_match_the_child(templates, logical):
    child = templates[NESTED_STACKS[logical]]
    passed = set(templates["webshop"]["Resources"][logical]["Properties"]["Parameters"])
    declared = child["Parameters"]
    required = {k for k, v in declared.items() if "Default" not in v}
    assert passed <= set(declared), f"unknown: {passed - set(declared)}"
    assert required <= passed, f"missing: {required - passed}"


def test_every_output_read_from_a_tier_exists(templates):
    text = (CFN / "webshop.yaml").read_text()
    reads = set(re.findall(r"!GetAtt (\w+)\.Outputs\.(\w+)", text))
    assert reads
    for logical, output in reads:
        assert output in templates[NESTED_STACKS[logical]]["Outputs"], (logical, output)
