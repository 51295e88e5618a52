"""roost: a cluster platform for Python teams.

Layers (lower never imports higher)::

    core -> coord -> cluster -> marathon / chronos / dns
    core -> rpc -> naming -> mesh / namerd
    cli, ui: thin shells over the above
"""

__version__ = "0.1.0"

#: The Mesos version roost's master and agent report on ``/version``. pymesos parses it with
#: ``int()`` on every dot-separated part, so it must stay purely numeric.
MESOS_COMPAT_VERSION = "1.11.0"
