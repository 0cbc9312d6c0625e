"""What the emulated-cluster test modules share: the script, the requirements they fail on (never
a silent skip), a private cluster's environment, its links, and the removal of clusters left by
test runs that were killed before their `down`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import pytest

import runs

SCRIPT = runs.ROOT / "scripts" / "emulated-cluster"
# Environment a private cluster must not inherit from the caller's (another cluster, a Slurm job).
FOREIGN = ("CLOCKBENCH_CLUSTER_", "SLURM_", "SBATCH_", "SALLOC_")


def planted_offset_ns(k: int) -> int:
    """Host hK's planted CLOCK_MONOTONIC offset, as emulated-cluster --help documents it."""
    frac = (k * 387420489) % 10**9
    return (k // 2) * 90061 * 10**9 + frac if k % 2 else -(k * 10**9 + frac)


def require(tools: Sequence[str], path: Optional[str] = None, hint: str = "scripts/install-deps installs it") -> None:
    """Fails the module's tests, saying what is missing: root, time namespaces or a tool."""
    if os.geteuid() != 0:
        pytest.fail("the emulated cluster needs root (network, UTS and time namespaces, links): run the tests as root")
    if not Path("/proc/self/ns/time").exists():
        pytest.fail("this kernel has no time namespaces (Linux 5.6+ with CONFIG_TIME_NS): the emulated cluster cannot run")
    for tool in tools:
        if shutil.which(tool, path=path) is None:
            pytest.fail(f"{tool} is not installed ({hint})")


def cluster_env(state: Path, bridge: str, subnet_prefix: str, **extra: str) -> Dict[str, str]:
    """The caller's environment without any cluster's or Slurm job's settings, and this cluster's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    env.update(CLOCKBENCH_CLUSTER_DIR=str(state), CLOCKBENCH_CLUSTER_BRIDGE=bridge,
               CLOCKBENCH_CLUSTER_SUBNET=f"{subnet_prefix}.0/24", **extra)
    return env


def bridge_links(bridge: str) -> List[str]:
    """The bridge and its host links, if any are left."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    names = [ln.split(":")[1].strip().split("@")[0] for ln in out.splitlines() if ":" in ln]
    return [n for n in names if n == bridge or n.startswith(bridge + "-")]


def remove_stale(prefix: str, own: str, env_of: Callable[[str, int], Dict[str, str]],
                 after: Callable[[int], None] = lambda pid: None) -> None:
    """`down` for every cluster on a bridge <prefix><pid> but `own` whose test process is gone;
    env_of(bridge, pid) gives its environment, after(pid) cleans what else it left."""
    out = subprocess.run(["ip", "-o", "link", "show", "type", "bridge"], capture_output=True, text=True,
                         check=True).stdout
    for ln in out.splitlines():
        m = re.match(rf"^\d+: ({re.escape(prefix)}(\d+))[:@]", ln)
        if m and m.group(1) != own and not Path(f"/proc/{m.group(2)}").exists():
            subprocess.run([str(SCRIPT), "down"], env=env_of(m.group(1), int(m.group(2))), capture_output=True,
                           text=True, timeout=120)
            after(int(m.group(2)))


def up_then_down(cmd: Callable[..., subprocess.CompletedProcess], hosts: int, c, bridge: str) -> Iterator:
    """A module fixture's body: `up --hosts` through cmd (failing the tests, after a `down`, if it
    fails), yield c, then `down`, which must succeed and leave no link of the bridge."""
    up = cmd("up", "--hosts", str(hosts))
    if up.returncode != 0:
        cmd("down")
        pytest.fail(f"emulated-cluster up --hosts {hosts} failed (exit {up.returncode}):\n{up.stdout}\n{up.stderr}")
    try:
        yield c
    finally:
        down = cmd("down")
        assert down.returncode == 0, down.stdout + down.stderr
        assert bridge_links(bridge) == []
