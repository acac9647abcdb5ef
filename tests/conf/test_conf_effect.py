"""Every option, set in a config file, takes effect where nova-sim reads it.

For each option of ``nova_sim.conf.opts.list_opts()`` there is one probe in ``PROBES``: a
value to write into a config file, and a function that builds the component which reads
the option from the parsed configuration (the scheduler, the compute manager, the API
application, the WSGI server...) and returns what that component does with it. The test
writes the value into ``[group] name = value``, loads the file with ``parse_args`` and
checks that the probe sees the value; it also checks that the probe sees something else
on the defaults, so that a probe that ignores its configuration cannot pass.

A new option needs a probe here (``test_every_option_has_a_probe`` fails until it has
one).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import operator
import re
import socket
from collections.abc import Callable
from typing import Any

import pytest
import webob

from nova_sim import green, log, rpc
from nova_sim.conf import new_conf, parse_args
from nova_sim.conf.opts import list_opts


@dataclasses.dataclass
class Probe:
    """``text`` goes into the config file; ``read(conf)`` returns what the reading code
    made of the option; ``expected`` is what it must return for ``text``. ``{tmp}`` in
    ``text`` and in a string ``expected`` stands for the test's temporary directory."""

    text: str
    expected: Any
    read: Callable[[Any], Any]


PROBES: dict[tuple[str, str], Probe] = {}


