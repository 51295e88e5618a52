"""Deployments: plans of steps of actions that move apps from an original to a target state."""

from roost.marathon.deployment.decisions import Decision, restart_decision, scale_decision
from roost.marathon.deployment.plan import Action, DeploymentPlan, build_plan

__all__ = [
    "Action",
    "Decision",
    "DeploymentPlan",
    "build_plan",
    "restart_decision",
    "scale_decision",
]
