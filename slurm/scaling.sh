#!/usr/bin/env bash
# The scaling study: submits one run per N and topology (weak scaling: every machine's rate is
# drawn from the same range, with the same seed, for the same duration), then the analysis job
# slurm/scaling-report.sbatch with --dependency=afterok on all of them, which verifies the files
# and aggregates them into one report. Run it where sbatch works (a login node); it returns at once.
#
#   slurm/scaling.sh                                          # N = 3 6 12 24 48, full and ring
#   slurm/scaling.sh --n 3,6,12 --topologies ring -- --duration 30 --speedup 20
#   slurm/scaling.sh --n 8,16,32 --topologies ring,random:4 -- --duration 30 --speedup 20
#   slurm/scaling.sh --repetitions 5 -- --duration 30 --speedup 20     # every point a mean of 5 seeds
#   slurm/scaling.sh --simulate --n 3,64,1024,4096 --topologies ring -- --duration 60   # no Slurm
#
# Options: --n LIST (CLOCKBENCH_SCALING_N), --topologies LIST (CLOCKBENCH_SCALING_TOPOLOGIES),
# --name NAME, the job name of the study (CLOCKBENCH_SCALING_NAME, clockbench-scaling), --repetitions R
# (CLOCKBENCH_SCALING_REPETITIONS, 1): runs of every point, repetition r with seed S + (r-1)*2^32
# (docs/plans.md), and the report's points become means with their 95% interval; lists are
# separated by commas or blanks. Arguments after --, and the words of CLOCKBENCH_ARGS before them,
# go to clockbench in every run (e.g. --duration, --speedup, --rate-min, --rate-max, --p-internal,
# --seed; a seed is drawn once for the whole study when none is given). sbatch options for every
# job come from sbatch's own environment variables (SBATCH_PARTITION, SBATCH_TIMELIMIT, ...).
# --simulate: no Slurm: every run in turn, here, on a simulated cluster of N hosts (scripts/simulate's
# default platform, docs/simulation.md), then the same report; it returns when the report is made,
# in results/<name>-simulated-<UTC time>/ (times.txt: each run's wall time; study.txt ends with the
# report's).
#
# Everything lands in results/<name>-<id>/ (CLOCKBENCH_RESULTS instead of results/), <id> being
# the analysis job's: the runs <topology>-n<N>.h5 (random:K as randomK; with repetitions
# <topology>-n<N>-r<r>.h5), every job's output, study.txt, scaling.md/html.
set -euo pipefail

if [[ -z ${CLOCKBENCH_HOME:-} ]]; then
  CLOCKBENCH_HOME=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
fi
if [[ ! -f $CLOCKBENCH_HOME/slurm/lib.sh ]]; then
  echo "scaling.sh: error: $CLOCKBENCH_HOME has no slurm/lib.sh (set CLOCKBENCH_HOME to the checkout, or share/clockbench of an installation)" >&2
  exit 2
fi
export CLOCKBENCH_HOME
# shellcheck source=slurm/lib.sh
source "$CLOCKBENCH_HOME/slurm/lib.sh"
cb_init scaling.sh

n_list=${CLOCKBENCH_SCALING_N:-3 6 12 24 48}
topologies=${CLOCKBENCH_SCALING_TOPOLOGIES:-full ring}
name=${CLOCKBENCH_SCALING_NAME:-clockbench-scaling}
repetitions=${CLOCKBENCH_SCALING_REPETITIONS:-1}
simulate=0
while (($# > 0)); do
  case $1 in
    --n | --topologies | --name | --repetitions)
      (($# >= 2)) || cb_die "$1 needs a value"
      case $1 in
        --n) n_list=$2 ;;
        --topologies) topologies=$2 ;;
        --name) name=$2 ;;
        --repetitions) repetitions=$2 ;;
      esac
      shift 2
      ;;
    --simulate)
      simulate=1
      shift
      ;;
    --)
      shift
      break
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) cb_die "unknown option '$1' (clockbench options go after --; see --help)" ;;
  esac
done

