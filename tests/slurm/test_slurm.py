"""The slurm/ scripts on a real one-node Slurm 22.05 cluster that this module starts itself
(tests/slurm/cluster.sh, in its own folder and on its own ports), then stops. Each script is
submitted with small, sped-up parameters; jobs are awaited with a bound through scontrol (there
is no accounting, so no sacct); job states, exit codes, job outputs and every file (verify) are
checked. Also: every shell script of the project passes shellcheck."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import h5py
import pytest

import runs

ROOT = runs.ROOT
CLUSTER_SH = ROOT / "tests" / "slurm" / "cluster.sh"
SLURM_DIR = ROOT / "slurm"
SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# Small, sped-up runs: 10 model seconds in half a second of wall time.
QUICK = ["--duration", "10", "--speedup", "20"]
JOB_TIMEOUT = 180


def shell_scripts() -> List[Path]:
    """Every shell script of the project: slurm/, tests/slurm/, scripts/, bench/run, .ci/run."""
    files = [*SLURM_DIR.glob("*.sh"), *SLURM_DIR.glob("*.sbatch"), *(ROOT / "tests" / "slurm").glob("*.sh"),
             *(p for p in (ROOT / "scripts").iterdir() if p.is_file())]
    files += [p for p in (ROOT / "bench" / "run", ROOT / ".ci" / "run") if p.is_file()]
    return sorted(files)


def test_shellcheck() -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is not installed (scripts/install-deps installs it)")
    scripts = shell_scripts()
    assert any(p.suffix == ".sbatch" for p in scripts)
    # -x follows `source` (paths in the scripts' directives are relative to the checkout);
    # scripts/mpi-env is sourced, without a shebang, hence --shell=bash.
    proc = subprocess.run(["shellcheck", "-x", "--shell=bash", *map(str, scripts)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# The scripts' own checks, which run before anything is submitted or created (no cluster needed):
# script, arguments, environment, words of the one error line.
SCRIPT_CASES = [
    ("no task count", "clockbench.sbatch", [], {}, "the number of machines is unknown"),
    ("task count not a number", "clockbench.sbatch", [], {"CLOCKBENCH_NTASKS": "abc"},
     "the number of machines must be a whole number, got 'abc'"),
    ("one task", "clockbench.sbatch", [], {"CLOCKBENCH_NTASKS": "1"}, "N=1 machine(s): clockbench needs at least 2"),
    ("no binary", "clockbench.sbatch", [], {"CLOCKBENCH_NTASKS": "3", "CLOCKBENCH_BIN": "/nonexistent/clockbench"},
     "no clockbench binary at /nonexistent/clockbench"),
    ("unknown launcher", "clockbench.sbatch", [], {"CLOCKBENCH_NTASKS": "3", "CLOCKBENCH_LAUNCHER": "bogus"},
     "CLOCKBENCH_LAUNCHER must be srun, mpirun or auto, got 'bogus'"),
    ("sweep without a plan", "sweep.sbatch", [], {"CLOCKBENCH_NTASKS": "3"}, "no plan file"),
    ("sweep outside an array", "sweep.sbatch", ["PLAN"], {"CLOCKBENCH_NTASKS": "3"}, "not an array job"),
    ("sweep index past the plan", "sweep.sbatch", ["PLAN"], {"CLOCKBENCH_NTASKS": "3", "SLURM_ARRAY_TASK_ID": "20"},
     "array index 20"),
    ("sweep without the analysis", "sweep.sbatch", ["PLAN"],
     {"CLOCKBENCH_NTASKS": "3", "SLURM_ARRAY_TASK_ID": "1", "CLOCKBENCH_VERIFY": "0",
      "CLOCKBENCH_ANALYZE": "/nonexistent/clockbench-analyze"},
     "no clockbench-analyze at /nonexistent/clockbench-analyze (the sweep reads its plan with it, even with "
     "CLOCKBENCH_VERIFY=0)"),
    ("sweep with a bad plan line", "sweep.sbatch", ["BADPLAN"], {"CLOCKBENCH_NTASKS": "3", "SLURM_ARRAY_TASK_ID": "2"},
     "line 4: 'rates=1,2 colour=red': unknown key 'colour' (known: rates range fractional n p_internal"),
    ("scaling --n without a value", "scaling.sh", ["--n"], {}, "--n needs a value"),
    ("scaling N not a number", "scaling.sh", ["--n", "3,x"], {}, "N must be whole numbers, got 'x'"),
    ("scaling unknown topology", "scaling.sh", ["--topologies", "star"], {}, "topology must be full, ring or random:K"),
    ("scaling odd random K", "scaling.sh", ["--topologies", "random:3"], {}, "random:3: K must be even"),
    ("scaling random K too dense", "scaling.sh", ["--n", "3,8", "--topologies", "random:4"], {},
     "random:4 at N=3: random:K needs K <= N/2"),
    ("scaling unknown option", "scaling.sh", ["--bogus"], {}, "unknown option '--bogus'"),
    ("scaling with --rates", "scaling.sh", ["--", "--rates", "1,2,6"], {}, "--rates fixes every machine's rate"),
    ("scaling with -o", "scaling.sh", ["--", "-o", "x.h5"], {}, "the study names its files itself"),
    ("scaling bad study name", "scaling.sh", ["--name", "a b"], {}, "the study name may hold"),
]


@pytest.mark.parametrize("name,script,args,extra,words", SCRIPT_CASES, ids=[c[0] for c in SCRIPT_CASES])
def test_script_refuses_bad_parameters(name: str, script: str, args: List[str], extra: Dict[str, str], words: str,
                                       tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SALLOC_", "CLOCKBENCH_"))}
    env.update(CLOCKBENCH_RESULTS=str(tmp_path / "results"), **extra)
    args = [str(SLURM_DIR / "sweep-example.plan") if a == "PLAN" else a for a in args]
    if "BADPLAN" in args:  # beside the test's folder, which must stay empty
        bad = tmp_path.parent / f"{tmp_path.name}.plan"
        bad.write_text("rates=1,2 seed=1\n\n# the second configuration:\nrates=1,2 colour=red\n")
        args = [str(bad) if a == "BADPLAN" else a for a in args]
    # A refusal comes before any job: the timeout only catches a script that went on anyway.
    proc = subprocess.run([str(SLURM_DIR / script), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=runs.HANG_S, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    errors = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(errors) == 1 and errors[0].startswith(f"{script}: error: ") and words in errors[0], proc.stderr
    assert list(tmp_path.iterdir()) == [], "a refused script must not create anything"




class Cluster:
    """The running test cluster: the environment to submit with and a folder to submit from."""

    def __init__(self, state: Path, env: Dict[str, str], work: Path) -> None:
        self.state, self.env, self.work = state, env, work

    def run(self, cmd: Sequence[str], env: Optional[Dict[str, str]] = None, timeout: float = 60,
            cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(c) for c in cmd], env={**self.env, **(env or {})}, cwd=cwd or self.work,
                              capture_output=True, text=True, timeout=timeout)

    def sbatch(self, args: Sequence[str], env: Optional[Dict[str, str]] = None) -> str:
        proc = self.run(["sbatch", "--parsable", *args], env)
        assert proc.returncode == 0, f"sbatch {args} failed: {proc.stderr}"
        return proc.stdout.strip().split(";")[0]

    def jobs(self, job: str) -> List[Dict[str, str]]:
        """scontrol's record of a job, one dict per job (per array task for an array)."""
        proc = self.run(["scontrol", "show", "job", "--oneliner", job])
        assert proc.returncode == 0, f"scontrol show job {job}: {proc.stderr}"
        return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in proc.stdout.splitlines() if line.strip()]

    def wait(self, job: str, timeout: float = JOB_TIMEOUT) -> List[Dict[str, str]]:
        """Waits (bounded) until every job of `job` has ended; returns their records."""
        return runs.wait_for_jobs(self.jobs, self.run, job, timeout)

    def output(self, pattern: str) -> str:
        """The text of the one job output file matching `pattern` in the submit folder."""
        found = sorted(self.work.glob(pattern))
        assert len(found) == 1, f"expected one output {pattern}, found {found}"
        return found[0].read_text()

    @property
    def results(self) -> Path:
        return Path(self.env["CLOCKBENCH_RESULTS"])


