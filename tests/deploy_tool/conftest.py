"""The suite's moto server, over HTTP, for the deploy tool's end-to-end tests (no AWS account)."""

from pathlib import Path

import boto3
import pytest
import requests

REGION = "eu-west-1"
BOOTSTRAP_TEMPLATE = Path(__file__).resolve().parents[2] / "cloudformation" / "bootstrap.yaml"


@pytest.fixture
def aws(moto_url, monkeypatch):
    """A boto3 session that reaches the suite's moto server (tests/conftest.py), with its
    state reset."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return boto3.Session(region_name=REGION)


@pytest.fixture
def bootstrap_outputs(aws) -> dict[str, str]:
    """The bootstrap stack, made with CreateStack: moto fills a stack's outputs on
    CreateStack but not when a change set is executed, and the commands read them."""
    cf = aws.client("cloudformation")
    cf.create_stack(
        StackName="webshop-test-bootstrap",
        TemplateBody=BOOTSTRAP_TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": "EnvironmentName", "ParameterValue": "test"}],
    )
    stack = cf.describe_stacks(StackName="webshop-test-bootstrap")["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def no_sleep(_seconds: float) -> None:
    """Moto finishes every operation at once; polling needs no pause."""
