"""The web component's settings, declared like every plugin's: flags of ``micro`` and ``MICRO_*``.

``web_namespace`` is shared by web services (they register as ``<namespace>.<name>``)
and by ``micro web`` (it proxies ``/<name>/`` to ``<namespace>.<name>``), so one
``MICRO_WEB_NAMESPACE`` keeps both sides agreeing.
"""

from __future__ import annotations

from micro_core import Options, hookimpl

#: The namespace web services register under unless configured otherwise.
DEFAULT_NAMESPACE = "micro.web"


@hookimpl
def micro_add_options(options: Options) -> None:
    options.add("web_namespace", DEFAULT_NAMESPACE, "registry namespace of web services: <namespace>.<name>")
    options.add(
        "web_server_address", "127.0.0.1:0", "host:port a web service's HTTP server listens on (0: any port)"
    )
    options.add("web_server_advertise", "", "host:port to publish for a web service, if not the bound one")
