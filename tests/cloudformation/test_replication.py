"""The replicated data tier as the templates declare it: a Multi-AZ primary, a read replica
the instances read from (or none), ElastiCache with automatic failover, and the alarm that
says when the replica is too far behind for the app to use."""


def test_the_read_replica_copies_its_source_inside_the_data_tier(templates):
    data = templates["data"]
    replica = data["Resources"]["DatabaseReplica"]
    props = replica["Properties"]
    assert replica["Condition"] == "HasReadReplica"
    assert data["Conditions"]["HasReadReplica"] == {
        "Fn::Equals": [{"Ref": "DbReadReplicaCount"}, "1"]
    }
    assert data["Parameters"]["DbReadReplicaCount"]["AllowedValues"] == ["0", "1"]
    assert props["SourceDBInstanceIdentifier"] == {"Ref": "Database"}
    # Encrypted with the source's key (inherited: StorageEncrypted may not be restated).
    assert data["Resources"]["Database"]["Properties"]["StorageEncrypted"] is True
    assert props["KmsKeyId"] == {"Ref": "DataKeyArn"}
    assert props["DBSubnetGroupName"] == {"Ref": "DatabaseSubnetGroup"}
    assert props["DBParameterGroupName"] == {"Ref": "DatabaseParameterGroup"}  # TLS forced
    assert props["VPCSecurityGroups"] == [{"Ref": "DatabaseSecurityGroupId"}]
    assert props["PubliclyAccessible"] is False and props["MultiAZ"] == {"Ref": "DbMultiAz"}
    assert data["Outputs"]["DatabaseReplicaEndpoint"] == {
        "Condition": "HasReadReplica",
        "Value": {"Fn::GetAtt": ["DatabaseReplica", "Endpoint.Address"]},
    }


def test_the_root_stack_wires_the_replica_to_the_instances_and_the_alarm(templates):
    root = templates["webshop"]
    resources = root["Resources"]
    assert root["Parameters"]["DbReadReplicaCount"]["Default"] == "1"
    data = resources["DataStack"]["Properties"]["Parameters"]
    assert data["DbReadReplicaCount"] == {"Ref": "DbReadReplicaCount"}
    app = resources["AppStack"]["Properties"]["Parameters"]
    assert app["DatabaseReplicaEndpoint"] == {
        "Fn::If": [
            "HasReadReplica",
            {"Fn::GetAtt": ["DataStack", "Outputs.DatabaseReplicaEndpoint"]},
            "",
        ]
    }
    monitoring = resources["MonitoringStack"]["Properties"]["Parameters"]
    assert monitoring["DatabaseReplicaInstanceId"]["Fn::If"][0] == "HasReadReplica"


def test_replica_lag_alarms_at_the_apps_own_limit(templates):
    monitoring = templates["monitoring"]
    alarm = monitoring["Resources"]["ReplicaLagAlarm"]
    props = alarm["Properties"]
    assert alarm["Condition"] == "HasReadReplica"
    assert (props["Namespace"], props["MetricName"]) == ("AWS/RDS", "ReplicaLag")
    assert props["Dimensions"] == [
        {"Name": "DBInstanceIdentifier", "Value": {"Ref": "DatabaseReplicaInstanceId"}}
    ]
    # DATABASE_REPLICA_MAX_LAG's default (webapp/settings.py).
    assert monitoring["Parameters"]["DbReplicaLagAlarmSeconds"]["Default"] == 5
    assert props["Threshold"] == {"Ref": "DbReplicaLagAlarmSeconds"}
    assert props["TreatMissingData"] == "breaching"


def test_elasticache_fails_over_on_its_own_across_zones(templates):
    cache = templates["data"]["Resources"]["Cache"]["Properties"]
    assert cache["AutomaticFailoverEnabled"] is True and cache["MultiAZEnabled"] is True
    assert cache["NumCacheClusters"] >= 2
