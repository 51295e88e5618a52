"""roost namerd: dtabs kept in roost.coord.Store, served over Linkerd's namerd HTTP API."""
