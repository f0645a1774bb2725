"""``micro sidecar`` refuses what it cannot run: one line naming the flag, exit 2, nothing started."""

from __future__ import annotations

import subprocess

import pytest

APP = ("--name", "greeter", "--app-address", "http://127.0.0.1:1")


@pytest.mark.parametrize(
    "args, words",
    [
        (("--name", "greeter"), "--name needs --app-address"),
        (("--app-address", "http://127.0.0.1:1"), "--app-address needs --name"),
        ((*APP, "--endpoints", "{file}", "--openapi", "/openapi.json"), "either with --endpoints"),
        (
            (*APP, "--endpoints", "/no/such/endpoints.json"),
            "cannot read endpoints from /no/such/endpoints.json",
        ),
        ((*APP, "--metadata", "novalue"), "'novalue' is not KEY=VALUE"),
        (("--push", "novalue"), "'novalue' is not TOPIC[@QUEUE]=PATH|URL"),
    ],
)
def test_usage_errors_are_one_line(args, words, env, endpoints_file, micro):
    argv = [micro, "sidecar", "--address", "127.0.0.1:0", *(a.format(file=endpoints_file) for a in args)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done
    assert words in " ".join(done.stderr.split()), done.stderr
    assert "Traceback" not in done.stderr and "serving on" not in done.stderr
