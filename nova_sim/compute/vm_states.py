"""Instance ``vm_state`` values: the stable state an instance rests in (Nova's names).

Owns the constants only; the transitions live in the compute API and manager.
"""

from __future__ import annotations

ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

#: States from which a hard reboot is allowed (Nova's ``ALLOW_HARD_REBOOT``).
ALLOW_HARD_REBOOT = [ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR]
#: States from which a soft reboot is allowed.
ALLOW_SOFT_REBOOT = [ACTIVE]
