"""The parts of a router's configuration (Linkerd 1 YAML, key for key): identifiers, load
balancers, failure accrual, budgets, backoffs, client and service parameters. Defaults are
Linkerd's. Every model refuses unknown keys, so a typo stops startup with its key path."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from roost.core.config import PosInt as PosInt
from roost.core.config import Strict as Strict
from roost.naming import NamingSyntaxError, Path, Prefix

NonNegInt = Annotated[int, Field(ge=0, strict=True)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


def check_path(value: str) -> str:
    try:
        Path.read(value)
    except NamingSyntaxError as exc:
        raise ValueError(f"not a path: {exc}") from None
    return value


_CAPTURE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.-]*\}")


def read_prefix(text: str) -> Prefix:
    """A static ``client``/``service`` config's ``prefix``: a path whose segments may be ``*``
    or a Linkerd capture variable ``{name}``, each matching any one segment."""
    return Prefix.read("/".join("*" if _CAPTURE.fullmatch(s) else s for s in text.split("/")))


def check_prefix(value: str) -> str:
    try:
        read_prefix(value)
    except NamingSyntaxError as exc:
        raise ValueError(f"not a prefix: {exc}") from None
    return value


# -- identifiers ------------------------------------------------------------------------------


class HeaderTokenId(Strict):
    kind: Literal["io.l5d.header.token"]
    header: str = "Host"


class MethodAndHostId(Strict):
    kind: Literal["io.l5d.methodAndHost"]
    httpUriInDst: bool = False


class PathId(Strict):
    kind: Literal["io.l5d.path"]
    segments: PosInt = 1
    consume: bool = False


class HeaderPathId(Strict):
    kind: Literal["io.l5d.header"]
    header: str = "l5d-name"


class StaticId(Strict):
    kind: Literal["io.l5d.static"]
    path: str

    _path = field_validator("path")(check_path)


class MarathonIngressId(Strict):
    kind: Literal["io.roost.marathonIngress"]
    host: str = "marathon.mesos"
    port: Annotated[int, Field(ge=1, le=65535, strict=True)] = 8080
    uriPrefix: str = ""
    ttlMs: PosInt = 5000


IdentifierConfig = Annotated[
    HeaderTokenId | MethodAndHostId | PathId | HeaderPathId | StaticId | MarathonIngressId,
    Field(discriminator="kind"),
]

# -- load balancers ---------------------------------------------------------------------------


class P2C(Strict):
    kind: Literal["p2c"]
    maxEffort: PosInt = 5


class Ewma(Strict):
    kind: Literal["ewma"]
    maxEffort: PosInt = 5
    decayTimeMs: PosInt = 10_000


class ApertureLB(Strict):
    kind: Literal["aperture"]
    maxEffort: PosInt = 5
    smoothWindowMs: PosInt = 5_000
    lowLoad: Annotated[float, Field(ge=0.0)] = 0.5
    highLoad: Annotated[float, Field(gt=0.0)] = 2.0
    minAperture: PosInt = 1

    @model_validator(mode="after")
    def _band(self) -> ApertureLB:
        if self.lowLoad >= self.highLoad:
            raise ValueError(f"lowLoad ({self.lowLoad}) must be below highLoad ({self.highLoad})")
        return self


class RoundRobinLB(Strict):
    kind: Literal["roundRobin"]
    maxEffort: PosInt = 5


LoadBalancerConfig = Annotated[P2C | Ewma | ApertureLB | RoundRobinLB, Field(discriminator="kind")]

# -- backoffs, budgets, failure accrual -------------------------------------------------------


class ConstantBackoff(Strict):
    kind: Literal["constant"]
    ms: NonNegInt = 0


class JitteredBackoff(Strict):
    kind: Literal["jittered"]
    minMs: PosInt
    maxMs: PosInt

    @model_validator(mode="after")
    def _ordered(self) -> JitteredBackoff:
        if self.minMs > self.maxMs:
            raise ValueError(f"minMs ({self.minMs}) must not exceed maxMs ({self.maxMs})")
        return self


BackoffConfig = Annotated[ConstantBackoff | JitteredBackoff, Field(discriminator="kind")]


class BudgetConfig(Strict):
    percentCanRetry: Annotated[float, Field(ge=0.0, le=1000.0)] = 0.2
    minRetriesPerSec: NonNegInt = 10
    ttlSecs: Annotated[int, Field(ge=1, le=60, strict=True)] = 10


class ConsecutiveFailures(Strict):
    kind: Literal["io.l5d.consecutiveFailures"]
    failures: PosInt = 5
    backoff: BackoffConfig | None = None


class SuccessRate(Strict):
    kind: Literal["io.l5d.successRate"]
    successRate: Fraction
    requests: PosInt
    backoff: BackoffConfig | None = None


class SuccessRateWindowed(Strict):
    kind: Literal["io.l5d.successRateWindowed"]
    successRate: Fraction
    window: PosInt
    backoff: BackoffConfig | None = None


class NoAccrual(Strict):
    kind: Literal["none"]


FailureAccrualConfig = Annotated[
    ConsecutiveFailures | SuccessRate | SuccessRateWindowed | NoAccrual,
    Field(discriminator="kind"),
]

# -- client and service parameters ------------------------------------------------------------


class PoolConfig(Strict):
    minSize: NonNegInt = 0
    maxSize: PosInt | None = None
    idleTimeMs: PosInt | None = None
    maxWaiters: NonNegInt | None = None


class ClientParams(Strict):
    prefix: str = "/*"
    _prefix = field_validator("prefix")(check_prefix)
    loadBalancer: LoadBalancerConfig | None = None
    failureAccrual: FailureAccrualConfig | None = None
    requeueBudget: BudgetConfig | None = None
    requestAttemptTimeoutMs: PosInt | None = None
    hostConnectionPool: PoolConfig | None = None


CLASSIFIERS = (
    "io.l5d.http.nonRetryable5XX",
    "io.l5d.http.retryableRead5XX",
    "io.l5d.http.retryableIdempotent5XX",
    "io.l5d.http.retryableAll5XX",
    "io.l5d.http.allSuccessful",
)


class ClassifierConfig(Strict):
    kind: Literal[
        "io.l5d.http.nonRetryable5XX",
        "io.l5d.http.retryableRead5XX",
        "io.l5d.http.retryableIdempotent5XX",
        "io.l5d.http.retryableAll5XX",
        "io.l5d.http.allSuccessful",
    ]


class RetriesConfig(Strict):
    budget: BudgetConfig | None = None
    backoff: BackoffConfig | None = None


class ServiceParams(Strict):
    prefix: str = "/*"
    _prefix = field_validator("prefix")(check_prefix)
    retries: RetriesConfig | None = None
    totalTimeoutMs: PosInt | None = None
    responseClassifier: ClassifierConfig | None = None
