"""The ALB, the instances and how a release rolls, against the app's contract:
nginx on 8000 in front of gunicorn, /healthz shallow, /readyz checked locally before the
signal, graceful_timeout 30 s, keepalive 75 s."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.aws.cli import AMI_PARAMETER

APP_PORT = 8000
HEALTH_PATH = "/healthz"
GRACEFUL_TIMEOUT = 30
KEEPALIVE = 75
REPO = Path(__file__).resolve().parents[2]


def _minutes(duration: str) -> int:
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?", duration)
    assert match, duration
    return int(match[1] or 0) * 60 + int(match[2] or 0)


def _attributes(props, key):
    return {a["Key"]: a["Value"] for a in props[key]}


@pytest.fixture(scope="module")
def app(templates):
    return templates["app"]["Resources"]


@pytest.fixture(scope="module")
def boot_minutes(templates):
    return templates["app"]["Metadata"]["Webshop::BootBudget"]["Minutes"]


def test_target_group_checks_the_shallow_health_path_on_the_app_port(app):
    tg = app["TargetGroup"]["Properties"]
    assert tg["Port"] == APP_PORT and tg["HealthCheckPath"] == HEALTH_PATH
    assert tg["Matcher"] == {"HttpCode": "200"}
    attrs = _attributes(tg, "TargetGroupAttributes")
    assert GRACEFUL_TIMEOUT < int(attrs["deregistration_delay.timeout_seconds"]) <= 60
    assert attrs["stickiness.enabled"] == "false"


def test_health_check_path_is_the_apps():
    """Once the app is on the branch, its code must serve the path the ALB checks."""
    webapp = REPO / "webapp"
    if not webapp.is_dir():
        pytest.skip("webapp/ is not on this branch yet")
    sources = "\n".join(p.read_text() for p in webapp.rglob("*.py"))
    assert HEALTH_PATH in sources


def test_alb_idle_timeout_is_below_gunicorn_keepalive_and_hardening_is_on(app):
    attrs = _attributes(app["LoadBalancer"]["Properties"], "LoadBalancerAttributes")
    assert int(attrs["idle_timeout.timeout_seconds"]) == 60 < KEEPALIVE
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["access_logs.s3.enabled"] == "true"
    assert attrs["access_logs.s3.bucket"] == {"Ref": "LogBucketName"}


def test_the_target_port_is_the_instances_nginx_which_user_data_installs(user_data):
    """The ALB talks to nginx (deploy/nginx.conf), which buffers whole requests for gunicorn
    on loopback: bootstrap's default listen address and the target group's port agree."""
    assert re.search(r"dnf install -y [^\n]*\bnginx\b", user_data)
    bootstrap = (REPO / "deploy" / "bootstrap.sh").read_text()
    assert f"listen=${{listen:-0.0.0.0:{APP_PORT}}}" in bootstrap
    nginx = (REPO / "deploy" / "nginx.conf").read_text()
    assert f"keepalive_timeout {KEEPALIVE}s;" in nginx


def test_deletion_protection_is_off_until_the_tool_turns_it_on(templates, app):
    """A failed first create must be able to delete the ALB and the database."""
    attrs = _attributes(app["LoadBalancer"]["Properties"], "LoadBalancerAttributes")
    assert attrs["deletion_protection.enabled"] == {"Ref": "DeletionProtection"}
    db = templates["data"]["Resources"]["Database"]["Properties"]
    assert db["DeletionProtection"] == {"Ref": "DeletionProtection"}
    for name in ("webshop", "app", "data"):
        param = templates[name]["Parameters"]["DeletionProtection"]
        assert param["Default"] == "false" and param["AllowedValues"] == ["true", "false"]
    root = templates["webshop"]["Resources"]
    for stack in ("AppStack", "DataStack"):
        passed = root[stack]["Properties"]["Parameters"]["DeletionProtection"]
        assert passed == {"Ref": "DeletionProtection"}


def test_https_only_and_only_requests_with_the_origin_header_are_forwarded(app, templates):
    https = app["HttpsListener"]["Properties"]
    assert https["Protocol"] == "HTTPS" and https["Port"] == 443
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    (default,) = https["DefaultActions"]
    assert default["Type"] == "fixed-response"
    assert default["FixedResponseConfig"]["StatusCode"] == "403"
    listeners = [r for r in app.values() if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"]
    assert len(listeners) == 1  # no port 80
    rules = [r for r in app.values() if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"]
    (rule,) = [r["Properties"] for r in rules]
    assert rule["ListenerArn"] == {"Ref": "HttpsListener"}
    (condition,) = rule["Conditions"]
    secret = {"Fn::Sub": "{{resolve:secretsmanager:${OriginSecretArn}:SecretString:header}}"}
    assert condition == {
        "Field": "http-header",
        "HttpHeaderConfig": {"HttpHeaderName": "X-Origin-Verify", "Values": [secret]},
    }
    assert rule["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}]
    config = templates["edge"]["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    (alb,) = [o for o in config["Origins"] if o["Id"] == "alb"]
    assert alb["OriginCustomHeaders"] == [{"HeaderName": "X-Origin-Verify", "HeaderValue": secret}]
    origin = templates["security"]["Resources"]["OriginSecret"]
    assert origin["Properties"]["GenerateSecretString"]["GenerateStringKey"] == "header"
    root = templates["webshop"]["Resources"]
    for stack in ("AppStack", "EdgeStack"):
        passed = root[stack]["Properties"]["Parameters"]["OriginSecretArn"]
        assert passed == {"Fn::GetAtt": ["SecurityStack", "Outputs.OriginSecretArn"]}


def test_launch_template_imdsv2_encrypted_root_and_an_image_kept_until_changed(app, templates):
    data = app["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    root = templates["webshop"]
    # No SSM-typed parameter: CloudFormation resolves those again at every update, which
    # rolled the fleet whenever AWS published an image. The tool sets AmiId instead.
    assert root["Parameters"]["AmiId"]["Type"] == "AWS::EC2::Image::Id"
    assert "Default" not in root["Parameters"]["AmiId"]
    assert not [p for p in root["Parameters"].values() if "SSM" in p["Type"]]
    image = root["Resources"]["AppStack"]["Properties"]["Parameters"]["ImageId"]
    assert image == {"Ref": "AmiId"}
    assert AMI_PARAMETER.startswith("/aws/service/ami-amazon-linux-latest/al2023-ami-")


def test_group_uses_elb_health_checks_with_an_explicit_grace_period(app, boot_minutes):
    asg = app["AutoScalingGroup"]["Properties"]
    assert asg["HealthCheckType"] == "ELB"
    assert asg["HealthCheckGracePeriod"] >= boot_minutes * 60
    assert asg["TargetGroupARNs"] == [{"Ref": "TargetGroup"}]


def test_exactly_one_update_mechanism_rolling_update_with_signals(app, boot_minutes, templates):
    asg = app["AutoScalingGroup"]
    rolling = asg["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["WaitOnResourceSignals"] is True
    assert _minutes(rolling["PauseTime"]) >= 2 * boot_minutes
    assert rolling["MinInstancesInService"] == {"Ref": "AsgMinSize"}
    assert "AutoScalingReplacingUpdate" not in asg["UpdatePolicy"]
    assert _minutes(asg["CreationPolicy"]["ResourceSignal"]["Timeout"]) >= 2 * boot_minutes
    text = "\n".join(p.read_text() for p in (REPO / "cloudformation").rglob("*.yaml"))
    assert "InstanceRefresh" not in text and "instance-refresh" not in text


def test_target_tracking_scaling(app):
    policy = app["CpuTargetTracking"]["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["AutoScalingGroupName"] == {"Ref": "AutoScalingGroup"}


# --- user data ---------------------------------------------------------------

# What every instance must get: the variables `make check-deploy` checks.
ENV_KEYS = set(
    re.findall(
        r"^([A-Z][A-Z0-9_]+)=",
        (REPO / "deploy" / "production.env.example").read_text(),
        re.M,
    )
)


@pytest.fixture(scope="module")
def user_data(app) -> str:
    """The boot script as an instance receives it, with sample values substituted."""
    body = app["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
    rendered = re.sub(
        r"\$\{(?!!)([\w:]+)\}", lambda m: f"SAMPLE_{m[1].replace(':', '_')}", body["Fn::Sub"]
    )
    return rendered.replace("${!", "${")


def _env_lines(user_data: str) -> list[str]:
    block = re.search(r'cat > "\$ENV_FILE" <<ENV\n(.*?)\nENV\n', user_data, re.S)
    assert block
    return block[1].splitlines()


def test_user_data_is_valid_bash(user_data, tmp_path):
    script = tmp_path / "user-data.sh"
    script.write_text(user_data)
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_env_file_sets_exactly_what_the_app_reads(user_data):
    lines = _env_lines(user_data)
    assert {line.split("=", 1)[0] for line in lines} == ENV_KEYS
    env = dict(line.split("=", 1) for line in lines)
    assert env["DJANGO_HTTPS"] == "true"
    assert env["DATABASE_URL"] == (
        "postgres://$db_user:$db_password@SAMPLE_DatabaseEndpoint:SAMPLE_DatabasePort"
        "/webshop?sslmode=verify-full"
    )
    # libpq checks the certificate and the host name against the region's RDS CAs.
    assert env["PGSSLROOTCERT"] == "/etc/webshop/rds-ca.pem"
    assert env["DJANGO_ORIGIN_SECRET"] == "$origin_secret"
    assert env["REDIS_URL"] == "rediss://:$cache_token@SAMPLE_CacheEndpoint:SAMPLE_CachePort/0"
    assert env["DJANGO_ALLOWED_HOSTS"] == env["AWS_S3_CUSTOM_DOMAIN"] == "SAMPLE_DomainName"


def test_instances_get_the_replica_url_only_when_there_is_a_replica(user_data, tmp_path):
    env = dict(line.split("=", 1) for line in _env_lines(user_data))
    assert env["DATABASE_REPLICA_URL"] == "$replica_url"
    block = re.search(r'^replica_url="".*?^fi$', user_data, re.S | re.M)
    assert block, "the user data sets replica_url"
    for endpoint, expected in [
        ("", ""),
        (
            "db-replica.example",
            "postgres://u:p@db-replica.example:5432/webshop?sslmode=verify-full",
        ),
    ]:
        script = (
            "db_user=u db_password=p\n"
            + block[0]
            .replace("SAMPLE_DatabaseReplicaEndpoint", endpoint)
            .replace("SAMPLE_DatabasePort", "5432")
            + '\nprintf %s "$replica_url"'
        )
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
        assert result.stdout == expected


def test_env_file_is_private_and_the_bootstrap_runs_with_the_contract_arguments(user_data):
    assert "umask 077" in user_data and 'chmod 0600 "$ENV_FILE"' in user_data
    assert "ENV_FILE=/etc/webshop/webshop.env" in user_data
    assert "RELEASE_DIR=/opt/webshop/releases/$RELEASE" in user_data
    assert "s3://SAMPLE_ArtifactBucketName/releases/webshop-$RELEASE.tar.gz" in user_data
    assert 'bash "$RELEASE_DIR/deploy/bootstrap.sh" "$RELEASE_DIR" "$ENV_FILE"' in user_data
    assert 'signal "$status"' in user_data


def test_the_rds_ca_bundle_of_the_region_is_fetched_before_the_env_file(user_data):
    fetch = user_data.index("https://truststore.pki.rds.amazonaws.com/$REGION/$REGION-bundle.pem")
    assert "--fail" in user_data[user_data.rindex("curl", 0, fetch) : fetch]
    assert "--output /etc/webshop/rds-ca.pem" in user_data
    assert fetch < user_data.index('cat > "$ENV_FILE" <<ENV')


def test_the_instance_signals_only_once_the_load_balancer_counts_it_healthy(user_data, tmp_path):
    """Run the wait against a stand-in `aws` that reports the states a new target goes
    through: the function returns only after `healthy`, and fails on a timeout."""
    wait = re.search(r"^healthy_in_target_group\(\) \{\n.*?^\}\n", user_data, re.S | re.M)
    assert wait
    assert "healthy_in_target_group 300 || status=1" in user_data
    assert user_data.index("healthy_in_target_group 300") < user_data.index('signal "$status"')
    states = tmp_path / "states"
    states.write_text("initial\nunhealthy\nhealthy\n")
    fake = tmp_path / "bin" / "aws"
    fake.parent.mkdir()
    fake.write_text(
        '#!/bin/bash\necho "$*" >> "$CALLS"\nhead -n 1 "$STATES"; sed -i 1d "$STATES"\n'
    )
    fake.chmod(0o755)
    env_file = tmp_path / "webshop.env"
    env_file.write_text("INSTANCE_ID=i-0new\n")
    script = f"{wait[0]}\nsleep() {{ :; }}\nhealthy_in_target_group 60\n"
    environment = {
        "PATH": f"{fake.parent}:/usr/bin:/bin",
        "CALLS": str(tmp_path / "calls"),
        "STATES": str(states),
        "ENV_FILE": str(env_file),
        "REGION": "eu-west-1",
    }
    subprocess.run(["bash", "-c", script], check=True, env=environment)
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == 3
    assert "--target-group-arn SAMPLE_TargetGroup --targets Id=i-0new" in calls[0]
    states.write_text("")  # never healthy: SECONDS cannot be faked, so a 0 s budget
    failed = subprocess.run(
        ["bash", "-c", script.replace("healthy_in_target_group 60", "healthy_in_target_group 0")],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1 and "does not count i-0new healthy" in failed.stderr


def test_app_logs_and_agent_metrics_are_shipped_per_group(user_data, app):
    assert '"file_path": "/var/log/webshop/app.log"' in user_data
    assert '"log_group_name": "SAMPLE_AppLogGroup"' in user_data
    assert '"aggregation_dimensions": [["AutoScalingGroupName"]]' in user_data
    role = app["InstanceRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (ship,) = [s for s in role if s["Sid"] == "ShipLogs"]
    assert {"Fn::GetAtt": ["AppLogGroup", "Arn"]} in ship["Resource"]


def test_signal_names_the_group_that_waits_for_it(user_data, app):
    assert "--resource AutoScalingGroup" in user_data
    assert "AutoScalingGroup" in app


@pytest.mark.skipif(not shutil.which("python3.11"), reason="python3.11 not installed")
def test_secret_fields_are_url_encoded_for_the_urls(user_data):
    field = re.search(r"^field\(\) \{\n.*?^\}\n", user_data, re.S | re.M)
    assert field
    secret = '{"password": "p@ss/w:rd%?#", "token": "plain"}'
    script = f"{field[0]}\nfield password url <<<'{secret}'\nfield token <<<'{secret}'\n"
    out = subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True)
    assert out.stdout.splitlines() == ["p%40ss%2Fw%3Ard%25%3F%23", "plain"]


def test_stripes_keys_come_from_their_secret_through_pipes(user_data):
    env = dict(line.split("=", 1) for line in _env_lines(user_data))
    assert env["STRIPE_SECRET_KEY"] == "$stripe_secret_key"
    assert env["STRIPE_PUBLISHABLE_KEY"] == "$stripe_publishable_key"
    assert env["STRIPE_WEBHOOK_SECRET"] == "$stripe_webhook_secret"
    assert 'stripe_secret_key=$(field secret_key <<<"$stripe")' in user_data
