"""roost.rpc: Finagle for asyncio — services, filters, stacks, an HTTP/1.1 transport, load
balancing, failure accrual, retry budgets, deadlines, admission control, stats and tracing."""

from roost.rpc.context import Deadline, TraceId
from roost.rpc.errors import Flags, RpcError
from roost.rpc.service import (
    FactoryToService,
    Filter,
    FnService,
    Service,
    ServiceBase,
    ServiceFactory,
    Status,
)
from roost.rpc.stack import Module, Params, Stack

__all__ = [
    "Deadline",
    "FactoryToService",
    "Filter",
    "Flags",
    "FnService",
    "Module",
    "Params",
    "RpcError",
    "Service",
    "ServiceBase",
    "ServiceFactory",
    "Stack",
    "Status",
    "TraceId",
]