read -r -a ns <<<"${n_list//,/ }"
read -r -a topos <<<"${topologies//,/ }"
((${#ns[@]} > 0)) || cb_die "no N given (--n)"
((${#topos[@]} > 0)) || cb_die "no topology given (--topologies)"
for n in "${ns[@]}"; do
  [[ $n =~ ^[0-9]+$ ]] || cb_die "N must be whole numbers, got '$n' in --n '$n_list'"
  ((n >= 2)) || cb_die "N=$n: clockbench needs at least 2 machines (--n '$n_list')"
done
for t in "${topos[@]}"; do
  [[ $t == full || $t == ring || $t =~ ^random:[0-9]{1,9}$ ]] ||
    cb_die "topology must be full, ring or random:K, got '$t' in --topologies '$topologies'"
  if [[ $t == random:* ]]; then
    k=$((10#${t#random:}))
    ((k >= 2 && k % 2 == 0)) || cb_die "$t: K must be even and at least 2 (--topologies '$topologies')"
    for n in "${ns[@]}"; do
      ((2 * k <= n)) || cb_die "$t at N=$n: random:K needs K <= N/2 (--n '$n_list'; docs/model.md)"
    done
  fi
done
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || cb_die "the study name may hold letters, digits, '.', '_', '-': got '$name'"
if ! [[ $repetitions =~ ^[0-9]{1,4}$ ]] || ((10#$repetitions < 1 || 10#$repetitions > 1000)); then
  cb_die "--repetitions must be a whole number from 1 to 1000, got '$repetitions'"
fi
repetitions=$((10#$repetitions))

cb_split_args "${CLOCKBENCH_ARGS:-}"
given=("${cb_args[@]}" "$@")
args=()
seed=""
for ((k = 0; k < ${#given[@]}; k++)); do
  a=${given[k]}
  case $a in
    --rates | --rates=*) cb_die "--rates fixes every machine's rate, so it cannot scale with N: give --rate-min/--rate-max" ;;
    --topology | --topology=*) cb_die "the study sets --topology itself: use --topologies" ;;
    -o | -o?* | --output | --output=* | --no-output) cb_die "the study names its files itself: leave out $a" ;;
    --seed)
      ((k + 1 < ${#given[@]})) || cb_die "--seed needs a value"
      k=$((k + 1)) seed=${given[k]}
      ;;
    --seed=*)
      seed=${a#--seed=}
      [[ -n $seed ]] || cb_die "--seed needs a value"
      ;;
    *) args+=("$a") ;;
  esac
done
# One seed for every N of a repetition: rank r draws the same rate at every N, so a larger N adds
# machines. Repetition r runs with seed S + (r-1)*2^32 (docs/plans.md), S given or drawn once.
if [[ -z $seed ]]; then
  seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
elif ! [[ $seed =~ ^[0-9]{1,18}$ ]]; then
  cb_die "--seed must be a whole number below 10^18 (repetitions add multiples of 2^32 to it), got '$seed'"
fi
seed=$((10#$seed))

if ((simulate)); then
  # The study without Slurm: each run in turn under scripts/simulate (which verifies its file), then
  # the report as slurm/scaling-report.sbatch makes it.
  [[ -x $CLOCKBENCH_HOME/scripts/simulate ]] || cb_die "--simulate needs a checkout's scripts/simulate (CLOCKBENCH_HOME=$CLOCKBENCH_HOME)"
  cb_require_analyze
  root=$(cb_writable_dir "$(cb_results_root)")
  dir=$root/$name-simulated-$(date -u +%Y%m%d-%H%M%S)
  mkdir -p -- "$dir"
  files=()
  for t in "${topos[@]}"; do
    for n in "${ns[@]}"; do
      for ((r = 1; r <= repetitions; r++)); do
        run=${t//:/}-n$n
        ((repetitions == 1)) || run=$run-r$r
        s=$((seed + (r - 1) * 4294967296))
        echo "$t N=$n$( ((repetitions == 1)) || echo " repetition $r") (seed $s): simulating"
        started=$SECONDS
        "$CLOCKBENCH_HOME/scripts/simulate" --hosts "$n" -- --topology "$t" -o "$dir/$run.h5" "${args[@]}" --seed "$s" -q \
          >"$dir/$run.out" 2>&1 || cb_die "the simulation of $t at N=$n failed: $(tail -n 1 "$dir/$run.out") ($dir/$run.out)"
        echo "$run: simulated in $((SECONDS - started)) s of wall time" >>"$dir/times.txt"
        files+=("$dir/$run.h5")
      done
    done
  done
  echo "study: $(basename "$dir"), simulated (scripts/simulate, default cluster platform); N: ${ns[*]}; topologies: ${topos[*]}; repetitions: $repetitions (seed $seed); clockbench options: ${args[*]}" >"$dir/study.txt"
  report_args=()
  ((repetitions == 1)) || report_args=(--repetitions "$repetitions")
  started=$SECONDS
  "$cb_analyze" scaling "${report_args[@]}" "${files[@]}" -o "$dir"
  echo "report: $((SECONDS - started)) s of wall time (the theory beside each run)" | tee -a "$dir/study.txt"
  echo "the study is $dir (report: $dir/scaling.html)"
  exit 0
fi

command -v sbatch >/dev/null || cb_die "sbatch not found: run this where Slurm's client commands are"
cb_require_binary
root=$(cb_writable_dir "$(cb_results_root)")
export CLOCKBENCH_RESULTS=$root  # the analysis job finds the study's folder from it

# The analysis job first, held, so that the study's folder can carry its id; it is released once
# every run is submitted and it depends on them.
submitted=()
cleanup() {
  if ((${#submitted[@]} > 0)); then
    echo "$cb_script: error: submission failed: cancelling ${submitted[*]}" >&2
    scancel "${submitted[@]}" 2>/dev/null || true
  fi
}
trap cleanup EXIT
# run_name T N R: the file and job name of repetition R of topology T at N (random:K as randomK).
run_name() {
  if ((repetitions == 1)); then echo "${1//:/}-n$2"; else echo "${1//:/}-n$2-r$3"; fi
}
files=()
for t in "${topos[@]}"; do
  for n in "${ns[@]}"; do
    for ((r = 1; r <= repetitions; r++)); do files+=("$(run_name "$t" "$n" "$r").h5"); done
  done
done
report_args=()
((repetitions == 1)) || report_args=(--repetitions "$repetitions")
report=$(sbatch --parsable --hold --job-name="$name" --kill-on-invalid-dep=yes --output="$root/%x-%j/%x-%j.out" \
  "$CLOCKBENCH_HOME/slurm/scaling-report.sbatch" "${report_args[@]}" "${files[@]}")
report=${report%%;*}
submitted+=("$report")
dir=$root/$name-$report
mkdir -p -- "$dir"
runs=()
seeds=()
for ((r = 1; r <= repetitions; r++)); do seeds+=($((seed + (r - 1) * 4294967296))); done
for t in "${topos[@]}"; do
  for n in "${ns[@]}"; do
    for ((r = 1; r <= repetitions; r++)); do
      run=$(run_name "$t" "$n" "$r")
      id=$(sbatch --parsable --job-name="$name-$run" --ntasks="$n" --output="$dir/%x-%j.out" \
        "$CLOCKBENCH_HOME/slurm/clockbench.sbatch" --topology "$t" -o "$dir/$run.h5" "${args[@]}" --seed "${seeds[r - 1]}")
      id=${id%%;*}
      submitted+=("$id")
      runs+=("$id")
      echo "$t N=$n$( ((repetitions == 1)) || echo " repetition $r") (seed ${seeds[r - 1]}): job $id"
    done
  done
done
dependency=afterok:$(IFS=:; echo "${runs[*]}")
scontrol update JobId="$report" Dependency="$dependency"
scontrol release "$report"
{
  echo "study: $name-$report, submitted $(date -u +%Y-%m-%dT%H:%M:%SZ) from $PWD"
  echo "N: ${ns[*]}; topologies: ${topos[*]}; repetitions: $repetitions (seeds ${seeds[*]}); clockbench options: ${args[*]}"
  echo "runs: ${runs[*]}; analysis job: $report ($dependency)"
} >"$dir/study.txt"
submitted=()
echo "analysis job $report runs after them; the study is $dir (report: $dir/scaling.html)"
echo "job ids: ${runs[*]} $report"
