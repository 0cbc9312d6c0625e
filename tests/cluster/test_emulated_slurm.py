"""scripts/emulated-cluster up --slurm: a Slurm cluster of four emulated hosts (slurmctld and munged
in the machine's own namespaces, a slurmd inside each host's network, UTS and time namespaces) that
this module brings up itself, in its own state folder, on its own bridge, subnet and slurmctld port
(so that a user's cluster and tests/slurm/cluster.sh's one-node cluster of another test are left
alone), and tears down at the end. Checked: up prints the SLURM_CONF to export and status shows
every node idle; sinfo lists four idle nodes; a second up changes nothing; srun runs each task in
its host's namespaces with the MPI transport settings; a 16-task job on 4 nodes
(slurm/clockbench.sbatch under srun --mpi=pmix) ends COMPLETED with h1..h4 four ranks each in a file
that verifies; a sweep (slurm/sweep.sbatch) and a scaling study (slurm/scaling.sh) across the nodes
verify; status and up after killed daemons; down leaves no daemon, link or file. Needs root, time
namespaces, Debian's slurm-wlm and munge: without them the tests fail, saying so."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import h5py
import pytest

import emulated
import runs

ROOT = runs.ROOT
SCRIPT = ROOT / "scripts" / "emulated-cluster"
SLURM_DIR = ROOT / "slurm"
SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
HOSTS = 4
CPUS = 4  # per node: a 16-task job fills the 4 nodes, 4 tasks each
# Distinct from the defaults and from tests/cluster/test_emulated_cluster.py (cbt<pid>, 10.79.x),
# and per process; a test run killed before its `down` is recognised by its pid in the bridge name
# and cleaned up by the next. The state folder is not under pytest's tmp folder: munged (user
# munge) must reach its socket through every parent folder.
BRIDGE = f"cbs{os.getpid()}"
SUBNET_PREFIX = f"10.78.{os.getpid() % 250 + 1}"
STATE_PREFIX = "/tmp/clockbench-emulated-slurm-"
# Small, sped-up runs: a few model seconds, a second or so of wall time each.
QUICK = ["--duration", "4", "--speedup", "4"]
JOB_TIMEOUT = 240
STATUS_LINE = re.compile(r"^(h\d+) (\d+\.\d+\.\d+\.\d+) offset_s=(-?\d+\.\d{9}) slurm=(\S+)$")


def cluster_env(state: Path, bridge: str, subnet_prefix: str) -> Dict[str, str]:
    env = emulated.cluster_env(state, bridge, subnet_prefix)
    env["PATH"] = env.get("PATH", "") + ":" + SBIN_PATH
    return env


def bridge_links(bridge: str = BRIDGE) -> List[str]:
    return emulated.bridge_links(bridge)


def remove_stale_test_clusters() -> None:
    """`down` for the clusters of test runs that ended without theirs (their pid is gone)."""
    emulated.remove_stale("cbs", BRIDGE,
                          lambda bridge, pid: cluster_env(Path(f"{STATE_PREFIX}{pid}") / "state", bridge,
                                                          f"10.78.{pid % 250 + 1}"),
                          lambda pid: shutil.rmtree(Path(f"{STATE_PREFIX}{pid}"), ignore_errors=True))


@pytest.fixture(scope="module", autouse=True)
def requirements() -> None:
    """Every test here needs root, time namespaces, Slurm and munge: without them, each fails
    saying so (never a silent skip)."""
    emulated.require(("ip", "unshare", "nsenter", "munged", "slurmctld", "slurmd", "sbatch", "srun", "sinfo",
                      "scontrol"), path=os.environ.get("PATH", "") + ":" + SBIN_PATH,
                     hint="Debian's slurm-wlm, munge, iproute2 and util-linux are needed: scripts/install-deps "
                          "installs them")
    if subprocess.run(["id", "munge"], capture_output=True).returncode != 0:
        pytest.fail("user munge does not exist: install Debian's munge (scripts/install-deps)")
    if not runs.BIN.is_file():
        pytest.fail(f"no clockbench binary at {runs.BIN}: build it with scripts/build")


class Cluster:
    """The test cluster: the environment to submit with, its state folder and a submit folder."""

    def __init__(self, env: Dict[str, str], base: Path) -> None:
        self.env, self.base = env, base
        self.state = base / "state"
        self.work = base / "submit"
        self.conf = self.state / "emulated-slurm" / "slurm.conf"
        self.up_output = ""

    def run(self, cmd: Sequence[str], timeout: float = 120, env: Optional[Dict[str, str]] = None,
            cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(c) for c in cmd], env={**self.env, **(env or {})}, cwd=cwd or self.work,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def script(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return self.run([SCRIPT, *args], timeout=timeout)

    def ok(self, cmd: Sequence[str], timeout: float = 120) -> str:
        proc = self.run(cmd, timeout=timeout)
        assert proc.returncode == 0, f"{' '.join(map(str, cmd))}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def sbatch(self, args: Sequence[str]) -> str:
        out = self.ok(["sbatch", "--parsable", *args])
        return out.strip().split(";")[0]

    def jobs(self, job: str) -> List[Dict[str, str]]:
        """scontrol's record of a job, one dict per job (per array task for an array)."""
        out = self.ok(["scontrol", "show", "job", "--oneliner", job])
        return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in out.splitlines() if line.strip()]

    def wait(self, job: str, timeout: float = JOB_TIMEOUT) -> List[Dict[str, str]]:
        """Waits (bounded) until every job of `job` has ended; returns their records."""
        return runs.wait_for_jobs(self.jobs, self.run, job, timeout)

    def output(self, pattern: str, folder: Optional[Path] = None) -> str:
        found = sorted((folder or self.work).glob(pattern))
        assert len(found) == 1, f"expected one output {pattern}, found {found}"
        return found[0].read_text()

    def hosts_file(self) -> List[List[str]]:
        return [ln.split() for ln in (self.state / "hosts").read_text().splitlines()]

    def daemon_pids(self) -> Dict[str, int]:
        """slurmctld, munged and each slurmd by their pid files."""
        files = {"slurmctld": "run/slurmctld.pid", "munged": "munge/munged.pid",
                 **{f"slurmd-h{k}": f"run/slurmd-h{k}.pid" for k in range(1, HOSTS + 1)}}
        return {name: int((self.state / "emulated-slurm" / f).read_text().strip()) for name, f in files.items()}

    @property
    def results(self) -> Path:
        return Path(self.env["CLOCKBENCH_RESULTS"])


