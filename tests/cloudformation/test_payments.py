"""Stripe's keys in production: one Secrets Manager secret, encrypted with the data key,
kept when the stack goes, readable by the instances only, written to the env file at boot;
the webhook URL ops register in Stripe's dashboard is an output."""

from tests.cloudformation.conftest import of_type


def test_stripes_keys_are_one_encrypted_retained_secret_rotated_by_hand(templates, resources):
    secret = templates["data"]["Resources"]["StripeSecret"]
    assert secret["Properties"]["KmsKeyId"] == {"Ref": "DataKeyArn"}
    assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == (
        "RetainExceptOnCreate",
        "Retain",
    )
    # Empty until ops set them: the shop keeps its test payment meanwhile.
    assert secret["Properties"]["SecretString"] == (
        '{"secret_key": "", "publishable_key": "", "webhook_secret": ""}'
    )
    assert not of_type(resources, "AWS::SecretsManager::RotationSchedule")


def test_only_the_instance_role_reads_stripes_keys(templates):
    app = templates["app"]["Resources"]
    policy = app["StripeSecretPolicy"]["Properties"]
    assert policy["SecretId"] == {"Ref": "StripeSecretArn"}
    assert policy["BlockPublicPolicy"] is True
    (statement,) = policy["ResourcePolicy"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Deny",
        "*",
        "secretsmanager:GetSecretValue",
    )
    assert statement["Condition"] == {
        "StringNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": ["InstanceRole", "Arn"]}}
    }
    (role_policy,) = app["InstanceRole"]["Properties"]["Policies"]
    reads = {s["Sid"]: s for s in role_policy["PolicyDocument"]["Statement"]}["ReadOwnSecrets"]
    assert {"Ref": "StripeSecretArn"} in reads["Resource"]


def test_the_root_stack_wires_the_secret_and_gives_the_webhook_url(templates):
    root = templates["webshop"]
    app_parameters = root["Resources"]["AppStack"]["Properties"]["Parameters"]
    assert app_parameters["StripeSecretArn"] == {
        "Fn::GetAtt": ["DataStack", "Outputs.StripeSecretArn"]
    }
    assert root["Outputs"]["StripeWebhookUrl"]["Value"] == {
        "Fn::Sub": "https://${DomainName}/payments/webhook/"
    }
    assert "StripeSecretArn" in root["Outputs"]
