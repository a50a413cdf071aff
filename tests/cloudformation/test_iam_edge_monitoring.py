"""Least privilege for the instance role, CloudFront in front, alarms behind."""

from tests.cloudformation.conftest import of_type

# Actions with no resource-level permissions; "*" is the only resource they take.
RESOURCELESS = (
    {"cloudwatch:PutMetricData", "elasticloadbalancing:DescribeTargetHealth"}
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
        {"Ref": "OriginSecretArn"},
        {"Ref": "StripeSecretArn"},
    ]
    assert by_sid["DecryptOwnSecrets"]["Condition"]["StringEquals"]["kms:ViaService"]
    ses = by_sid["SendMailAsTheShop"]
    assert ses["Action"] == ["ses:SendEmail", "ses:SendRawEmail"]
    assert ses["Resource"]["Fn::Sub"].endswith(":identity/${SesIdentity}")
    metrics = by_sid["PublishAgentMetrics"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CWAgent"}}
    queue = by_sid["PublishQueueMetrics"]
    assert (queue["Action"], queue["Resource"]) == ("cloudwatch:PutMetricData", "*")
    assert queue["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Webshop"}}


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


def _alarms(templates, name):
    return {
        logical: r["Properties"]
        for logical, r in templates[name]["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_alarms_cover_what_ops_act_on(templates):
    alarms = _alarms(templates, "monitoring")
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert metrics == {
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("AWS/AutoScaling", "GroupInServiceInstances"),
        ("AWS/EC2", "CPUUtilization"),
        ("CWAgent", "mem_used_percent"),
        ("CWAgent", "disk_used_percent"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "FreeableMemory"),
        ("AWS/RDS", "DiskQueueDepth"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "ReplicaLag"),
        ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"),
        ("AWS/ElastiCache", "EngineCPUUtilization"),
        ("AWS/ElastiCache", "Evictions"),
        ("Webshop", "DeadLetters"),
        ("Webshop", "OldestPendingSeconds"),
    }
    for logical, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical
    assert alarms["TargetP99LatencyAlarm"]["ExtendedStatistic"] == "p99"
    assert alarms["InServiceInstancesAlarm"]["Threshold"] == {"Ref": "AsgMinSize"}
    assert alarms["InServiceInstancesAlarm"]["ComparisonOperator"] == "LessThanThreshold"
    # Both Redis nodes: after a failover either can be the primary.
    for metric in ("EngineCPUUtilization", "Evictions", "DatabaseMemoryUsagePercentage"):
        nodes = {
            a["Dimensions"][0]["Value"]["Fn::Sub"]
            for a in alarms.values()
            if a["MetricName"] == metric
        }
        assert nodes == {"${CacheReplicationGroupId}-001", "${CacheReplicationGroupId}-002"}


def test_the_mail_queue_alarms_on_a_dead_letter_and_on_15_minutes_of_waiting(templates):
    from notifications.services import METRICS_NAMESPACE

    alarms = _alarms(templates, "monitoring")
    dead, oldest = alarms["DeadLettersAlarm"], alarms["OldestPendingAlarm"]
    for alarm in (dead, oldest):
        assert alarm["Namespace"] == METRICS_NAMESPACE  # what the worker tier publishes
        assert alarm["Dimensions"] == [{"Name": "Environment", "Value": {"Ref": "EnvironmentName"}}]
        assert (alarm["Statistic"], alarm["Period"]) == ("Maximum", 60)
        assert alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
    assert (dead["ComparisonOperator"], dead["Threshold"]) == ("GreaterThanThreshold", 0)
    assert dead["TreatMissingData"] == "notBreaching"
    assert (oldest["ComparisonOperator"], oldest["Threshold"]) == ("GreaterThanThreshold", 900)
    # Silence means no scheduler publishes: the workers are down.
    assert oldest["TreatMissingData"] == "breaching"


def test_every_instance_names_its_environment_and_region_for_the_queue_metrics(templates):
    user_data = templates["app"]["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"][
        "UserData"
    ]["Fn::Base64"]["Fn::Sub"]
    assert "WEBSHOP_ENVIRONMENT=${EnvironmentName}\n" in user_data
    assert "AWS_DEFAULT_REGION=${AWS::Region}\n" in user_data


def test_agent_metrics_alarmed_on_are_the_ones_the_agent_rolls_up_per_group(templates):
    for name in ("InstanceMemoryAlarm", "InstanceDiskAlarm"):
        alarm = _alarms(templates, "monitoring")[name]
        assert alarm["Dimensions"] == [
            {"Name": "AutoScalingGroupName", "Value": {"Ref": "AutoScalingGroupName"}}
        ]


def test_cloudfront_and_waf_alarms_live_in_us_east_1_where_their_metrics_are(templates):
    waf = templates["waf"]
    alarms = _alarms(templates, "waf")
    assert {(a["Namespace"], a["MetricName"]) for a in alarms.values()} == {
        ("AWS/CloudFront", "5xxErrorRate"),
        ("AWS/WAFV2", "BlockedRequests"),
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "EdgeAlarmTopic"}]
    assert waf["Resources"]["Cloudfront5xxAlarm"]["Condition"] == "HasDistribution"
    assert waf["Rules"]["OnlyInUsEast1"]


def test_the_rollback_triggers_are_the_5xx_and_unhealthy_host_alarms(templates):
    value = templates["monitoring"]["Outputs"]["RollbackAlarmArns"]["Value"]
    assert value == {
        "Fn::Join": [
            ",",
            [
                {"Fn::GetAtt": ["LoadBalancer5xxAlarm", "Arn"]},
                {"Fn::GetAtt": ["Target5xxAlarm", "Arn"]},
                {"Fn::GetAtt": ["UnhealthyHostsAlarm", "Arn"]},
            ],
        ]
    }
    root = templates["webshop"]["Outputs"]["RollbackAlarmArns"]["Value"]
    assert root == {"Fn::GetAtt": ["MonitoringStack", "Outputs.RollbackAlarmArns"]}


def test_the_dashboard_shows_the_fleet_the_data_tier_and_the_edge(templates):
    import json
    import re

    body = templates["monitoring"]["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    rendered = re.sub(r"\$\{([\w:]+)\}", "1", body["Fn::Sub"])
    widgets = json.loads(rendered)["widgets"]
    shown = set()
    for widget in widgets:
        for metric in widget["properties"]["metrics"]:
            names = [m for m in metric if isinstance(m, str)]
            if names and names[0] != "...":  # "..." repeats the line above
                shown.add(names[1])
            for m in metric:
                if isinstance(m, dict) and "expression" in m:
                    shown.add(re.search(r'MetricName=\\?"(\w+)', m["expression"])[1])
    assert {
        "RequestCount",
        "TargetResponseTime",
        "HTTPCode_Target_5XX_Count",
        "HealthyHostCount",
        "CPUUtilization",
        "DatabaseConnections",
        "FreeableMemory",
        "ReplicaLag",
        "EngineCPUUtilization",
        "DatabaseMemoryUsagePercentage",
        "QueueDepth",
        "DeadLetters",
        "OldestPendingSeconds",
        "5xxErrorRate",
        "BlockedRequests",
    } <= shown
    stats = json.dumps(widgets)
    assert '"stat": "p50"' in stats and '"stat": "p99"' in stats
    edge = [w for w in widgets if "CloudFront" in w["properties"]["title"]]
    assert edge[0]["properties"]["region"] == "us-east-1"


def test_the_budget_mails_the_alarm_topic_for_this_environment_only(templates):
    res = templates["monitoring"]["Resources"]
    budget = res["MonthlyBudget"]["Properties"]
    assert budget["Budget"]["BudgetLimit"] == {"Amount": {"Ref": "MonthlyBudgetUsd"}, "Unit": "USD"}
    assert budget["Budget"]["CostFilters"] == {
        "TagKeyValue": [{"Fn::Sub": "user:Environment$${EnvironmentName}"}]
    }
    for notification in budget["NotificationsWithSubscribers"]:
        assert notification["Subscribers"] == [
            {"SubscriptionType": "SNS", "Address": {"Ref": "AlarmTopic"}}
        ]
    topic_policy = res["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {s["Principal"]["Service"] for s in topic_policy} == {
        "cloudwatch.amazonaws.com",
        "budgets.amazonaws.com",
    }
    key = templates["security"]["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert "budgets.amazonaws.com" in [s["Principal"].get("Service") for s in key]


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