@pytest.fixture(scope="module")
def cluster():
    remove_stale_test_clusters()
    base = Path(f"{STATE_PREFIX}{os.getpid()}")
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(mode=0o755)
    base.chmod(0o755)
    env = cluster_env(base / "state", BRIDGE, SUBNET_PREFIX)
    env.update(CLOCKBENCH_CLUSTER_SLURM_PORT=str(runs.free_port_pair(19017, 19999)), CLOCKBENCH_CLUSTER_SLURM_CPUS=str(CPUS),
               SLURM_CONF=str(base / "state" / "emulated-slurm" / "slurm.conf"), CLOCKBENCH_HOME=str(ROOT),
               CLOCKBENCH_BIN=str(runs.BIN), CLOCKBENCH_ANALYZE=str(runs.ANALYZE),
               CLOCKBENCH_RESULTS=str(base / "results"))
    c = Cluster(env, base)
    c.work.mkdir()
    up = c.script("up", "--hosts", str(HOSTS), "--slurm", timeout=180)
    if up.returncode != 0:
        c.script("down", timeout=180)
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"emulated-cluster up --hosts {HOSTS} --slurm failed (exit {up.returncode}):\n{up.stdout}\n{up.stderr}")
    c.up_output = up.stdout
    try:
        yield c
    finally:
        down = c.script("down", timeout=180)
        shutil.rmtree(base, ignore_errors=True)
        assert down.returncode == 0, down.stdout + down.stderr
        assert bridge_links() == []


def verify(path: Path) -> None:
    proc = runs.verify(path)
    assert proc.returncode == 0 and proc.stdout.startswith("OK "), proc.stdout + proc.stderr


def hostnames(path: Path) -> List[str]:
    with h5py.File(path, "r") as f:
        return [n.decode() if isinstance(n, bytes) else str(n) for n in f["/machines/hostname"][()]]


def assert_completed(records: List[Dict[str, str]], what: str, output: str) -> None:
    bad = [r for r in records if (r.get("JobState"), r.get("ExitCode")) != ("COMPLETED", "0:0")]
    assert not bad, (f"{what}: " + ", ".join(f"{r.get('JobId')} {r.get('JobState')} {r.get('ExitCode')}"
                                              for r in bad) + "\n" + output)


# ---- the cluster as up leaves it ----------------------------------------------------------------

def test_up_prints_the_slurm_conf_and_every_node_idle(cluster: Cluster) -> None:
    assert f"export SLURM_CONF={cluster.conf}\n" in cluster.up_output, cluster.up_output
    lines = cluster.ok([SCRIPT, "status"]).splitlines()
    assert len(lines) == HOSTS, lines
    for k, line in enumerate(lines, start=1):
        m = STATUS_LINE.match(line)
        assert m, line
        assert (m.group(1), m.group(2), m.group(4)) == (f"h{k}", f"{SUBNET_PREFIX}.{k}", "idle"), line
        whole, frac = m.group(3).lstrip("-").split(".")
        ns = int(whole) * 10**9 + int(frac)
        assert (-ns if m.group(3).startswith("-") else ns) == emulated.planted_offset_ns(k), line
    assert [ln for ln in cluster.up_output.splitlines() if STATUS_LINE.match(ln)] == lines


