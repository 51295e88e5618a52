"""The mesh's fast lane: the common proxied request served in one pass of plain calls
(:mod:`roost.mesh.lane.route`), on connections of its own (:mod:`roost.mesh.lane.conn`,
:mod:`roost.mesh.lane.upstream`); everything else goes the full way."""
