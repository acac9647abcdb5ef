"""Floating IPs: the ``os-floating-ips`` / ``os-floating-ip-pools`` proxies (below 2.36),
the ``addFloatingIp`` / ``removeFloatingIp`` actions (below 2.44) and the network
service's ``/network/v2.0/floatingips``: status codes, fault bodies, microversion
boundaries, scoping by project and policy by role."""

from __future__ import annotations

import pytest

from nova_sim.api import network

from .test_identity import login

IMAGE = "13dbfda8-883f-5c6c-a946-6ad6d8486726"
OLD = "2.35"
PATH = "/v2.1/os-floating-ips"
NEUTRON = "/network/v2.0/floatingips"


def boot(client, token="demo:demo", networks="auto"):
    response = client.post("/v2.1/servers", {"server": {
        "name": "vm", "imageRef": IMAGE, "flavorRef": "1", "networks": networks}},
        token=token, version="2.37")
    assert response.status_int == 202, response.body
    return response.json["server"]["id"]


def allocate(client, token="demo:demo", body=None):
    response = client.post(PATH, body, token=token, version=OLD)
    assert response.status_int == 200, response.body
    return response.json["floating_ip"]


def action(client, server_id, body, token="demo:demo", version=OLD):
    return client.post(f"/v2.1/servers/{server_id}/action", body, token=token,
                       version=version)


def fault(response, code):
    assert response.status_int == code, response.body
    (_name, body), = response.json.items()
    assert body["code"] == code
    return body["message"]


def test_allocate_show_list_and_release(client):
    made = allocate(client)
    assert made["pool"] == "public" and made["fixed_ip"] is None
    assert made["instance_id"] is None and made["ip"].startswith("172.24.4.")
    assert made["ip"] != "172.24.4.1"  # the gateway is never handed out
    second = allocate(client, body={"pool": "public"})
    assert second["ip"] != made["ip"]
    shown = client.get(f"{PATH}/{made['id']}", token="demo:demo", version=OLD)
    assert shown.json == {"floating_ip": made}
    listed = client.get(PATH, token="demo:demo", version=OLD).json["floating_ips"]
    assert listed == [made, second]
    assert client.delete(f"{PATH}/{made['id']}", token="demo:demo",
                         version=OLD).status_int == 202
    gone = client.get(f"{PATH}/{made['id']}", token="demo:demo", version=OLD)
    assert fault(gone, 404) == f"Floating IP not found for ID {made['id']}"
    assert fault(client.delete(f"{PATH}/{made['id']}", token="demo:demo", version=OLD),
                 404)
    # the released address is handed out again
    assert allocate(client)["ip"] == made["ip"]


def test_pools_and_unknown_pool(client):
    pools = client.get("/v2.1/os-floating-ip-pools", token="demo:demo", version=OLD)
    assert pools.json == {"floating_ip_pools": [{"name": "public"}]}
    missing = client.post(PATH, {"pool": "nowhere"}, token="demo:demo", version=OLD)
    assert fault(missing, 404) == "Floating IP pool not found."
    internal = client.post(PATH, {"pool": "private"}, token="demo:demo", version=OLD)
    assert fault(internal, 404) == "Floating IP pool not found."


@pytest.mark.parametrize("method,path", [
    ("GET", PATH), ("POST", PATH), ("GET", f"{PATH}/x"), ("DELETE", f"{PATH}/x"),
    ("GET", "/v2.1/os-floating-ip-pools")])
def test_the_proxies_are_gone_at_2_36(client, method, path):
    assert client.request(method, path, token="demo:demo", version="2.36").status_int == 404


def test_over_quota_is_403_and_limits_count_them(client):
    client.put("/v2.1/os-quota-sets/demo", {"quota_set": {"floating_ips": 1}},
               version=OLD)
    allocate(client)
    refused = client.post(PATH, {"pool": "public"}, token="demo:demo", version=OLD)
    assert fault(refused, 403) == "IP allocation over quota in pool public."
    absolute = client.get("/v2.1/limits", token="demo:demo",
                          version=OLD).json["limits"]["absolute"]
    assert absolute["maxTotalFloatingIps"] == 1 and absolute["totalFloatingIpsUsed"] == 1


def test_pool_used_up_is_404(client, monkeypatch):
    monkeypatch.setattr(network, "_pool_addresses", lambda net: iter(["172.24.4.9"]))
    allocate(client)
    refused = client.post(PATH, None, token="alt:alt", version=OLD)
    assert fault(refused, 404) == "No more floating IPs available."


