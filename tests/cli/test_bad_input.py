"""Every bad input of the core issue: a one-line error naming the problem, printed once, a
non-zero exit from every rank, no hang, and no file written or overwritten."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List, Sequence

import pytest

from runs import HANG_S, run

# Each case: ranks, arguments, words the error must contain.
CASES = [
    ("one rank", 1, [], "needs at least 2 machines"),
    ("rates count", 3, ["--rates", "1,2"], "lists 2 rates but there are 3 machines"),
    ("zero rate", 3, ["--rates", "1,0,2"], "every rate must be a positive number"),
    ("negative rate", 3, ["--rates", "1,-2,2"], "every rate must be a positive number"),
    ("non-numeric rate", 3, ["--rates", "1,fast,2"], "--rates"),
    ("inverted range", 3, ["--rate-min", "5", "--rate-max", "2"], "greater than --rate-max"),
    ("p above 1", 3, ["--p-internal", "1.5"], "--p-internal must be a probability in [0, 1]"),
    ("p below 0", 3, ["--p-internal", "-0.2"], "--p-internal must be a probability in [0, 1]"),
    ("zero duration", 3, ["--duration", "0"], "--duration must be a positive number"),
    ("negative duration", 3, ["--duration", "-4"], "--duration must be a positive number"),
    ("non-numeric duration", 3, ["--duration", "soon"], "--duration"),
    ("zero speedup", 3, ["--speedup", "0"], "--speedup must be a positive number"),
    ("non-numeric speedup", 3, ["--speedup", "fast"], "--speedup"),
    ("unknown topology", 3, ["--topology", "star"], "--topology: 'star' is not full, ring or random:K"),
    ("topology by number", 3, ["--topology", "1"], "--topology: '1' is not full, ring or random:K"),
    ("unknown HDF5 I/O mode", 2, ["--hdf5-io", "async"], "--hdf5-io: async not in {independent,collective}"),
    ("unknown clock estimate", 2, ["--clock-estimate", "on"], "--clock-estimate: on not in {auto,force,off}"),
    ("unknown option", 3, ["--bogus"], "--bogus"),
    ("negative seed", 3, ["--seed", "-5"], "--seed: '-5' is not a whole number from 0 to 18446744073709551615"),
    ("seed past 2^64-1", 3, ["--seed", "18446744073709551616"], "is not a whole number from 0 to 1844674407370955161"),
    ("non-numeric seed", 3, ["--seed", "lucky"], "--seed: 'lucky' is not a whole number"),
    ("missing output name", 3, ["-o", "-q"], "looks like an option"),
    ("rates and a range", 3, ["--rates", "1,2,3", "--rate-min", "2"], "--rates excludes --rate-min"),
    ("too big for memory", 3, ["--rates", "100000,100000,100000", "--duration", "1000"],
     "shorten --duration or lower the rates"),
    ("flat out with no ticks", 3, ["--rates", "max", "--max-ticks", "0"],
     "--max-ticks must be a whole number of ticks per machine from 1 to"),
    ("flat out with negative ticks", 3, ["--rates", "max", "--max-ticks", "-5"], "--max-ticks must be a whole number"),
    ("non-numeric max ticks", 3, ["--rates", "max", "--max-ticks", "lots"], "--max-ticks"),
    ("max ticks without flat out", 3, ["--max-ticks", "1000"], "--max-ticks applies only with --rates max"),
    ("max among rates", 3, ["--rates", "1,max,2"], "--rates max runs every machine flat out: give it alone"),
    ("flat out too big for memory", 3, ["--rates", "max", "--max-ticks", "400000000"], "lower --max-ticks"),
    ("no output and an output", 3, ["--no-output", "-o", "x.h5"], "--output excludes --no-output"),
    ("missing config", 3, ["--config", "/nonexistent/run.toml"], "/nonexistent/run.toml"),
    ("missing output folder", 3, ["-o", "no/such/folder/run.h5"], "output folder 'no/such/folder' does not exist"),
    ("output is a folder", 3, ["-o", "."], "is a folder"),
    ("negative flush interval", 3, ["--flush-interval", "-1"],
     "--flush-interval must be a number of wall seconds from 0 (off) to 3600, got -1"),
    ("non-numeric flush interval", 3, ["--flush-interval", "often"], "--flush-interval"),
    ("negative latency", 3, ["--latency=-0.1"], "--latency: '-0.1' is not a latency"),
    ("NaN latency", 3, ["--latency", "nan"], "--latency: 'nan' is not a latency"),
    ("infinite latency", 3, ["--latency", "inf"], "--latency: 'inf' is not a latency"),
    ("unknown latency form", 3, ["--latency", "normal:1,2"], "--latency: 'normal:1,2' is not a latency"),
    ("uniform latency with one bound", 3, ["--latency", "uniform:0.1"], "needs two bounds, LO,HI"),
    ("uniform latency inverted", 3, ["--latency", "uniform:0.5,0.1"], "has LO greater than HI"),
    ("uniform latency negative bound", 3, ["--latency", "uniform:-1,2"], "has a bound that is not a number >= 0"),
    ("exponential latency without a mean", 3, ["--latency", "exp:"], "needs a mean that is a number >= 0"),
    ("exponential latency infinite mean", 3, ["--latency", "exp:inf"], "needs a mean that is a number >= 0"),
    ("unknown phase", 3, ["--phase", "aligned"], "--phase: aligned not in {random,zero}"),
    ("negative grace", 3, ["--grace=-1"], "--grace must be a number of wall seconds from 0 to 10, got -1"),
    ("NaN grace", 3, ["--grace", "nan"], "--grace must be a number of wall seconds from 0 to 10"),
    ("missing json name", 3, ["--json", "-q"], "--json name '-q' looks like an option"),
    ("missing json folder", 3, ["--json", "no/such/r.json"], "--json folder 'no/such' does not exist"),
    ("json is a folder", 3, ["--json", "."], "--json '.' is a folder"),
    ("json is the output", 3, ["-o", "r.h5", "--json", "r.h5"], "--json 'r.h5' is also the output file"),
    ("force without a file", 3, ["--no-output", "--force"], "--force excludes --no-output"),
]


def files_in(folder: Path) -> List[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def expect_refusal(np_: int, args: Sequence[str], words: str, cwd: Path) -> None:
    before = files_in(cwd)
    # A refusal comes before the run: the timeout only catches a run that started anyway.
    proc = run(np_, args, cwd, timeout=HANG_S)
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    errors = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(errors) == 1, f"expected one line, printed once:\n{proc.stderr}"
    assert errors[0].startswith("clockbench: error: ") and words in errors[0], errors[0]
    assert "CLOCKBENCH_RESULT" not in proc.stdout
    assert files_in(cwd) == before, "a refused run must not write anything"


@pytest.mark.parametrize("name,np_,args,words", CASES, ids=[c[0] for c in CASES])
def test_bad_option(name: str, np_: int, args: List[str], words: str, tmp_path: Path) -> None:
    expect_refusal(np_, args, words, tmp_path)


def test_malformed_config(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("duration=20\nthis line is not an option\n")
    expect_refusal(3, ["--config", "bad.toml"], "this line is not an option", tmp_path)
    (tmp_path / "typo.toml").write_text("durashun=20\n")
    expect_refusal(3, ["--config", "typo.toml"], "durashun", tmp_path)


def test_unreadable_config(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    expect_refusal(3, ["--config", "dir.toml"], "dir.toml", tmp_path)


def test_existing_output_is_kept_without_force(tmp_path: Path) -> None:
    target = tmp_path / "keep.h5"
    target.write_bytes(b"precious results")
    expect_refusal(3, ["-o", "keep.h5", "--duration", "1", "--speedup", "20"],
                   "output file 'keep.h5' exists: choose another -o, or add --force", tmp_path)
    assert target.read_bytes() == b"precious results"


def test_force_replaces_existing_output(tmp_path: Path) -> None:
    target = tmp_path / "old.h5"
    target.write_bytes(b"old")
    proc = run(2, ["-o", "old.h5", "--force", "--duration", "1", "--speedup", "20", "-q"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    assert files_in(tmp_path) == ["old.h5"]


def test_read_only_output_folder_is_found_before_the_run(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    # As root, permission bits do not stop writes; a read-only mount does.
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here: " + mounted.stderr.decode().strip())
    try:
        # 600 model seconds: were the folder found unwritable only at the end, this would time out.
        expect_refusal(3, ["-o", "ro/run.h5", "--duration", "600"], "cannot write in output folder 'ro'",
                       tmp_path)
    finally:
        subprocess.run(["umount", str(ro)], check=False)


@pytest.mark.parametrize("force", [False, True], ids=["no-force", "force"])
def test_symlink_at_output_is_never_followed(force: bool, tmp_path: Path) -> None:
    """A link at -o is refused, with or without --force: its target is neither written nor replaced."""
    target = tmp_path / "elsewhere.txt"
    target.write_bytes(b"not yours")
    (tmp_path / "run.h5").symlink_to(target)
    args = ["-o", "run.h5", "--duration", "1", "--speedup", "20"] + (["--force"] if force else [])
    expect_refusal(3, args, "output 'run.h5' is a symbolic link: clockbench does not write through links", tmp_path)
    assert target.read_bytes() == b"not yours" and (tmp_path / "run.h5").is_symlink()


def test_dangling_symlink_at_output_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run.h5").symlink_to(tmp_path / "created-through-the-link.h5")
    expect_refusal(3, ["-o", "run.h5", "--force", "--duration", "1"], "is a symbolic link", tmp_path)
    assert not (tmp_path / "created-through-the-link.h5").exists()


@pytest.mark.parametrize("extra", [[], ["--no-output"], ["--force", "-o", "new.h5"]],
                         ids=["with-output", "no-output", "force-applies-to-both"])
def test_existing_json_is_kept_without_force(extra: List[str], tmp_path: Path) -> None:
    """--json to an existing file: refused before the run (one line, exit 2, nothing written) unless
    --force, whether or not the run writes its file; with --force and -o, --force allows both."""
    target = tmp_path / "keep.json"
    target.write_text("precious results\n")
    args = ["--json", "keep.json", "--duration", "1", "--speedup", "20", *extra]
    if "--force" in extra:
        proc = run(3, args, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert target.read_text().startswith("{") and files_in(tmp_path) == ["keep.json", "new.h5"]
        return
    expect_refusal(3, args, "--json file 'keep.json' exists: choose another --json, or add --force to overwrite it",
                   tmp_path)
    assert target.read_text() == "precious results\n"


def test_symlink_at_json_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_bytes(b"not yours")
    (tmp_path / "r.json").symlink_to(target)
    expect_refusal(2, ["--json", "r.json", "--no-output", "--force", "--duration", "1"],
                   "--json 'r.json' is a symbolic link: clockbench does not write through links", tmp_path)
    assert target.read_bytes() == b"not yours" and (tmp_path / "r.json").is_symlink()
