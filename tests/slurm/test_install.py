"""`cmake --install` of the build under test into a temporary prefix (README.md, "Installing"): the
installed tree, the installed program under mpirun, the analysis finding the file format's table of
the installation, an installed Slurm script on a local Slurm of this module's own (the fixtures of
test_slurm.py), and the order in which the scripts and `experiment` find clockbench. Also the build
options: a configuration without tests and benchmarks with GoogleTest and Google Benchmark hidden,
-Werror off by default, the presets, and the options' old names."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

import runs
from test_slurm import Cluster, assert_ok, cluster, verify  # noqa: F401  (cluster: this module's own Slurm)

ROOT = runs.ROOT
BUILD = runs.BIN.parent  # clockbench is built at the top of its build folder
# The system's programs, without /usr/local/bin, where `cmake --install` puts clockbench by default:
# a user's own installation must not stand in for the one under test.
SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
# A prefix with a blank and a quote: the paths written into the installed scripts must survive both.
PREFIX_NAME = "pre fix's"
JOB_SCRIPTS = ("clockbench.sbatch", "sweep.sbatch", "scaling-report.sbatch")


def cache(build: Path) -> Dict[str, str]:
    """NAME -> value of a build folder's CMakeCache.txt."""
    found = {}
    for line in (build / "CMakeCache.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_.+-]*):[A-Z]+=(.*)$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def clean_env(**extra: str) -> Dict[str, str]:
    """The environment without any clockbench, Slurm or PATH setting of the caller; then `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CLOCKBENCH_", "SLURM_", "SBATCH_", "SALLOC_")) and k != "PATH"}
    env["PATH"] = SYSTEM_PATH
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    # Not under pytest's tmp folder: the Slurm jobs (as root) and munged must reach it; outside the
    # checkout, so that nothing is found by searching upwards from it.
    base = Path(tempfile.mkdtemp(prefix="clockbench-install-test-", dir="/tmp"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def prefix(workdir: Path) -> Path:
    """The build under test installed into workdir/PREFIX_NAME, as a user or packager would."""
    assert (BUILD / "cmake_install.cmake").is_file(), f"{BUILD} is not the CMake build folder of {runs.BIN}"
    assert shutil.which("clockbench", path=SYSTEM_PATH) is None, "a clockbench on the system PATH spoils the test"
    p = workdir / PREFIX_NAME
    proc = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(p)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return p


def test_installed_tree(prefix: Path) -> None:
    home = prefix / "share" / "clockbench"
    programs = ["clockbench"]
    benchmarks = cache(BUILD)["CLOCKBENCH_BUILD_BENCHMARKS"].upper() in {"ON", "1", "TRUE", "YES"}
    if benchmarks:  # the build under test decides; scripts/test builds them
        programs += ["clockbench_bench", "clockbench_null_baseline"]
    print(f"benchmark programs built, so checked: {benchmarks}")
    for name in programs:
        assert os.access(prefix / "bin" / name, os.X_OK), f"bin/{name} is not installed"
    # Every Slurm script, with the checkout's modes; the job scripts and lib.sh name the installation.
    slurm = sorted(p.name for p in (ROOT / "slurm").iterdir() if p.is_file())
    assert sorted(p.name for p in (home / "slurm").iterdir()) == slurm
    for name in slurm:
        src, dst = ROOT / "slurm" / name, home / "slurm" / name
        assert os.access(dst, os.X_OK) == os.access(src, os.X_OK), f"slurm/{name}: mode {oct(dst.stat().st_mode)}"
        if name in JOB_SCRIPTS:
            quoted = str(home).replace("'", "'\\''")
            assert f"\ncb_installed_home='{quoted}'\n" in dst.read_text(), f"slurm/{name} does not name {home}"
        elif name == "lib.sh":
            quoted = str(prefix / "bin").replace("'", "'\\''")
            assert f"\ncb_installed_bindir='{quoted}'\n" in dst.read_text(), "slurm/lib.sh does not name bin/"
        else:
            assert dst.read_bytes() == src.read_bytes(), f"slurm/{name} differs from the checkout's"
        if name.endswith((".sh", ".sbatch")):
            syntax = subprocess.run(["bash", "-n", str(dst)], capture_output=True, text=True)
            assert syntax.returncode == 0, f"slurm/{name}: {syntax.stderr}"
    # The documents, the file format's table and the Open MPI settings the scripts source.
    docs = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert docs and sorted(p.name for p in (home / "docs").iterdir()) == docs
    for rel in ["README.md", "schema/clockbench-1.json", "scripts/mpi-env", *(f"docs/{d}" for d in docs)]:
        assert (home / rel).read_bytes() == (ROOT / rel).read_bytes(), f"share/clockbench/{rel}"
    # install_manifest.txt (what `xargs rm < install_manifest.txt` uninstalls) lists every file.
    listed = set((BUILD / "install_manifest.txt").read_text().split("\n"))
    installed = {str(p) for p in prefix.rglob("*") if p.is_file()}
    assert installed <= listed, sorted(installed - listed)


def test_staged_install_names_the_final_prefix(workdir: Path) -> None:
    """DESTDIR (packagers' staging): files land under it, the scripts name the prefix without it."""
    stage = workdir / "stage"
    proc = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", "/opt/clockbench"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "DESTDIR": str(stage)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    home = stage / "opt" / "clockbench" / "share" / "clockbench"
    assert (stage / "opt" / "clockbench" / "bin" / "clockbench").is_file()
    assert "\ncb_installed_home='/opt/clockbench/share/clockbench'\n" in (home / "slurm" / "clockbench.sbatch").read_text()
    assert "\ncb_installed_bindir='/opt/clockbench/bin'\n" in (home / "slurm" / "lib.sh").read_text()


@pytest.fixture(scope="module")
def installed_run(prefix: Path, workdir: Path) -> Path:
    """A short 2-rank run of the installed program, under mpirun, from outside the checkout."""
    out = workdir / "run.h5"
    env = {**clean_env(), **runs.MPI_ENV}
    proc = subprocess.run(["mpirun", "-np", "2", str(prefix / "bin" / "clockbench"), "--duration", "5", "--speedup",
                           "20", "--seed", "3", "-o", str(out)], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert runs.result_fields(proc.stdout)["output"] == str(out)
    return out


def test_installed_program_runs(installed_run: Path) -> None:
    verify(installed_run)


@pytest.fixture(scope="module")
def analysis_copy(workdir: Path) -> Path:
    """The analysis alone, apart from the checkout, without the table an installed package ships
    beside its reader (analysis/pyproject.toml): found neither there nor in a schema/ above it."""
    dst = workdir / "site"
    dst.mkdir()
    shutil.copytree(ROOT / "analysis" / "clockbench", dst / "clockbench",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "clockbench-1.json"))
    shutil.copy2(ROOT / "analysis" / "clockbench-analyze", dst / "clockbench-analyze")
    assert not (dst / "clockbench" / "file" / "clockbench-1.json").exists()
    return dst


def test_installed_analysis_reads_the_installations_table(prefix: Path, installed_run: Path,
                                                          analysis_copy: Path) -> None:
    analyze = ["/usr/bin/python3", str(analysis_copy / "clockbench-analyze"), "verify", str(installed_run)]
    assert not Path("/usr/share/clockbench").exists(), "a system installation spoils the test"
    # Found through the clockbench on PATH: <prefix>/bin/clockbench -> <prefix>/share/clockbench/schema.
    found = subprocess.run(analyze, env=clean_env(PATH=f"{prefix / 'bin'}:{SYSTEM_PATH}"), capture_output=True,
                           text=True, timeout=120)
    assert found.returncode == 0 and found.stdout.startswith("OK "), found.stdout + found.stderr
    # ... and through CLOCKBENCH_BIN.
    found = subprocess.run(analyze, env=clean_env(CLOCKBENCH_BIN=str(prefix / "bin" / "clockbench")),
                           capture_output=True, text=True, timeout=120)
    assert found.returncode == 0 and found.stdout.startswith("OK "), found.stdout + found.stderr
    # Without either, the analysis says where it looked.
    lost = subprocess.run(analyze, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert lost.returncode != 0
    assert "clockbench-1.json is in none of: " in lost.stderr and str(analysis_copy) in lost.stderr, lost.stderr


def header(script: Path, cwd: Path, env: Dict[str, str]) -> List[str]:
    """The header lines a Slurm script prints outside Slurm before it refuses N=1 (or a missing program)."""
    proc = subprocess.run([str(script)], cwd=cwd, env={**env, "CLOCKBENCH_NTASKS": "1"}, capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


def fake_program(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text("#!/bin/sh\nexit 0\n")
    p.chmod(0o755)
    return p


def test_slurm_scripts_find_the_programs_in_order(prefix: Path, workdir: Path) -> None:
    """CLOCKBENCH_BIN, else a clockbench on PATH, else the installation's (installed scripts) or the
    checkout's build (the checkout's scripts); clockbench-analyze likewise."""
    home = prefix / "share" / "clockbench"
    script = home / "slurm" / "clockbench.sbatch"
    on_path = fake_program(workdir / "path-bin", "clockbench")
    analyze_on_path = fake_program(workdir / "path-bin", "clockbench-analyze")
    chosen = fake_program(workdir / "chosen-bin", "clockbench")
    path = f"{on_path.parent}:{SYSTEM_PATH}"
    cases = [
        (script, workdir, clean_env(CLOCKBENCH_BIN=str(chosen), PATH=path),
         f"programs: {chosen} (from CLOCKBENCH_BIN), {analyze_on_path} (from PATH)"),
        (script, workdir, clean_env(PATH=path), f"programs: {on_path} (from PATH), {analyze_on_path} (from PATH)"),
        (script, workdir, clean_env(CLOCKBENCH_ANALYZE=str(analyze_on_path)),
         f"programs: {prefix / 'bin' / 'clockbench'} (from the installation), {analyze_on_path} (from CLOCKBENCH_ANALYZE)"),
        (ROOT / "slurm" / "clockbench.sbatch", workdir, clean_env(),
         f"programs: {ROOT / 'build' / 'clockbench'} (from the checkout), "
         f"{ROOT / 'analysis' / 'clockbench-analyze'} (from the checkout)"),
    ]
    for script_, cwd, env, expected in cases:
        lines = header(script_, cwd, env)
        assert f"clockbench.sbatch: {expected}" in lines, f"{script_} with {({k: v for k, v in env.items() if k.startswith('CLOCKBENCH')})}, " \
                                  f"PATH={env['PATH']}:\n" + "\n".join(lines)
    # The installed script keeps to its installation even when started inside a checkout.
    lines = header(script, ROOT, clean_env(PATH=path))
    assert any(ln.endswith(f", home {home}") for ln in lines), lines
    # An installed script without clockbench-analyze anywhere stops before running anything.
    proc = subprocess.run([str(script)], cwd=workdir, env=clean_env(CLOCKBENCH_NTASKS="2"), capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"clockbench.sbatch: error: no clockbench-analyze at {home}/analysis/"
                                   "clockbench-analyze: put it on PATH (install the analysis), set "
                                   "CLOCKBENCH_ANALYZE, or CLOCKBENCH_VERIFY=0 to skip the check"), proc.stderr


def test_experiment_finds_the_program_in_order(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clockbench.experiment.runner import default_binary
    on_path = fake_program(workdir / "runner-path", "clockbench")
    chosen = workdir / "elsewhere" / "clockbench"
    monkeypatch.setenv("PATH", f"{on_path.parent}:{SYSTEM_PATH}")
    monkeypatch.setenv("CLOCKBENCH_BIN", str(chosen))
    assert default_binary() == chosen
    monkeypatch.delenv("CLOCKBENCH_BIN")
    assert default_binary() == on_path
    monkeypatch.setenv("PATH", SYSTEM_PATH)
    assert default_binary() == ROOT / "build" / "clockbench"


def test_installed_slurm_script_on_local_slurm(cluster: Cluster, prefix: Path, workdir: Path) -> None:
    """The installed clockbench.sbatch, submitted from outside any checkout with only the
    installation's bin/ (and clockbench-analyze) on PATH: no CLOCKBENCH_HOME, _BIN or _ANALYZE."""
    home = prefix / "share" / "clockbench"
    tools = workdir / "analysis-bin"
    tools.mkdir()
    (tools / "clockbench-analyze").symlink_to(ROOT / "analysis" / "clockbench-analyze")
    env = {k: v for k, v in cluster.env.items() if k not in {"CLOCKBENCH_HOME", "CLOCKBENCH_BIN", "CLOCKBENCH_ANALYZE"}}
    env["PATH"] = f"{prefix / 'bin'}:{tools}:{env['PATH']}"
    proc = subprocess.run(["sbatch", "--parsable", "-n", "2", str(home / "slurm" / "clockbench.sbatch"), "--duration",
                           "10", "--speedup", "20"], cwd=cluster.work, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    job = proc.stdout.strip().split(";")[0]
    records = cluster.wait(job)
    output = cluster.output(f"clockbench-{job}.out")
    assert_ok(records, "installed clockbench.sbatch", cluster, output)
    assert f", home {home}" in output, output
    assert f"programs: {prefix / 'bin' / 'clockbench'} (from PATH), {tools / 'clockbench-analyze'} (from PATH)" in output
    path = cluster.results / f"clockbench-{job}" / "run.h5"
    verify(path)
    assert f"OK {path}" in output, output  # the job verified its file with the clockbench-analyze it found


# ---- the build's options and presets (configure only, in folders of their own) --------------------

HIDDEN = ["-DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON", "-DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON"]


def configure(build: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), *args], capture_output=True, text=True,
                          timeout=300)


def compile_flags(build: Path) -> str:
    return " ".join(e["command"] for e in json.loads((build / "compile_commands.json").read_text()))


def targets(build: Path) -> List[str]:
    proc = subprocess.run(["cmake", "--build", str(build), "--target", "help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return re.findall(r"^\.\.\. (\S+)", proc.stdout, re.M)


def test_program_alone_needs_neither_googletest_nor_google_benchmark(workdir: Path) -> None:
    build = workdir / "build-minimal"
    proc = configure(build, "-DBUILD_TESTING=OFF", "-DCLOCKBENCH_BUILD_BENCHMARKS=OFF", *HIDDEN)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    values = cache(build)
    assert not {k for k in values if k.startswith(("GTest", "benchmark"))}, "GoogleTest or Google Benchmark was looked for"
    found = targets(build)
    assert "clockbench" in found and not {"clockbench_unit_tests", "clockbench_bench"} & set(found), found
    # -Werror is off unless asked for.
    assert values["CLOCKBENCH_WERROR"] == "OFF" and "-Werror" not in compile_flags(build)
    # The controls: asking for the tests or the benchmarks with their library hidden fails, naming it.
    for option, package in (("-DBUILD_TESTING=ON", "GTest"), ("-DCLOCKBENCH_BUILD_BENCHMARKS=ON", "benchmark")):
        control = configure(workdir / f"build-control-{package}", "-DBUILD_TESTING=OFF",
                            "-DCLOCKBENCH_BUILD_BENCHMARKS=OFF", option, *HIDDEN)
        assert control.returncode != 0 and f"CMAKE_DISABLE_FIND_PACKAGE_{package}" in control.stderr, control.stderr


def test_old_option_names_still_work(workdir: Path) -> None:
    build = workdir / "build-old-names"
    proc = configure(build, "-DCLOCKBENCH_TESTS=OFF", "-DCLOCKBENCH_BENCH=OFF", *HIDDEN)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    values = cache(build)
    assert (values["BUILD_TESTING"], values["CLOCKBENCH_BUILD_BENCHMARKS"]) == ("OFF", "OFF")
    assert "CLOCKBENCH_TESTS is now BUILD_TESTING" in proc.stderr and "CLOCKBENCH_BENCH is now" in proc.stderr


def test_presets(workdir: Path) -> None:
    listed = subprocess.run(["cmake", "--list-presets"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert re.findall(r'^\s+"(\w+)"', listed.stdout, re.M) == ["release", "debug", "ci"], listed.stdout
    release = workdir / "preset-release"
    proc = subprocess.run(["cmake", "--preset", "release", "-B", str(release), *HIDDEN], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    values = cache(release)
    assert (values["CMAKE_BUILD_TYPE"], values["BUILD_TESTING"], values["CLOCKBENCH_WERROR"]) == ("Release", "OFF", "OFF")
    ci = workdir / "preset-ci"
    proc = subprocess.run(["cmake", "--preset", "ci", "-B", str(ci)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    values = cache(ci)
    assert (values["BUILD_TESTING"], values["CLOCKBENCH_BUILD_BENCHMARKS"], values["CLOCKBENCH_WERROR"]) == ("ON", "ON", "ON")
    assert "-Werror" in compile_flags(ci)


def test_table_lookup_order(monkeypatch: pytest.MonkeyPatch, prefix: Path) -> None:
    """Beside the reader (a package that ships it) first, then the checkout, then installations."""
    from clockbench.file import schema
    monkeypatch.setenv("CLOCKBENCH_BIN", str(prefix / "bin" / "clockbench"))
    here = Path(schema.__file__).resolve().parent
    assert schema.table_candidates()[:2] == [here / "clockbench-1.json", ROOT / "schema" / "clockbench-1.json"]
    assert schema.table_candidates()[-1] == prefix / "share" / "clockbench" / "schema" / "clockbench-1.json"
