"""The ALB, the instances and how a release rolls, against the app's contract:
nginx on 8000 in front of gunicorn, /healthz shallow, /readyz checked locally before the
signal, graceful_timeout 30 s, keepalive 75 s."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

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
    assert attrs["deletion_protection.enabled"] == "true"


def test_the_target_port_is_the_instances_nginx_which_user_data_installs(user_data):
    """The ALB talks to nginx (deploy/nginx.conf), which buffers whole requests for gunicorn
    on loopback: bootstrap's default listen address and the target group's port agree."""
    assert re.search(r"dnf install -y [^\n]*\bnginx\b", user_data)
    bootstrap = (REPO / "deploy" / "bootstrap.sh").read_text()
    assert f"listen=${{listen:-0.0.0.0:{APP_PORT}}}" in bootstrap
    nginx = (REPO / "deploy" / "nginx.conf").read_text()
    assert f"keepalive_timeout {KEEPALIVE}s;" in nginx


def test_https_with_tls13_policy_and_http_redirects(app):
    https = app["HttpsListener"]["Properties"]
    assert https["Protocol"] == "HTTPS" and https["Port"] == 443
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    http = app["HttpRedirectListener"]["Properties"]
    (action,) = http["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS"
    assert action["RedirectConfig"]["StatusCode"] == "HTTP_301"


def test_launch_template_imdsv2_encrypted_root_and_latest_al2023(app, templates):
    data = app["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    root = templates["webshop"]
    latest = root["Parameters"]["LatestAmiId"]
    assert latest["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert latest["Default"].startswith("/aws/service/ami-amazon-linux-latest/al2023-ami-")
    image = root["Resources"]["AppStack"]["Properties"]["Parameters"]["ImageId"]
    assert image == {"Fn::If": ["HasAmiId", {"Ref": "AmiId"}, {"Ref": "LatestAmiId"}]}


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
        "/webshop?sslmode=require"
    )
    assert env["REDIS_URL"] == "rediss://:$cache_token@SAMPLE_CacheEndpoint:SAMPLE_CachePort/0"
    assert env["DJANGO_ALLOWED_HOSTS"] == env["AWS_S3_CUSTOM_DOMAIN"] == "SAMPLE_DomainName"


def test_env_file_is_private_and_the_bootstrap_runs_with_the_contract_arguments(user_data):
    assert "umask 077" in user_data and 'chmod 0600 "$ENV_FILE"' in user_data
    assert "ENV_FILE=/etc/webshop/webshop.env" in user_data
    assert "RELEASE_DIR=/opt/webshop/releases/$RELEASE" in user_data
    assert "s3://SAMPLE_ArtifactBucketName/releases/webshop-$RELEASE.tar.gz" in user_data
    assert 'bash "$RELEASE_DIR/deploy/bootstrap.sh" "$RELEASE_DIR" "$ENV_FILE"' in user_data
    assert 'signal "$status"' in user_data


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
