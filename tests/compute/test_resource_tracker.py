"""The resource tracker reports a node only when it changed (Nova's _resource_change)."""

from __future__ import annotations

from nova_sim import context as nova_context
from nova_sim import green, rpc
from nova_sim.deploy.cloud import Cloud, new_conf, zero_latency
from nova_sim.image import CIRROS_IMAGE_ID


class NodeSaves:
    """RPC instrument: the ComputeNode saves sent, and the instance lists asked for."""

    def __init__(self):
        self.saves: list[dict] = []
        self.audits = 0

    def message_sent(self, kind, target, message):
        args = message["args"]
        if message["method"] == "object_action" and \
                args["objinst"]["nova_object.name"] == "ComputeNode":
            self.saves.append(args)
        elif args.get("objname") == "InstanceList":
            self.audits += 1


def test_idle_audits_save_nothing_and_a_change_is_saved_once():
    with green.virtual_time(seed=9):
        conf = zero_latency(new_conf())
        conf.set_override("periodic_fuzzy_delay", 0)
        cloud = Cloud(conf=conf, computes=1, virtual=True).start()
        tracker = cloud.computes["compute1"].manager.rt
        saves = NodeSaves()
        rpc.add_instrument(saves)
        try:
            green.sleep(600)
            assert saves.saves == []
            assert saves.audits >= 10  # the audits ran, they found nothing new
            ctxt = nova_context.RequestContext(user_id="u", project_id="p", overwrite=False)
            [server] = cloud.api.create(ctxt, "2", CIRROS_IMAGE_ID, "vm")
            cloud.wait_for_instance(server["uuid"], "active")
            assert len(saves.saves) == 1  # the claim's usage
            assert saves.saves[0]["objinst"]["nova_object.changes"]["memory_mb_used"] == \
                512 + 2048
            green.sleep(600)
            assert len(saves.saves) == 1
        finally:
            rpc.remove_instrument(saves)
        node = cloud.db.compute_node_get_by_host_and_nodename("compute1", "compute1")
        assert node["memory_mb_used"] == 512 + 2048 and node["running_vms"] == 1
        assert tracker.compute_nodes["compute1"]["memory_mb_used"] == 512 + 2048
        cloud.stop()


def test_a_failed_report_is_sent_again():
    with green.virtual_time(seed=9):
        conf = zero_latency(new_conf())
        cloud = Cloud(conf=conf, computes=1, virtual=True, periodic_enable=False).start()
        tracker = cloud.computes["compute1"].manager.rt
        api = tracker.conductor_api
        original = api.compute_node_update
        calls = []

        def failing(ctxt, values, inventories=None):
            calls.append(values["vcpus_used"])
            if len(calls) == 1:
                raise rpc.MessagingTimeout("conductor away")
            return original(ctxt, values, inventories)

        api.compute_node_update = failing
        ctxt = nova_context.get_admin_context()
        tracker.failed_builds["compute1"] = 1  # a change to report
        try:
            tracker.update_available_resource(ctxt, "compute1")
        except rpc.MessagingTimeout:
            pass
        tracker.update_available_resource(ctxt, "compute1")
        tracker.update_available_resource(ctxt, "compute1")
        assert len(calls) == 2  # failed, sent again, then nothing new
        cloud.stop()
