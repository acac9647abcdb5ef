"""Exceptions of the simulated Nova services.

Owns the exception classes shared by the service layer (API, conductor, scheduler,
compute). Each class carries an HTTP-ish ``code`` that the REST API turns into a
status and a Nova fault body; messages are built from ``msg_fmt`` and keyword
arguments, as in Nova. Must not know about RPC transports or the hub.
"""

from __future__ import annotations


class NovaException(Exception):
    """Base class: ``msg_fmt % kwargs`` is the message, ``code`` the HTTP status."""

    msg_fmt = "An unknown exception occurred."
    code = 500

    def __init__(self, message: str | None = None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError, ValueError):
                message = self.msg_fmt
        self.message = message
        super().__init__(message)

    def format_message(self) -> str:
        return self.message


class Invalid(NovaException):
    msg_fmt = "Bad Request - Invalid Parameters"
    code = 400


class InvalidInput(Invalid):
    msg_fmt = "Invalid input received: %(reason)s"


class CreateCancelled(Invalid):
    msg_fmt = ("The client went away after %(written)d of %(count)d servers were written; "
               "the request was cancelled and none of them kept.")


class ValidationError(Invalid):
    msg_fmt = "%(detail)s"


class Forbidden(NovaException):
    msg_fmt = "Forbidden"
    code = 403


class PolicyNotAuthorized(Forbidden):
    msg_fmt = "Policy doesn't allow %(action)s to be performed."


class NotFound(NovaException):
    msg_fmt = "Resource could not be found."
    code = 404


class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s could not be found."


class FlavorNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s could not be found."


class ImageNotFound(NotFound):
    msg_fmt = "Image %(image_id)s could not be found."


class NetworkNotFound(NotFound):
    msg_fmt = "Network %(network_id)s could not be found."


class ComputeHostNotFound(NotFound):
    msg_fmt = "Compute host %(host)s could not be found."


class ServiceNotFound(NotFound):
    msg_fmt = "Service %(service_id)s could not be found."


class InstanceActionNotFound(NotFound):
    msg_fmt = "Action for request_id %(request_id)s on instance %(instance_uuid)s not found"


class Conflict(NovaException):
    msg_fmt = "Conflict"
    code = 409


class UnshelveHostNotInOffloadedState(Conflict):
    msg_fmt = ("Host is specified. The instance %(instance_uuid)s must be in "
               "shelved_offloaded state to be unshelved to a host.")


class InstanceInvalidState(Conflict):
    msg_fmt = "Cannot '%(method)s' instance %(instance_uuid)s while it is in %(attr)s %(state)s"


class UnexpectedTaskStateError(Conflict):
    msg_fmt = "Unexpected task state: expecting %(expected)s but the actual state is %(actual)s"


class InstanceIsLocked(InstanceInvalidState):
    msg_fmt = "Instance %(instance_uuid)s is locked"


class InstanceNotRescuable(Invalid):
    msg_fmt = "Instance %(instance_id)s cannot be rescued: %(reason)s"


class InstanceNotReady(Conflict):
    msg_fmt = "Instance %(instance_id)s is not ready"


class FlavorMemoryTooSmall(Invalid):
    msg_fmt = "Flavor's memory is too small for requested image."


class FlavorDiskSmallerThanImage(Invalid):
    msg_fmt = ("Flavor's disk is too small for requested image. Flavor disk is "
               "%(flavor_size)i bytes, image is %(image_size)i bytes.")


class FlavorDiskSmallerThanMinDisk(Invalid):
    msg_fmt = ("Flavor's disk is smaller than the minimum size specified in image metadata. "
               "Flavor disk is %(flavor_size)i bytes, minimum size is %(image_min_disk)i "
               "bytes.")


class ImageNotActive(Invalid):
    msg_fmt = "Image %(image_id)s is not active."


class CannotResizeToSameFlavor(Invalid):
    msg_fmt = "When resizing, instances must change flavor!"


class CannotResizeDisk(Invalid):
    msg_fmt = "Server disk was unable to be resized because: %(reason)s"


class MigrationNotFound(NotFound):
    msg_fmt = "Migration for instance %(instance_id)s with status %(status)s not found."