def probe(group: str, name: str, text: str, expected: Any):
    """Register the decorated function as the probe of ``[group] name``."""

    def register(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
        assert (group, name) not in PROBES, (group, name)
        PROBES[group, name] = Probe(text, expected, read)
        return read

    return register


def attribute_probe(group: str, name: str, text: str, expected: Any,
                    build: Callable[[Any], Any], attribute: str) -> None:
    """Register a probe that builds a component with ``build(conf)`` and returns its
    ``attribute`` (a dotted path), where the component keeps what it read."""
    probe(group, name, text, expected)(lambda conf: operator.attrgetter(attribute)(build(conf)))


def options() -> list[tuple[str, str]]:
    return [
        (group if isinstance(group, str) else group.name, opt.dest)
        for group, opts in list_opts()
        for opt in opts
    ]


# -- helpers that build the components reading the options ---------------------------------


def _transport(conf, url="green://"):
    from nova_sim import service

    return service.get_transport(conf, url)


def _compute_manager(conf):
    from nova_sim.compute.manager import ComputeManager

    return ComputeManager("compute1", conf, _transport(conf))


def _scheduler(conf):
    from nova_sim.deploy import open_database
    from nova_sim.scheduler.manager import SchedulerManager

    return SchedulerManager(db=open_database(conf), conf=conf)


def _service(conf):
    from nova_sim.conductor.rpcapi import ConductorAPI
    from nova_sim.service import Service

    transport = _transport(conf)
    return Service("nova-compute", "compute1", "compute", object(), conf, transport,
                   conductor_api=ConductorAPI(transport, conf))


def _fake_driver(conf):
    from nova_sim.virt.fake import FakeDriver

    return FakeDriver(conf, "compute1")


def _resource_tracker(conf):
    from nova_sim.compute.resource_tracker import ResourceTracker

    return ResourceTracker("compute1", _fake_driver(conf), None, conf)


def _wsgi_server(conf):
    from nova_sim.api.app import APIApplication
    from nova_sim.api.service import make_server

    return make_server(APIApplication(None, conf), conf)


def _api_app(conf):
    from nova_sim.api.app import APIApplication
    from nova_sim.compute.api import API
    from nova_sim.deploy import open_database

    return APIApplication(API(conf, open_database(conf), _transport(conf)), conf)


def _get(app, path, token="admin:admin"):
    request = webob.Request.blank(path)
    if token is not None:
        request.headers["X-Auth-Token"] = token
    return request.get_response(app)


def _logging(conf, read):
    """Run ``log.setup(conf)``, return ``read(handler)``, undo the set-up."""
    root = logging.getLogger()
    level = root.level
    levels = {name: logging.getLogger(name).level for name in ("amqp", "kombu")}
    try:
        return read(log.setup(conf, "nova-sim-test", stream=io.StringIO()))
    finally:
        log.reset()
        root.setLevel(level)
        for name, value in levels.items():
            logging.getLogger(name).setLevel(value)


def _ago(seconds):
    from nova_sim.db.api import format_timestamp

    return format_timestamp(green.wallclock() - seconds)


# -- [DEFAULT]: messaging ----------------------------------------------------------------------


@probe("DEFAULT", "transport_url", "memory://", "AMQPTransport")
def _(conf):
    return type(_transport(conf, None)).__name__


@probe("DEFAULT", "service_start_timeout", "7", "within 7s")
def _(conf):
    from nova_sim.cmd.launch import start_timeout_message

    return re.search(r"within \d+s", start_timeout_message("nova-compute", None, conf))[0]


@probe("DEFAULT", "control_exchange", "cloudy", "cloudy")
def _(conf):
    return _transport(conf).exchange_for(rpc.Target(topic="compute"))


@probe("DEFAULT", "rpc_response_timeout", "7", 7.0)
def _(conf):
    # A call nobody answers times out after rpc_response_timeout (virtual) seconds.
    with green.virtual_time():
        client = rpc.RPCClient(_transport(conf), rpc.Target(topic="nobody"))
        start = green.now()
        with pytest.raises(rpc.MessagingTimeout):
            client.call({}, "ping")
        return green.now() - start


@probe("DEFAULT", "call_monitor_timeout", "5", 5)
def _(conf):
    return rpc.RPCClient(_transport(conf), rpc.Target(topic="t")).call_monitor_timeout


@probe("DEFAULT", "executor_thread_pool_size", "3", 3)
def _(conf):
    return rpc.RPCServer(_transport(conf), rpc.Target(topic="t", server="h"), []).pool_size


@probe("DEFAULT", "allowed_remote_exmods", "my.exceptions", True)
def _(conf):
    return "my.exceptions" in _transport(conf).allowed_remote_exmods


@probe("DEFAULT", "long_rpc_timeout", "99", 99)
def _(conf):
    from nova_sim.scheduler.rpcapi import SchedulerAPI

    api = SchedulerAPI(_transport(conf), conf)
    seen = {}

    class Prepared:
        def call(self, ctxt, method, **kwargs):
            return []

    def prepare(**kwargs):
        seen.update(kwargs)
        return Prepared()

    api.client.prepare = prepare
    api.select_destinations({}, {}, ["uuid-1"])
    return seen["timeout"]


# -- [DEFAULT]: services --------------------------------------------------------------------


@probe("DEFAULT", "host", "node7", "node7")
def _(conf):
    from nova_sim.deploy import create_service

    return create_service("nova-conductor", conf=conf).host


@probe("DEFAULT", "state_path", "/srv/nova-sim-state", "/srv/nova-sim-state/traces")
def _(conf):
    from nova_sim.trace import store

    return store.output_dir(conf)  # [trace] output_dir is $state_path/traces


attribute_probe("DEFAULT", "report_interval", "3", 3,
                _service, "servicegroup_api._driver.report_interval")


@probe("DEFAULT", "service_down_time", "5", False)
def _(conf):
    # Last heard of 10 s ago: down when service_down_time is 5 (up at the default 60).
    from nova_sim.servicegroup import API

    return API(conf).service_is_up({"updated_at": _ago(10)})


attribute_probe("DEFAULT", "servicegroup_driver", "mc", "mc", _service,
                "servicegroup_api.driver_name")


attribute_probe("DEFAULT", "periodic_enable", "false", False, _service, "periodic_enable")


attribute_probe("DEFAULT", "periodic_fuzzy_delay", "7", 7.0, _service, "periodic_fuzzy_delay")


@probe("DEFAULT", "enable_new_services", "false", True)
def _(conf):
    from nova_sim.deploy import open_database
    from nova_sim.servicegroup import service_get_or_create

    row = service_get_or_create(open_database(conf), conf, "h", "nova-compute", "compute")
    return bool(row["disabled"])


attribute_probe("DEFAULT", "default_green_pool_size", "17", 17, _compute_manager, "_pool.size")


attribute_probe("DEFAULT", "graceful_shutdown_timeout", "9", 9.0,
                _service, "graceful_shutdown_timeout")


@probe("DEFAULT", "default_availability_zone", "az9", "az9")
def _(conf):
    from nova_sim.deploy import open_database
    from nova_sim.servicegroup import service_get_or_create

    row = service_get_or_create(open_database(conf), conf, "h", "nova-compute", "compute")
    return row["availability_zone"]


@probe("DEFAULT", "default_schedule_zone", "az3", "az3")
def _(conf):
    # A server created without a zone is asked for az3, which no host has.
    from nova_sim import context, exception
    from nova_sim.compute.api import API
    from nova_sim.deploy import open_database
    from nova_sim.image import CIRROS_IMAGE_ID

    ctxt = context.RequestContext(user_id="u", project_id="p", overwrite=False)
    with green.virtual_time():
        api = API(conf, open_database(conf), _transport(conf))
        try:
            [server] = api.create(ctxt, "1", CIRROS_IMAGE_ID, "vm")
        except exception.InvalidInput as error:
            return str(error).rsplit(": ", 1)[-1]
        return server["availability_zone"]


@probe("DEFAULT", "internal_service_availability_zone", "inside", "inside")
def _(conf):
    from nova_sim.compute.api import API

    service = {"binary": "nova-conductor", "updated_at": _ago(0)}
    return API(conf, None, _transport(conf))._with_state(service)["zone"]


attribute_probe("DEFAULT", "osapi_compute_listen", "127.0.0.2", "127.0.0.2", _wsgi_server, "host")


attribute_probe("DEFAULT", "osapi_compute_listen_port", "8775", 8775, _wsgi_server, "port")


# -- [DEFAULT]: logging and simulation -----------------------------------------------------


@probe("DEFAULT", "debug", "true", logging.DEBUG)
def _(conf):
    return _logging(conf, lambda handler: logging.getLogger().level)


@probe("DEFAULT", "log_file", "{tmp}/nova-sim.log", "{tmp}/nova-sim.log")
def _(conf):
    return _logging(conf, lambda handler: getattr(handler, "baseFilename", None))


@probe("DEFAULT", "log_date_format", "%H:%M", "%H:%M")
def _(conf):
    return _logging(conf, lambda handler: handler.formatter.datefmt)


@probe("DEFAULT", "default_log_levels", "amqp=ERROR", logging.ERROR)
def _(conf):
    return _logging(conf, lambda handler: logging.getLogger("amqp").level)


def _rate_limit(conf, attribute):
    # oslo.log's filter as log.setup installed it (both numbers at least 1 turn it on).
    from oslo_log import rate_limit

    for name in ("rate_limit_interval", "rate_limit_burst"):
        if getattr(conf, name) == 0:
            conf.set_override(name, 1)
    return _logging(conf, lambda handler: getattr(rate_limit._log_filter, attribute))


@probe("DEFAULT", "rate_limit_interval", "7", 7)
def _(conf):
    return _rate_limit(conf, "interval")


@probe("DEFAULT", "rate_limit_burst", "9", 9)
def _(conf):
    return _rate_limit(conf, "burst")


@probe("DEFAULT", "rate_limit_except_level", "ERROR", logging.ERROR)
def _(conf):
    return _rate_limit(conf, "except_level")


attribute_probe("DEFAULT", "seed", "42", 42, _fake_driver, "_seed")


# -- [DEFAULT]: compute ---------------------------------------------------------------------


attribute_probe("DEFAULT", "max_concurrent_builds", "2", 2,
                _compute_manager, "_build_semaphore.counter")


attribute_probe("DEFAULT", "sync_power_state_pool_size", "4", 4,
                _compute_manager, "_sync_power_pool.size")


@probe("DEFAULT", "sync_power_state_interval", "-1", None)
def _(conf):
    return _compute_manager(conf)._periodic_spacing.get("_sync_power_states")


@probe("DEFAULT", "update_resources_interval", "30", 30.0)
def _(conf):
    return _compute_manager(conf)._periodic_spacing.get("update_available_resource")


class _ConductorStandIn:
    def __init__(self, instances):
        self.instances = instances

    def instance_get_all_by_host(self, ctxt, host):
        return self.instances


def _manager_with_old_and_new(conf, since, **fields):
    """A compute manager whose host has two instances with ``fields``: "old" (``since``
    150 s ago) and "new" (50 s ago)."""
    manager = _compute_manager(conf)
    manager.conductor_api = _ConductorStandIn([
        {"uuid": "old", **fields, since: _ago(150)},
        {"uuid": "new", **fields, since: _ago(50)},
    ])
    return manager


@probe("DEFAULT", "instance_build_timeout", "100", ["old"])
def _(conf):
    # Building for 150 s: too long when the timeout is 100; 50 s is not.
    manager = _manager_with_old_and_new(conf, "created_at", vm_state="building")
    failed = []
    manager._set_error = lambda ctxt, instance, *args, **kwargs: failed.append(instance["uuid"])
    manager._check_instance_build_time({})
    return failed


@probe("DEFAULT", "reboot_timeout", "100", ["old"])
def _(conf):
    # Rebooting for 150 s: hard rebooted when the timeout is 100; 50 s is not.
    manager = _manager_with_old_and_new(conf, "updated_at", task_state="rebooting")
    rebooted = []
    manager._save = lambda *args, **kwargs: None
    manager.spawn_n = lambda function, ctxt, instance, kind: rebooted.append(instance["uuid"])
    manager._poll_rebooting_instances({})
    return rebooted


@probe("DEFAULT", "allow_resize_to_same_host", "true", [])
def _(conf):
    # The hosts the conductor tells the scheduler to ignore for a resize: the source,
    # unless the option allows it.
    from nova_sim.conductor.manager import ComputeTaskManager
    from nova_sim.db.api import Database
    from nova_sim.exception import NoValidHost

    asked = []

    class Scheduler:
        def select_destinations(self, ctxt, spec, uuids, return_alternates=False):
            asked.append(spec["ignore_hosts"])
            raise NoValidHost(reason="probe")

    db = Database("sqlite://")
    db.ensure_default_flavors()
    instance = db.instance_create({"flavor": db.flavor_get_by_flavor_id("1"),
                                   "host": "compute1", "node": "compute1",
                                   "vm_state": "active", "task_state": "resize_prep"})
    manager = ComputeTaskManager(conf, db, _transport(conf), scheduler_api=Scheduler())
    ctxt = type("Context", (), {"request_id": "req-probe"})()
    manager.migrate_server(ctxt, instance, flavor=db.flavor_get_by_flavor_id("2"))
    return asked[0]


@probe("DEFAULT", "shelved_poll_interval", "600", 600.0)
def _(conf):
    return _compute_manager(conf)._periodic_spacing.get("_poll_shelved_instances")


@probe("DEFAULT", "shelved_offload_time", "100", ["old"])
def _(conf):
    # Shelved 150 s ago: offloaded when the offload time is 100; 50 s ago is not (and
    # with the default 0 the poll leaves everything: offloads happen at shelve time).
    manager = _compute_manager(conf)
    manager.conductor_api = _ConductorStandIn([
        {"uuid": "old", "vm_state": "shelved", "task_state": None,
         "system_metadata": {"shelved_at": _ago(150)}},
        {"uuid": "new", "vm_state": "shelved", "task_state": None,
         "system_metadata": {"shelved_at": _ago(50)}},
    ])
    offloaded = []
    manager._save = lambda *args, **kwargs: None
    manager.shelve_offload_instance = lambda ctxt, instance: offloaded.append(
        instance["uuid"])
    manager._poll_shelved_instances({})
    return offloaded


@probe("DEFAULT", "reserved_host_cpus", "2", 2)
def _(conf):
    return _resource_tracker(conf)._reserved()["vcpus"]


@probe("DEFAULT", "reserved_host_memory_mb", "1024", 1024)
def _(conf):
    return _resource_tracker(conf)._reserved()["memory_mb"]


@probe("DEFAULT", "reserved_host_disk_mb", "2048", 2)
def _(conf):
    return _resource_tracker(conf)._reserved()["disk_gb"]


for _kind, _value in (("cpu", "3.0"), ("ram", "1.5"), ("disk", "2.0")):

    def _ratio(conf, kind=_kind):
        return _resource_tracker(conf)._ratio(kind)

    probe("DEFAULT", f"{_kind}_allocation_ratio", _value, float(_value))(_ratio)
    probe("DEFAULT", f"initial_{_kind}_allocation_ratio", "7.0", 7.0)(_ratio)


# -- [api] ----------------------------------------------------------------------------------


@probe("api", "auth_strategy", "open", 200)
def _(conf):
    return _get(_api_app(conf), "/v2.1/servers", token=None).status_int


@probe("api", "max_limit", "1", 1)
def _(conf):
    app = _api_app(conf)
    flavors = _get(app, "/v2.1/flavors").json["flavors"]
    return len(flavors)


@probe("api", "max_servers_per_request", "2", "3 is greater than the maximum of 2")
def _(conf):
    request = webob.Request.blank("/v2.1/servers", method="POST")
    request.headers["X-Auth-Token"] = "admin:admin"
    request.json_body = {"server": {"name": "vm", "flavorRef": "1", "max_count": 3,
                                    "imageRef": "13dbfda8-883f-5c6c-a946-6ad6d8486726"}}
    response = request.get_response(_api_app(conf))
    if response.status_int != 400:
        return response.status_int
    message = response.json["badRequest"]["message"]
    return message[message.index("3 is"):]


@probe("api", "compute_link_prefix", "https://proxy.example", True)
def _(conf):
    body = _get(_api_app(conf), "/v2.1/flavors").json
    return body["flavors"][0]["links"][0]["href"].startswith("https://proxy.example/")


# -- [identity] ----------------------------------------------------------------------------


def _keystone_token(conf, user="demo", password="nova-sim", project="demo"):
    """The status of a password authentication against a keystone API application, and
    the token body (None on failure)."""
    conf.set_override("auth_strategy", "keystone", group="api")
    request = webob.Request.blank("/identity/v3/auth/tokens", method="POST")
    request.json_body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    response = request.get_response(_api_app(conf))
    return response.status_int, (response.json["token"] if response.status_int == 201
                                 else None)


@probe("identity", "default_password", "s3cret", 201)
def _(conf):
    return _keystone_token(conf, password="s3cret")[0]


@probe("identity", "users", "ops:infra:member", ["member", "reader"])
def _(conf):
    body = _keystone_token(conf, user="ops", project="infra")[1]
    return [role["name"] for role in body["roles"]] if body else None


@probe("identity", "token_expiration", "60", 60.0)
def _(conf):
    import datetime

    body = _keystone_token(conf)[1]
    times = [datetime.datetime.fromisoformat(body[key].rstrip("Z"))
             for key in ("issued_at", "expires_at")]
    return (times[1] - times[0]).total_seconds()


@probe("identity", "region_name", "RegionTwo", {"RegionTwo"})
def _(conf):
    body = _keystone_token(conf)[1]
    return {e["region"] for service in body["catalog"] for e in service["endpoints"]}


# -- [database] ------------------------------------------------------------------------------


@probe("database", "connection", "sqlite:///{tmp}/nova-sim.db", "{tmp}/nova-sim.db")
def _(conf):
    from nova_sim.deploy import open_database

    db = open_database(conf)
    try:
        return db.path
    finally:
        db.close()


@probe("database", "busy_timeout", "2.5", 2.5)
def _(conf):
    from nova_sim.deploy import open_database

    return open_database(conf).busy_timeout


def _server_pool(conf):
    """The connection pool a server URL gets from ``conf`` (never connected)."""
    from nova_sim.db.api import options_from_config
    from nova_sim.db.engine import create_engine

    return create_engine("mysql+pymysql://nova@127.0.0.1:1/nova",
                         **options_from_config(conf)).pool


attribute_probe("database", "max_pool_size", "7", 7, _server_pool, "_pool.maxsize")
attribute_probe("database", "max_overflow", "3", 3, _server_pool, "_max_overflow")
attribute_probe("database", "pool_timeout", "4", 4, _server_pool, "_timeout")
attribute_probe("database", "connection_recycle_time", "60", 60, _server_pool, "_recycle")


def _seconds_to_give_up_connecting(conf):
    """Virtual seconds spent retrying a refused connection before giving up."""
    from nova_sim.db.api import options_from_config
    from nova_sim.db.engine import DatabaseCore

    with green.virtual_time():
        core = DatabaseCore("mysql+pymysql://nova@127.0.0.1:1/nova",
                            **options_from_config(conf))
        with pytest.raises(Exception, match="Can't connect"):
            core._direct_connection()
        core.close()
        return green.now()


probe("database", "max_retries", "2", 20.0)(_seconds_to_give_up_connecting)
probe("database", "retry_interval", "3", 30.0)(_seconds_to_give_up_connecting)


def _seconds_to_give_up_on_a_lock(conf):
    """Virtual seconds a write retries on an SQLite file another connection locks (the
    defaults: waits of 1, 2, 4, 8, then 10 seconds, 20 retries: 175 seconds)."""
    import sqlite3
    import tempfile

    from nova_sim.db.api import Database, options_from_config

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/locked.db"
        Database(url).close()
        holder = sqlite3.connect(f"{tmp}/locked.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with green.virtual_time():
                db = Database(url, busy_timeout=0, **options_from_config(conf))
                with pytest.raises(sqlite3.OperationalError):
                    db.flavor_destroy("1")
                db.close()
                return green.now()
        finally:
            holder.close()


# waits of 1 and 2 seconds; of 0.5, 1, 2, 4, 8, then 10 x 15; of 1, then 2 x 19
probe("database", "db_max_retries", "2", 3.0)(_seconds_to_give_up_on_a_lock)
probe("database", "db_retry_interval", "0.5", 165.5)(_seconds_to_give_up_on_a_lock)
probe("database", "db_max_retry_interval", "2", 39.0)(_seconds_to_give_up_on_a_lock)


@probe("database", "use_tpool", "true", ("threads", "threads"))
def _(conf):
    import tempfile

    from nova_sim.db.api import Database, options_from_config
    from nova_sim.db.engine import DatabaseCore

    options = options_from_config(conf)
    # The core contacts no server before its first call: the mode is chosen without it.
    with DatabaseCore("mysql+pymysql://nobody@127.0.0.1:9/none", **options) as server:
        with tempfile.TemporaryDirectory() as tmp:
            with Database(f"sqlite:///{tmp}/tpool.db", **options) as sqlite:
                return server.mode, sqlite.mode


# -- [fake_driver] ---------------------------------------------------------------------------


@probe("fake_driver", "vcpus", "3", 3)
def _(conf):
    return _fake_driver(conf).get_available_resource("compute1")["vcpus"]


@probe("fake_driver", "memory_mb", "4096", 4096)
def _(conf):
    return _fake_driver(conf).get_available_resource("compute1")["memory_mb"]


@probe("fake_driver", "local_gb", "20", 20)
def _(conf):
    return _fake_driver(conf).get_available_resource("compute1")["local_gb"]


for _option, _operation in (("spawn_latency", "spawn"), ("reboot_latency", "reboot"),
                            ("stop_latency", "power_off"), ("start_latency", "power_on"),
                            ("delete_latency", "destroy")):

    def _latency(conf, operation=_operation):
        return str(_fake_driver(conf)._latency[operation])

    probe("fake_driver", _option, "fixed:3", "fixed:3.0")(_latency)


attribute_probe("fake_driver", "spawn_failure_rate", "1.0", 1.0, _fake_driver, "spawn_failure_rate")


attribute_probe("fake_driver", "failing_hosts", "compute1,compute2", {"compute1", "compute2"},
                _fake_driver, "failing_hosts")


attribute_probe("fake_driver", "seed", "7", 7, _fake_driver, "_seed")


# -- [filter_scheduler] and [scheduler] -----------------------------------------------------


@probe("filter_scheduler", "enabled_filters", "ComputeFilter,NumInstancesFilter",
       ["ComputeFilter", "NumInstancesFilter", "ResourceFilter"])
def _(conf):
    return [f.name for f in _scheduler(conf).filters]


attribute_probe("filter_scheduler", "host_subset_size", "3", 3, _scheduler, "host_subset_size")


attribute_probe("filter_scheduler", "shuffle_best_same_weighed_hosts", "true", True,
                _scheduler, "shuffle_best_same_weighed_hosts")


@probe("filter_scheduler", "max_io_ops_per_host", "2", 2)
def _(conf):
    conf.set_override("enabled_filters", ["IoOpsFilter"], group="filter_scheduler")
    [io_ops] = [f for f in _scheduler(conf).filters if f.name == "IoOpsFilter"]
    return io_ops.max_io_ops_per_host


@probe("filter_scheduler", "max_instances_per_host", "2", 2)
def _(conf):
    conf.set_override("enabled_filters", ["NumInstancesFilter"], group="filter_scheduler")
    [num] = [f for f in _scheduler(conf).filters if f.name == "NumInstancesFilter"]
    return num.max_instances_per_host


for _option in ("ram_weight_multiplier", "cpu_weight_multiplier", "disk_weight_multiplier",
                "io_ops_weight_multiplier", "num_instances_weight_multiplier",
                "soft_affinity_weight_multiplier", "soft_anti_affinity_weight_multiplier",
                "build_failure_weight_multiplier"):

    def _multiplier(conf, option=_option):
        [weigher] = [w for w in _scheduler(conf).weighers if w.option == option]
        return weigher.multiplier

    probe("filter_scheduler", _option, "2.5", 2.5)(_multiplier)


@probe("scheduler", "max_attempts", "5", (5, 5))
def _(conf):
    from nova_sim.conductor.manager import ComputeTaskManager

    task_manager = ComputeTaskManager(conf, None, _transport(conf), scheduler_api=object())
    return _scheduler(conf).max_attempts, task_manager.max_attempts


attribute_probe("scheduler", "max_placement_results", "9", 9, _scheduler, "max_placement_results")


# -- [oslo_messaging_rabbit] -------------------------------------------------------------------

for _option, _text, _value in (
    ("heartbeat_timeout_threshold", "30", 30),
    ("heartbeat_rate", "5", 5),
    ("rabbit_retry_interval", "4", 4),
    ("rabbit_retry_backoff", "5", 5),
    ("rabbit_interval_max", "12", 12),
    ("kombu_reconnect_delay", "0.5", 0.5),
    ("rabbit_transient_queues_ttl", "60", 60),
    ("socket_write_timeout", "2.5", 2.5),
    ("amqp_durable_queues", "true", True),
    ("rabbit_quorum_queue", "true", True),
):

    def _rabbit(conf, option=_option):
        # The options of the AMQP transport, as it runs with them.
        return getattr(_transport(conf, "rabbit://guest:guest@127.0.0.1:1/").conf, option)

    probe("oslo_messaging_rabbit", _option, _text, _value)(_rabbit)


# -- [quota] ---------------------------------------------------------------------------------

for _option, _key in (("instances", "maxTotalInstances"), ("cores", "maxTotalCores"),
                      ("ram", "maxTotalRAMSize"), ("metadata_items", "maxServerMeta"),
                      ("key_pairs", "maxTotalKeypairs"), ("server_groups", "maxServerGroups"),
                      ("server_group_members", "maxServerGroupMembers")):

    def _limit(conf, key=_key):
        return _get(_api_app(conf), "/v2.1/limits").json["limits"]["absolute"][key]

    probe("quota", _option, "3", 3)(_limit)


# -- [dashboard] -----------------------------------------------------------------------------


def _dashboard(conf, read):
    """Start a dashboard the way ``nova-sim run`` does, beside a stand-in for a started
    cloud (no services: the probes read only the listener), and read it."""
    import types

    from nova_sim.dashboard import start_for

    running = types.SimpleNamespace(api=None, api_service=None, companions=[])
    dashboard, why = start_for(running, conf)
    try:
        return read(dashboard, why)
    finally:
        if dashboard is not None:
            dashboard.stop()


@probe("dashboard", "enabled", "false", "off")
def _(conf):
    conf.set_override("port", 0, group="dashboard")
    return _dashboard(conf, lambda dashboard, why: "on" if dashboard else why.split()[0])


@probe("dashboard", "host", "127.0.0.2", "127.0.0.2")
def _(conf):
    conf.set_override("port", 0, group="dashboard")
    return _dashboard(conf, lambda dashboard, why: dashboard.server.address[0])


@probe("dashboard", "port", "0", "bound")
def _(conf):
    # 0 asks for any free port; the default, 8780, is what a probe must not take
    if conf.dashboard.port != 0:
        return conf.dashboard.port
    return _dashboard(conf, lambda dashboard, why: "bound" if dashboard.port > 0 else why)


# -- [trace] ---------------------------------------------------------------------------------


def _tracer(conf, read):
    from nova_sim import trace
    from nova_sim.trace import store

    assert trace.get_tracer() is None
    tracer = store.setup(conf, "nova-compute", "compute1")
    try:
        return read(tracer)
    finally:
        if tracer is not None:
            tracer.uninstall()


@probe("trace", "enabled", "true", True)
def _(conf):
    return _tracer(conf, lambda tracer: tracer is not None)


@probe("trace", "output_dir", "{tmp}/traces", "{tmp}/traces")
def _(conf):
    from nova_sim.trace import store

    return store.output_dir(conf)


@probe("trace", "max_file_size", "3", 3 * 1024 * 1024)
def _(conf):
    conf.set_override("enabled", True, group="trace")
    return _tracer(conf, lambda tracer: tracer.max_file_bytes)


@probe("trace", "record_switches", "true", True)
def _(conf):
    conf.set_override("enabled", True, group="trace")
    return _tracer(conf, lambda tracer: tracer.record_switches)


# -- [wsgi] ----------------------------------------------------------------------------------


attribute_probe("wsgi", "default_pool_size", "5", 5, _wsgi_server, "pool.size")


attribute_probe("wsgi", "max_header_line", "100", 100, _wsgi_server, "max_header_line")


attribute_probe("wsgi", "max_request_body_size", "10", 10, _wsgi_server, "max_request_body_size")


attribute_probe("wsgi", "client_socket_timeout", "5", 5, _wsgi_server, "client_socket_timeout")


attribute_probe("wsgi", "client_header_timeout", "7", 7, _wsgi_server,
                "client_header_timeout")


attribute_probe("wsgi", "keep_alive", "false", False, _wsgi_server, "keep_alive")


@probe("wsgi", "tcp_keepidle", "77", 77)
def _(conf):
    # The kernel's TCP_KEEPIDLE of the listening socket (accepted sockets inherit it).
    conf.set_override("osapi_compute_listen_port", 0)
    server = _wsgi_server(conf).start()
    try:
        return server._sock.fd.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
    finally:
        server.stop(0)


# -- the tests -------------------------------------------------------------------------------


def test_every_option_has_a_probe():
    assert sorted(set(options()) - set(PROBES)) == []
    assert sorted(set(PROBES) - set(options())) == []  # no probe of a removed option


@pytest.mark.parametrize("group, name", options(), ids=lambda value: value)
def test_option_takes_effect(group, name, tmp_path):
    if (group, name) not in PROBES:
        pytest.fail(f"no probe for [{group}] {name}")
    probe = PROBES[group, name]
    expected = probe.expected
    if isinstance(expected, str):
        expected = expected.format(tmp=tmp_path)
    path = tmp_path / "nova-sim.conf"
    path.write_text(f"[{group}]\n{name} = {probe.text.format(tmp=tmp_path)}\n")
    conf = parse_args(["--config-file", str(path)], new_conf(), default_config_files=[])
    assert probe.read(conf) == expected
    # On the defaults the same probe sees something else: it does read the option.
    assert probe.read(new_conf()) != expected
