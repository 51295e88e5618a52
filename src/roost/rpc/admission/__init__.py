"""Admission control (Finagle ``doc/src/sphinx/Servers.rst`` / ``Clients.rst``): a server's
concurrency limit, rejecting requests already past their deadline, and client-side
throttling when servers NACK."""

from roost.rpc.admission.concurrency import ConcurrencyLimitFilter
from roost.rpc.admission.deadline import DeadlineAdmissionFilter
from roost.rpc.admission.nack import NackAdmissionFilter

__all__ = ["ConcurrencyLimitFilter", "DeadlineAdmissionFilter", "NackAdmissionFilter"]
