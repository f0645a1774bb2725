"""``micro run`` (with ``--reload``) and ``micro new service``: a scaffolded service runs and
answers. The plugin scaffolds are tested in test_new_plugin.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from micro_core.testing.processes import wait_until

MICRO = str(Path(sys.executable).parent / "micro")


def test_run_a_file_with_the_global_flags_as_settings(micro, spawn, apps, tmp_path: Path):
    other = tmp_path / "other-registry"
    spawn(MICRO, "--registry-address", str(other), "run", str(apps / "shop.py"), "runshop")
    assert micro("--registry-address", str(other), "health", "runshop").code == 0
    assert micro("describe", "runshop").code == 3  # not in the default registry of this test


def test_new_service_scaffolds_a_project_that_passes_its_tests_and_runs(micro, spawn, tmp_path: Path):
    project = tmp_path / "services" / "hello-world"  # a path: the service is named by its last part
    result = micro("new", "service", str(project))
    assert result.code == 0, result
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr

    spawn(MICRO, "run", "hello_world", cwd=project)
    reply = micro("call", "hello-world", "HelloWorld.Hello", '{"name": "Ada"}')
    assert reply.json() == {"message": "Hello Ada"}, reply


def test_new_service_takes_a_path_relative_to_the_working_directory(
    micro, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    assert micro("new", "service", "./services/billing").code == 0
    assert (tmp_path / "services" / "billing" / "billing" / "handler.py").is_file()
    (tmp_path / "empty").mkdir()
    assert micro("new", "service", "empty").code == 0  # an existing empty directory is filled
    assert (tmp_path / "empty" / "setup.cfg").read_text().count("name = empty") == 1


def test_new_refuses_to_overwrite_and_bad_names(micro, tmp_path: Path):
    assert micro("new", "service", "x", "--dir", str(tmp_path)).code == 0
    again = micro("new", "service", "x", "--dir", str(tmp_path))
    assert again.code == 2 and "already exists" in again.err and len(again.err.splitlines()) == 1
    assert micro("new", "service", str(tmp_path / "x")).code == 2  # the same directory, as a path
    assert micro("new", "service", "Bad Name", "--dir", str(tmp_path)).code == 2
    bad = micro("new", "service", str(tmp_path / "services" / "Billing"))
    assert bad.code == 2 and "'Billing' is not a valid name" in bad.err and len(bad.err.splitlines()) == 1
    assert not (tmp_path / "services").exists()


def test_run_reload_restarts_the_service_when_its_file_changes(micro, spawn, apps, tmp_path: Path):
    app = tmp_path / "app" / "app.py"  # its own directory: the logs and registry in tmp_path change too
    app.parent.mkdir()
    app.write_text((apps / "shop.py").read_text())
    spawn(MICRO, "run", "--reload", str(app), "reloader")
    assert micro("call", "reloader", "Shop.Buy", '{"item": "a"}').json()["clerk"] == "nobody"

    app.write_text(app.read_text().replace('"Clerk", "nobody"', '"Clerk", "reloaded"'))

    def reloaded() -> bool:
        reply = micro("call", "reloader", "Shop.Buy", '{"item": "a"}', "--timeout", "2")
        return reply.code == 0 and reply.json()["clerk"] == "reloaded"

    wait_until(reloaded, 60, "the reloaded service", interval=0.5)
