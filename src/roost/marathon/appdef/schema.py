"""The JSON shape of an app definition (Marathon ``types/app.raml`` and friends).

Members roost stores are typed; members that Marathon's RAML or the ``marathon`` client
know but roost does not act on are *ignored* (accepted and dropped): the AppInfo extras a
GET returns (``tasks``, counts, ``deployments``...), legacy keys (``storeUrls``,
``taskRateLimit``, ``ipAddress``), and features roost does not implement (``secrets``,
``residency``, ``unreachableStrategy``, ``tty``, ``check``, ``executorResources``,
``resourceLimits``). Anything else is an ``unknown property`` (422).
"""

from __future__ import annotations

from roost.marathon.appdef.shape import (
    BOOL,
    INT,
    NUMBER,
    STRING,
    TEXT,
    ListOf,
    MapOf,
    Obj,
    StringOr,
)

STRINGS = ListOf(STRING)
STRING_MAP = MapOf(STRING)

PORT_DEFINITION = Obj({"port": INT, "protocol": STRING, "name": STRING, "labels": STRING_MAP})

HEALTH_CHECK = Obj(
    {
        "protocol": STRING,
        "path": STRING,
        "portIndex": INT,
        "port": INT,
        "command": Obj({"value": STRING}),
        "gracePeriodSeconds": INT,
        "intervalSeconds": INT,
        "timeoutSeconds": INT,
        "maxConsecutiveFailures": INT,
        "delaySeconds": INT,
        "ignoreHttp1xx": BOOL,
        "ipProtocol": STRING,
    }
)

READINESS_CHECK = Obj(
    {
        "name": STRING,
        "protocol": STRING,
        "path": STRING,
        "portName": STRING,
        "intervalSeconds": INT,
        "timeoutSeconds": INT,
        "httpStatusCodesForReady": ListOf(INT),
        "preserveLastResponse": BOOL,
    }
)

UPGRADE_STRATEGY = Obj({"minimumHealthCapacity": NUMBER, "maximumOverCapacity": NUMBER})

FETCH_URI = Obj(
    {"uri": STRING, "extract": BOOL, "executable": BOOL, "cache": BOOL, "destPath": STRING},
    required=frozenset({"uri"}),
)

VERSION_INFO = Obj(
    {"lastScalingAt": STRING, "lastConfigChangeAt": STRING},
    required=frozenset({"lastScalingAt", "lastConfigChangeAt"}),
)

NETWORK = Obj({"mode": STRING, "name": STRING, "labels": STRING_MAP})

PORT_MAPPING = Obj(
    {
        "containerPort": INT,
        "hostPort": INT,
        "servicePort": INT,
        "protocol": STRING,
        "name": STRING,
        "labels": STRING_MAP,
        "networkNames": STRINGS,
    }
)

DOCKER = Obj(
    {
        "image": STRING,
        "network": STRING,
        "portMappings": ListOf(PORT_MAPPING),
        "parameters": ListOf(Obj({"key": STRING, "value": STRING})),
        "privileged": BOOL,
        "forcePullImage": BOOL,
    },
    ignored=frozenset({"credential", "pullConfig"}),
)

VOLUME = Obj(
    {
        "containerPath": STRING,
        "hostPath": STRING,
        "mode": STRING,
        "persistent": Obj({}, open=True),
        "external": Obj({}, open=True),
    },
    ignored=frozenset({"secret"}),
)

CONTAINER = Obj(
    {
        "type": STRING,
        "docker": DOCKER,
        "portMappings": ListOf(PORT_MAPPING),
        "volumes": ListOf(VOLUME),
    },
    ignored=frozenset({"appc", "linuxInfo"}),
)

IGNORED_APP_KEYS = frozenset(
    {
        # AppInfo: what a GET adds to the definition
        "tasks",
        "tasksStaged",
        "tasksRunning",
        "tasksHealthy",
        "tasksUnhealthy",
        "deployments",
        "readinessCheckResults",
        "lastTaskFailure",
        "taskStats",
        # legacy, or features roost does not implement
        "storeUrls",
        "taskRateLimit",
        "ipAddress",
        "residency",
        "secrets",
        "unreachableStrategy",
        "tty",
        "check",
        "executorResources",
        "resourceLimits",
    }
)

APP = Obj(
    {
        "id": STRING,
        "cmd": STRING,
        "args": STRINGS,
        "user": STRING,
        "env": MapOf(StringOr(Obj({"secret": STRING}, required=frozenset({"secret"})))),
        "instances": INT,
        "cpus": NUMBER,
        "mem": NUMBER,
        "disk": NUMBER,
        "gpus": INT,
        "executor": STRING,
        "constraints": ListOf(ListOf(TEXT)),
        "uris": STRINGS,
        "fetch": ListOf(FETCH_URI),
        "ports": ListOf(INT),
        "portDefinitions": ListOf(PORT_DEFINITION),
        "requirePorts": BOOL,
        "backoffSeconds": NUMBER,
        "backoffFactor": NUMBER,
        "maxLaunchDelaySeconds": NUMBER,
        "container": CONTAINER,
        "healthChecks": ListOf(HEALTH_CHECK),
        "readinessChecks": ListOf(READINESS_CHECK),
        "dependencies": STRINGS,
        "upgradeStrategy": UPGRADE_STRATEGY,
        "labels": STRING_MAP,
        "acceptedResourceRoles": STRINGS,
        "version": STRING,
        "versionInfo": VERSION_INFO,
        "killSelection": STRING,
        "taskKillGracePeriodSeconds": INT,
        "networks": ListOf(NETWORK),
        "role": STRING,
    },
    required=frozenset({"id"}),
    ignored=IGNORED_APP_KEYS,
)
"""The whole app body."""
