"""RPC call vs cast vs fanout between services, with what goes on the wire.

Nova's services talk through oslo.messaging: a *call* waits for the answer (the conductor
asking the scheduler for hosts), a *cast* does not (the conductor telling a compute to
build), a *fanout* cast reaches every server of a topic. nova_sim.rpc does the same over
``green://``, an in-process broker with RabbitMQ's topology (a topic exchange ``nova``,
queues ``compute`` and ``compute.<host>``, one ``compute_fanout_<id>`` queue per server,
``reply_<id>`` queues for answers), on the virtual clock, so timeouts cost nothing.
Run it with ``nova-sim demo 6``.
"""

from __future__ import annotations

import json

from nova_sim import green, rpc
from nova_sim.demos._narration import narrated_log
from nova_sim.rpc import wire

HOSTS = ("compute1", "compute2", "compute3")


def stamp(text: str) -> None:
    print(f"  t={green.now():5.1f}s  {text}")


class FlavorTooBig(Exception):
    """An error from a module the client does not allow: it comes back as RemoteError."""


class ComputeEndpoint:
    """What a compute serves (a few of ComputeManager's RPC methods, much simplified)."""

    target = rpc.Target(version="6.2")

    def __init__(self, host: str):
        self.host = host

    def ping(self, ctxt: dict, arg: str) -> dict:
        stamp(f"{self.host}: ping({arg!r}) from request {ctxt['request_id'][:12]}...")
        return {"pong": arg, "host": self.host}

    def build_and_run_instance(self, ctxt: dict, instance: dict) -> None:
        stamp(f"{self.host}: build_and_run_instance({instance['name']}) starts")
        green.sleep(3)
        stamp(f"{self.host}: {instance['name']} is ACTIVE (nobody is told: it was a cast)")

    def refresh_cache(self, ctxt: dict, reason: str) -> None:
        stamp(f"{self.host}: refresh_cache({reason!r})")

    def get_console_output(self, ctxt: dict, seconds: float) -> str:
        stamp(f"{self.host}: get_console_output takes {seconds}s")
        green.sleep(seconds)
        stamp(f"{self.host}: get_console_output done; its reply will find nobody waiting")
        return "login:"

    def resize(self, ctxt: dict, vcpus: int) -> None:
        if vcpus > 8:
            raise ValueError(f"{vcpus} vCPUs do not fit on {self.host}")
        raise FlavorTooBig(f"flavor with {vcpus} vCPUs refused by policy")


class WirePrinter:
    """An RPC instrument that prints what the client sends and the server replies."""

    def __init__(self) -> None:
        self.verbose = True

    def message_sent(self, kind: str, target: rpc.Target, message: dict) -> None:
        route = _route(kind, target)
        stamp(f"--> {kind} {message['method']} to {route}")
        if self.verbose:
            print(_indent(_pretty(message)))

    def reply_sent(self, target: rpc.Target, message: dict, reply: dict) -> None:
        stamp(f"<-- reply to {message.get('_reply_q')} (default exchange)")
        if self.verbose:
            shown = dict(reply)
            if shown.get("failure"):
                failure = json.loads(shown["failure"])
                failure["tb"] = [line[:60] + "..." for line in failure["tb"][-1:]]
                shown["failure"] = failure
            print(_indent(_pretty(shown)))


def _route(kind: str, target: rpc.Target) -> str:
    if kind == "fanout":
        return f"exchange {target.topic}_fanout (every {target.topic} server)"
    key = f"{target.topic}.{target.server}" if target.server else target.topic
    return f"exchange nova, routing key {key}"


def _pretty(data: dict) -> str:
    return json.dumps(data, indent=2)


def _indent(text: str, prefix: str = "         ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def main() -> None:
    print(__doc__.split("\n")[0])
    printer = WirePrinter()
    server_log = narrated_log("nova_sim.rpc", "         server log: ")
    with green.virtual_time(seed=6), server_log:
        transport = rpc.get_transport("green://demo")
        servers = []
        for host in HOSTS:
            server = rpc.RPCServer(transport, rpc.Target(topic="compute", server=host),
                                   [ComputeEndpoint(host)])
            server.start()
            servers.append(server)
        stamp(f"3 RPC servers on topic 'compute': {', '.join(HOSTS)}")
        client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"),
                               timeout=10)
        ctxt = {"request_id": "req-" + green.random_uuid(), "user_id": "alice",
                "project_id": "demo", "is_admin": False}
        rpc.add_instrument(printer)
        try:
            _call(client, ctxt)
            _cast(client, ctxt, printer)
            _fanout(client, ctxt)
            _timeout(client, ctxt)
            _remote_errors(client, ctxt, printer)
        finally:
            rpc.remove_instrument(printer)
            for server in servers:
                server.stop()
            transport.cleanup()
    print(SUMMARY)


