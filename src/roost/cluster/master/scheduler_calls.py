"""Calls of subscribed frameworks (everything but SUBSCRIBE), as in ``Master::Http::scheduler``.

Semantic problems never become HTTP errors (pymesos dies on any non-2xx): the call is
accepted with 202 and the problem is reported as a master-generated status update without a
``uuid`` (TASK_DROPPED / TASK_LOST with REASON_INVALID_OFFERS, TASK_ERROR with
REASON_TASK_INVALID, TASK_LOST for unknown tasks).
"""

from __future__ import annotations

import logging
from typing import Any

from roost.cluster.master import calls as v
from roost.cluster.master.agent_calls import AgentCalls
from roost.cluster.master.frameworks import check_unchanged
from roost.cluster.master.model import Framework, Offer, Task
from roost.cluster.master.task_validation import TaskInvalid, validate_executor, validate_task
from roost.cluster.protocol import id_value, is_terminal, ref
from roost.core.resources import ResourceError, Resources

log = logging.getLogger("roost.master")

IGNORED_CALLS = frozenset(
    {
        "REQUEST",
        "ACCEPT_INVERSE_OFFERS",
        "DECLINE_INVERSE_OFFERS",
        "ACKNOWLEDGE_OPERATION_STATUS",
        "RECONCILE_OPERATIONS",
    }
)


