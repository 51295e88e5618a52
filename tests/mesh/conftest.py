"""Fixtures of the fast lane's tests (tests/mesh/test_lane*.py): a raw backend and meshes
with the lane on or off (:mod:`tests.mesh.lanekit`). A test module's own fixture of the same
name wins over these."""

from tests.mesh.lanekit import backend as backend
from tests.mesh.lanekit import meshes as meshes
