"""The small resources tempest reads: limits per microversion, extensions, a server's ips,
password and diagnostics, hypervisor uptime/search/servers, tenant usage, the usage
audit log and the legacy ``os-hosts``."""

from __future__ import annotations

import datetime
from urllib.parse import quote

import pytest

from .test_servers import body


def boot(client, token="demo:demo"):
    response = client.post("/v2.1/servers", body(networks="auto"), token=token,
                           version="2.100")
    assert response.status_int == 202, response.body
    return response.json["server"]["id"]


@pytest.mark.parametrize("version, present, absent", [
    ("2.1", ["maxSecurityGroups", "totalFloatingIpsUsed", "maxImageMeta", "maxPersonality"],
     []),
    ("2.36", ["maxImageMeta", "maxPersonality"], ["maxSecurityGroups",
                                                  "totalFloatingIpsUsed"]),
    ("2.39", ["maxPersonality"], ["maxImageMeta", "maxSecurityGroups"]),
    ("2.57", ["maxTotalInstances"], ["maxPersonality", "maxPersonalitySize", "maxImageMeta"]),
])
def test_limits_fields_per_microversion(client, version, present, absent):
    absolute = client.get("/v2.1/limits", token="demo:demo", version=version).json[
        "limits"]["absolute"]
    assert all(key in absolute for key in present)
    assert not any(key in absolute for key in absent)


def test_limits_count_server_groups(client):
    client.post("/v2.1/os-server-groups", {"server_group": {"name": "g", "policies": [
        "affinity"]}}, token="demo:demo")
    absolute = client.get("/v2.1/limits", token="demo:demo").json["limits"]["absolute"]
    assert absolute["totalServerGroupsUsed"] == 1


def test_extensions(client):
    listed = client.get("/v2.1/extensions", token="demo:demo").json["extensions"]
    assert "Hosts" in [e["name"] for e in listed]
    assert all(set(e) == {"alias", "name", "description", "namespace", "updated", "links"}
               for e in listed)
    shown = client.get("/v2.1/extensions/os-consoles", token="demo:demo")
    assert shown.json["extension"]["alias"] == "os-consoles"
    assert client.get("/v2.1/extensions/nope", token="demo:demo").status_int == 404


def test_ips_password_and_diagnostics(client):
    server = boot(client)
    addresses = client.get(f"/v2.1/servers/{server}", token="demo:demo").json[
        "server"]["addresses"]
    assert addresses
    ips = client.get(f"/v2.1/servers/{server}/ips", token="demo:demo").json
    assert ips == {"addresses": addresses}
    label = next(iter(addresses))
    one = client.get(f"/v2.1/servers/{server}/ips/{label}", token="demo:demo").json
    assert one == {label: addresses[label]}
    assert client.get(f"/v2.1/servers/{server}/ips/nope", token="demo:demo").status_int == 404
    assert client.get(f"/v2.1/servers/{server}/ips", token="alt:alt").status_int == 404
    assert client.get(f"/v2.1/servers/{server}/os-server-password", token="demo:demo").json \
        == {"password": ""}
    assert client.delete(f"/v2.1/servers/{server}/os-server-password",
                         token="demo:demo").status_int == 204
    path = f"/v2.1/servers/{server}/diagnostics"
    assert client.get(path, token="demo:demo").status_int == 403
    legacy = client.get(path).json
    assert legacy["memory"] == 512 * 1024 and "cpu0_time" in legacy
    standard = client.get(path, version="2.48").json
    assert standard["state"] == "running" and standard["driver"] == "libvirt"
    assert standard["num_cpus"] == 1 and standard["num_nics"] == len(
        [a for net in addresses.values() for a in net])
    assert standard["memory_details"] == {"maximum": 512 * 1024, "used": 0}


def test_hypervisor_uptime_search_and_servers(client):
    server = boot(client)
    hypervisors = client.get("/v2.1/os-hypervisors").json["hypervisors"]
    first = hypervisors[0]
    uptime = client.get(f"/v2.1/os-hypervisors/{first['id']}/uptime").json["hypervisor"]
    assert uptime["id"] == first["id"] and "load average" in uptime["uptime"]
    assert client.get(f"/v2.1/os-hypervisors/{first['id']}/uptime",
                      version="2.88").status_int == 404
    assert client.get(f"/v2.1/os-hypervisors/{first['id']}/uptime",
                      token="demo:demo").status_int == 403
    found = client.get("/v2.1/os-hypervisors/host/search").json["hypervisors"]
    assert len(found) == len(hypervisors)
    assert client.get("/v2.1/os-hypervisors/nothing/search").status_int == 404
    assert client.get("/v2.1/os-hypervisors/host/search", version="2.53").status_int == 404
    with_servers = client.get("/v2.1/os-hypervisors/host/servers").json["hypervisors"]
    listed = [s for h in with_servers for s in h.get("servers", [])]
    assert [s["uuid"] for s in listed] == [server]


