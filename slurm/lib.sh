# Shared by the scripts in slurm/ (sourced, after they have found the clockbench home): errors, settings,
# the results folder, launching the ranks (srun --mpi=pmix, else mpirun) and verifying the files.
# shellcheck shell=bash

# Exit codes of the scripts: 2 bad input (nothing was run), else clockbench's or verify's own code.
CB_EXIT_USAGE=2

# cb_init NAME: the script's name for messages, and every setting a run needs.
cb_init() {
  cb_script=$1
  # shellcheck source=scripts/mpi-env
  # (among them OMPI_MCA_mpi_yield_when_idle: ranks started by srun do not know they share cores,
  # and without it every rank waiting in a collective spins and starves the others)
  source "$CLOCKBENCH_HOME/scripts/mpi-env"
  cb_find_programs
  cb_launcher=""
  # Checked here, before anything is created: a bad value must not leave a results folder behind.
  case ${CLOCKBENCH_LAUNCHER:-auto} in
    srun | mpirun | auto) ;;
    *) cb_die "CLOCKBENCH_LAUNCHER must be srun, mpirun or auto, got '$CLOCKBENCH_LAUNCHER'" ;;
  esac
}

# The bin folder of the installation these scripts belong to: `cmake --install` writes it into the
# line below (empty in a checkout).
cb_installed_bindir=""

# cb_find_programs: the programs a job runs, each with where it was found (cb_bin_from, cb_analyze_from).
# clockbench: CLOCKBENCH_BIN, else a clockbench on PATH, else the one installed with these scripts,
# else the checkout's build/clockbench. clockbench-analyze: CLOCKBENCH_ANALYZE, else one on PATH,
# else the checkout's analysis/clockbench-analyze.
cb_find_programs() {
  if [[ -n ${CLOCKBENCH_BIN:-} ]]; then
    cb_bin=$CLOCKBENCH_BIN cb_bin_from=CLOCKBENCH_BIN
  elif cb_bin=$(type -P clockbench); then
    cb_bin_from=PATH
  elif [[ -n $cb_installed_bindir ]]; then
    cb_bin=$cb_installed_bindir/clockbench cb_bin_from="the installation"
  else
    cb_bin=$CLOCKBENCH_HOME/build/clockbench cb_bin_from="the checkout"
  fi
  if [[ -n ${CLOCKBENCH_ANALYZE:-} ]]; then
    cb_analyze=$CLOCKBENCH_ANALYZE cb_analyze_from=CLOCKBENCH_ANALYZE
  elif cb_analyze=$(type -P clockbench-analyze); then
    cb_analyze_from=PATH
  else
    cb_analyze=$CLOCKBENCH_HOME/analysis/clockbench-analyze cb_analyze_from="the checkout"
  fi
}

cb_die() {
  echo "$cb_script: error: $*" >&2
  exit "$CB_EXIT_USAGE"
}

cb_note() {
  echo "$cb_script: $*"
}

# The job's header: what runs where, so that every output file says what it came from.
cb_header() {
  cb_note "job ${SLURM_JOB_ID:-none} (${SLURM_JOB_NAME:-not under Slurm})${SLURM_ARRAY_TASK_ID:+ array task $SLURM_ARRAY_TASK_ID}" \
    "on ${SLURM_JOB_NODELIST:-$(hostname -s)}, $(date -u +%Y-%m-%dT%H:%M:%SZ), home $CLOCKBENCH_HOME"
  cb_note "programs: $cb_bin (from $cb_bin_from), $cb_analyze (from $cb_analyze_from)"
}

# The programs a job needs, checked before anything starts: clockbench, and clockbench-analyze
# unless CLOCKBENCH_VERIFY=0.
cb_require_binary() {
  [[ -x $cb_bin ]] || cb_die "no clockbench binary at $cb_bin: build it with scripts/build, or set CLOCKBENCH_BIN"
  if [[ ${CLOCKBENCH_VERIFY:-1} != 0 ]]; then
    cb_require_analyze
  fi
}

# cb_require_analyze_for WHY: clockbench-analyze must be there even with CLOCKBENCH_VERIFY=0, for WHY.
cb_require_analyze_for() {
  [[ -x $cb_analyze ]] || cb_die "no clockbench-analyze at $cb_analyze ($1): put it on PATH (install the analysis) or set CLOCKBENCH_ANALYZE"
}