def test_another_projects_floating_ip_is_404_and_unlisted(client):
    made = allocate(client)
    assert client.get(PATH, token="alt:alt", version=OLD).json["floating_ips"] == []
    for method in ("GET", "DELETE"):
        response = client.request(method, f"{PATH}/{made['id']}", token="alt:alt",
                                  version=OLD)
        assert fault(response, 404)
    server_id = boot(client, token="alt:alt")
    taken = action(client, server_id, {"addFloatingIp": {"address": made["ip"]}},
                   token="alt:alt")
    assert fault(taken, 404) == "floating IP not found"
    assert client.get(f"{PATH}/{made['id']}", token="admin:admin",
                      version=OLD).status_int == 200


def test_associate_move_and_disassociate(client):
    first, second = boot(client), boot(client)
    made = allocate(client)
    assert action(client, first, {"addFloatingIp": {"address": made["ip"]}}
                  ).status_int == 202
    shown = client.get(f"{PATH}/{made['id']}", token="demo:demo",
                       version=OLD).json["floating_ip"]
    fixed = client.get(f"/v2.1/servers/{first}/ips", token="demo:demo").json
    assert shown["instance_id"] == first
    assert shown["fixed_ip"] == fixed["addresses"]["private"][0]["addr"]
    addresses = client.get(f"/v2.1/servers/{first}", token="demo:demo",
                           version=OLD).json["server"]["addresses"]["private"]
    assert [(a["addr"], a["OS-EXT-IPS:type"]) for a in addresses] == [
        (shown["fixed_ip"], "fixed"), (made["ip"], "floating")]
    assert addresses[0]["OS-EXT-IPS-MAC:mac_addr"] == addresses[1]["OS-EXT-IPS-MAC:mac_addr"]
    ports = client.get(f"/network/v2.0/ports?device_id={first}", token="demo:demo")
    assert len(ports.json["ports"]) == 1  # a floating IP is no port of the server
    # associating it again elsewhere moves it (Neutron's behaviour)
    assert action(client, second, {"addFloatingIp": {"address": made["ip"]}}
                  ).status_int == 202
    ips = client.get(f"/v2.1/servers/{first}/ips", token="demo:demo").json["addresses"]
    assert [a["addr"] for a in ips["private"]] == [shown["fixed_ip"]]
    ips = client.get(f"/v2.1/servers/{second}/ips", token="demo:demo").json["addresses"]
    assert made["ip"] in [a["addr"] for a in ips["private"]]
    assert client.get(f"{PATH}/{made['id']}", token="demo:demo",
                      version=OLD).json["floating_ip"]["instance_id"] == second
    stale = action(client, first, {"removeFloatingIp": {"address": made["ip"]}})
    assert fault(stale, 409) == (f"Floating IP {made['ip']} is not associated with "
                                 f"instance {first}.")
    assert action(client, second, {"removeFloatingIp": {"address": made["ip"]}}
                  ).status_int == 202
    assert client.get(f"{PATH}/{made['id']}", token="demo:demo",
                      version=OLD).json["floating_ip"]["instance_id"] is None
    ips = client.get(f"/v2.1/servers/{second}/ips", token="demo:demo").json["addresses"]
    assert made["ip"] not in [a["addr"] for a in ips["private"]]


def test_a_fixed_address_holds_one_floating_ip_of_a_network(client):
    server_id = boot(client)
    first, second = allocate(client), allocate(client)
    assert action(client, server_id, {"addFloatingIp": {"address": first["ip"]}}
                  ).status_int == 202
    again = action(client, server_id, {"addFloatingIp": {"address": first["ip"]}})
    assert again.status_int == 202  # the same one again is no change
    refused = action(client, server_id, {"addFloatingIp": {"address": second["ip"]}})
    assert fault(refused, 400) == f"Floating IP {second['ip']} association has failed."
    port = client.get(f"/network/v2.0/ports?device_id={server_id}",
                      token="demo:demo").json["ports"][0]["id"]
    taken = client.put(f"{NEUTRON}/{second['id']}", {"floatingip": {"port_id": port}},
                       token="demo:demo")
    assert taken.status_int == 409
    assert "already has a floating IP on external network" in taken.json[
        "conflictingRequest"]["message"]


def test_a_deleted_servers_floating_ip_is_no_longer_associated(client):
    server_id = boot(client)
    made = allocate(client)
    action(client, server_id, {"addFloatingIp": {"address": made["ip"]}})
    assert client.delete(f"/v2.1/servers/{server_id}", token="demo:demo").status_int == 204
    shown = client.get(f"{PATH}/{made['id']}", token="demo:demo",
                       version=OLD).json["floating_ip"]
    assert shown["instance_id"] is None and shown["fixed_ip"] is None


