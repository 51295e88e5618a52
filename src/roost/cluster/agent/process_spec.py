"""How a ``CommandInfo`` becomes a process: its argv, the user it runs as, and what the child
does between fork and exec. Shared by the containerizer (tasks) and COMMAND health checks, so
a check runs exactly as its task does.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable
from typing import Any

from roost.cluster.agent.errors import LaunchError

SHELL = "/bin/sh"

UserIds = tuple[int, int, list[int]]
"""(uid, gid, supplementary groups)."""


def command_argv(command: dict[str, Any]) -> tuple[list[str], str | None]:
    """``(argv, executable)``: ``sh -c value`` for shell commands, else exactly the arguments."""
    if not isinstance(command, dict):
        raise LaunchError("CommandInfo must be an object")
    value, shell = command.get("value"), command.get("shell", True)
    if not isinstance(shell, bool):
        raise LaunchError("CommandInfo.shell must be a boolean")
    if not isinstance(value, str) or not value.strip():
        raise LaunchError("CommandInfo.value must be a non-empty string")
    if shell:
        return [SHELL, "-c", value], None
    args = command.get("arguments") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise LaunchError("CommandInfo.arguments must be a list of strings")
    return (args, value) if args else ([value], None)


def command_user(command: dict[str, Any]) -> UserIds | None:
    """(uid, gid, groups) to switch to, or None to run as the agent's user."""
    name = command.get("user")
    if not name or os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(str(name))
    except KeyError:
        raise LaunchError(f"Failed to switch to user '{name}': no such user") from None
    if pw.pw_uid == 0:
        return None
    return pw.pw_uid, pw.pw_gid, os.getgrouplist(pw.pw_name, pw.pw_gid)


def preexec(join: list[int], user: UserIds | None) -> Callable[[], None]:
    """Runs in the child between fork and exec: only plain syscalls, no locks, no imports."""

    def run() -> None:
        for fd in join:
            os.write(fd, b"0")  # "0" is "the writing process" for cgroup.procs
        if user is not None:
            os.setgroups(user[2])
            os.setgid(user[1])
            os.setuid(user[0])

    return run
