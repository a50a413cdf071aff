"""Who may talk to whom: CloudFront -> ALB 443 (nothing from anywhere else, no port 80),
ALB -> instances 8000, instances -> RDS 5432 and Redis 6379. Nothing else, and no SSH
anywhere."""

from tests.cloudformation.conftest import of_type

ANYWHERE = "0.0.0.0/0"


def _peer(rule, key_group, key_cidr):
    if key_group in rule:
        return rule[key_group]["Ref"]
    if "SourcePrefixListId" in rule:
        return rule["SourcePrefixListId"]["Ref"]
    cidr = rule.get(key_cidr)
    return cidr["Ref"] if isinstance(cidr, dict) else cidr


def _rules(templates, direction):
    """(group, protocol, from port, to port, peer) over inline and standalone rules."""
    inline_key = "SecurityGroupIngress" if direction == "ingress" else "SecurityGroupEgress"
    peer_keys = (
        ("SourceSecurityGroupId", "CidrIp")
        if direction == "ingress"
        else ("DestinationSecurityGroupId", "CidrIp")
    )
    found = set()
    for name in ("network", "security"):
        for logical, r in templates[name]["Resources"].items():
            props = r["Properties"]
            if r["Type"] == "AWS::EC2::SecurityGroup":
                for rule in props.get(inline_key, []):
                    found.add(
                        (
                            logical,
                            rule["IpProtocol"],
                            rule["FromPort"],
                            rule["ToPort"],
                            _peer(rule, *peer_keys),
                        )
                    )
            elif r["Type"] == f"AWS::EC2::SecurityGroup{direction.capitalize()}":
                found.add(
                    (
                        props["GroupId"]["Ref"],
                        props["IpProtocol"],
                        props["FromPort"],
                        props["ToPort"],
                        _peer(props, *peer_keys),
                    )
                )
    return found


def test_ingress_is_exactly_the_contract(templates):
    assert _rules(templates, "ingress") == {
        ("AlbSecurityGroup", "tcp", 443, 443, "CloudFrontPrefixListId"),
        ("AppSecurityGroup", "tcp", 8000, 8000, "AlbSecurityGroup"),
        ("DatabaseSecurityGroup", "tcp", 5432, 5432, "AppSecurityGroup"),
        ("CacheSecurityGroup", "tcp", 6379, 6379, "AppSecurityGroup"),
        ("EndpointSecurityGroup", "tcp", 443, 443, "VpcCidr"),
    }


def test_egress_is_exactly_the_contract(templates):
    no_egress = ("icmp", 252, 86, "127.0.0.1/32")  # replaces the default allow-all
    assert _rules(templates, "egress") == {
        ("AlbSecurityGroup", "tcp", 8000, 8000, "AppSecurityGroup"),
        ("AppSecurityGroup", "tcp", 443, 443, ANYWHERE),
        ("AppSecurityGroup", "tcp", 5432, 5432, "DatabaseSecurityGroup"),
        ("AppSecurityGroup", "tcp", 6379, 6379, "CacheSecurityGroup"),
        ("DatabaseSecurityGroup", *no_egress),
        ("CacheSecurityGroup", *no_egress),
        ("EndpointSecurityGroup", *no_egress),
    }


def test_every_group_replaces_the_default_allow_all_egress(templates):
    for name in ("network", "security"):
        for r in templates[name]["Resources"].values():
            if r["Type"] == "AWS::EC2::SecurityGroup":
                assert r["Properties"]["SecurityGroupEgress"]


def test_no_group_mixes_inline_and_standalone_rules_in_one_direction(templates):
    for direction, inline_key in (
        ("Ingress", "SecurityGroupIngress"),
        ("Egress", "SecurityGroupEgress"),
    ):
        for name in ("network", "security"):
            res = templates[name]["Resources"]
            standalone = {
                r["Properties"]["GroupId"]["Ref"]
                for r in res.values()
                if r["Type"] == f"AWS::EC2::SecurityGroup{direction}"
            }
            inline = {
                k
                for k, r in res.items()
                if r["Type"] == "AWS::EC2::SecurityGroup" and inline_key in r["Properties"]
            }
            assert not standalone & inline, (direction, standalone & inline)


def test_no_ssh_and_no_key_pair(templates, resources):
    for direction in ("ingress", "egress"):
        assert not [r for r in _rules(templates, direction) if r[2] <= 22 <= r[3]]
    for _, _, lt in of_type(resources, "AWS::EC2::LaunchTemplate"):
        assert "KeyName" not in lt["Properties"]["LaunchTemplateData"]


def test_groups_are_attached_where_the_contract_says(templates):
    app = templates["app"]["Resources"]
    assert app["LoadBalancer"]["Properties"]["SecurityGroups"] == [{"Ref": "AlbSecurityGroupId"}]
    lt = app["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert lt["SecurityGroupIds"] == [{"Ref": "AppSecurityGroupId"}]
    data = templates["data"]["Resources"]
    assert data["Database"]["Properties"]["VPCSecurityGroups"] == [
        {"Ref": "DatabaseSecurityGroupId"}
    ]
    assert data["Cache"]["Properties"]["SecurityGroupIds"] == [{"Ref": "CacheSecurityGroupId"}]


def test_the_alb_admits_cloudfront_only_and_the_tool_names_the_prefix_list(templates):
    param = templates["security"]["Parameters"]["CloudFrontPrefixListId"]
    assert param["AllowedPattern"] == "^pl-[0-9a-f]{8,17}$"
    root = templates["webshop"]["Resources"]["SecurityStack"]["Properties"]["Parameters"]
    assert root["CloudFrontPrefixListId"] == {"Ref": "CloudFrontPrefixListId"}
    from deploy.aws.cli import CLOUDFRONT_PREFIX_LIST

    assert CLOUDFRONT_PREFIX_LIST == "com.amazonaws.global.cloudfront.origin-facing"


def test_no_checkov_skip_is_left_on_the_load_balancer_group(templates):
    assert "Metadata" not in templates["security"]["Resources"]["AlbSecurityGroup"]
