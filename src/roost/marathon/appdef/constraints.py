"""Placement constraint rules (reference §2.3; upstream ``SchedulingValidation``).

A constraint is ``[field, OPERATOR]`` or ``[field, OPERATOR, value]`` with the operator
already upper-cased. Per operator:

====================  ==========================================================
``UNIQUE``            no value
``CLUSTER``           optional value (without one, the first placement pins it)
``GROUP_BY``          optional integer value (expected number of groups)
``LIKE`` / ``UNLIKE`` required value that compiles as a regular expression
``MAX_PER``           required integer value
``IS``                required value matching ``[a-zA-Z0-9_/.-]*`` (Mesos text/scalar)
====================  ==========================================================

Regular expressions are checked with Python's ``re``, which is close to, not the same as,
Java's ``Pattern`` that Marathon uses.
"""

from __future__ import annotations

import re

from roost.marathon.appdef.errors import Issues, at

OPERATORS = ("UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS")
IS_VALUE = re.compile(r"[a-zA-Z0-9_/.-]*")


def constraint_error(constraint: list[str]) -> str | None:
    """Upstream's message for a bad constraint, or ``None`` when it is valid."""
    if len(constraint) not in (2, 3):
        return "Each constraint must have either 2 or 3 fields"
    field, operator = constraint[0], constraint[1]
    value = constraint[2] if len(constraint) == 3 else None
    if not field:
        return "Missing field and operator"
    if operator not in OPERATORS:
        return (
            "Constraint operator must be one of the following "
            "UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"
        )
    if operator == "UNIQUE" and value is not None:
        return "Value specified but not used"
    if operator == "GROUP_BY" and value is not None and not _is_int(value):
        return "Value was specified but is not a number"
    if operator == "MAX_PER" and (value is None or not _is_int(value)):
        return "Value was not specified or is not a number"
    if operator in ("LIKE", "UNLIKE"):
        if value is None:
            return "A regular expression value must be provided"
        try:
            re.compile(value)
        except re.error:
            return f"'{value}' is not a valid regular expression"
    if operator == "IS" and (value is None or not IS_VALUE.fullmatch(value)):
        return "Value was not specified or does not match [a-zA-Z0-9_/.-]*"
    return None


def validate_constraints(constraints: list[list[str]], issues: Issues, path: str) -> None:
    for i, constraint in enumerate(constraints):
        message = constraint_error(constraint)
        if message:
            issues.add(at(path, "constraints", i), message)


def _is_int(value: str) -> bool:
    # Java's String.toInt: an optional sign and decimal digits, nothing else
    return re.fullmatch(r"[+-]?[0-9]+", value) is not None
