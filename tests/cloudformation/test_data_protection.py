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
    ((_, _, db),) = of_type(resources, "AWS::RDS::DBInstance")
    assert db["Properties"]["PubliclyAccessible"] is False


def test_every_bucket_blocks_public_access_and_is_encrypted(resources):
    buckets = of_type(resources, "AWS::S3::Bucket")
    assert {k for _, k, _ in buckets} == {
        "LogBucket",
        "ArtifactBucket",
        "StaticBucket",
        "MediaBucket",
        "DrMediaBucket",
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
    assert db["StorageEncrypted"] is True
    assert db["KmsKeyId"] == {
        "Fn::If": ["RestoreFromSnapshot", {"Ref": "AWS::NoValue"}, {"Ref": "DataKeyArn"}]
    }
    assert data["DatabaseParameterGroup"]["Properties"]["Parameters"]["rds.force_ssl"] == "1"
    assert db["DeletionProtection"] == {"Ref": "DeletionProtection"}
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
        "Fn::If": [
            "RestoreFromSnapshot",
            {"Ref": "AWS::NoValue"},
            {"Fn::Sub": "{{resolve:secretsmanager:${DatabaseSecret}:SecretString:password}}"},
        ]
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


# What AWS says not to set together with DBSnapshotIdentifier (StorageEncrypted only for
# an unencrypted snapshot, and every snapshot of this database is encrypted).
NOT_WITH_A_SNAPSHOT = (
    "KmsKeyId",
    "DBName",
    "MasterUsername",
    "MasterUserPassword",
    "DeleteAutomatedBackups",
    "PerformanceInsightsKMSKeyId",
    "PerformanceInsightsRetentionPeriod",
)


def _restored(value, restoring: bool):
    """A property's value with the RestoreFromSnapshot condition decided."""
    if isinstance(value, dict) and value.get("Fn::If", [None])[0] == "RestoreFromSnapshot":
        _, yes, no = value["Fn::If"]
        return yes if restoring else no
    return value


def test_a_restore_sets_none_of_what_aws_says_not_to_set_with_a_snapshot(templates):
    db = templates["data"]["Resources"]["Database"]["Properties"]
    restoring = {k: _restored(v, True) for k, v in db.items()}
    fresh = {k: _restored(v, False) for k, v in db.items()}
    for key in NOT_WITH_A_SNAPSHOT:
        assert restoring[key] == {"Ref": "AWS::NoValue"}, key
        assert fresh[key] != {"Ref": "AWS::NoValue"}, key
    assert restoring["DBSnapshotIdentifier"] == {"Ref": "DbSnapshotIdentifier"}
    assert fresh["DBSnapshotIdentifier"] == {"Ref": "AWS::NoValue"}
    assert restoring["StorageEncrypted"] is True  # inherited from an encrypted snapshot
    conditions = templates["data"]["Conditions"]
    assert conditions["RestoreFromSnapshot"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "DbSnapshotIdentifier"}, ""]}]
    }


def test_stateful_resources_snapshot_or_stay(resources):
    """Kept on delete and replacement; a failed first create (RetainExceptOnCreate) leaves
    no empty orphans behind."""
    expected = {
        "AWS::RDS::DBInstance": "Snapshot",
        "AWS::ElastiCache::ReplicationGroup": "Snapshot",
        "AWS::S3::Bucket": "RetainExceptOnCreate",
        "AWS::SecretsManager::Secret": "RetainExceptOnCreate",
        "AWS::KMS::Key": "RetainExceptOnCreate",
        "AWS::Backup::BackupVault": "RetainExceptOnCreate",
    }
    # The bootstrap stack's buckets are made once, by hand-run bootstrap: plain Retain.
    bootstrap = {"LogBucket", "ArtifactBucket"}
    # The us-east-1 key only encrypts alarm notifications in flight.
    disposable = {"EdgeAlarmKey"}
    seen = set()
    for _, logical, r in resources:
        if r["Type"] in expected and logical not in disposable:
            seen.add(r["Type"])
            deletion = "Retain" if logical in bootstrap else expected[r["Type"]]
            assert r.get("DeletionPolicy") == deletion, logical
            replace = "Snapshot" if expected[r["Type"]] == "Snapshot" else "Retain"
            assert r.get("UpdateReplacePolicy") == replace, logical
    assert seen == set(expected)