def _call(client: rpc.RPCClient, ctxt: dict) -> None:
    print("\n1. call: the caller's greenthread waits for the reply (only that greenthread)")
    result = client.prepare(server="compute1").call(ctxt, "ping", arg="hello")
    stamp(f"call returned {result!r}")
    message = wire.request("ping", {"arg": "hello"}, {"request_id": ctxt["request_id"]})
    body = wire.encode({k: message[k] for k in ("method", "args")})
    print("   On RabbitMQ the dict travels as JSON inside an envelope (abridged):\n"
          f"         {body}\n"
          "   with properties content_type=application/json and, for a call, expiration =\n"
          "   the timeout in ms. Note the _context_* keys: the request context rides along,\n"
          "   and _msg_id / _reply_q tell the server where to answer.")


def _cast(client: rpc.RPCClient, ctxt: dict, printer: WirePrinter) -> None:
    print("\n2. cast: no _msg_id, no _reply_q, no answer; cast returns at once")
    printer.verbose = True
    client.prepare(server="compute2").cast(
        ctxt, "build_and_run_instance", instance={"uuid": green.random_uuid(), "name": "vm-1"})
    stamp("cast returned (the build has not even started)")
    printer.verbose = False
    print("   A cast to the topic alone goes to the shared 'compute' queue: the servers take\n"
          "   turns (round robin), as competing consumers of one RabbitMQ queue do.")
    for name in ("vm-2", "vm-3"):
        client.cast(ctxt, "build_and_run_instance",
                    instance={"uuid": green.random_uuid(), "name": name})
    green.sleep(3.5)
    stamp("all three builds finished")


def _fanout(client: rpc.RPCClient, ctxt: dict) -> None:
    print("\n3. fanout: one cast, a copy in every server's own compute_fanout_<id> queue")
    client.prepare(fanout=True).cast(ctxt, "refresh_cache", reason="flavor changed")
    green.sleep(0)
    stamp("every compute got it")


def _timeout(client: rpc.RPCClient, ctxt: dict) -> None:
    print("\n4. timeouts: a call gives up after its timeout (5 virtual seconds here)")
    slow = client.prepare(server="compute3", timeout=5)
    started = green.now()
    try:
        slow.call(ctxt, "get_console_output", seconds=30)
    except rpc.MessagingTimeout as error:
        stamp(f"MessagingTimeout after {green.now() - started:.1f}s: {error}")
    nobody = client.prepare(server="compute9", timeout=5)
    started = green.now()
    try:
        nobody.call(ctxt, "ping", arg="anyone?")
    except rpc.MessagingTimeout:
        stamp(f"compute9 has no server: MessagingTimeout after {green.now() - started:.1f}s "
              "(the message expires in its queue, as on RabbitMQ)")
    green.sleep(30)
    stamp("the late reply reached the reply queue, matched no waiting call, and was dropped")


def _remote_errors(client: rpc.RPCClient, ctxt: dict, printer: WirePrinter) -> None:
    print("\n5. remote exceptions: the server replies with a 'failure'; the client re-raises")
    compute1 = client.prepare(server="compute1")
    printer.verbose = True
    try:
        compute1.call(ctxt, "resize", vcpus=16)
    except ValueError as error:
        stamp(f"re-raised as the builtin ValueError: {_first_line(error)}")
    printer.verbose = False
    try:
        compute1.call(ctxt, "resize", vcpus=4)
    except rpc.RemoteError as error:
        stamp(f"{error.exc_type} is not from an allowed module: RemoteError "
              f"(exc_type={error.exc_type!r}, value={error.value!r})")
    try:
        compute1.call(ctxt, "reboot_instance")
    except rpc.NoSuchMethod as error:
        stamp(f"unknown method -> NoSuchMethod: {_first_line(error)}")
    try:
        compute1.prepare(version="7.0").call(ctxt, "ping", arg="v7")
    except rpc.UnsupportedVersion as error:
        stamp(f"newer major version -> UnsupportedVersion: {_first_line(error)}")


def _first_line(error: Exception) -> str:
    """The message of a re-raised remote error (its text also carries the remote
    traceback, as oslo.messaging's does)."""
    return str(error).splitlines()[0]


SUMMARY = """
In Nova: the API *casts* schedule_and_build_instances to the conductor and answers 202;
the conductor *calls* the scheduler's select_destinations (it needs the hosts) and *casts*
build_and_run_instance to compute.<host>; a compute *calls* the conductor for every save
and for its heartbeat (computes have no database). Fanout casts reach every scheduler or
compute (e.g. the scheduler's instance-info updates). A call's default timeout is
rpc_response_timeout = 60 s."""


if __name__ == "__main__":
    main()