@pytest.mark.parametrize("body,code,message", [
    ({"addFloatingIp": {}}, 400, "'address' is a required property"),
    ({"addFloatingIp": {"address": "not-an-ip"}}, 400, "is not a 'ipv4' or 'ipv6'"),
    ({"addFloatingIp": {"address": "172.24.4.200", "extra": 1}}, 400,
     "Additional properties are not allowed"),
    ({"addFloatingIp": {"address": "172.24.4.200"}}, 404, "floating IP not found"),
    ({"addFloatingIp": {"address": "172.24.4.200", "fixed_address": "10.9.9.9"}}, 400,
     "Specified fixed address not assigned to instance"),
    ({"removeFloatingIp": {"address": "172.24.4.200"}}, 404, "floating IP not found"),
    ({"removeFloatingIp": None}, 400, "is not of type 'object'"),
])
def test_action_checks(client, body, code, message):
    server_id = boot(client)
    assert message in fault(action(client, server_id, body), code)


def test_a_server_without_addresses_is_400(client):
    server_id = boot(client, networks="none")
    made = allocate(client)
    refused = action(client, server_id, {"addFloatingIp": {"address": made["ip"]}})
    assert fault(refused, 400) == "Instance network is not ready yet"


@pytest.mark.parametrize("name", ["addFloatingIp", "removeFloatingIp"])
def test_the_actions_are_gone_at_2_44(client, name):
    server_id = boot(client)
    made = allocate(client)
    assert action(client, server_id, {name: {"address": made["ip"]}},
                  version="2.43").status_int in (202, 409)
    assert fault(action(client, server_id, {name: {"address": made["ip"]}},
                        version="2.44"), 404)


def test_the_network_service_floatingips(client):
    server_id = boot(client)
    made = client.post(NEUTRON, {"floatingip": {"floating_network_id": network.PUBLIC["id"]}},
                       token="demo:demo")
    assert made.status_int == 201, made.body
    fip = made.json["floatingip"]
    assert fip["status"] == "DOWN" and fip["port_id"] is None
    assert fip["project_id"] == "demo"
    ports = client.get(f"/network/v2.0/ports?device_id={server_id}",
                       token="demo:demo").json["ports"]
    updated = client.put(f"{NEUTRON}/{fip['id']}", {"floatingip": {"port_id": ports[0]["id"]}},
                         token="demo:demo").json["floatingip"]
    assert updated["port_id"] == ports[0]["id"] and updated["status"] == "ACTIVE"
    assert updated["fixed_ip_address"] == ports[0]["fixed_ips"][0]["ip_address"]
    by_port = client.get(f"{NEUTRON}?port_id={ports[0]['id']}", token="demo:demo")
    assert [f["id"] for f in by_port.json["floatingips"]] == [fip["id"]]
    compute_view = client.get(f"{PATH}/{fip['id']}", token="demo:demo",
                              version=OLD).json["floating_ip"]
    assert compute_view["instance_id"] == server_id
    cleared = client.put(f"{NEUTRON}/{fip['id']}", {"floatingip": {"port_id": None}},
                         token="demo:demo").json["floatingip"]
    assert cleared["port_id"] is None
    assert client.get(NEUTRON, token="alt:alt").json["floatingips"] == []
    assert client.get(f"{NEUTRON}/{fip['id']}", token="alt:alt").status_int == 404
    assert client.delete(f"{NEUTRON}/{fip['id']}", token="demo:demo").status_int == 204
    assert client.get(f"{NEUTRON}/{fip['id']}", token="demo:demo").status_int == 404


def test_the_network_service_refuses_internal_networks(client):
    internal = client.post(NEUTRON, {"floatingip": {"floating_network_id":
                                                    network.PRIVATE["id"]}},
                           token="demo:demo")
    assert internal.status_int == 400
    unknown = client.post(NEUTRON, {"floatingip": {"floating_network_id": "nope"}},
                          token="demo:demo")
    assert unknown.status_int == 404


def test_policy_by_role_under_keystone(kc):
    member = login(kc, "demo")
    reader = login(kc, "demo_reader", project="demo")
    server_id = boot(kc, token=member)
    made = allocate(kc, token=member)
    assert kc.get(PATH, token=reader, version=OLD).json["floating_ips"] == [made]
    assert kc.get(f"{PATH}/{made['id']}", token=reader, version=OLD).status_int == 200
    assert kc.post(PATH, None, token=reader, version=OLD).status_int == 403
    assert kc.delete(f"{PATH}/{made['id']}", token=reader, version=OLD).status_int == 403
    assert action(kc, server_id, {"addFloatingIp": {"address": made["ip"]}},
                  token=reader).status_int == 403
    assert action(kc, server_id, {"addFloatingIp": {"address": made["ip"]}},
                  token=member).status_int == 202
    network_body = {"floatingip": {"floating_network_id": network.PUBLIC["id"]}}
    assert kc.post(NEUTRON, network_body, token=reader).status_int == 403
    assert kc.delete(f"{NEUTRON}/{made['id']}", token=reader).status_int == 403
    assert [f["id"] for f in kc.get(NEUTRON, token=reader).json["floatingips"]] == [
        made["id"]]
    assert kc.post(NEUTRON, network_body, token=member).status_int == 201
