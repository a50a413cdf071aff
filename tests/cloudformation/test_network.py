"""Two AZs; public subnets for the ALB (and NAT) only; instances, RDS and Redis private."""

from tests.cloudformation.conftest import of_type


def _subnets(templates):
    return {
        k: r["Properties"]
        for k, r in templates["network"]["Resources"].items()
        if r["Type"] == "AWS::EC2::Subnet"
    }


def test_each_tier_has_a_subnet_in_two_availability_zones(templates):
    subnets = _subnets(templates)
    for tier in ("Public", "App", "Data"):
        zones = [subnets[f"{tier}Subnet{x}"]["AvailabilityZone"]["Fn::Select"][0] for x in "AB"]
        assert zones == [0, 1]


def test_no_subnet_hands_out_public_ips(templates):
    assert not any(p.get("MapPublicIpOnLaunch") for p in _subnets(templates).values())


def test_only_public_subnets_route_to_the_internet_gateway(templates):
    routes = [
        r["Properties"]
        for r in templates["network"]["Resources"].values()
        if r["Type"] == "AWS::EC2::Route"
    ]
    by_table = {r["RouteTableId"]["Ref"]: r for r in routes}
    assert "GatewayId" in by_table["PublicRouteTable"]
    assert "NatGatewayId" in by_table["AppRouteTableA"]
    assert "NatGatewayId" in by_table["AppRouteTableB"]
    assert "DataRouteTable" not in by_table  # RDS and Redis have no way out


def test_what_lives_in_which_subnets(templates):
    root = templates["webshop"]["Resources"]
    app = root["AppStack"]["Properties"]["Parameters"]
    data = root["DataStack"]["Properties"]["Parameters"]
    assert app["PublicSubnetIds"] == {"Fn::GetAtt": ["NetworkStack", "Outputs.PublicSubnetIds"]}
    assert app["AppSubnetIds"] == {"Fn::GetAtt": ["NetworkStack", "Outputs.AppSubnetIds"]}
    assert data["DataSubnetIds"] == {"Fn::GetAtt": ["NetworkStack", "Outputs.DataSubnetIds"]}
    tier = templates["app"]["Resources"]
    assert tier["LoadBalancer"]["Properties"]["Subnets"] == {"Ref": "PublicSubnetIds"}
    assert tier["AutoScalingGroup"]["Properties"]["VPCZoneIdentifier"] == {"Ref": "AppSubnetIds"}
    stores = templates["data"]["Resources"]
    assert stores["DatabaseSubnetGroup"]["Properties"]["SubnetIds"] == {"Ref": "DataSubnetIds"}
    assert stores["CacheSubnetGroup"]["Properties"]["SubnetIds"] == {"Ref": "DataSubnetIds"}


def test_nat_gateways_one_per_zone_unless_asked_for_one(templates):
    network = templates["network"]
    assert network["Parameters"]["NatGatewayCount"]["Default"] == 2
    assert network["Resources"]["NatGatewayB"]["Condition"] == "TwoNatGateways"


def test_vpc_endpoints_for_s3_and_the_apis_instances_call(resources):
    services = {
        r["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[1]: r["Properties"]
        for _, _, r in of_type(resources, "AWS::EC2::VPCEndpoint")
    }
    assert services["s3"]["VpcEndpointType"] == "Gateway"
    interface = {"ssm", "ssmmessages", "ec2messages", "secretsmanager", "logs", "monitoring"}
    interface.add("cloudformation")  # cfn-signal
    assert set(services) == {"s3", *interface}
    for name in interface:
        assert services[name]["PrivateDnsEnabled"] is True
        assert services[name]["SubnetIds"] == [{"Ref": "AppSubnetA"}, {"Ref": "AppSubnetB"}]
