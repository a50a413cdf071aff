"""Least privilege for the instance role, CloudFront in front, alarms behind."""

from tests.cloudformation.conftest import of_type

# Actions with no resource-level permissions; "*" is the only resource they take.
RESOURCELESS = (
    {"cloudwatch:PutMetricData"}
    | {
        f"ssmmessages:{a}"
        for a in (
            "CreateControlChannel",
            "CreateDataChannel",
            "OpenControlChannel",
            "OpenDataChannel",
        )
    }
    | {
        f"ec2messages:{a}"
        for a in (
            "AcknowledgeMessage",
            "DeleteMessage",
            "FailMessage",
            "GetEndpoint",
            "GetMessages",
            "SendReply",
        )
    }
)


def _statements(resources):
    for _, logical, r in of_type(resources, "AWS::IAM::Role"):
        for policy in r["Properties"].get("Policies", []):
            for s in policy["PolicyDocument"]["Statement"]:
                actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                yield logical, s, actions


def test_no_wildcard_actions_and_star_resources_only_where_aws_allows_nothing_else(resources):
    for logical, s, actions in _statements(resources):
        assert not [a for a in actions if "*" in a], (logical, actions)
        if s["Resource"] == "*":
            assert set(actions) <= RESOURCELESS, (logical, actions)


def test_instance_role_reaches_its_own_buckets_secrets_and_identity_only(templates):
    role = templates["app"]["Resources"]["InstanceRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    (policy,) = role["Policies"]
    by_sid = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert by_sid["ReadReleaseArtifacts"]["Resource"]["Fn::Sub"].endswith(
        ":::${ArtifactBucketName}/releases/*"
    )
    assert by_sid["ReadWriteMedia"]["Resource"]["Fn::Sub"].endswith(":::${MediaBucketName}/media/*")
    assert by_sid["ReadOwnSecrets"]["Resource"] == [
        {"Ref": "DatabaseSecretArn"},
        {"Ref": "CacheAuthSecretArn"},
        {"Ref": "DjangoSecretKeyArn"},
    ]
    assert by_sid["DecryptOwnSecrets"]["Condition"]["StringEquals"]["kms:ViaService"]
    ses = by_sid["SendMailAsTheShop"]
    assert ses["Action"] == ["ses:SendEmail", "ses:SendRawEmail"]
    assert ses["Resource"]["Fn::Sub"].endswith(":identity/${SesIdentity}")
    metrics = by_sid["PublishAgentMetrics"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CWAgent"}}


def test_cloudfront_sends_pages_to_the_alb_and_files_to_the_buckets(templates):
    edge = templates["edge"]
    config = edge["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert origins["alb"]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    for bucket in ("static", "media"):
        assert origins[bucket]["OriginAccessControlId"]
        assert origins[bucket]["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    default = config["DefaultCacheBehavior"]
    managed = edge["Mappings"]["ManagedPolicies"]
    assert default["TargetOriginId"] == "alb"
    assert default["CachePolicyId"]["Fn::FindInMap"][2] == "CachingDisabled"
    assert default["OriginRequestPolicyId"]["Fn::FindInMap"][2] == "AllViewer"
    assert managed["OriginRequestPolicy"]["AllViewer"]  # forwards Host: the ALB cert matches
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert behaviours["/static/*"]["TargetOriginId"] == "static"
    assert behaviours["/media/*"]["TargetOriginId"] == "media"
    for b in (default, *behaviours.values()):
        assert b["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["WebACLId"] == {"Ref": "WebAclArn"}
    assert config["Logging"]["Bucket"] == {"Ref": "LogBucketDomainName"}


def test_static_files_are_cached_a_year_with_nothing_but_the_path_in_the_key(templates):
    policy = templates["edge"]["Resources"]["StaticCachePolicy"]["Properties"]["CachePolicyConfig"]
    assert policy["DefaultTTL"] == policy["MaxTTL"] == 31536000
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["CookiesConfig"]["CookieBehavior"] == "none"
    assert key["QueryStringsConfig"]["QueryStringBehavior"] == "none"
    assert key["HeadersConfig"]["HeaderBehavior"] == "none"


def test_alarms_cover_what_ops_act_on(resources):
    metrics = {
        (r["Properties"]["Namespace"], r["Properties"]["MetricName"])
        for _, _, r in of_type(resources, "AWS::CloudWatch::Alarm")
    }
    assert metrics == {
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("AWS/EC2", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "ReplicaLag"),
        ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"),
    }
    for _, logical, r in of_type(resources, "AWS::CloudWatch::Alarm"):
        assert r["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical


def test_outputs_give_ops_the_site_and_what_they_operate(templates):
    outputs = templates["webshop"]["Outputs"]
    assert outputs["SiteUrl"]["Value"] == {"Fn::Sub": "https://${DomainName}/"}
    for name in (
        "AutoScalingGroupName",
        "DatabaseInstanceId",
        "CacheReplicationGroupId",
        "DatabaseSecretArn",
        "CacheAuthSecretArn",
        "DistributionId",
        "StaticBucketName",
    ):
        assert name in outputs
