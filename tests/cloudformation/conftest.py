"""Parsed templates for the offline checks: nothing here talks to AWS."""

from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

CFN = Path(__file__).resolve().parents[2] / "cloudformation"
ROOT_TEMPLATE = "webshop"
NESTED = ("network", "security", "data", "app", "edge", "monitoring", "backup")
STANDALONE = ("bootstrap", "waf", "dr")


def _load(path: Path) -> dict:
    return cfn_yaml.load(str(path))


@pytest.fixture(scope="session")
def templates() -> dict[str, dict]:
    """Every template by short name: webshop, bootstrap, waf, dr and the nested tiers."""
    loaded = {name: _load(CFN / f"{name}.yaml") for name in (ROOT_TEMPLATE, *STANDALONE)}
    loaded.update({name: _load(CFN / "stacks" / f"{name}.yaml") for name in NESTED})
    return loaded


@pytest.fixture(scope="session")
def resources(templates) -> list[tuple[str, str, dict]]:
    """(template, logical id, resource) for every resource of every template."""
    return [
        (name, logical, resource)
        for name, template in templates.items()
        for logical, resource in template.get("Resources", {}).items()
    ]


def of_type(resources, resource_type: str) -> list[tuple[str, str, dict]]:
    return [r for r in resources if r[2]["Type"] == resource_type]
