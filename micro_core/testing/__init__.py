"""Test support for service and plugin authors.

- :func:`call_endpoint` calls one endpoint of a handler through the real router and codec.
- :func:`replace_dependency` swaps an attribute of a running handler for the block.
- :class:`EventRecorder` subscribes to a topic and waits for events.
- The pytest plugin (loaded automatically) adds the ``micro_service`` and
  ``micro_settings`` fixtures: services in-process on isolated memory drivers.
- :mod:`micro_core.testing.conformance` holds the suites every driver must pass.
"""

from micro_core.testing.helpers import EventRecorder, call_endpoint, replace_dependency

__all__ = ["EventRecorder", "call_endpoint", "replace_dependency"]
