"""The docs cannot rot: the getting-started page is executed step by step, and every
``pip install`` line of the docs and READMEs names a distribution this repository builds.

The page's code blocks are read in order: a ``python title="FILE"`` block is written to
FILE, each line of a ``sh`` block is run (``CMD &`` starts CMD in the background and
waits for it to log ``serving on``; ``kill %1`` stops it), and a ``text title="output"``
block lists lines the commands before it must have printed. ``pip install`` lines are
not run (the distributions are already installed from this checkout); they are checked
against the repository's distributions instead.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from micro_core.testing.processes import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "getting-started.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)


def repository_distributions() -> set[str]:
    names = set()
    for setup in [
        ROOT / "setup.cfg",
        *ROOT.glob("plugins/*/setup.cfg"),
        *ROOT.glob("components/*/setup.cfg"),
    ]:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(setup)
        names.add(parser["metadata"]["name"])
    return names


def installed_names(line: str) -> list[str]:
    """The distributions a ``pip install`` line names (not paths, not ``-e`` directories)."""
    words = shlex.split(line.split("pip install", 1)[1].split("#")[0].split("`")[0])
    names, editable = [], False
    for word in words:
        if word.startswith("-"):
            editable = word in ("-e", "--editable")
            continue
        if not editable and "/" not in word and not word.startswith("."):
            names.append(re.split(r"[\[<>=!~]", word, maxsplit=1)[0])
        editable = False
    return names


def test_every_pip_install_line_names_a_distribution_of_this_repository():
    ours = repository_distributions()
    pages = [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        *ROOT.glob("docs/**/*.md"),
        *ROOT.glob("plugins/*/README.md"),
        *ROOT.glob("components/*/README.md"),
    ]
    wrong = [
        f"{page.relative_to(ROOT)}: {name}"
        for page in pages
        for line in page.read_text().splitlines()
        if "pip install" in line and "`pip install`" not in line
        for name in installed_names(line)
        if name.startswith("micro") and name not in ours and "acme" not in name  # acme: a scaffolded example
    ]
    assert wrong == []


def test_the_getting_started_steps_run_as_written(tmp_path: Path):
    registry = tmp_path / "registry"
    registry.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "MICRO_REGISTRY_ADDRESS": str(registry),
        "MICRO_CLI_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONUNBUFFERED": "1",
    }
    background: list[ServerProcess] = []
    printed = ""
    steps = 0
    try:
        for language, attributes, body in BLOCK.findall(PAGE.read_text()):
            title = re.search(r'title="([^"]+)"', attributes)
            if language == "python" and title:
                (tmp_path / title[1]).write_text(body)
            elif language == "text" and title and title[1] == "output":
                for expected in body.strip().splitlines():
                    assert expected in printed, f"{expected!r} not printed by the steps before it:\n{printed}"
                printed = ""
            elif language == "sh":
                for line in filter(None, (raw.strip() for raw in body.splitlines())):
                    steps += 1
                    if line.startswith("pip install"):
                        assert set(installed_names(line)) <= repository_distributions()
                    elif line.startswith("kill %"):
                        background.pop(int(line[len("kill %") :]) - 1).stop()
                    elif line.endswith("&"):
                        process = ServerProcess(
                            shlex.split(line[:-1]),
                            port=0,
                            ready_text="serving on",
                            env=env,
                            cwd=tmp_path,
                            log_path=tmp_path / f"background-{len(background)}.log",
                        )
                        background.append(process.start(timeout=60))
                    else:
                        done = subprocess.run(
                            line,
                            shell=True,
                            cwd=tmp_path,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=120,
                        )
                        assert done.returncode == 0, (line, done.stdout, done.stderr)
                        printed += done.stdout
    finally:
        for process in background:
            process.stop()
    assert steps >= 6 and not background
