"""roost.mesh: the Linkerd-style router (in progress; see docs/naming.md for the naming it
routes with). So far: request identifiers."""
