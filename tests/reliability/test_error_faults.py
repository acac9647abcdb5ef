"""An instance a compute sets to ERROR always says why: a fault the conductor did not
record in time (a call that timed out while it was down) is recorded again once the
ERROR save went through."""

from __future__ import annotations

from nova_sim import context as nova_context
from nova_sim import exception, green, rpc
from nova_sim.deploy import Cloud, new_conf, zero_latency
from nova_sim.image import CIRROS_IMAGE_ID


def test_a_fault_that_timed_out_is_recorded_after_the_error_save():
    with green.virtual_time(seed=5):
        cloud = Cloud(conf=zero_latency(new_conf()), computes=1, virtual=True).start()
        try:
            ctxt = nova_context.RequestContext(user_id="u", project_id="p",
                                               overwrite=False)
            [instance] = cloud.api.create(ctxt, "1", CIRROS_IMAGE_ID, "vm")
            green.sleep(5)
            manager = cloud.computes["compute1"].manager
            instance = cloud.db.instance_get(instance["uuid"])
            assert instance["vm_state"] == "active"
            conductor_api = manager.conductor_api
            record = conductor_api.instance_fault_create
            attempts = []

            def times_out_once(*args, **kwargs):
                attempts.append(args)
                if len(attempts) == 1:
                    raise rpc.MessagingTimeout("the conductor did not answer")
                return record(*args, **kwargs)

            conductor_api.instance_fault_create = times_out_once
            manager._set_error(ctxt, instance, "drill",
                               exception.NovaException("Spawn failed: drill"))
            shown = cloud.api.get(ctxt, instance["uuid"])
            assert shown["vm_state"] == "error"
            assert len(attempts) == 2
            assert shown["fault"]["message"] == "Spawn failed: drill"
        finally:
            cloud.stop()
