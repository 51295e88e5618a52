"""Errors raised by the agent's containerizer and fetcher.

Hierarchy::

    AgentError
     └── LaunchError          a container could not be started (exec failed, bad CommandInfo)
          └── FetchError      a CommandInfo URI could not be fetched or extracted

Both launch failures map to ``TASK_FAILED`` with ``REASON_CONTAINER_LAUNCH_FAILED``, as in
Mesos (``src/slave/slave.cpp``, ``src/slave/containerizer/fetcher.cpp``), so callers can catch
:class:`LaunchError` alone. Messages are meant to be shown to users as ``TaskStatus.message``.
"""

from __future__ import annotations


class AgentError(Exception):
    """Base class of every error the agent raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class LaunchError(AgentError):
    """The container could not be launched; ``message`` says why."""


class FetchError(LaunchError):
    """A URI in ``CommandInfo.uris`` could not be fetched into the sandbox."""

    def __init__(self, message: str, *, uri: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri
