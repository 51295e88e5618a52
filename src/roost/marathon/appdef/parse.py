"""``parse_app``: a decoded request body in, a normalized and validated app out.

The steps mirror ``AppsResource.create``: read the JSON against the app's shape (wrong
types -> 400 "Invalid JSON"), normalize (``AppNormalization``), validate
(``AppValidation``; failures and unknown properties -> 422 "Object is not valid").
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from roost.marathon.appdef.errors import INVALID_JSON, NOT_VALID, AppValidationError, Issues
from roost.marathon.appdef.model import AppDefinition
from roost.marathon.appdef.normalize import normalize
from roost.marathon.appdef.schema import APP
from roost.marathon.appdef.shape import Shape
from roost.marathon.appdef.validate import validate_app


def parse_app(raw: object, *, base: str = "/", path: str = "") -> AppDefinition:
    """Normalize and validate the app body ``raw`` (a JSON value already decoded).

    ``base`` is the group that relative ids resolve against; ``path`` prefixes every error
    path, for an app inside a list or group (``/apps(0)``). Raises
    :class:`~roost.marathon.appdef.errors.AppValidationError`.
    """
    run = Shape()
    cleaned = APP.check(raw, path, run)
    run.types.raise_if_any(400, INVALID_JSON)
    issues = run.unknown
    canonical = normalize(cleaned, base, issues, path)
    app = _build(canonical, path)
    validate_app(app, issues, path)
    issues.raise_if_any(422, NOT_VALID)
    return app


def _build(canonical: dict[str, Any], path: str) -> AppDefinition:
    try:
        return AppDefinition.model_validate(canonical)
    except ValidationError as exc:
        # The shape check should make this unreachable; keep the error shape if it is not.
        issues = Issues()
        for error in exc.errors():
            where = "".join(f"({p})" if isinstance(p, int) else f"/{p}" for p in error["loc"])
            issues.add(path + where, error["msg"])
        raise AppValidationError(400, INVALID_JSON, issues.details()) from exc
