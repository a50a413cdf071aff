"""Nothing public but the ALB and CloudFront, encryption everywhere, and stateful
resources that survive a delete or a replacement."""

import json

from tests.cloudformation.conftest import of_type

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def _bucket_policies(resources):
    """Bucket logical id (or the parameter naming it) -> its policy statements."""
    found = {}
    for _, _, r in of_type(resources, "AWS::S3::BucketPolicy"):
        target = r["Properties"]["Bucket"]["Ref"]
        found[target.removesuffix("Name")] = r["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_only_the_alb_is_internet_facing(resources):
    lbs = of_type(resources, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert [(t, k, r["Properties"]["Scheme"]) for t, k, r in lbs] == [
        ("app", "LoadBalancer", "internet-facing")
    ]
    databases = of_type(resources, "AWS::RDS::DBInstance")
    assert {logical for _, logical, _ in databases} == {"Database", "DatabaseReplica"}
    assert all(db["Properties"]["PubliclyAccessible"] is False for _, _, db in databases)


def test_every_bucket_blocks_public_access_and_is_encrypted(resources):
    buckets = of_type(resources, "AWS::S3::Bucket")
    assert {k for _, k, _ in buckets} == {
        "LogBucket",
        "ArtifactBucket",
        "StaticBucket",
        "MediaBucket",
    }
    for _, _, b in buckets:
        assert b["Properties"]["PublicAccessBlockConfiguration"] == PUBLIC_ACCESS_BLOCK
        (rule,) = b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
        assert b["Properties"]["VersioningConfiguration"]["Status"] == "Enabled"


def test_every_bucket_refuses_plain_http(resources):
    policies = _bucket_policies(resources)
    for _, logical, _ in of_type(resources, "AWS::S3::Bucket"):
        deny, *_ = [s for s in policies[logical] if s["Effect"] == "Deny"]
        assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_no_bucket_policy_allows_everyone(resources):
    for statements in _bucket_policies(resources).values():
        for s in statements:
            if s["Effect"] == "Allow":
                assert s["Principal"] != "*" and "*" not in json.dumps(s["Principal"])


def test_static_and_media_are_read_by_this_distribution_only(templates):
    res = templates["edge"]["Resources"]
    for policy, prefix in (("StaticBucketPolicy", "static"), ("MediaBucketPolicy", "media")):
        (allow,) = [
            s
            for s in res[policy]["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Allow"
        ]
        assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert allow["Action"] == "s3:GetObject"
        assert allow["Resource"]["Fn::Sub"].endswith(f"/{prefix}/*")
        source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
        assert source.endswith(":distribution/${Distribution}")


def test_database_encrypted_tls_forced_backed_up_and_protected(templates):
    data = templates["data"]["Resources"]
    db = data["Database"]["Properties"]
    assert db["StorageEncrypted"] is True and db["KmsKeyId"] == {"Ref": "DataKeyArn"}
    assert data["DatabaseParameterGroup"]["Properties"]["Parameters"]["rds.force_ssl"] == "1"
    assert db["DeletionProtection"] is True
    assert templates["data"]["Parameters"]["DbBackupRetentionDays"]["Default"] >= 7
    assert db["BackupRetentionPeriod"] == {"Ref": "DbBackupRetentionDays"}
    assert db["EnablePerformanceInsights"] is True and db["MonitoringInterval"] > 0
    assert db["MultiAZ"] == {"Ref": "DbMultiAz"}


def test_no_replacement_prone_database_property_is_left_to_a_parameter(templates):
    db = templates["data"]["Resources"]["Database"]["Properties"]
    assert "DBInstanceIdentifier" not in db
    assert db["PubliclyAccessible"] is False
    # DBName is fixed; only the restore procedure (which replaces on purpose)
    # drops it, because a restored instance inherits it from the snapshot.
    assert db["DBName"] == {"Fn::If": ["RestoreFromSnapshot", {"Ref": "AWS::NoValue"}, "webshop"]}
    assert db["Engine"] == "postgres" and isinstance(db["EngineVersion"], str)
    cache = templates["data"]["Resources"]["Cache"]["Properties"]
    assert "ReplicationGroupId" not in cache
    assert cache["Engine"] == "redis" and cache["AtRestEncryptionEnabled"] is True


def test_master_password_is_ours_and_never_rotated_behind_the_instances_back(templates, resources):
    """The deliberate choice: our own secret, no RDS-managed one (which rotates every
    7 days and would break the DATABASE_URL written at boot), no rotation schedule;
    rotation is the runbook procedure that rolls the fleet."""
    db = templates["data"]["Resources"]["Database"]["Properties"]
    assert "ManageMasterUserPassword" not in db
    assert db["MasterUserPassword"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${DatabaseSecret}:SecretString:password}}"
    }
    assert not of_type(resources, "AWS::SecretsManager::RotationSchedule")


def test_redis_failover_encryption_auth_snapshots_and_eviction(templates):
    data = templates["data"]["Resources"]
    cache = data["Cache"]["Properties"]
    assert cache["AutomaticFailoverEnabled"] is True and cache["MultiAZEnabled"] is True
    assert cache["NumCacheClusters"] >= 2
    assert cache["TransitEncryptionEnabled"] is True and cache["AtRestEncryptionEnabled"] is True
    assert cache["AuthToken"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${CacheAuthSecret}:SecretString:token}}"
    }
    assert cache["SnapshotRetentionLimit"] >= 1
    params = data["CacheParameterGroup"]["Properties"]["Properties"]
    assert params["maxmemory-policy"] == "allkeys-lru"


def test_stateful_resources_snapshot_or_stay(resources):
    expected = {
        "AWS::RDS::DBInstance": "Snapshot",
        "AWS::ElastiCache::ReplicationGroup": "Snapshot",
        "AWS::S3::Bucket": "Retain",
        "AWS::SecretsManager::Secret": "Retain",
        "AWS::KMS::Key": "Retain",
    }
    seen = set()
    for _, logical, r in resources:
        if r["Type"] in expected:
            seen.add(r["Type"])
            if "SourceDBInstanceIdentifier" in r["Properties"]:
                # A read replica holds nothing its source lacks, and RDS cannot snapshot it.
                assert r["DeletionPolicy"] == r["UpdateReplacePolicy"] == "Delete", logical
                continue
            assert r.get("DeletionPolicy") == expected[r["Type"]], logical
            assert r.get("UpdateReplacePolicy") == expected[r["Type"]], logical
    assert seen == set(expected)


def test_secrets_logs_topic_and_volumes_are_encrypted(resources):
    for _, logical, r in of_type(resources, "AWS::SecretsManager::Secret"):
        assert r["Properties"]["KmsKeyId"] == {"Ref": "DataKeyArn"}, logical
    for _, logical, r in of_type(resources, "AWS::Logs::LogGroup"):
        assert "KmsKeyId" in r["Properties"], logical
        assert r["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical
    ((_, _, topic),) = of_type(resources, "AWS::SNS::Topic")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "DataKeyArn"}
    ((_, _, lt),) = of_type(resources, "AWS::EC2::LaunchTemplate")
    for mapping in lt["Properties"]["LaunchTemplateData"]["BlockDeviceMappings"]:
        assert mapping["Ebs"]["Encrypted"] is True
    ((_, _, key),) = of_type(resources, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