cb_require_analyze() {
  [[ -x $cb_analyze ]] || cb_die "no clockbench-analyze at $cb_analyze: put it on PATH (install the analysis), set CLOCKBENCH_ANALYZE, or CLOCKBENCH_VERIFY=0 to skip the check"
}

# cb_plan ARG...: `clockbench-analyze plan ARG...` (the one reader of sweep plans,
# analysis/clockbench/experiment/plan.py), its output in cb_plan_out; a refusal ends the script
# with the analysis's error line (exit 2).
cb_plan() {
  local err msg
  err=$(mktemp)
  if ! cb_plan_out=$("$cb_analyze" plan "$@" 2>"$err"); then
    msg=$(grep -v '^[[:space:]]*$' "$err" | tail -n 1 | sed 's/^clockbench-analyze[^:]*: error: //')
    rm -f -- "$err"
    cb_die "${msg:-clockbench-analyze plan $* failed}"
  fi
  rm -f -- "$err"
}

# cb_plan_count PLAN: plan_count, the number of configuration lines of PLAN.
# shellcheck disable=SC2034  # read by the calling script
cb_plan_count() {
  cb_plan "$1" --count
  plan_count=$cb_plan_out
}

# cb_plan_line PLAN K: the K-th configuration of PLAN: line_no, line_text, line_n (empty: the plan
# leaves N to the job) and its clockbench options, line_args. The analysis prints them one per line
# (a configuration is one line of words without blanks, so no item holds a newline).
# shellcheck disable=SC2034  # read by the calling script
cb_plan_line() {
  local items
  cb_plan "$1" --line "$2"
  mapfile -t items <<<"$cb_plan_out"
  line_no=${items[0]} line_n=${items[1]} line_text=${items[2]}
  line_args=("${items[@]:3}")
}

# cb_tasks: the machines of this job, N = its tasks (sbatch -n N; CLOCKBENCH_NTASKS outside Slurm).
cb_tasks() {
  local n=${SLURM_NTASKS:-${CLOCKBENCH_NTASKS:-}}
  [[ -n $n ]] || cb_die "the number of machines is unknown: submit with sbatch -n N (or set CLOCKBENCH_NTASKS outside Slurm)"
  [[ $n =~ ^[0-9]+$ ]] || cb_die "the number of machines must be a whole number, got '$n'"
  ((n >= 2)) || cb_die "N=$n machine(s): clockbench needs at least 2; submit with sbatch -n N, N >= 2"
  echo "$n"
}

# The folder that holds the results folders: CLOCKBENCH_RESULTS, else results/ in the submit folder.
cb_results_root() {
  echo "${CLOCKBENCH_RESULTS:-${SLURM_SUBMIT_DIR:-$PWD}/results}"
}

# cb_writable_dir DIR: creates DIR, checks that a file can be written in it (root may lack the
# right even so: read-only file systems), and prints its absolute path.
cb_writable_dir() {
  local dir=$1 probe
  mkdir -p -- "$dir" 2>/dev/null || cb_die "cannot create the results folder $dir (set CLOCKBENCH_RESULTS to a writable folder)"
  probe=$dir/.write-test.$$
  { : >"$probe"; } 2>/dev/null || cb_die "the results folder $dir is not writable (set CLOCKBENCH_RESULTS to a writable folder)"
  rm -f -- "$probe"
  (cd -- "$dir" && pwd)
}

# The folder of this job: <job name>-<job id>, the array's id for every task of an array.
cb_job_results_dir() {
  cb_writable_dir "$(cb_results_root)/${SLURM_JOB_NAME:-clockbench}-${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-$(date -u +%Y%m%d-%H%M%S)}}"
}