@pytest.fixture(scope="module")
def cluster():
    if not all(shutil.which(x, path=SBIN_PATH) for x in ("slurmctld", "slurmd", "munged", "sbatch")):
        pytest.skip("Debian's slurm-wlm and munge are not installed (scripts/install-deps installs them)")
    # Not under pytest's tmp folder: munged (user munge) must reach its socket through every parent.
    state = Path(tempfile.mkdtemp(prefix="clockbench-slurm-test-", dir="/tmp"))
    state.chmod(0o755)
    work = state / "submit"
    work.mkdir()
    # A clean environment: no Slurm job of an outer cluster leaks into the submissions.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SALLOC_"))}
    env.update(PATH=env.get("PATH", "") + ":" + SBIN_PATH, CLOCKBENCH_SLURM_DIR=str(state / "cluster"),
               CLOCKBENCH_SLURM_PORT=str(runs.free_port_pair(17017, 17999)), CLOCKBENCH_SLURM_CPUS="72", SLURM_CONF=str(state / "cluster" / "slurm.conf"),
               CLOCKBENCH_HOME=str(ROOT), CLOCKBENCH_BIN=str(runs.BIN), CLOCKBENCH_ANALYZE=str(runs.ANALYZE),
               CLOCKBENCH_RESULTS=str(state / "results"))
    # 72 CPUs: the 64-rank job runs beside the two 3-rank time-limit jobs (time_limited).
    c = Cluster(state, env, work)
    up = c.run([CLUSTER_SH, "up"], timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield c
    finally:
        c.run([CLUSTER_SH, "down"], timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def assert_ok(records: List[Dict[str, str]], what: str, c: Cluster, output: str) -> None:
    bad = [r for r in records if (r.get("JobState"), r.get("ExitCode")) != ("COMPLETED", "0:0")]
    assert not bad, (f"{what}: " + ", ".join(f"{r.get('JobId')} {r.get('JobState')} {r.get('ExitCode')}"
                                              for r in bad) + "\n" + output)


def assert_failed(records: List[Dict[str, str]], exit_code: str) -> None:
    for r in records:
        assert (r.get("JobState"), r.get("ExitCode")) == ("FAILED", exit_code), r


def verify(path: Path) -> None:
    proc = runs.verify(path)
    assert proc.returncode == 0 and proc.stdout.startswith("OK "), proc.stdout + proc.stderr


def one_run(c: Cluster, n: int, *args: str, env: Optional[Dict[str, str]] = None):
    """Submits slurm/clockbench.sbatch on n tasks; returns (job id, record, output, file)."""
    job = c.sbatch(["-n", str(n), str(SLURM_DIR / "clockbench.sbatch"), *args], env)
    records = c.wait(job)
    output = c.output(f"clockbench-{job}.out")
    assert_ok(records, f"{n}-rank run", c, output)
    path = c.results / f"clockbench-{job}" / "run.h5"
    assert path.is_file(), output
    verify(path)
    assert f"OK {path}" in output  # the job verified its file too
    return job, records[0], output, path


def test_second_up_is_harmless(cluster: Cluster) -> None:
    proc = cluster.run([CLUSTER_SH, "up"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "already running" in proc.stdout
    status = cluster.run([CLUSTER_SH, "status"])
    assert status.returncode == 0 and "idle" in status.stdout, status.stdout


# Slurm's time limit: a job of --time=1 (a minute, the least Slurm takes) whose run would last
# 10 minutes, and one warned with --signal=TERM@40 ahead of that limit. slurmctld enforces limits
# and sends --signal warnings from its periodic check (its period: docs/measurements.md, "The local
# Slurm cluster"), so the limit job ends 60 to 95 s after it starts: SIGTERM to every process of the
# job, SIGKILL KillWait (5 s, tests/slurm/cluster.sh) later. Both are submitted early and checked
# near the end of the module.
LIMIT_S, KILL_WAIT_S, CHECK_PERIOD_S = 60, 5, 35
LONG_RUN = ["--rates", "1,2,6", "--duration", "600", "--speedup", "1", "--seed", "9"]


@pytest.fixture(scope="module")
def time_limited(cluster: Cluster) -> Dict[str, str]:
    script = str(SLURM_DIR / "clockbench.sbatch")
    return {"limit": cluster.sbatch(["-n", "3", "-t", "1", "-J", "limit", script, *LONG_RUN]),
            "warned": cluster.sbatch(["-n", "3", "-t", "1", "--signal=TERM@40", "-J", "warned", script, *LONG_RUN])}


def test_time_limited_jobs_start(time_limited: Dict[str, str], cluster: Cluster) -> None:
    for job in time_limited.values():
        assert cluster.jobs(job)[0].get("JobState") in {"PENDING", "RUNNING"}


@pytest.fixture(scope="module")
def run16(cluster: Cluster):
    return one_run(cluster, 16, *QUICK, "--topology", "ring")


def test_16_ranks_under_srun_pmix(run16) -> None:
    _, _, output, path = run16
    assert "launcher: srun --mpi=pmix" in output
    with h5py.File(path, "r") as f:
        assert int(f.attrs["n_machines"]) == 16 and f.attrs["topology"] == "ring"


def test_64_ranks(cluster: Cluster) -> None:
    _, _, output, path = one_run(cluster, 64, *QUICK)
    with h5py.File(path, "r") as f:
        assert int(f.attrs["n_machines"]) == 64


def test_file_records_the_slurm_job(run16) -> None:
    """Needs clockbench to record the Slurm job (root attributes slurm_job_id, ...)."""
    job, record, _, path = run16
    with h5py.File(path, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}
        hosts = {h.decode() if isinstance(h, bytes) else str(h) for h in f["machines/hostname"][:]}
    assert attrs.get("slurm_job_id") == job
    assert attrs.get("slurm_array_task_id") == ""
    assert attrs.get("slurm_job_name") == "clockbench"
    assert hosts <= {socket.gethostname(), socket.gethostname().split(".")[0], record.get("NodeList")}, hosts


def test_arguments_from_the_environment(cluster: Cluster) -> None:
    _, _, output, path = one_run(cluster, 3, env={"CLOCKBENCH_ARGS": "--rates 1,2,6 --seed 5 " + " ".join(QUICK)})
    assert "rates=1,2,6" in output and "seed=5" in output


def test_falls_back_to_mpirun_when_srun_cannot_launch_mpi(cluster: Cluster) -> None:
    # pmi2 does not start Debian's Open MPI (README.md, "Slurm"): the job must notice and use mpirun.
    _, _, output, _ = one_run(cluster, 3, *QUICK, env={"CLOCKBENCH_SRUN_MPI": "pmi2"})
    assert "launcher: mpirun inside the allocation, because srun --mpi=pmi2 could not start" in output


@pytest.mark.parametrize("launch,size", [("srun --ntasks=4 mpirun -np 1", 1), ("mpirun -np 2", 2)])
def test_refuses_a_world_size_other_than_slurm_ntasks(cluster: Cluster, launch: str, size: int) -> None:
    """Needs clockbench's check of SLURM_NTASKS: N single-rank jobs (or too few ranks) must fail
    loudly and write nothing."""
    out = cluster.results / f"mismatch-{size}.h5"
    job = cluster.sbatch(["-n", "4", "-J", f"mismatch{size}", "--output=%x-%j.out", "--wrap",
                          f"{launch} {runs.BIN} {' '.join(QUICK)} -o {out}"])
    assert_failed(cluster.wait(job), "2:0")
    text = cluster.output(f"mismatch{size}-{job}.out")
    assert f"clockbench: error: MPI world size {size} differs from SLURM_NTASKS=4:" in text, text
    assert not list(cluster.results.glob(f"mismatch-{size}.h5*"))


def test_one_machine_fails_early(cluster: Cluster) -> None:
    job = cluster.sbatch(["-n", "1", str(SLURM_DIR / "clockbench.sbatch"), *QUICK])
    assert_failed(cluster.wait(job), "2:0")
    text = cluster.output(f"clockbench-{job}.out")
    assert "clockbench.sbatch: error: N=1 machine(s): clockbench needs at least 2" in text, text
    assert "running:" not in text


def test_unwritable_results_folder_fails_early(cluster: Cluster) -> None:
    blocker = cluster.work / "not-a-folder"
    blocker.write_text("a file where the results folder should be\n")
    job = cluster.sbatch(["-n", "2", str(SLURM_DIR / "clockbench.sbatch"), *QUICK],
                         env={"CLOCKBENCH_RESULTS": str(blocker / "results")})
    assert_failed(cluster.wait(job), "2:0")
    text = cluster.output(f"clockbench-{job}.out")
    assert f"clockbench.sbatch: error: cannot create the results folder {blocker}/results/clockbench-{job}" in text
    assert "running:" not in text


def test_sweep_runs_each_line_of_the_plan(cluster: Cluster) -> None:
    plan = cluster.work / "three.plan"
    plan.write_text("# three configurations\n"
                    "rates=1,2,6 p_internal=0.7 topology=full seed=5 duration=10 speedup=20\n\n"
                    "range=1..6 n=4 topology=ring seed=6 duration=10 speedup=20  # a ring of four\n"
                    "rates=2,3 p_internal=0.4 seed=7 duration=10 speedup=20\n")
    job = cluster.sbatch(["--array=1-3", "-n", "4", str(SLURM_DIR / "sweep.sbatch"), str(plan)])
    records = cluster.wait(job)
    assert sorted(r["ArrayTaskId"] for r in records) == ["1", "2", "3"]
    folder = cluster.results / f"clockbench-sweep-{job}"
    for r in records:
        k = r["ArrayTaskId"]
        output = cluster.output(f"clockbench-sweep-{job}_{k}.out")
        assert_ok([r], f"sweep task {k}", cluster, output)
        verify(folder / f"run-{k}.h5")
    with h5py.File(folder / "run-2.h5", "r") as f:
        assert (int(f.attrs["n_machines"]), f.attrs["topology"], int(f.attrs["seed"])) == (4, "ring", 6)
    with h5py.File(folder / "run-3.h5", "r") as f:
        assert int(f.attrs["n_machines"]) == 2 and float(f.attrs["p_internal"]) == 0.4
    assert sorted(p.name for p in folder.glob("*.h5")) == ["run-1.h5", "run-2.h5", "run-3.h5"]


def test_sweep_fails_the_malformed_line_only(cluster: Cluster) -> None:
    plan = cluster.work / "bad.plan"
    plan.write_text("rates=1,2,6 duration=10 speedup=20\nrates=1,2,x duration=10\nn=2 duration=10 speedup=20\n")
    job = cluster.sbatch(["--array=1-3", "-n", "3", str(SLURM_DIR / "sweep.sbatch"), str(plan)])
    by_task = {r["ArrayTaskId"]: r for r in cluster.wait(job)}
    assert_failed([by_task["2"]], "2:0")
    text = cluster.output(f"clockbench-sweep-{job}_2.out")
    assert f"sweep.sbatch: error: {plan} line 2: 'rates=1,2,x duration=10': rates must be" in text, text
    for k in ("1", "3"):
        assert_ok([by_task[k]], f"task {k}", cluster, cluster.output(f"clockbench-sweep-{job}_{k}.out"))
        verify(cluster.results / f"clockbench-sweep-{job}" / f"run-{k}.h5")


def test_sweep_without_its_plan_fails_early(cluster: Cluster) -> None:
    job = cluster.sbatch(["--array=1-2", "-n", "2", str(SLURM_DIR / "sweep.sbatch"), "missing.plan"])
    records = cluster.wait(job)
    assert len(records) == 2
    assert_failed(records, "2:0")
    for r in records:
        text = cluster.output(f"clockbench-sweep-{job}_{r['ArrayTaskId']}.out")
        assert "sweep.sbatch: error: plan file 'missing.plan' not found" in text, text


def test_scaling_study(cluster: Cluster) -> None:
    """Needs `clockbench-analyze scaling` (analysis/clockbench/documents/scaling.py registered in cli.py)."""
    proc = cluster.run([SLURM_DIR / "scaling.sh", "--n", "3,6,12", "--", *QUICK, "--seed", "11"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ids = re.search(r"^job ids: (.*)$", proc.stdout, re.M).group(1).split()
    report = ids[-1]
    records = {job: cluster.wait(job)[0] for job in ids}
    study = cluster.results / f"clockbench-scaling-{report}"
    out = (study / f"clockbench-scaling-{report}.out")
    assert out.is_file(), proc.stdout
    assert_ok(list(records.values()), "scaling study", cluster, out.read_text())
    # The analysis job waited for every run (scontrol's times are ISO 8601: they sort as text).
    assert all(records[report]["StartTime"] >= records[j]["EndTime"] for j in ids[:-1]), records
    files = sorted(study.glob("*.h5"))
    assert [p.name for p in files] == sorted(f"{t}-n{n}.h5" for t in ("full", "ring") for n in (3, 6, 12))
    for p in files:
        verify(p)
    md = (study / "scaling.md").read_text()
    assert (study / "scaling.html").is_file()
    for t in ("full", "ring"):
        for n in (3, 6, 12):
            assert re.search(rf"^\| {t} \| {n} \|", md, re.M), md
    assert "drift_max_th" in out.read_text()


def check_stopped_job(c: Cluster, job: str, name: str, state: str, exit_code: str) -> float:
    """The job ended as `state`; its file verifies, marked completed=0 by SIGTERM; returns end_s.
    The script outlives Slurm's SIGTERM, verifies the file and exits with clockbench's 128 + 15."""
    record = c.wait(job, timeout=LIMIT_S + CHECK_PERIOD_S + 3 * KILL_WAIT_S + 60)[0]
    output = c.output(f"{name}-{job}.out")
    assert (record.get("JobState"), record.get("ExitCode")) == (state, exit_code), f"{record}\n{output}"
    path = c.results / f"{name}-{job}" / "run.h5"
    assert path.is_file(), output
    verify(path)
    assert f"OK {path}" in output and "partial: completed=0" in output, output  # the job verified it
    assert not list(path.parent.glob("*.partial"))
    with h5py.File(path, "r") as f:
        assert int(f.attrs["completed"]) == 0
        assert re.fullmatch(r"SIGTERM on rank [0-2]", f.attrs["stop_reason"]), f.attrs["stop_reason"]
        end_s = float(f.attrs["end_s"])
    print(f"{name}: {state} {exit_code}, stopped at model (= wall) t {end_s:.2f} s of the 60 s limit")
    return end_s


def test_time_limit_expiring_leaves_a_verified_stopped_file(time_limited: Dict[str, str], cluster: Cluster) -> None:
    end_s = check_stopped_job(cluster, time_limited["limit"], "limit", "TIMEOUT", "143:0")
    # speedup 1: model time is wall time. The run went on to the limit, and stopped within the limit's
    # check period of it (it cannot have stopped before the limit).
    assert LIMIT_S - 2 <= end_s <= LIMIT_S + CHECK_PERIOD_S, end_s


def test_signal_ahead_of_the_time_limit_leaves_a_verified_stopped_file(time_limited: Dict[str, str],
                                                                       cluster: Cluster) -> None:
    end_s = check_stopped_job(cluster, time_limited["warned"], "warned", "FAILED", "143:0")
    assert end_s < LIMIT_S, end_s  # stopped by the warning, before the limit


def test_scaling_study_rejects_n_below_2(cluster: Cluster) -> None:
    proc = cluster.run([SLURM_DIR / "scaling.sh", "--n", "1,3"])
    assert proc.returncode == 2
    assert "scaling.sh: error: N=1: clockbench needs at least 2 machines" in proc.stderr
    assert cluster.run(["squeue", "--noheader"]).stdout.strip() == ""  # nothing was submitted


def test_down_then_up(cluster: Cluster) -> None:
    down = cluster.run([CLUSTER_SH, "down"], timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert cluster.run([CLUSTER_SH, "status"]).returncode != 0
    up = cluster.run([CLUSTER_SH, "up"], timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    one_run(cluster, 2, *QUICK)
