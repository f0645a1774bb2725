"""``python -m micro_api``: the gateway without the ``micro`` CLI (``MICRO_*`` variables still apply)."""

from micro_api.command import api

api(prog_name="python -m micro_api")