# Chooses how to start the ranks, once per job: srun --mpi=pmix where it can start an MPI program
# (a 2-rank probe run of clockbench that writes nothing), else mpirun inside the allocation.
# CLOCKBENCH_LAUNCHER=srun|mpirun forces one; CLOCKBENCH_SRUN_MPI changes the plugin (pmix).
cb_pick_launcher() {
  [[ -n $cb_launcher ]] && return 0
  local mpi=${CLOCKBENCH_SRUN_MPI:-pmix} why="" probe
  case ${CLOCKBENCH_LAUNCHER:-auto} in
    srun | mpirun)
      cb_launcher=$CLOCKBENCH_LAUNCHER
      cb_note "launcher: $cb_launcher (CLOCKBENCH_LAUNCHER)"
      return 0
      ;;
    *) ;;
  esac
  if [[ -z ${SLURM_JOB_ID:-} ]]; then
    why="not inside a Slurm job"
  elif ! command -v srun >/dev/null; then
    why="srun is not on PATH"
  elif ! srun --mpi=list 2>&1 | grep -qw -- "$mpi"; then
    why="this Slurm has no '$mpi' MPI plugin (srun --mpi=list)"
  elif ! probe=$(srun --mpi="$mpi" --ntasks=2 --nodes=1 --quiet "$cb_bin" --no-output --duration 1 --speedup 100 -q 2>&1); then
    why="srun --mpi=$mpi could not start a 2-rank MPI run: $(grep -m 1 -i 'error' <<<"$probe" || head -n 1 <<<"$probe")"
  fi
  if [[ -z $why ]]; then
    cb_launcher=srun
    cb_note "launcher: srun --mpi=$mpi"
  elif [[ -z ${SLURM_JOB_ID:-} ]]; then
    cb_launcher=mpirun
    cb_note "launcher: mpirun ($why)"
  else
    cb_launcher=mpirun
    cb_note "launcher: mpirun inside the allocation, because $why"
  fi
}

# cb_launch N ARG...: clockbench on N ranks. Under mpirun SLURM_NTASKS (and its old name
# SLURM_NPROCS) is set to N, as srun does for its steps, because
# clockbench refuses a world size other than SLURM_NTASKS (a sweep line may use fewer ranks
# than the job has tasks).
cb_launch() {
  local n=$1
  shift
  cb_pick_launcher
  if [[ $cb_launcher == srun ]]; then
    cb_note "running: srun --mpi=${CLOCKBENCH_SRUN_MPI:-pmix} --ntasks=$n $cb_bin $*"
    srun --mpi="${CLOCKBENCH_SRUN_MPI:-pmix}" --ntasks="$n" "$cb_bin" "$@"
  else
    cb_note "running: mpirun -np $n $cb_bin $*"
    SLURM_NTASKS=$n SLURM_NPROCS=$n mpirun -np "$n" "$cb_bin" "$@"
  fi
}

# cb_run N ARG...: cb_launch, then verify the file it wrote (unless CLOCKBENCH_VERIFY=0).
# Returns clockbench's exit code, or verify's when the run succeeded but the file does not verify.
cb_run() {
  local log rc out
  log=$(mktemp)
  # Slurm's time limit (and sbatch --signal=B:...) sends SIGTERM to the script and every process
  # of the job, clockbench included: clockbench stops and writes its file; the script and tee
  # live on (tee ignores the signal) to keep its output and verify the file.
  trap 'cb_note "got a stop signal: clockbench stops early and writes its file"' TERM INT
  set +e
  cb_launch "$@" | (trap '' TERM INT && exec tee "$log")
  rc=${PIPESTATUS[0]}
  set -e
  trap - TERM INT
  out=$(sed -n 's/^CLOCKBENCH_RESULT .* output=//p' "$log" | tail -n 1)
  rm -f -- "$log"
  if ((rc != 0 && rc < 128)); then
    echo "$cb_script: error: clockbench exited with code $rc" >&2
    return "$rc"
  fi
  if [[ ${CLOCKBENCH_VERIFY:-1} != 0 && -n $out && $out != none && -f $out ]]; then
    "$cb_analyze" verify "$out" || return $?
  fi
  if ((rc != 0)); then  # stopped early by a signal: the file is complete and marked completed=0
    echo "$cb_script: error: clockbench was stopped by signal $((rc - 128)) (exit code $rc)" >&2
    return "$rc"
  fi
  return 0
}

# cb_has_output ARG...: true if the arguments choose the output themselves (-o, --output, --no-output).
cb_has_output() {
  local a
  for a in "$@"; do
    case $a in
      -o | -o?* | --output | --output=* | --no-output) return 0 ;;
    esac
  done
  return 1
}

# cb_split_args TEXT: the words of CLOCKBENCH_ARGS into the array cb_args (split on blanks, no quotes).
# shellcheck disable=SC2034  # cb_args is read by the calling script
cb_split_args() {
  cb_args=()
  [[ -n ${1:-} ]] && read -r -a cb_args <<<"$1"
  return 0
}
