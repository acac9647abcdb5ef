"""Instance ``task_state`` values: what is being done to an instance right now.

Nova's names and values. ``None`` means no task is in progress. Owns the constants only.
"""

from __future__ import annotations

# boot
SCHEDULING = "scheduling"
BLOCK_DEVICE_MAPPING = "block_device_mapping"
NETWORKING = "networking"
SPAWNING = "spawning"

# reboot
REBOOTING = "rebooting"
REBOOT_PENDING = "reboot_pending"
REBOOT_STARTED = "reboot_started"
REBOOTING_HARD = "rebooting_hard"
REBOOT_PENDING_HARD = "reboot_pending_hard"
REBOOT_STARTED_HARD = "reboot_started_hard"

# power
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"

# delete
DELETING = "deleting"
SOFT_DELETING = "soft-deleting"

#: Task states that a soft reboot may find (Nova: ``soft_reboot_allowed``).
SOFT_REBOOT_ALLOWED = [None, REBOOTING]
#: Task states that a hard reboot may find (Nova: ``hard_reboot_allowed``).
HARD_REBOOT_ALLOWED = [
    None,
    REBOOTING,
    REBOOT_PENDING,
    REBOOT_STARTED,
    REBOOTING_HARD,
    REBOOT_PENDING_HARD,
    REBOOT_STARTED_HARD,
]

# pause, suspend, rescue
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"

# snapshots and backups
IMAGE_SNAPSHOT = "image_snapshot"
IMAGE_SNAPSHOT_PENDING = "image_snapshot_pending"
IMAGE_PENDING_UPLOAD = "image_pending_upload"
IMAGE_UPLOADING = "image_uploading"
IMAGE_BACKUP = "image_backup"

# rebuild
REBUILDING = "rebuilding"
REBUILD_BLOCK_DEVICE_MAPPING = "rebuild_block_device_mapping"
REBUILD_SPAWNING = "rebuild_spawning"

# shelve
SHELVING = "shelving"
SHELVING_IMAGE_PENDING_UPLOAD = "shelving_image_pending_upload"
SHELVING_IMAGE_UPLOADING = "shelving_image_uploading"
SHELVING_OFFLOADING = "shelving_offloading"
UNSHELVING = "unshelving"

# resize and cold migration
RESIZE_PREP = "resize_prep"
RESIZE_MIGRATING = "resize_migrating"
RESIZE_MIGRATED = "resize_migrated"
RESIZE_FINISH = "resize_finish"
RESIZE_REVERTING = "resize_reverting"