def test_secrets_logs_topic_and_volumes_are_encrypted(resources):
    for _, logical, r in of_type(resources, "AWS::SecretsManager::Secret"):
        key = r["Properties"]["KmsKeyId"]
        assert key in ({"Ref": "DataKeyArn"}, {"Fn::GetAtt": ["DataKey", "Arn"]}), logical
    for _, logical, r in of_type(resources, "AWS::Logs::LogGroup"):
        assert "KmsKeyId" in r["Properties"], logical
        assert r["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical
    topics = {
        k: r["Properties"]["KmsMasterKeyId"] for _, k, r in of_type(resources, "AWS::SNS::Topic")
    }
    assert topics == {
        "AlarmTopic": {"Ref": "DataKeyArn"},
        "EdgeAlarmTopic": {"Ref": "EdgeAlarmKey"},
    }
    ((_, _, lt),) = of_type(resources, "AWS::EC2::LaunchTemplate")
    for mapping in lt["Properties"]["LaunchTemplateData"]["BlockDeviceMappings"]:
        assert mapping["Ebs"]["Encrypted"] is True
    for _, logical, key in of_type(resources, "AWS::KMS::Key"):
        assert key["Properties"]["EnableKeyRotation"] is True, logical


# --- backups and disaster recovery ----------------------------------------------


def test_daily_backups_of_the_database_and_both_buckets_copied_to_the_dr_region(templates):
    backup = templates["backup"]["Resources"]
    assert backup["Vault"]["Properties"]["EncryptionKeyArn"] == {"Ref": "DataKeyArn"}
    (rule,) = backup["Plan"]["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["TargetBackupVault"] == {"Ref": "Vault"}
    assert rule["ScheduleExpression"].startswith("cron(")
    assert rule["Lifecycle"] == {"DeleteAfterDays": {"Ref": "RetentionDays"}}
    copy_to, _ = rule["CopyActions"]["Fn::If"][1:]
    assert rule["CopyActions"]["Fn::If"][0] == "CopyToDr"
    assert copy_to == [
        {
            "DestinationBackupVaultArn": {"Ref": "DrBackupVaultArn"},
            "Lifecycle": {"DeleteAfterDays": {"Ref": "RetentionDays"}},
        }
    ]
    selection = backup["Selection"]["Properties"]["BackupSelection"]
    assert selection["Resources"] == [
        {"Ref": "DatabaseArn"},
        {"Ref": "StaticBucketArn"},
        {"Ref": "MediaBucketArn"},
    ]
    managed = [p["Fn::Sub"].rsplit("/", 1)[1] for p in
               backup["BackupRole"]["Properties"]["ManagedPolicyArns"]]  # fmt: skip
    assert "AWSBackupServiceRolePolicyForS3Backup" in managed
    root = templates["webshop"]["Resources"]["BackupStack"]["Properties"]["Parameters"]
    assert root["DatabaseArn"] == {"Fn::GetAtt": ["DataStack", "Outputs.DatabaseArn"]}
    assert root["DrBackupVaultArn"] == {"Ref": "DrBackupVaultArn"}


def test_rds_replicates_its_automated_backups_to_the_dr_region_with_its_key(templates):
    db = templates["data"]["Resources"]["Database"]["Properties"]
    assert db["AutomaticBackupReplicationRegion"] == {
        "Fn::If": ["HasDrRegion", {"Ref": "DrRegion"}, {"Ref": "AWS::NoValue"}]
    }
    assert db["AutomaticBackupReplicationKmsKeyId"] == {
        "Fn::If": ["HasDrRegion", {"Ref": "DrKeyArn"}, {"Ref": "AWS::NoValue"}]
    }


def test_media_replicates_to_the_dr_bucket_but_deletions_do_not(templates):
    data = templates["data"]["Resources"]
    condition, config, otherwise = data["MediaBucket"]["Properties"]["ReplicationConfiguration"][
        "Fn::If"
    ]
    assert (condition, otherwise) == ("HasDrRegion", {"Ref": "AWS::NoValue"})
    assert config["Role"] == {"Fn::GetAtt": ["MediaReplicationRole", "Arn"]}
    (rule,) = config["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["DeleteMarkerReplication"] == {"Status": "Disabled"}
    assert rule["Destination"]["Bucket"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${DrMediaBucketName}"
    }
    policy = data["MediaReplicationPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "MediaReplicationRole"}]
    write = [s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "WriteReplicas"]
    assert write[0]["Action"] == ["s3:ReplicateObject", "s3:ReplicateTags"]  # no deletes


def test_the_dr_region_has_its_own_key_vault_and_media_bucket(templates):
    dr = templates["dr"]
    res = dr["Resources"]
    assert res["DrVault"]["Properties"]["EncryptionKeyArn"] == {"Fn::GetAtt": ["DrKey", "Arn"]}
    bucket = res["DrMediaBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}  # replication needs it
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "LogBucketName"}
    from deploy.aws.cli import DR_PARAMETERS

    assert set(DR_PARAMETERS) <= set(dr["Outputs"])
    root = templates["webshop"]["Parameters"]
    assert set(DR_PARAMETERS.values()) | {"DrRegion"} <= set(root)
