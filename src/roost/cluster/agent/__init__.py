"""The roost agent (Mesos ``mesos-agent``): runs tasks on one machine for the master.

Entry points: :class:`roost.cluster.agent.config.AgentConfig`,
:class:`roost.cluster.agent.server.AgentServer` and :func:`roost.cluster.agent.server.run_agent`.

Modules: ``config`` (flags) · ``server`` (assembly) · ``agent`` (bookkeeping, status update
path) · ``events`` (master events) · ``master_link`` (``docs/agent-protocol.md`` client) ·
``status_updates`` (reliable delivery) · ``command_executor`` / ``custom_executor`` /
``executor_api`` (running tasks, the v1 executor API) · ``tasks`` (records) · ``state`` /
``app`` (HTTP) · ``probe``, ``sandbox``, ``fetcher``, ``cgroups``, ``containerizer``,
``files`` (machine-facing parts).
"""
