"""The SQL schema of nova-sim's database (SQLite), and how its columns are shown.

Owns the tables and indexes, the schema version, and which columns hold JSON or booleans.
``nova_sim.db.api.Database`` creates the tables and is the only code that queries them;
this module must not know about anything else.
"""

from __future__ import annotations

#: Version of the schema below, kept in SQLite's ``user_version``; a file made by another
#: version is refused with one clear line instead of failing later on a missing column.
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS services (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT,
    binary TEXT NOT NULL,
    host TEXT NOT NULL,
    topic TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    report_count INTEGER NOT NULL DEFAULT 0,
    last_seen_up TEXT,
    forced_down INTEGER NOT NULL DEFAULT 0,
    availability_zone TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    change_seq INTEGER NOT NULL DEFAULT 0,
    created_at TEXT, updated_at TEXT, deleted_at TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS services_host_binary ON services (host, binary, deleted);
CREATE INDEX IF NOT EXISTS services_updated_at ON services (updated_at);
CREATE INDEX IF NOT EXISTS services_change_seq ON services (change_seq);

CREATE TABLE IF NOT EXISTS compute_nodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    hypervisor_hostname TEXT NOT NULL,
    vcpus INTEGER NOT NULL DEFAULT 0,
    memory_mb INTEGER NOT NULL DEFAULT 0,
    local_gb INTEGER NOT NULL DEFAULT 0,
    vcpus_used INTEGER NOT NULL DEFAULT 0,
    memory_mb_used INTEGER NOT NULL DEFAULT 0,
    local_gb_used INTEGER NOT NULL DEFAULT 0,
    running_vms INTEGER NOT NULL DEFAULT 0,
    free_ram_mb INTEGER NOT NULL DEFAULT 0,
    free_disk_gb INTEGER NOT NULL DEFAULT 0,
    current_workload INTEGER NOT NULL DEFAULT 0,
    cpu_allocation_ratio REAL NOT NULL DEFAULT 16.0,
    ram_allocation_ratio REAL NOT NULL DEFAULT 1.5,
    disk_allocation_ratio REAL NOT NULL DEFAULT 1.0,
    hypervisor_type TEXT NOT NULL DEFAULT 'fake',
    hypervisor_version INTEGER NOT NULL DEFAULT 1000,
    host_ip TEXT,
    stats TEXT NOT NULL DEFAULT '{}',
    service_id INTEGER,
    change_seq INTEGER NOT NULL DEFAULT 0,
    created_at TEXT, updated_at TEXT, deleted_at TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS compute_nodes_change_seq ON compute_nodes (change_seq);
CREATE INDEX IF NOT EXISTS compute_nodes_host_node
    ON compute_nodes (host, hypervisor_hostname, deleted);
CREATE INDEX IF NOT EXISTS compute_nodes_updated_at ON compute_nodes (updated_at);

CREATE TABLE IF NOT EXISTS flavors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    flavorid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    vcpus INTEGER NOT NULL,
    memory_mb INTEGER NOT NULL,
    root_gb INTEGER NOT NULL DEFAULT 0,
    ephemeral_gb INTEGER NOT NULL DEFAULT 0,
    swap INTEGER NOT NULL DEFAULT 0,
    rxtx_factor REAL NOT NULL DEFAULT 1.0,
    is_public INTEGER NOT NULL DEFAULT 1,
    disabled INTEGER NOT NULL DEFAULT 0,
    description TEXT,
    extra_specs TEXT NOT NULL DEFAULT '{}',
    created_at TEXT, updated_at TEXT
);

CREATE TABLE IF NOT EXISTS instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    display_name TEXT,
    display_description TEXT,
    project_id TEXT,
    user_id TEXT,
    image_ref TEXT,
    flavor TEXT,
    instance_type_id INTEGER,
    vcpus INTEGER, memory_mb INTEGER, root_gb INTEGER, ephemeral_gb INTEGER,
    vm_state TEXT,
    task_state TEXT,
    power_state INTEGER NOT NULL DEFAULT 0,
    host TEXT,
    node TEXT,
    launched_on TEXT,
    availability_zone TEXT,
    launched_at TEXT,
    terminated_at TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    system_metadata TEXT NOT NULL DEFAULT '{}',
    security_groups TEXT NOT NULL DEFAULT '[]',
    info_cache TEXT NOT NULL DEFAULT '[]',
    reservation_id TEXT,
    launch_index INTEGER NOT NULL DEFAULT 0,
    key_name TEXT,
    key_data TEXT,
    user_data TEXT,
    hostname TEXT,
    config_drive TEXT NOT NULL DEFAULT '',
    access_ip_v4 TEXT,
    access_ip_v6 TEXT,
    locked INTEGER NOT NULL DEFAULT 0,
    locked_by TEXT,
    progress INTEGER NOT NULL DEFAULT 0,
    root_device_name TEXT,
    created_at TEXT, updated_at TEXT, deleted_at TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS instances_project ON instances (project_id, deleted);