class SchedulerCalls(AgentCalls):
    async def handle_scheduler_call(self, fw: Framework, ctype: str, call: dict[str, Any]) -> None:
        if ctype in IGNORED_CALLS:
            return
        if ctype == "TEARDOWN":
            await self.remove_framework(fw)
        elif ctype == "ACCEPT":
            body = v.payload(call, ctype)
            self._accept(
                fw,
                v.id_list(body, "offer_ids", "accept"),
                v.operations(body),
                v.refuse_seconds(body),
            )
        elif ctype == "DECLINE":
            body = v.payload(call, ctype)
            self._accept(fw, v.id_list(body, "offer_ids", "decline"), [], v.refuse_seconds(body))
        elif ctype == "REVIVE":
            v.roles(v.payload(call, ctype, required=False), "revive")
            fw.suppressed = False
            self.allocator.revive(fw.framework_id)
            self.changed()  # suppressed_roles in /master/state
            self.request_allocation()
        elif ctype == "SUPPRESS":
            v.roles(v.payload(call, ctype, required=False), "suppress")
            fw.suppressed = True
            self.allocator.suppress(fw.framework_id)
            self.changed()
        elif ctype == "KILL":
            body = v.payload(call, ctype)
            self._kill(fw, v.required_id(body, "task_id", "kill"), body)
        elif ctype == "ACKNOWLEDGE":
            body = v.payload(call, ctype)
            aid = v.required_id(body, "agent_id", "acknowledge")
            tid = v.required_id(body, "task_id", "acknowledge")
            self._acknowledge(fw, aid, tid, v.status_uuid(body.get("uuid")))
        elif ctype == "RECONCILE":
            self._reconcile(fw, v.payload(call, ctype, required=False))
        elif ctype == "MESSAGE":
            body = v.payload(call, ctype)
            aid = v.required_id(body, "agent_id", "message")
            eid = v.required_id(body, "executor_id", "message")
            if not isinstance(body.get("data", ""), str):
                raise v.bad("'message.data' must be a base64 string")
            agent = self.agents.get(aid)
            if agent is not None:
                msg = {
                    "framework_id": ref(fw.framework_id),
                    "executor_id": ref(eid),
                    "data": body.get("data", ""),
                }
                self.send_to_agent(agent, {"type": "MESSAGE", "message": msg})
        elif ctype == "SHUTDOWN":
            body = v.payload(call, ctype)
            aid = v.required_id(body, "agent_id", "shutdown")
            eid = v.required_id(body, "executor_id", "shutdown")
            agent = self.agents.get(aid)
            if agent is not None:
                ev = {"framework_id": ref(fw.framework_id), "executor_id": ref(eid)}
                self.send_to_agent(agent, {"type": "SHUTDOWN_EXECUTOR", "shutdown_executor": ev})
        elif ctype == "UPDATE_FRAMEWORK":
            body = v.payload(call, ctype)
            info = dict(v.framework_info({"framework_info": body.get("framework_info")}))
            info["id"] = ref(fw.framework_id)
            check_unchanged(fw.info, info, ("principal", "user", "checkpoint", "role"))
            await self.registry.add_framework(fw.framework_id, info, fw.registered_time)
            fw.info = info
            self.changed()

    # -- ACCEPT / DECLINE ---------------------------------------------------------------------
    def _accept(
        self, fw: Framework, offer_ids: list[str], ops: list[dict[str, Any]], refuse: float
    ) -> None:
        offers: list[Offer] = []
        problem: str | None = None
        if len(set(offer_ids)) != len(offer_ids):
            problem = "Duplicate offers in one call are not allowed"
            offer_ids = list(dict.fromkeys(offer_ids))
        for oid in offer_ids:
            offer = self.offers.get(oid)
            if offer is None or offer.framework_id != fw.framework_id:
                problem = problem or f"Offer {oid} is no longer valid"
                continue
            if offers and offer.agent_id != offers[0].agent_id:
                problem = problem or "Aggregated offers must belong to one single agent"
            offers.append(offer)
        if not offer_ids and ops:
            problem = "No offers specified"
        launches = _launches(ops)
        if problem is not None or not offers:
            # Mesos declines the valid offers of an invalid ACCEPT (no filter) and drops tasks.
            for offer in offers:
                self.remove_offer(offer, rescind=False, refuse_seconds=None)
            state = "TASK_DROPPED" if fw.partition_aware else "TASK_LOST"
            for tasks, _ in launches:
                for task_info in tasks:
                    tid = (
                        id_value(task_info.get("task_id")) if isinstance(task_info, dict) else None
                    )
                    if tid:
                        why = problem or "No valid offers"
                        self.send_update(
                            fw, self.master_status(tid, state, "REASON_INVALID_OFFERS", why)
                        )
            return
        aid = offers[0].agent_id
        remaining = Resources()
        for offer in offers:
            remaining = remaining + offer.resources
            self.forget_offer(offer)
        used = Resources()
        known = set(fw.tasks) | set(fw.unreachable_tasks)
        for tasks, executor in launches:
            try:
                used = used + self._launch(fw, aid, tasks, executor, remaining - used, known)
            except TaskInvalid as e:
                for task_info in tasks:
                    tid = (
                        id_value(task_info.get("task_id")) if isinstance(task_info, dict) else None
                    )
                    if tid:
                        status = self.master_status(
                            tid, "TASK_ERROR", "REASON_TASK_INVALID", str(e), aid
                        )
                        self.send_update(fw, status)
        leftover = remaining - used
        if not leftover.is_empty():
            self.allocator.recover(fw.framework_id, aid, leftover, refuse)
        self.changed()

    def _launch(
        self,
        fw: Framework,
        aid: str,
        tasks: list[Any],
        group_executor: dict[str, Any] | None,
        available: Resources,
        known: set[str],
    ) -> Resources:
        """Validate and launch one task (or one task group); returns what it consumes."""
        agent = self.agents[aid]
        fid = fw.framework_id
        checked: list[tuple[str, Resources, dict[str, Any]]] = []
        need = Resources()
        new_executors: dict[str, tuple[dict[str, Any], Resources]] = {}
        seen = set(known)
        for task_info in tasks:
            tid, res = validate_task(task_info, aid, seen)
            seen.add(tid)
            exec_info = task_info.get("executor") or group_executor
            if exec_info is None and (fid, tid) in agent.executors:
                # the command executor's id is the task id: it must not name a custom executor
                raise TaskInvalid(
                    f"Task ID '{tid}' is already used as an executor ID on this agent"
                )
            if exec_info is not None:
                eid = validate_executor(exec_info)
                command_task = agent.tasks.get((fid, eid))
                if command_task is not None and not command_task.info.get("executor"):
                    raise TaskInvalid(
                        f"Executor ID '{eid}' is already used by a command task on this agent"
                    )
                if exec_info.get("type") == "DEFAULT":
                    raise TaskInvalid(
                        "roost does not provide the DEFAULT executor; use a CUSTOM executor"
                    )
                if (fid, eid) not in agent.executors and eid not in new_executors:
                    try:
                        ex_res = Resources.from_json(exec_info.get("resources", []))
                    except ResourceError as e:
                        raise TaskInvalid(f"Executor uses invalid resources: {e}") from None
                    new_executors[eid] = (exec_info, ex_res)
                    need = need + ex_res
            need = need + res
            checked.append((tid, res, task_info))
        if not available.contains(need):
            raise TaskInvalid(f"Task uses more resources {need} than available {available}")
        for eid, (exec_info, ex_res) in new_executors.items():
            agent.executors[(fid, eid)] = dict(exec_info, framework_id=ref(fid), _resources=ex_res)
        infos = []
        for tid, res, task_info in checked:
            info = dict(task_info, agent_id=ref(aid))
            info["resources"] = res.to_json(role=fw.role)
            exec_info = task_info.get("executor") or group_executor
            exec_id = id_value(exec_info.get("executor_id")) if exec_info else None
            task = Task(tid, fid, aid, info, res, executor_id=exec_id or "")
            self.record_status(task, {"state": "TASK_STAGING", "timestamp": self.clock.time()})
            fw.tasks[tid] = task
            agent.tasks[task.key] = task
            known.add(tid)
            infos.append(info)
        framework_info = dict(fw.info, id=ref(fid))
        if group_executor is not None:
            run = {
                "framework_info": framework_info,
                "executor": dict(group_executor, framework_id=ref(fid)),
                "task_group": {"tasks": infos},
            }
            self.send_to_agent(agent, {"type": "RUN_TASK_GROUP", "run_task_group": run})
        else:
            for info in infos:
                run = {"framework_info": framework_info, "task": info}
                self.send_to_agent(agent, {"type": "RUN_TASK", "run_task": run})
        self.counters["tasks_launched"] += len(infos)
        return need

    # -- KILL / ACKNOWLEDGE / RECONCILE ---------------------------------------------------------
    def _kill(self, fw: Framework, tid: str, body: dict[str, Any]) -> None:
        task = fw.tasks.get(tid) or fw.unreachable_tasks.get(tid)
        if task is None:
            self.send_update(
                fw,
                self.master_status(
                    tid, "TASK_LOST", "REASON_RECONCILIATION", "Attempted to kill an unknown task"
                ),
            )
            return
        agent = self.agents.get(task.agent_id)
        kill: dict[str, Any] = {"framework_id": ref(fw.framework_id), "task_id": ref(tid)}
        if isinstance(body.get("kill_policy"), dict):
            kill["kill_policy"] = body["kill_policy"]
        if agent is not None and not self.send_to_agent(
            agent, {"type": "KILL_TASK", "kill_task": kill}
        ):
            # Delivered when the agent re-registers (Mesos retries kills the same way).
            agent.pending_kills[task.key] = kill

    def _acknowledge(self, fw: Framework, aid: str, tid: str, uuid: str) -> None:
        task = fw.tasks.get(tid)
        agent = self.agents.get(aid)
        if agent is not None:
            self.send_to_agent(
                agent,
                {
                    "type": "ACKNOWLEDGE",
                    "acknowledge": {
                        "framework_id": ref(fw.framework_id),
                        "task_id": ref(tid),
                        "uuid": uuid,
                    },
                },
            )
        if (
            task is not None
            and is_terminal(task.state)
            and task.latest_status is not None
            and task.latest_status.get("uuid") == uuid
        ):
            self.complete_task(task)

    def _reconcile(self, fw: Framework, body: dict[str, Any]) -> None:
        """The reply table of ``docs/reconciliation.md`` / ``Master::reconcile``."""
        tasks = body.get("tasks", [])
        if not isinstance(tasks, list):
            raise v.bad("'reconcile.tasks' must be a list")
        if not tasks:
            for task in list(fw.tasks.values()) + list(fw.unreachable_tasks.values()):
                if not is_terminal(task.state) or task.state == "TASK_LOST":
                    self.send_update(fw, self._reconcile_status(task))
            return
        recovering = any(a.recovered for a in self.agents.values())
        wanted: list[tuple[str, str | None]] = []
        for i, entry in enumerate(tasks):  # all of it is checked before anything is sent
            if not isinstance(entry, dict):
                raise v.bad(f"'reconcile.tasks[{i}]' must be an object")
            wanted.append(
                (
                    v.required_id(entry, "task_id", f"reconcile.tasks[{i}]"),
                    id_value(entry.get("agent_id")),
                )
            )
        for tid, aid in wanted:
            known = fw.tasks.get(tid) or fw.unreachable_tasks.get(tid)
            if known is not None:
                self.send_update(fw, self._reconcile_status(known))
                continue
            agent = self.agents.get(aid) if aid else None
            if (agent is not None and agent.recovered) or (aid is None and recovering):
                continue  # (2) the agent may still come back with it: no reply
            if agent is not None and agent.unreachable_time is None:
                state, why = "TASK_GONE", "Task is unknown to the agent"
            elif agent is not None:
                state, why = "TASK_UNREACHABLE", "Task is on an unreachable agent"
            else:
                state, why = "TASK_UNKNOWN", "Task is unknown"
            extra: dict[str, Any] = {}
            if agent is not None and agent.unreachable_time is not None:
                extra["unreachable_time"] = {"nanoseconds": int(agent.unreachable_time * 1e9)}
            self.send_update(
                fw,
                self.master_status(
                    tid, self.lost_state(fw, state), "REASON_RECONCILIATION", why, aid, **extra
                ),
            )

    def _reconcile_status(self, task: Task) -> dict[str, Any]:
        latest = task.latest_status or {}
        status = {k: val for k, val in latest.items() if k != "uuid"}
        status.update(
            task_id=ref(task.task_id),
            state=task.state,
            agent_id=ref(task.agent_id),
            source="SOURCE_MASTER",
            reason="REASON_RECONCILIATION",
            timestamp=self.clock.time(),
        )
        if task.executor_id:
            status["executor_id"] = ref(task.executor_id)
        return status


def _launches(ops: list[dict[str, Any]]) -> list[tuple[list[Any], dict[str, Any] | None]]:
    """LAUNCH gives one entry per task; LAUNCH_GROUP one entry for the whole group."""
    out: list[tuple[list[Any], dict[str, Any] | None]] = []
    for op in ops:
        if op["type"] == "LAUNCH":
            out.extend(([t], None) for t in op["launch"].get("task_infos", []))
        elif op["type"] == "LAUNCH_GROUP":
            lg = op["launch_group"]
            out.append((list(lg["task_group"]["tasks"]), lg["executor"]))
        else:
            log.info("ignoring unsupported offer operation %s", op["type"])
    return out