class InstanceExists(Conflict):
    msg_fmt = "Instance %(name)s already exists."


class QuotaError(NovaException):
    msg_fmt = "Quota exceeded: %(reason)s"
    code = 403


class NoValidHost(NovaException):
    msg_fmt = "No valid host was found. %(reason)s"
    code = 500


class MaxRetriesExceeded(NoValidHost):
    msg_fmt = "Exceeded maximum number of retries. %(reason)s"


class RescheduledException(NovaException):
    msg_fmt = "Build of instance %(instance_uuid)s was re-scheduled: %(reason)s"


class BuildAbortException(NovaException):
    msg_fmt = "Build of instance %(instance_uuid)s aborted: %(reason)s"


class InstanceFaultRollback(NovaException):
    msg_fmt = "Instance rollback performed due to: %(reason)s"


class ResourceProviderClaimFailed(Conflict):
    msg_fmt = "Unable to claim resources on %(rp_uuid)s for consumer %(consumer_uuid)s"


class MarkerNotFound(Invalid):
    msg_fmt = "Marker %(marker)s could not be found."


class RequestSpecNotFound(NotFound):
    msg_fmt = "RequestSpec not found for instance %(instance_uuid)s"


class ServerGroupNotFound(NotFound):
    msg_fmt = "Instance group %(group_uuid)s could not be found."


class FlavorExists(Conflict):
    msg_fmt = "Flavor with %(key)s %(value)s already exists."


class KeypairNotFound(NotFound):
    msg_fmt = "Keypair %(name)s not found for user %(user_id)s"


class KeyPairExists(Conflict):
    msg_fmt = "Key pair '%(key_name)s' already exists."


class InvalidKeypair(Invalid):
    msg_fmt = "Keypair data is invalid: %(reason)s"


class KeypairLimitExceeded(QuotaError):
    msg_fmt = "Quota exceeded, too many key pairs."


class FlavorAccessExists(Conflict):
    msg_fmt = ("Flavor access already exists for flavor %(flavor_id)s and project "
               "%(project_id)s combination.")


class FlavorAccessNotFound(NotFound):
    msg_fmt = "Flavor access not found for %(flavor_id)s / %(project_id)s combination."


class AggregateNotFound(NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s could not be found."


class AggregateNameExists(Conflict):
    msg_fmt = "Aggregate %(aggregate_name)s already exists."


class AggregateHostExists(Conflict):
    msg_fmt = "Aggregate %(aggregate_id)s already has host %(host)s."


class AggregateHostNotFound(NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s has no host %(host)s."


class InvalidAggregateAction(Invalid):
    msg_fmt = ("Unacceptable parameters. Cannot perform action '%(action)s' on aggregate "
               "%(aggregate_id)s. Reason: %(reason)s.")


class SecurityGroupNotFound(NotFound):
    msg_fmt = "Security group %(security_group_id)s not found."


class VolumeNotFound(NotFound):
    msg_fmt = "Volume %(volume_id)s could not be found."


class FloatingIpNotFound(NotFound):
    msg_fmt = "Floating IP not found for ID %(id)s."


class FloatingIpNotFoundForAddress(FloatingIpNotFound):
    msg_fmt = "Floating IP not found for address %(address)s."


class NoMoreFloatingIps(NotFound):
    msg_fmt = "Zero floating IPs available."


class SecurityGroupNotFoundForProject(SecurityGroupNotFound):
    msg_fmt = "Security group %(security_group_id)s not found for project %(project_id)s."


class SecurityGroupExistsForInstance(Invalid):
    msg_fmt = ("Security group %(security_group_id)s is already associated with the "
               "instance %(instance_id)s")


class SecurityGroupNotExistsForInstance(Invalid):
    msg_fmt = ("Security group %(security_group_id)s is not associated with the instance "
               "%(instance_id)s")


class SecurityGroupRuleNotFound(NotFound):
    msg_fmt = "Rule (%(rule_id)s) not found."


class DatabaseSchemaError(RuntimeError):
    """The database's schema is not the one this nova-sim expects (behind: run
    ``nova-sim db sync``; unknown: made by another version)."""