def test_simple_tenant_usage(client):
    server = boot(client)
    later = (datetime.datetime.now(datetime.timezone.utc)
             + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    earlier = "2000-01-01T00:00:00"
    mine = client.get(f"/v2.1/os-simple-tenant-usage/demo?start={earlier}&end={later}",
                      token="demo:demo").json["tenant_usage"]
    assert [u["instance_id"] for u in mine["server_usages"]] == [server]
    assert mine["total_hours"] > 1.9 and mine["server_usages"][0]["flavor"] == "m1.tiny"
    assert client.get("/v2.1/os-simple-tenant-usage/alt", token="demo:demo").status_int == 403
    assert client.get("/v2.1/os-simple-tenant-usage", token="demo:demo").status_int == 403
    listed = client.get(f"/v2.1/os-simple-tenant-usage?start={earlier}&end={later}").json
    assert [u["tenant_id"] for u in listed["tenant_usages"]] == ["demo"]
    assert "server_usages" not in listed["tenant_usages"][0]
    detailed = client.get(f"/v2.1/os-simple-tenant-usage?start={earlier}&end={later}"
                          "&detailed=1").json
    assert len(detailed["tenant_usages"][0]["server_usages"]) == 1
    backwards = client.get(f"/v2.1/os-simple-tenant-usage?start={later}&end={earlier}")
    assert backwards.status_int == 400
    assert client.get("/v2.1/os-simple-tenant-usage?start=yesterday").status_int == 400
    assert client.get("/v2.1/os-simple-tenant-usage/").status_int == 404  # no tenant id


def test_instance_usage_audit_log(client):
    listed = client.get("/v2.1/os-instance_usage_audit_log").json["instance_usage_audit_logs"]
    assert listed["hosts_not_run"] == ["host1", "host2"] and listed["num_hosts"] == 2
    before = quote("2026-03-15 10:00:00")
    shown = client.get(f"/v2.1/os-instance_usage_audit_log/{before}").json[
        "instance_usage_audit_log"]
    assert shown["period_beginning"] == "2026-02-01 00:00:00"
    assert shown["period_ending"] == "2026-03-01 00:00:00"
    january = client.get(f"/v2.1/os-instance_usage_audit_log/{quote('2026-01-02 00:00:00')}")
    assert january.json["instance_usage_audit_log"]["period_beginning"] == \
        "2025-12-01 00:00:00"
    assert client.get("/v2.1/os-instance_usage_audit_log/bad").status_int == 400
    assert client.get("/v2.1/os-instance_usage_audit_log", token="demo:demo").status_int == 403


def test_os_hosts(client):
    boot(client)
    hosts = client.get("/v2.1/os-hosts").json["hosts"]
    assert {"host_name": "host1", "service": "compute", "zone": "nova"} in hosts
    assert {h["service"] for h in hosts} >= {"compute", "conductor", "scheduler"}
    assert client.get("/v2.1/os-hosts?zone=nova").json["hosts"] == [
        h for h in hosts if h["zone"] == "nova"]
    assert client.get("/v2.1/os-hosts?zone=").json["hosts"] == hosts
    assert client.get("/v2.1/os-hosts?zone=nowhere").json["hosts"] == []
    detail = client.get("/v2.1/os-hosts/host1").json["host"]
    projects = [row["resource"]["project"] for row in detail]
    assert projects[:3] == ["(total)", "(used_now)", "(used_max)"]
    assert client.get("/v2.1/os-hosts/nope").status_int == 404
    assert client.get("/v2.1/os-hosts", token="demo:demo").status_int == 403
    assert client.get("/v2.1/os-hosts", version="2.43").status_int == 404
    disabled = client.put("/v2.1/os-hosts/host1", {"status": "disable"})
    assert disabled.json == {"host": "host1", "status": "disabled"}
    service = [s for s in client.get("/v2.1/os-services").json["services"]
               if s["host"] == "host1"][0]
    assert service["status"] == "disabled"
    for bad in ({}, {"status": "off"}, {"maintenance_mode": "maybe"}, {"other": 1}):
        assert client.put("/v2.1/os-hosts/host1", bad).status_int == 400
    assert client.put("/v2.1/os-hosts/host1", {"maintenance_mode": "enable"}).status_int \
        == 501
    assert client.put("/v2.1/os-hosts/nope", {"status": "enable"}).status_int == 404
    assert client.get("/v2.1/os-hosts/host1/reboot").json == {
        "host": "host1", "power_action": "reboot"}
    assert client.get("/v2.1/os-hosts/nope/startup").status_int == 404


def test_compute_images_proxy(client):
    from nova_sim import image

    listed = client.get("/v2.1/images", token="demo:demo").json["images"]
    assert [i["id"] for i in listed] == [image.CIRROS_IMAGE_ID]
    assert {link["rel"] for link in listed[0]["links"]} == {"self", "bookmark", "alternate"}
    detail = client.get("/v2.1/images/detail", token="demo:demo").json["images"][0]
    assert detail["status"] == "ACTIVE" and detail["progress"] == 100
    assert detail["metadata"]["os_distro"] == "cirros"
    shown = client.get(f"/v2.1/images/{image.CIRROS_IMAGE_ID}", token="demo:demo").json
    assert shown == {"image": detail}
    assert client.get(f"/v2.1/images/{image.CIRROS_IMAGE_NAME}",
                      token="demo:demo").status_int == 404
    assert client.get("/v2.1/images?name=nope", token="demo:demo").json == {"images": []}
    assert client.get("/v2.1/images", token="demo:demo", version="2.36").status_int == 404


def test_network_proxies(client):
    from nova_sim.api.network import PRIVATE

    networks = client.get("/v2.1/os-networks").json["networks"]
    assert {n["label"] for n in networks} == {"private", "public"}
    assert client.get(f"/v2.1/os-networks/{PRIVATE['id']}").json["network"]["cidr"] == \
        "10.0.0.0/24"
    assert client.get("/v2.1/os-networks", token="demo:demo").status_int == 403
    assert client.get("/v2.1/os-networks/nope").status_int == 404
    tenant = client.get("/v2.1/os-tenant-networks", token="demo:demo").json["networks"]
    assert {"id": PRIVATE["id"], "label": "private", "cidr": "10.0.0.0/24"} in tenant
    assert client.get(f"/v2.1/os-tenant-networks/{PRIVATE['id']}", token="demo:demo",
                      version="2.36").status_int == 404


def test_network_ports_of_servers(client):
    server = boot(client)
    addresses = client.get(f"/v2.1/servers/{server}", token="demo:demo").json[
        "server"]["addresses"]
    ports = client.get(f"/network/v2.0/ports?device_id={server}", token="demo:demo").json[
        "ports"]
    assert [p["fixed_ips"][0]["ip_address"] for p in ports] == [
        a["addr"] for entries in addresses.values() for a in entries]
    assert ports[0]["device_id"] == server and ports[0]["device_owner"] == "compute:nova"
    assert client.get(f"/network/v2.0/ports?device_id={server}", token="alt:alt").json == {
        "ports": []}
    assert client.get("/network/v2.0/ports?network_id=nope", token="demo:demo").json == {
        "ports": []}


def test_block_storage_discovery_and_no_volumes(client):
    versions = client.get("/volume", token=None)
    assert versions.status_int == 300
    assert versions.json["versions"][0]["id"] == "v3.0"
    assert client.get("/volume/v3", token="demo:demo").json["versions"][0]["links"][0][
        "href"] == "http://localhost/volume/v3/"
    assert client.get("/volume/v3/volumes/detail", token="demo:demo").json == {"volumes": []}
    assert client.get("/volume/v3/volumes", token=None).status_int == 401
    assert client.get("/volume/v3/volumes/x", token="demo:demo").status_int == 404
    assert client.get("/network/v2.0/floatingips", token="demo:demo").json == {
        "floatingips": []}  # none allocated yet (tests/api/test_floating_ips.py)


def test_networks_and_subnets_made_through_the_api(client):
    made = client.post("/network/v2.0/networks", {"network": {"name": "mine"}},
                       token="demo:demo")
    assert made.status_int == 201
    net = made.json["network"]
    try:
        subnet = client.post("/network/v2.0/subnets", {"subnet": {
            "network_id": net["id"], "cidr": "19.80.0.0/24", "ip_version": 4}},
            token="demo:demo")
        assert subnet.status_int == 201 and subnet.json["subnet"]["cidr"] == "19.80.0.0/24"
        assert [n["name"] for n in client.get("/network/v2.0/networks?name=mine",
                                              token="alt:alt").json["networks"]] == []
        booted = client.post("/v2.1/servers", body(networks=[{"uuid": net["id"]}]),
                             token="demo:demo", version="2.100")
        assert booted.status_int == 202
        addresses = client.get(f"/v2.1/servers/{booted.json['server']['id']}",
                               token="demo:demo").json["server"]["addresses"]
        assert addresses["mine"][0]["addr"].startswith("19.80.0.")
        assert client.post("/network/v2.0/subnets", {"subnet": {
            "network_id": net["id"], "cidr": "nope"}}, token="demo:demo").status_int == 400
        assert client.delete(f"/network/v2.0/subnets/{subnet.json['subnet']['id']}",
                             token="demo:demo").status_int == 204
    finally:
        assert client.delete(f"/network/v2.0/networks/{net['id']}",
                             token="demo:demo").status_int == 204
    assert client.get(f"/network/v2.0/networks/{net['id']}", token="demo:demo").status_int \
        == 404
    from nova_sim.api.network import PRIVATE
    assert client.delete(f"/network/v2.0/networks/{PRIVATE['id']}").status_int == 409


def test_migrations_and_images_that_cannot_be_deleted_here(client):
    from nova_sim import image

    server = boot(client)
    assert client.get("/v2.1/os-migrations").json == {"migrations": []}
    db = client.app.compute_api.db
    db.instance_update(server, {"system_metadata": {
        "migration": {"status": "finished", "source_compute": "host1",
                      "source_node": "host1", "dest_compute": "host2", "dest_node": "host2",
                      "migration_type": "resize", "uuid": "m-1"},
        "old_flavor": {"id": 1}, "new_flavor": {"id": 2}}})
    listed = client.get("/v2.1/os-migrations", version="2.59").json["migrations"]
    assert [(m["instance_uuid"], m["status"], m["migration_type"], m["old_instance_type_id"],
             m["new_instance_type_id"], m["uuid"]) for m in listed] == [
        (server, "finished", "resize", 1, 2, "m-1")]
    assert "migration_type" not in client.get("/v2.1/os-migrations").json["migrations"][0]
    assert client.get("/v2.1/os-migrations?status=error").json == {"migrations": []}
    assert client.get("/v2.1/os-migrations", token="demo:demo").status_int == 403
    assert client.get(f"/v2.1/servers/{server}/migrations", version="2.23").json == {
        "migrations": []}
    assert client.get(f"/v2.1/servers/{server}/migrations", version="2.22").status_int == 404
    assert client.delete("/v2.1/images/nope", token="demo:demo").status_int == 404
    assert client.delete("/v2.1/images/", token="demo:demo").status_int == 404
    assert client.delete(f"/v2.1/images/{image.CIRROS_IMAGE_ID}",
                         token="demo:demo").status_int == 403


def test_remote_consoles(client):
    server = boot(client)
    path = f"/v2.1/servers/{server}/remote-consoles"
    made = client.post(path, {"remote_console": {"protocol": "vnc", "type": "novnc"}},
                       token="demo:demo", version="2.6").json["remote_console"]
    assert made["protocol"] == "vnc" and made["type"] == "novnc"
    assert made["url"].startswith("http://127.0.0.1:6080/vnc_lite.html?path=%3Ftoken%3D")
    for spec in ({"protocol": "vnc", "type": "spice-html5"}, {"protocol": "x", "type": "y"},
                 {"protocol": "mks", "type": "webmks"}, {"protocol": "vnc"}):
        assert client.post(path, {"remote_console": spec}, token="demo:demo",
                           version="2.6").status_int == 400
    assert client.post(path, {"remote_console": {"protocol": "vnc", "type": "novnc"}},
                       token="demo:demo", version="2.5").status_int == 404


def test_network_list_filters_shared_external_and_project(client):
    def names(query, token="demo:demo"):
        return sorted(n["name"] for n in client.get(f"/network/v2.0/networks?{query}",
                                                    token=token).json["networks"])

    assert names("shared=True") == ["private", "public"]
    assert names("shared=False") == []
    assert names("tenant_id=demo&shared=False") == []  # what tempest's auto-allocation
    assert names("router:external=true") == ["public"]  # test checks before it runs
    assert names("router:external=false") == ["private"]
    assert names("shared=maybe") == []
    made = client.post("/network/v2.0/networks", {"network": {"name": "own"}},
                       token="demo:demo").json["network"]
    try:
        assert names("tenant_id=demo&shared=False") == ["own"]
        assert names("project_id=demo") == ["own"]
        assert names("project_id=demo", token="alt:alt") == []
    finally:
        client.delete(f"/network/v2.0/networks/{made['id']}", token="demo:demo")
