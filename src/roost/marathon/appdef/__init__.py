"""Marathon app definitions: parsing, normalization, validation, updates and JSON output.

The pure definition layer of ``roost.marathon`` (reference: Marathon's ``types/app.raml``,
``AppNormalization`` and ``AppValidation``). Callers use::

    app = parse_app(body)                       # POST /v2/apps; raises AppValidationError
    new = apply_update(app, body, partial=True) # PUT/PATCH /v2/apps/{id}
    version = is_rollback(body)                 # PUT {"version": ts}
    is_scale_only(app, new)                     # scale, or rolling restart?
    app_json(app)                               # GET: only keys the marathon client accepts
"""

from roost.marathon.appdef.errors import AppValidationError
from roost.marathon.appdef.model import (
    AppDefinition,
    FetchUri,
    HealthCheckDef,
    PortDefinition,
    ReadinessCheckDef,
    UpgradeStrategy,
    VersionInfo,
)
from roost.marathon.appdef.parse import parse_app
from roost.marathon.appdef.update import apply_update, is_rollback, is_scale_only
from roost.marathon.appdef.writer import app_json

__all__ = [
    "AppDefinition",
    "AppValidationError",
    "FetchUri",
    "HealthCheckDef",
    "PortDefinition",
    "ReadinessCheckDef",
    "UpgradeStrategy",
    "VersionInfo",
    "app_json",
    "apply_update",
    "is_rollback",
    "is_scale_only",
    "parse_app",
]
