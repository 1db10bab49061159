"""The image builds and runs the offline demo, as a non-root user, where a container runtime with a working
engine is present; skipped (saying why) elsewhere."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
IMAGE = "gba-monitor:test"


def _runtime() -> str:
    """The first container runtime whose engine answers; skips the test when there is none."""
    reasons = []
    for name in ("docker", "podman"):
        if shutil.which(name) is None:
            reasons.append(f"{name} is not installed")
            continue
        probe = subprocess.run([name, "info"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return name
        reasons.append(f"{name} has no working engine: {(probe.stderr.strip().splitlines() or ['?'])[-1]}")
    pytest.skip("no container runtime to build the image with (" + "; ".join(reasons) + ")")


@pytest.mark.slow
def test_the_image_builds_and_runs_the_demo_as_a_non_root_user() -> None:
    runtime = _runtime()
    build = subprocess.run(
        [runtime, "build", "-t", IMAGE, str(ROOT)], capture_output=True, text=True, timeout=900
    )
    assert build.returncode == 0, build.stderr[-2000:]
    demo = "cp -r /app/examples /data/demo && gba-monitor run --once --config /data/demo/demo.yaml && id -u"
    # --network none: the demo reads local files only, and nothing may touch the internet.
    run = subprocess.run(
        [runtime, "run", "--rm", "--network", "none", IMAGE, "sh", "-c", demo],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Qianhai" in run.stdout
    assert run.stdout.strip().splitlines()[-1] != "0", "the monitor runs as a non-root user"
    health = subprocess.run(
        [runtime, "image", "inspect", "--format", "{{json .Config.Healthcheck.Test}}", IMAGE],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "gba-monitor" in health.stdout and "health" in health.stdout