def test_sinfo_lists_four_idle_nodes(cluster: Cluster) -> None:
    print(cluster.ok(["sinfo"]))
    nodes = [ln.split() for ln in cluster.ok(["sinfo", "--noheader", "--Node", "--format=%N %T %c"]).splitlines()]
    assert nodes == [[f"h{k}", "idle", str(CPUS)] for k in range(1, HOSTS + 1)], nodes


def test_a_second_up_changes_nothing(cluster: Cluster) -> None:
    before = cluster.daemon_pids()
    up = cluster.script("up", "--hosts", str(HOSTS), "--slurm")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "already up" in up.stdout and f"export SLURM_CONF={cluster.conf}" in up.stdout, up.stdout
    assert cluster.daemon_pids() == before


def test_each_task_runs_in_its_host(cluster: Cluster) -> None:
    """srun from here (a login node) spans the hosts; each task has its host's hostname, time
    namespace and address, and the TaskProlog's MPI transport settings. Client commands work inside
    a host too."""
    out = cluster.ok(["srun", "-N", str(HOSTS), "-n", str(HOSTS), "sh", "-c",
                      'echo "$(hostname) $(readlink /proc/self/ns/time) $OMPI_MCA_btl_tcp_if_include '
                      '$OMPI_MCA_pml $(ip -4 -o addr show dev eth0 | awk \'{print $4}\')"'])
    seen = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines()}
    expected = {name: [tns, f"{SUBNET_PREFIX}.0/24", "ob1", f"{addr}/24"]
                for name, addr, _, _, _, _, tns in cluster.hosts_file()}
    assert seen == expected, out
    inside = cluster.ok([SCRIPT, "exec", "h3", "sinfo", "--noheader", "--Node", "--format=%N"])
    assert inside.split() == [f"h{k}" for k in range(1, HOSTS + 1)]


# ---- the slurm/ scripts across the nodes --------------------------------------------------------

@pytest.fixture(scope="module")
def run16(cluster: Cluster):
    """slurm/clockbench.sbatch as a 16-task job on 4 nodes, submitted with sbatch --wait."""
    started = time.monotonic()
    proc = cluster.run(["sbatch", "--parsable", "--wait", "-N", str(HOSTS), "-n", "16",
                        SLURM_DIR / "clockbench.sbatch", *QUICK, "--seed", "11"], timeout=JOB_TIMEOUT)
    waited = time.monotonic() - started
    job = proc.stdout.strip().split(";")[0]
    assert job.isdigit(), proc.stdout + proc.stderr
    record = cluster.wait(job)[0]
    output = cluster.output(f"clockbench-{job}.out")
    print(f"16-task job {job}: sbatch --wait returned after {waited:.1f} s; RunTime {record.get('RunTime')}, "
          f"NodeList {record.get('NodeList')}")
    return job, proc, record, output


def test_16_tasks_on_4_nodes_complete(run16) -> None:
    job, proc, record, output = run16
    assert proc.returncode == 0, f"sbatch --wait: exit {proc.returncode}\n{proc.stderr}\n{output}"
    assert_completed([record], "16-task job", output)
    assert record.get("NodeList") == f"h[1-{HOSTS}]" and record.get("NumTasks") == "16", record
    assert "launcher: srun --mpi=pmix" in output, output


def test_16_tasks_file_verifies_and_records_h1_to_h4(run16, cluster: Cluster) -> None:
    job, _, _, output = run16
    path = cluster.results / f"clockbench-{job}" / "run.h5"
    assert path.is_file(), output
    assert f"OK {path}" in output, output  # the job verified its file
    verify(path)
    assert hostnames(path) == [f"h{k}" for k in range(1, HOSTS + 1) for _ in range(4)]
    with h5py.File(path, "r") as f:
        assert int(f.attrs["n_machines"]) == 16
        assert list(f["/machines/rank"][()]) == list(range(16))


def test_sweep_across_the_nodes(cluster: Cluster) -> None:
    """Two array tasks of 8 tasks on 2 nodes each: every file verifies and has 4 ranks on each of
    two hosts."""
    plan = cluster.work / "across.plan"
    plan.write_text("# two configurations of 8 machines\n"
                    "range=1..6 n=8 topology=ring seed=6 duration=4 speedup=4\n"
                    "rates=1,2,3,4,5,6,1,2 p_internal=0.5 seed=7 duration=4 speedup=4\n")
    job = cluster.sbatch(["--array=1-2", "-N", "2", "-n", "8", SLURM_DIR / "sweep.sbatch", plan])
    records = cluster.wait(job)
    assert sorted(r["ArrayTaskId"] for r in records) == ["1", "2"]
    folder = cluster.results / f"clockbench-sweep-{job}"
    for r in records:
        k = r["ArrayTaskId"]
        output = cluster.output(f"clockbench-sweep-{job}_{k}.out")
        assert_completed([r], f"sweep task {k}", output)
        path = folder / f"run-{k}.h5"
        verify(path)
        counts = Counter(hostnames(path))
        assert sorted(counts.values()) == [4, 4] and set(counts) <= {f"h{j}" for j in range(1, HOSTS + 1)}, counts
        print(f"sweep task {k}: {r.get('NodeList')}, ranks per host {dict(counts)}")


