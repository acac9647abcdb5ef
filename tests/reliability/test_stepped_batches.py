"""A batch of many instances is handled in steps of one instance by the scheduler (a
claim per step) and the conductor (a cast per step), each step yielding to the hub: a
one-process cloud serves other greenthreads between any two of them."""

from __future__ import annotations

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.deploy import Cloud, new_conf, zero_latency
from nova_sim.image import CIRROS_IMAGE_ID

COUNT = 200


def test_scheduler_claims_and_conductor_casts_yield_between_instances():
    with green.virtual_time(seed=3):
        conf = zero_latency(new_conf())
        conf.set_override("instances", -1, "quota")
        cloud = Cloud(conf=conf, computes=4, virtual=True).start()
        ticks = [0]

        def ticker():
            while True:
                ticks[0] += 1
                green.sleep(0)

        claims: list[int] = []
        casts: list[int] = []
        claim = cloud.db.claim_resources
        compute_rpcapi = cloud.conductor.manager.compute_task_mgr.compute_rpcapi
        cast = compute_rpcapi.build_and_run_instance

        def counting_claim(*args, **kwargs):
            claims.append(ticks[0])
            return claim(*args, **kwargs)

        def counting_cast(*args, **kwargs):
            casts.append(ticks[0])
            return cast(*args, **kwargs)

        cloud.db.claim_resources = counting_claim
        compute_rpcapi.build_and_run_instance = counting_cast
        ctxt = nova_context.RequestContext(user_id="u", project_id="p", overwrite=False)
        counter = green.spawn(ticker)
        try:
            cloud.api.create(ctxt, "1", CIRROS_IMAGE_ID, "many", min_count=COUNT,
                             max_count=COUNT)
            while len(casts) < COUNT:
                green.sleep(0)
            # Another greenthread ran between every two claims and every two casts.
            assert len(claims) == COUNT
            assert claims == sorted(set(claims))  # strictly increasing
            assert casts == sorted(set(casts))
        finally:
            green.kill(counter)
            cloud.stop()