CREATE INDEX IF NOT EXISTS instances_host ON instances (host, deleted);
CREATE INDEX IF NOT EXISTS instances_created ON instances (created_at, id);

CREATE TABLE IF NOT EXISTS instance_faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_uuid TEXT NOT NULL,
    code INTEGER NOT NULL,
    message TEXT,
    details TEXT,
    host TEXT,
    created_at TEXT
);
CREATE INDEX IF NOT EXISTS instance_faults_instance ON instance_faults (instance_uuid);

CREATE TABLE IF NOT EXISTS instance_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_uuid TEXT NOT NULL,
    request_id TEXT,
    action TEXT,
    project_id TEXT,
    user_id TEXT,
    start_time TEXT,
    finish_time TEXT,
    message TEXT,
    created_at TEXT, updated_at TEXT
);
CREATE INDEX IF NOT EXISTS instance_actions_instance
    ON instance_actions (instance_uuid, request_id);

CREATE TABLE IF NOT EXISTS instance_actions_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id INTEGER NOT NULL,
    event TEXT,
    start_time TEXT,
    finish_time TEXT,
    result TEXT,
    traceback TEXT,
    host TEXT,
    details TEXT,
    created_at TEXT, updated_at TEXT
);
CREATE INDEX IF NOT EXISTS instance_actions_events_action
    ON instance_actions_events (action_id);

CREATE TABLE IF NOT EXISTS resource_providers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT,
    generation INTEGER NOT NULL DEFAULT 0,
    change_seq INTEGER NOT NULL DEFAULT 0,
    created_at TEXT, updated_at TEXT
);
CREATE INDEX IF NOT EXISTS resource_providers_change_seq ON resource_providers (change_seq);

-- One row: a counter bumped by every write that changes a service, a compute node, or a
-- provider's inventory or usage (the row's change_seq takes the new value). Writers hold
-- the write lock, so numbers are given in commit order and a reader that saw number N has
-- seen every change up to N: a cache catches up exactly by reading change_seq > N.
CREATE TABLE IF NOT EXISTS change_sequence (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO change_sequence (id, value) VALUES (1, 0);

-- Clustered by provider (WITHOUT ROWID), in the providers' creation order. ``capacity`` is
-- int((total - reserved) * allocation_ratio), and ``used`` is the sum of the allocations
-- against this inventory, kept in step by the claim / remove transactions. Together they
-- make candidates one scan with no aggregation.
CREATE TABLE IF NOT EXISTS inventories (
    rp_id INTEGER NOT NULL,
    resource_class TEXT NOT NULL,
    total INTEGER NOT NULL,
    reserved INTEGER NOT NULL DEFAULT 0,
    min_unit INTEGER NOT NULL DEFAULT 1,
    max_unit INTEGER NOT NULL,
    step_size INTEGER NOT NULL DEFAULT 1,
    allocation_ratio REAL NOT NULL DEFAULT 1.0,
    capacity INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (rp_id, resource_class)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS allocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer_uuid TEXT NOT NULL,
    rp_uuid TEXT NOT NULL,
    resource_class TEXT NOT NULL,
    used INTEGER NOT NULL,
    project_id TEXT,
    user_id TEXT,
    created_at TEXT
);
CREATE INDEX IF NOT EXISTS allocations_consumer ON allocations (consumer_uuid);
CREATE INDEX IF NOT EXISTS allocations_rp ON allocations (rp_uuid);

CREATE TABLE IF NOT EXISTS request_specs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_uuid TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    created_at TEXT, updated_at TEXT
);

CREATE TABLE IF NOT EXISTS instance_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT,
    policy TEXT NOT NULL,
    rules TEXT NOT NULL DEFAULT '{}',
    project_id TEXT,
    user_id TEXT,
    created_at TEXT, updated_at TEXT, deleted_at TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS instance_group_member (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_uuid TEXT NOT NULL,
    instance_uuid TEXT NOT NULL,
    created_at TEXT,
    UNIQUE (group_uuid, instance_uuid)
);
CREATE INDEX IF NOT EXISTS instance_group_member_instance
    ON instance_group_member (instance_uuid);
"""

#: Columns decoded from JSON, and columns shown as booleans, per table.
JSON_COLUMNS = {
    "compute_nodes": ("stats",),
    "flavors": ("extra_specs",),
    "instances": ("flavor", "metadata", "system_metadata", "security_groups", "info_cache"),
    "request_specs": ("spec",),
    "instance_groups": ("rules",),
}
BOOL_COLUMNS = {
    "services": ("disabled", "forced_down", "deleted"),
    "compute_nodes": ("deleted",),
    "flavors": ("is_public", "disabled"),
    "instances": ("locked", "deleted"),
    "instance_groups": ("deleted",),
}
