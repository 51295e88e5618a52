"""Tests of roost.marathon.health; helpers shared by its test modules."""

from __future__ import annotations

from typing import Any

from roost.marathon.appdef import AppDefinition, HealthCheckDef


def make_check(**fields: Any) -> HealthCheckDef:
    return HealthCheckDef(**fields)


def make_app(*checks: HealthCheckDef, app_id: str = "/web") -> AppDefinition:
    return AppDefinition(id=app_id, cmd="python -m http.server $PORT0", health_checks=list(checks))