def test_scaling_study_across_the_nodes(cluster: Cluster) -> None:
    """slurm/scaling.sh at N = 8 and 16, full and ring: 8 tasks fill 2 nodes, 16 all 4."""
    proc = cluster.run([SLURM_DIR / "scaling.sh", "--n", "8,16", "--", *QUICK, "--seed", "11"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ids = re.search(r"^job ids: (.*)$", proc.stdout, re.M).group(1).split()
    report = ids[-1]
    records = {job: cluster.wait(job)[0] for job in ids}
    study = cluster.results / f"clockbench-scaling-{report}"
    out = study / f"clockbench-scaling-{report}.out"
    assert out.is_file(), proc.stdout
    outputs = "\n".join(p.read_text() for p in sorted(study.glob("*.out")))
    assert_completed(list(records.values()), "scaling study", outputs)
    files = sorted(study.glob("*.h5"))
    assert [p.name for p in files] == sorted(f"{t}-n{n}.h5" for t in ("full", "ring") for n in (8, 16)), files
    for p in files:
        verify(p)
        counts = Counter(hostnames(p))
        n = int(p.stem.split("-n")[1])
        assert sorted(counts.values()) == [4] * (n // 4), (p.name, counts)
    md = (study / "scaling.md").read_text()
    for t in ("full", "ring"):
        for n in (8, 16):
            assert re.search(rf"^\| {t} \| {n} \|", md, re.M), md


# ---- recovery and down (last: they end the module's cluster) ------------------------------------

def test_status_and_up_after_killed_daemons(cluster: Cluster) -> None:
    """slurmctld and h2's slurmd SIGKILLed: status says Slurm is broken, up --slurm restarts it and
    jobs run across the nodes again."""
    pids = cluster.daemon_pids()
    os.kill(pids["slurmctld"], 9)
    os.kill(pids["slurmd-h2"], 9)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pids[d]}/status").exists() and "State:\tZ" not in
              Path(f"/proc/{pids[d]}/status").read_text() for d in ("slurmctld", "slurmd-h2")):
        assert time.monotonic() < deadline, "the killed daemons do not go away"
        time.sleep(0.05)
    status = cluster.script("status")
    assert status.returncode == 1, status.stdout + status.stderr
    assert "emulated-cluster: error: Slurm is broken" in status.stderr, status.stderr
    assert re.search(r"^h2 \S+ offset_s=\S+ slurm=no-slurmd$", status.stdout, re.M), status.stdout
    up = cluster.script("up", "--hosts", str(HOSTS), "--slurm", timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "Slurm is broken" in up.stdout and "restarting it" in up.stdout, up.stdout
    assert f"export SLURM_CONF={cluster.conf}" in up.stdout
    after = cluster.daemon_pids()
    assert not set(after.values()) & set(pids.values())
    nodes = [ln.split() for ln in cluster.ok(["sinfo", "--noheader", "--Node", "--format=%N %T"]).splitlines()]
    assert nodes == [[f"h{k}", "idle"] for k in range(1, HOSTS + 1)], nodes
    out = cluster.ok(["srun", "-N", str(HOSTS), "-n", str(HOSTS), "hostname"])
    assert sorted(out.split()) == [f"h{k}" for k in range(1, HOSTS + 1)]


def test_down_stops_every_daemon_and_leaves_nothing(cluster: Cluster) -> None:
    pids = cluster.daemon_pids()
    port = int(cluster.env["CLOCKBENCH_CLUSTER_SLURM_PORT"])
    cluster.ok([SCRIPT, "down"], timeout=180)
    for name, pid in pids.items():
        status = Path(f"/proc/{pid}/status")
        alive = status.exists() and "State:\tZ" not in status.read_text()
        assert not alive or Path(f"/proc/{pid}/comm").read_text().strip() != name.split("-")[0], f"{name} ({pid}) still runs"
    assert not cluster.state.exists()
    assert bridge_links() == []
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))  # slurmctld's port is free again
    proc = cluster.script("status")
    assert proc.returncode == 1 and "not up" in proc.stderr
    assert "down" in cluster.ok([SCRIPT, "down"])
