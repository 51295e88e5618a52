"""The ``container`` member: the pre-1.5 shape migrated, then the canonical one validated.

Before Marathon 1.5 the network mode and port mappings lived under ``container.docker``;
``AppNormalization`` moves them out (``docker.network`` becomes ``networks``, BRIDGE ->
``container/bridge``, USER -> ``container``, HOST -> ``host``; ``docker.portMappings``
becomes ``container.portMappings``). Rules follow ``AppValidation.validContainer``.
roost stores the container as a plain dict; only the members in :mod:`.schema` survive.
"""

from __future__ import annotations

from typing import Any

from roost.marathon.appdef import rules
from roost.marathon.appdef.errors import Issues, at

CONTAINER_TYPES = ("DOCKER", "MESOS")
VOLUME_MODES = ("RO", "RW")
PORT_PROTOCOLS = ("tcp", "udp", "udp,tcp")
DOCKER_NETWORKS = {"HOST": "host", "BRIDGE": "container/bridge", "USER": "container"}


def migrate_container(app: dict[str, Any], issues: Issues, path: str) -> None:
    """Rewrite the old API in place on a cleaned app body; default ``type`` to DOCKER."""
    container = app.get("container")
    if container is None:
        return
    container.setdefault("type", "DOCKER")
    docker = container.get("docker")
    if not docker:
        return
    network = docker.pop("network", None)
    if network is not None:
        if app.get("networks"):
            issues.add(path, "must not specify both container.docker.network and networks")
        elif network in DOCKER_NETWORKS:
            app["networks"] = [{"mode": DOCKER_NETWORKS[network]}]
        else:
            rules.one_of(
                issues, at(path, "container", "docker", "network"), network, DOCKER_NETWORKS
            )
    mappings = docker.pop("portMappings", None)
    if mappings and not container.get("portMappings"):
        container["portMappings"] = mappings


def has_image(container: dict[str, Any] | None) -> bool:
    """A container that can run something without ``cmd``/``args`` (it names an image)."""
    if not container or container.get("type") not in CONTAINER_TYPES:
        return False
    return bool((container.get("docker") or {}).get("image"))


def port_mappings(container: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((container or {}).get("portMappings") or [])


def validate_container(
    container: dict[str, Any], host_networking: bool, issues: Issues, path: str
) -> None:
    """Type, image, port mappings and volumes of a (migrated) container."""
    here = at(path, "container")
    rules.one_of(issues, at(here, "type"), container.get("type"), CONTAINER_TYPES)
    docker = container.get("docker")
    if container.get("type") == "DOCKER" and docker is None:
        issues.add(at(here, "docker"), "must be defined for a DOCKER container")
    if docker is not None:
        rules.not_blank(issues, at(here, "docker", "image"), docker.get("image", ""))
    mappings = port_mappings(container)
    for i, mapping in enumerate(mappings):
        for key in ("containerPort", "hostPort", "servicePort"):
            rules.port(issues, at(here, "portMappings", i, key), mapping.get(key))
        rules.one_of(
            issues, at(here, "portMappings", i, "protocol"), mapping.get("protocol"), PORT_PROTOCOLS
        )
    rules.unique_names(issues, at(here, "portMappings"), (m.get("name") for m in mappings))
    if mappings and host_networking:
        issues.add(path, "portMappings are not allowed with host-networking")
    for i, volume in enumerate(container.get("volumes") or []):
        rules.one_of(issues, at(here, "volumes", i, "mode"), volume.get("mode"), VOLUME_MODES)
        rules.not_blank(
            issues, at(here, "volumes", i, "containerPath"), volume.get("containerPath", "")
        )
