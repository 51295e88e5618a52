"""Errors raised by the allocator.

Hierarchy::

    AllocatorError (ValueError)
    ├── UnknownAgentError        an agent id the allocator does not know
    ├── UnknownFrameworkError    a framework id the allocator does not know
    └── DuplicateError           adding an agent or framework that is already known

Races that upstream tolerates (resources recovered for an agent or framework that has just
been removed) are ignored, not raised; see ``Allocator.recover``.
"""

from __future__ import annotations


class AllocatorError(ValueError):
    """Base class: the caller asked for something that contradicts the allocator's state."""


class UnknownAgentError(AllocatorError):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"unknown agent '{agent_id}'")
        self.agent_id = agent_id


class UnknownFrameworkError(AllocatorError):
    def __init__(self, framework_id: str) -> None:
        super().__init__(f"unknown framework '{framework_id}'")
        self.framework_id = framework_id


class DuplicateError(AllocatorError):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} '{ident}' is already known to the allocator")
        self.kind = kind
        self.ident = ident
