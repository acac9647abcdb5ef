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
