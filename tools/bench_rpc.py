#!/usr/bin/env python3
"""Benchmark nova_sim.rpc against oslo.messaging and bare kombu, side by side in one run.

Each (implementation, workload) measurement runs in a fresh subprocess holding both the
RPC server and its clients (two transports / connections), against the same RabbitMQ;
rounds are interleaved (oslo, kombu, nova_sim, oslo, ...) so that machine noise hits
all alike. The parent prints the median of each and the ratios measured in this run, then the
process CPU per call or cast (user + system, all threads), which a loaded machine
disturbs less than the wall-clock rates.

    python tools/bench_rpc.py                    # 5 rounds, every workload
    python tools/bench_rpc.py --rounds 3 --only seq,casts
    python tools/bench_rpc.py --url rabbit://guest:guest@127.0.0.1:5672/

Workloads:
- seq:     sequential calls (one caller), calls/s.
- conc10:  10 concurrent callers (greenthreads for nova_sim, OS threads for the peers).
- conc50:  50 concurrent callers.
- casts:   casts/s, from the first cast until the server has processed them all.
- inproc:  in one process without a broker: nova_sim over green:// vs oslo.messaging over
           kombu's memory:// (sequential calls/s). Bare kombu is not run here.

Implementations: ``nova_sim`` (nova_sim.rpc over kombu/py-amqp on the hub), ``oslo``
(oslo.messaging 18.x, rabbit driver, threading executor), ``kombu`` (a bare kombu client
and server: request to a queue, reply to the default exchange, no envelope: the ceiling).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

DEFAULT_URL = os.environ.get("NOVA_SIM_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
IMPLEMENTATIONS = ("oslo", "kombu", "nova_sim")
# workload: (unit, calls or casts per measurement, callers, target ratio vs oslo)
WORKLOADS = {
    "seq": ("calls/s", 2000, 1, 1.7),
    "conc10": ("calls/s", 4000, 10, 2.5),
    "conc50": ("calls/s", 5000, 50, 2.5),
    "casts": ("casts/s", 10000, 1, 3.0),
    "inproc": ("calls/s", 3000, 1, 20.0),
}


_CPU_AT_START = [0.0]


def _start_clock() -> float:
    """Start the measured section: wall clock returned, process CPU remembered."""
    times = os.times()
    _CPU_AT_START[0] = times.user + times.system
    return time.perf_counter()


def _cpu_used() -> float:
    """Process CPU seconds (all threads, user + system) since ``_start_clock``."""
    times = os.times()
    return times.user + times.system - _CPU_AT_START[0]


def _payload(i: int) -> dict:
    return {"instance": {"uuid": "c0ffee00-0000-0000-0000-%012d" % i, "name": "vm"}, "n": i}


def _drive(client, workload: str, wait_processed, run_callers) -> float:
    """Warm up, then run ``workload`` with an oslo-style client; return the start time.

    Casts: ``count`` casts, then ``wait_processed()``. Calls: ``run_callers(caller)``
    runs ``callers`` concurrent callers (greenthreads or threads) of ``count / callers``
    calls each.
    """
    _unit, count, callers, _target = WORKLOADS[workload]
    ctxt = {"request_id": "req-bench", "user": "u", "project_id": "p"}
    for i in range(20):
        client.call(ctxt, "ping", payload=_payload(i))
    start = _start_clock()
    if workload == "casts":
        for i in range(count):
            client.cast(ctxt, "note", payload=_payload(i))
        wait_processed()
        return start
    per_caller = count // callers

    def caller() -> None:
        for i in range(per_caller):
            client.call(ctxt, "ping", payload=_payload(i))

    run_callers(caller)
    return start


# -- nova_sim ---------------------------------------------------------------------------

def run_nova_sim(workload: str, url: str) -> float:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from nova_sim import green, rpc

    _unit, count, callers, _target = WORKLOADS[workload]
    if workload == "inproc":
        url = "green://bench"
    exchange = "bench_" + uuid.uuid4().hex
    processed = [0]
    done = green.Event()

    class Endpoint:
        def ping(self, ctxt, payload):
            return payload

        def note(self, ctxt, payload):
            processed[0] += 1
            if processed[0] == count:
                done.send(True)

    server_transport = rpc.get_transport(url)
    client_transport = rpc.get_transport(url)
    target = rpc.Target(topic="bench", server="host1", exchange=exchange)
    server = rpc.RPCServer(server_transport, target, [Endpoint()])
    server.start()
    client = rpc.RPCClient(client_transport, rpc.Target(topic="bench", exchange=exchange),
                           timeout=60)
    try:

        def run_callers(caller) -> None:
            pool = green.GreenPool(callers)
            for _ in range(callers):
                pool.spawn_n(caller)
            pool.waitall()

        start = _drive(client, workload, done.wait, run_callers)
        elapsed = time.perf_counter() - start
        cpu = _cpu_used()
    finally:
        server.stop()
        server.wait()
        client_transport.cleanup()
        server_transport.cleanup()
        if workload != "inproc":
            _kombu_cleanup(url, exchanges=[exchange, "bench_fanout"],
                           queues=["bench", "bench.host1"])
    return count / elapsed, cpu / count * 1e6


# -- oslo.messaging ---------------------------------------------------------------------

def run_oslo(workload: str, url: str) -> float:
    import oslo_messaging
    from oslo_config import cfg

    _unit, count, callers, _target = WORKLOADS[workload]
    if workload == "inproc":
        url = "kombu+memory:////"
    conf = cfg.CONF
    conf([], project="bench")
    exchange = "bench_" + uuid.uuid4().hex
    processed = [0]
    lock = threading.Lock()
    done = threading.Event()

    class Endpoint:
        def ping(self, ctxt, payload):
            return payload

        def note(self, ctxt, payload):
            with lock:
                processed[0] += 1
                if processed[0] == count:
                    done.set()

    server_transport = oslo_messaging.get_rpc_transport(conf, url=url)
    client_transport = oslo_messaging.get_rpc_transport(conf, url=url)
    server = oslo_messaging.get_rpc_server(
        server_transport, oslo_messaging.Target(topic="bench", server="host1", exchange=exchange),
        [Endpoint()], executor="threading")
    server.start()
    client = oslo_messaging.get_rpc_client(
        client_transport, oslo_messaging.Target(topic="bench", exchange=exchange), timeout=60)

    def run_callers(caller) -> None:
        threads = [threading.Thread(target=caller) for _ in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    start = _drive(client, workload, done.wait, run_callers)
    elapsed = time.perf_counter() - start
    cpu = _cpu_used()
    fanout_queues = oslo_queues(server)
    server.stop()
    server.wait()
    reply_queues = [transport._driver._reply_q for transport in
                    (client_transport, server_transport) if transport._driver._reply_q]
    client_transport.cleanup()
    server_transport.cleanup()
    if workload != "inproc":
        _kombu_cleanup(url, exchanges=[exchange, "bench_fanout"],
                       queues=["bench", "bench.host1"] + reply_queues + fanout_queues)
    return count / elapsed, cpu / count * 1e6


def oslo_queues(server) -> list:
    """The fanout queue names an oslo.messaging RPC server declared (oslo never deletes
    them: x-expires does, after 30 minutes)."""
    try:
        consumers = server.listener._poll_style_listener.conn._consumers
        return [consumer.queue_name for consumer in consumers
                if "_fanout_" in consumer.queue_name]
    except AttributeError:
        return []


def _kombu_cleanup(url: str, exchanges=(), queues=()) -> None:
    import kombu

    with kombu.Connection(url.replace("rabbit://", "amqp://", 1)) as connection:
        channel = connection.channel()
        for queue in queues:
            try:
                channel.queue_delete(queue)
            except Exception:
                channel = connection.channel()
        for exchange in exchanges:
            try:
                channel.exchange_delete(exchange)
            except Exception:
                channel = connection.channel()


# -- bare kombu ---------------------------------------------------------------------------

def run_kombu(workload: str, url: str) -> float:
    import json as _json

    import kombu

    _unit, count, callers, _target = WORKLOADS[workload]
    amqp_url = url.replace("rabbit://", "amqp://", 1)
    queue_name = "bench_kombu_" + uuid.uuid4().hex
    processed = [0]
    done = threading.Event()
    stop = threading.Event()
    ready = threading.Event()

    def server() -> None:
        with kombu.Connection(amqp_url) as connection:
            channel = connection.channel()
            queue = kombu.Queue(queue_name, durable=False, auto_delete=False)
            queue(channel).declare()

            def on_message(message) -> None:
                channel.basic_ack(message.delivery_tag)
                body = _json.loads(message.body)
                if body.get("reply_to"):
                    reply = channel.prepare_message(
                        _json.dumps({"result": body["payload"], "id": body["id"]}), 0,
                        "application/json", "utf-8", {}, {})
                    channel.basic_publish(reply, exchange="", routing_key=body["reply_to"])
                else:
                    processed[0] += 1
                    if processed[0] == count:
                        done.set()

            channel.basic_consume(queue=queue_name, no_ack=False, callback=on_message)
            ready.set()
            while not stop.is_set():
                try:
                    connection.drain_events(timeout=0.2)
                except TimeoutError:
                    pass
            channel.queue_delete(queue_name)

    server_thread = threading.Thread(target=server, daemon=True)
    server_thread.start()
    ready.wait()

    def client(calls: int, results: list) -> None:
        with kombu.Connection(amqp_url) as connection:
            channel = connection.channel()
            reply_q = "bench_reply_" + uuid.uuid4().hex
            kombu.Queue(reply_q, durable=False, exclusive=True)(channel).declare()
            replies = []
            channel.basic_consume(queue=reply_q, no_ack=True,
                                  callback=lambda m: replies.append(m.body))
            for i in range(calls):
                body = _json.dumps({"payload": _payload(i), "id": i, "reply_to": reply_q})
                message = channel.prepare_message(body, 0, "application/json", "utf-8", {}, {})
                channel.basic_publish(message, exchange="", routing_key=queue_name)
                while not replies:
                    connection.drain_events(timeout=60)
                _json.loads(replies.pop())
            results.append(calls)

    results: list = []
    start = _start_clock()
    if workload == "casts":
        with kombu.Connection(amqp_url) as connection:
            channel = connection.channel()
            for i in range(count):
                body = _json.dumps({"payload": _payload(i), "id": i})
                message = channel.prepare_message(body, 0, "application/json", "utf-8", {}, {})
                channel.basic_publish(message, exchange="", routing_key=queue_name)
            done.wait()
    else:
        per_caller = count // callers
        threads = [threading.Thread(target=client, args=(per_caller, results))
                   for _ in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - start
    cpu = _cpu_used()
    stop.set()
    server_thread.join()
    return count / elapsed, cpu / count * 1e6


RUNNERS = {"nova_sim": run_nova_sim, "oslo": run_oslo, "kombu": run_kombu}


def child(implementation: str, workload: str, url: str) -> None:
    import logging

    logging.basicConfig(level=logging.ERROR)
    value, cpu_us = RUNNERS[implementation](workload, url)
    print(json.dumps({"value": value, "cpu_us": cpu_us}))


def measure(implementation: str, workload: str, url: str) -> dict:
    output = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", implementation, workload,
         "--url", url],
        check=True, capture_output=True, text=True, timeout=600,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default=",".join(WORKLOADS))
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--child", nargs=2, metavar=("IMPLEMENTATION", "WORKLOAD"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.url)
        return
    workloads = [name for name in args.only.split(",") if name]
    results: dict = {}
    cpu: dict = {}
    for round_number in range(args.rounds):
        for workload in workloads:
            for implementation in IMPLEMENTATIONS:
                if workload == "inproc" and implementation == "kombu":
                    continue
                value = measure(implementation, workload, args.url)
                results.setdefault((workload, implementation), []).append(value["value"])
                cpu.setdefault((workload, implementation), []).append(value["cpu_us"])
        print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{'workload':<8} {'unit':<8} {'oslo':>9} {'kombu':>9} {'nova_sim':>9} "
          f"{'x oslo':>7} {'target':>7} {'kombu x oslo':>12}")
    for workload in workloads:
        unit, _count, _callers, target = WORKLOADS[workload]
        medians = {impl: statistics.median(results[(workload, impl)])
                   for impl in IMPLEMENTATIONS if (workload, impl) in results}
        ratio = medians["nova_sim"] / medians["oslo"]
        kombu = medians.get("kombu")
        kombu_text = f"{kombu:9.0f}" if kombu else f"{'-':>9}"
        kombu_ratio = f"{kombu / medians['oslo']:12.2f}" if kombu else f"{'-':>12}"
        verdict = "ok" if ratio >= target else "MISSED"
        print(f"{workload:<8} {unit:<8} {medians['oslo']:9.0f} {kombu_text} "
              f"{medians['nova_sim']:9.0f} {ratio:7.2f} {target:6.1f}x {kombu_ratio} {verdict}")
    print("\nprocess CPU (user + system, all threads) per call or cast, median, in us:")
    print(f"{'workload':<8} {'oslo':>9} {'kombu':>9} {'nova_sim':>9}")
    for workload in workloads:
        row = [statistics.median(cpu[(workload, impl)]) if (workload, impl) in cpu else None
               for impl in IMPLEMENTATIONS]
        print(f"{workload:<8} " + " ".join(f"{v:9.0f}" if v is not None else f"{'-':>9}"
                                           for v in row))


if __name__ == "__main__":
    main()
