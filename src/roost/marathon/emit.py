"""Publishing orchestrator happenings as Marathon events (``/v2/events``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from roost.marathon.deployment.plan import DeploymentPlan
from roost.marathon.events import EventBus
from roost.marathon.events import types as ev
from roost.marathon.instances import CONDITIONS, Instance


class Emitter:
    def __init__(self, bus: EventBus, timestamp: Callable[[], str]) -> None:
        self.bus = bus
        self.ts = timestamp

    def _step(self, plan: DeploymentPlan) -> dict[str, Any]:
        return {"actions": [a.to_json() for a in plan.current_actions]}

    def deployment_info(self, plan: DeploymentPlan) -> None:
        self.bus.publish(
            ev.deployment_info(
                timestamp=self.ts(), plan=plan.event_plan(), current_step=self._step(plan)
            )
        )

    def deployment_step_success(self, plan: DeploymentPlan) -> None:
        self.bus.publish(
            ev.deployment_step_success(
                timestamp=self.ts(), plan=plan.event_plan(), current_step=self._step(plan)
            )
        )

    def deployment_success(self, plan: DeploymentPlan) -> None:
        self.bus.publish(ev.deployment_success(timestamp=self.ts(), plan=plan.event_plan()))

    def deployment_failed(self, plan: DeploymentPlan, reason: str) -> None:
        self.bus.publish(
            ev.deployment_failed(timestamp=self.ts(), plan=plan.event_plan(), reason=reason)
        )

    def app_terminated(self, app_id: str) -> None:
        self.bus.publish(ev.app_terminated_event(timestamp=self.ts(), app_id=app_id))

    def api_post(self, client_ip: str, uri: str, app: Mapping[str, Any]) -> None:
        self.bus.publish(
            ev.api_post_event(timestamp=self.ts(), client_ip=client_ip, uri=uri, app_definition=app)
        )

    def group_change_success(self, group_id: str, version: str) -> None:
        self.bus.publish(
            ev.group_change_success(timestamp=self.ts(), group_id=group_id, version=version)
        )

    def status_update(self, inst: Instance, status: Mapping[str, Any]) -> None:
        self.bus.publish(
            ev.status_update_event(
                timestamp=self.ts(),
                slave_id=inst.agent_id,
                task_id=inst.task_id,
                task_status=inst.state,
                app_id=inst.app_id,
                host=inst.host,
                ports=inst.host_ports,
                version=inst.version,
                message=str(status.get("message") or ""),
                ip_addresses=[{"ipAddress": inst.host, "protocol": "IPv4"}] if inst.host else [],
            )
        )

    def instance_changed(self, inst: Instance) -> None:
        self.bus.publish(
            ev.instance_changed_event(
                timestamp=self.ts(),
                instance_id=inst.task_id,
                condition=CONDITIONS.get(inst.state, "Unknown"),
                run_spec_id=inst.app_id,
                agent_id=inst.agent_id,
                host=inst.host,
                run_spec_version=inst.version,
            )
        )

    def health_changed(self, inst: Instance, alive: bool) -> None:
        ts = self.ts()
        self.bus.publish(
            ev.health_status_changed_event(
                timestamp=ts,
                app_id=inst.app_id,
                instance_id=inst.task_id,
                version=inst.version,
                alive=alive,
            )
        )
        self.bus.publish(
            ev.instance_health_changed_event(
                timestamp=ts,
                instance_id=inst.task_id,
                run_spec_id=inst.app_id,
                run_spec_version=inst.version,
                healthy=alive,
            )
        )

    def unhealthy_kill(self, inst: Instance, reason: str) -> None:
        self.bus.publish(
            ev.unhealthy_task_kill_event(
                timestamp=self.ts(),
                app_id=inst.app_id,
                task_id=inst.task_id,
                instance_id=inst.task_id,
                version=inst.version,
                reason=reason,
                host=inst.host,
                slave_id=inst.agent_id,
            )
        )
