"""nova_sim.rpc: oslo.messaging-style RPC over green queues and AMQP.

Public API::

    transport = rpc.get_transport("green://")            # or memory://, rabbit://...
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    client.prepare(server="host1").call(ctxt, "ping", arg="hello")
    client.prepare(fanout=True).cast(ctxt, "refresh")
    server = rpc.RPCServer(transport, rpc.Target(topic="compute", server="host1"),
                           [ComputeEndpoint()], serializer=RequestContextSerializer())
    server.start(); ...; server.stop(); server.wait()

Wire-compatible with oslo.messaging's rabbit driver (see docs/rpc.md). This package
knows nothing of Nova: contexts and arguments pass through a pluggable serializer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from nova_sim.rpc import options as _options
from nova_sim.rpc.client import RPCClient
from nova_sim.rpc.dispatcher import RPCDispatcher, expected_exceptions
from nova_sim.rpc.exceptions import (
    ExpectedException,
    InvalidTarget,
    MessageDeliveryFailure,
    MessagingException,
    MessagingTimeout,
    NoSuchMethod,
    RemoteError,
    RPCVersionCapError,
    UnsupportedVersion,
)
from nova_sim.rpc.instruments import add_instrument, remove_instrument
from nova_sim.rpc.serializer import NoOpSerializer, Serializer, set_context_provider
from nova_sim.rpc.server import RPCServer
from nova_sim.rpc.target import Target
from nova_sim.rpc.transport.base import Transport

__all__ = [
    "get_transport", "Transport", "Target", "RPCClient", "RPCServer", "RPCDispatcher",
    "Serializer", "NoOpSerializer", "set_context_provider", "add_instrument",
    "remove_instrument",
    "MessagingException", "MessagingTimeout", "MessageDeliveryFailure", "RemoteError",
    "NoSuchMethod", "UnsupportedVersion", "RPCVersionCapError", "InvalidTarget",
    "ExpectedException", "expected_exceptions",
]

_AMQP_SCHEMES = ("rabbit", "amqp", "kombu", "pyamqp")
_MEMORY_SCHEMES = ("memory", "kombu+memory")


def get_transport(url: str | None = None, conf: Any = None,
                  allowed_remote_exmods: list[str] | None = None) -> Transport:
    """A transport for ``url`` (default: ``[DEFAULT] transport_url`` of ``conf``).

    - ``green://[name]``: the in-process broker ``name`` of the current hub (transports
      with the same URL on the same hub talk to each other); works on the virtual clock.
    - ``memory://``: kombu's in-memory transport (one process; shared with
      oslo.messaging's ``kombu+memory:////`` in the same process).
    - ``rabbit://user:password@host:port/vhost`` (also ``amqp://``; several hosts
      separated by commas): RabbitMQ through kombu and py-amqp.

    Options (``control_exchange``, ``rpc_response_timeout``, ``executor_thread_pool_size``,
    ``[oslo_messaging_rabbit]``...) are read from ``conf`` (default ``nova_sim.conf.CONF``)
    once, here. No connection is made until the transport is first used. Raises
    ValueError for an unknown scheme.
    """
    opts = _options.load(conf)
    url = url or opts.transport_url
    scheme = url.split("://", 1)[0].lower() if "://" in url else url.lower()
    if scheme == "green":
        from nova_sim.rpc.transport.green import GreenTransport

        parts = urlsplit(url)
        name = unquote((parts.netloc or "") + (parts.path or "").strip("/"))
        return GreenTransport(url, opts, allowed_remote_exmods, broker_name=name)
    if scheme in _MEMORY_SCHEMES or scheme in _AMQP_SCHEMES:
        from nova_sim.rpc.transport.amqp import AMQPTransport

        return AMQPTransport(url, opts, allowed_remote_exmods)
    raise ValueError(f"unknown RPC transport URL scheme {scheme!r} in {url!r}")
