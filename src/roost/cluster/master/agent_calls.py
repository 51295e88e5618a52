"""Calls posted by agents: UPDATE (status updates), PONG, EXECUTOR_EXITED, MESSAGE."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from roost.cluster.master.agents import AgentHandling
from roost.cluster.master.calls import bad, payload, required_id
from roost.cluster.master.model import Agent, Task
from roost.cluster.protocol import MAX_BATCHED_UPDATES, TASK_STATES, is_terminal, ref
from roost.core.resources import Resources

log = logging.getLogger("roost.master")


class AgentCalls(AgentHandling):
    def handle_agent_call(self, agent: Agent, ctype: str, call: dict[str, Any]) -> None:
        if ctype == "PONG":
            self.pong(agent)
        elif ctype == "UPDATE":
            self._agent_update(agent, payload(call, ctype))
        elif ctype == "UPDATES":
            batch = payload(call, ctype).get("updates")
            if not isinstance(batch, list) or len(batch) > MAX_BATCHED_UPDATES:
                raise bad(
                    f"'updates.updates' must be a list of at most {MAX_BATCHED_UPDATES} updates"
                )
            for i, upd in enumerate(batch):
                if not isinstance(upd, dict):
                    raise bad(f"'updates.updates[{i}]' must be an object")
            # Validate the whole batch before applying any of it: all or nothing.
            for upd in batch:
                self._check_update(upd)
            for upd in batch:
                self._agent_update(agent, upd)
        elif ctype == "EXECUTOR_EXITED":
            self._executor_exited(agent, payload(call, ctype))
        elif ctype == "MESSAGE":
            self._executor_message(agent, payload(call, ctype))
        else:
            raise bad(f"'{ctype}' is not a call an agent can make after SUBSCRIBE")

    def _check_update(self, upd: dict[str, Any]) -> None:
        required_id(upd, "framework_id", "update")
        status = upd.get("status")
        if not isinstance(status, dict):
            raise bad("Expecting 'update.status' to be present")
        required_id(status, "task_id", "update.status")
        if status.get("state") not in TASK_STATES:
            raise bad(f"'update.status.state' is not a task state: {str(status.get('state'))[:40]}")
        uuid = status.get("uuid")
        if uuid is not None:
            try:
                if len(base64.b64decode(uuid, validate=True)) != 16:
                    raise ValueError
            except (binascii.Error, ValueError, TypeError):
                raise bad("'update.status.uuid' must be 16 bytes, base64") from None

    def _agent_update(self, agent: Agent, upd: dict[str, Any]) -> None:
        self._check_update(upd)
        fid = upd["framework_id"]["value"]
        status = upd["status"]
        tid = status["task_id"]["value"]
        state = status["state"]
        uuid = status.get("uuid")
        status.setdefault("agent_id", ref(agent.agent_id))
        self.counters["valid_status_updates"] += 1
        fw = self.frameworks.get(fid)
        if fw is None:
            # The framework is gone (torn down): nobody will acknowledge, so do it here.
            if uuid is not None:
                self._ack_to_agent(agent, fid, tid, uuid)
            return
        task = agent.tasks.get((fid, tid))
        if task is None:
            task = fw.unreachable_tasks.pop(tid, None)
            if task is None:
                task = Task(
                    tid, fid, agent.agent_id, {"task_id": ref(tid), "name": ""}, Resources()
                )
                task.recovered = True
            agent.tasks[task.key] = task
            fw.tasks[tid] = task
        if task.latest_status is None or task.latest_status.get("uuid") != uuid or uuid is None:
            self.record_status(task, status)
        if is_terminal(state):
            self.recover_task_resources(task)
        if fw.connected:
            self.send_update(fw, status)
        elif uuid is None:
            self.counters["dropped_messages"] += 1
        if uuid is None and is_terminal(state):
            self.complete_task(task)

    def _ack_to_agent(self, agent: Agent, fid: str, tid: str, uuid: str) -> None:
        self.send_to_agent(
            agent,
            {
                "type": "ACKNOWLEDGE",
                "acknowledge": {"framework_id": ref(fid), "task_id": ref(tid), "uuid": uuid},
            },
        )

    def _executor_exited(self, agent: Agent, body: dict[str, Any]) -> None:
        fid = required_id(body, "framework_id", "executor_exited")
        eid = required_id(body, "executor_id", "executor_exited")
        code = body.get("status", 0)
        ex = agent.executors.pop((fid, eid), None)
        if ex is not None:
            self.allocator.recover(fid, agent.agent_id, ex["_resources"], None)
        fw = self.frameworks.get(fid)
        if fw is not None:
            failure: dict[str, Any] = {"agent_id": ref(agent.agent_id), "executor_id": ref(eid)}
            if isinstance(code, int) and not isinstance(code, bool):
                failure["status"] = code
            self.send_to_framework(fw, {"type": "FAILURE", "failure": failure})
        self.changed()

    def _executor_message(self, agent: Agent, body: dict[str, Any]) -> None:
        fid = required_id(body, "framework_id", "message")
        eid = required_id(body, "executor_id", "message")
        data = body.get("data", "")
        if not isinstance(data, str):
            raise bad("'message.data' must be base64")
        fw = self.frameworks.get(fid)
        if fw is not None:
            self.send_to_framework(
                fw,
                {
                    "type": "MESSAGE",
                    "message": {
                        "agent_id": ref(agent.agent_id),
                        "executor_id": ref(eid),
                        "data": data,
                    },
                },
            )

    def task_by_id(self, fid: str, tid: str) -> Task | None:
        fw = self.frameworks.get(fid)
        if fw is None:
            return None
        return fw.tasks.get(tid) or fw.unreachable_tasks.get(tid)

    def agent_for(self, aid: str | None) -> Agent | None:
        return self.agents.get(aid) if aid else None
