"""The plan of a sweep: one clockbench configuration per line, as `key=value` words (the format:
docs/plans.md). The one parser for both places that run plans: the Slurm sweep (slurm/sweep.sbatch,
through `clockbench-analyze plan FILE --line K`) and local repetitions (`experiment --plan`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

KEYS = ("rates", "range", "fractional", "n", "p_internal", "topology", "seed", "duration", "speedup")
_NUMBER = re.compile(r"[0-9]+([.][0-9]*)?([eE][-+]?[0-9]+)?")
_RATES = re.compile(r"[0-9.eE+-]+(,[0-9.eE+-]+)+")
_WHOLE = re.compile(r"[0-9]+")
_TOPOLOGY = re.compile(r"full|ring|random:([0-9]{1,9})")
# The plan's keys that are a clockbench option of the same name (p_internal -> --p-internal).
_NUMBER_OPTIONS = ("p_internal", "duration", "speedup")


class PlanError(Exception):
    """A plan that cannot be read, or one of its lines that cannot be run; one line naming the file
    and, for a line, its number and text."""


@dataclass(frozen=True)
class PlanLine:
    """One configuration of a plan."""

    index: int               # 1-based among the configurations (a sweep's array index)
    line_no: int             # 1-based line of the file
    text: str                # the line without its comment, blanks trimmed
    args: Tuple[str, ...]    # its clockbench options, in the order of its words
    n: Optional[int]         # machines (n= or the number of rates); None: the caller's default
    seed: Optional[int]      # seed=, if given

    def machines(self, default: int) -> int:
        return self.n if self.n is not None else default


def configuration_lines(path: str) -> List[Tuple[int, str]]:
    """(line number, text) of every configuration line: '#' starts a comment, blanks are trimmed,
    empty lines do not count. Raises PlanError if the file cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = f.read()
    except FileNotFoundError:
        raise PlanError(f"plan file '{path}' not found") from None
    except IsADirectoryError:
        raise PlanError(f"plan file '{path}' is a folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"plan file '{path}' cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    out = []
    for no, line in enumerate(raw.splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if text:
            out.append((no, text))
    return out


def parse_line(path: str, index: int, line_no: int, text: str) -> PlanLine:
    """The clockbench options and machines of one configuration line; raises PlanError."""
    def bad(problem: str) -> PlanError:
        return PlanError(f"{path} line {line_no}: '{text}': {problem}")

    seen: Dict[str, str] = {}
    args: List[str] = []
    n: Optional[int] = None
    n_rates = 0
    for word in text.split():
        if "=" not in word:
            raise bad(f"'{word}' is not key=value")
        key, value = word.split("=", 1)
        if not value:
            raise bad(f"{key} has no value")
        if key in seen:
            raise bad(f"{key} is given twice")
        seen[key] = value
        if key == "rates":
            if not _RATES.fullmatch(value):
                raise bad("rates must be two or more numbers separated by commas, e.g. rates=1,2,6")
            for r in value.split(","):
                if not _NUMBER.fullmatch(r) or not float(r) > 0:
                    raise bad(f"rate '{r}' is not a positive number")
            n_rates = len(value.split(","))
            args += ["--rates", value]
        elif key == "range":
            low, dots, high = value.partition("..")
            if not (dots and _NUMBER.fullmatch(low) and _NUMBER.fullmatch(high)):
                raise bad("range must be LOW..HIGH, e.g. range=1..6")
            args += ["--rate-min", low, "--rate-max", high]
        elif key == "fractional":
            if value in ("yes", "true", "1"):
                args.append("--fractional-rates")
            elif value not in ("no", "false", "0"):
                raise bad("fractional must be yes or no")
        elif key == "n":
            if not _WHOLE.fullmatch(value):
                raise bad("n must be a whole number")
            n = int(value)
        elif key in _NUMBER_OPTIONS:
            if not _NUMBER.fullmatch(value):
                raise bad(f"{key} must be a number, got '{value}'")
            args += ["--" + key.replace("_", "-"), value]
        elif key == "seed":
            if not _WHOLE.fullmatch(value):
                raise bad(f"seed must be a whole number, got '{value}'")
            args += ["--seed", value]
        elif key == "topology":
            k = _TOPOLOGY.fullmatch(value)
            if not k or (k.group(1) is not None and (int(k.group(1)) < 2 or int(k.group(1)) % 2)):
                raise bad(f"topology must be full, ring or random:K (K even, at least 2), got '{value}'")
            args += ["--topology", value]
        else:
            raise bad(f"unknown key '{key}' (known: {' '.join(KEYS)})")
    if "rates" in seen and "range" in seen:
        raise bad("give rates or range, not both")
    if n_rates:
        if n is not None and n != n_rates:
            raise bad(f"n={n} but {n_rates} rates")
        n = n_rates
    if n is not None and n < 2:
        raise bad(f"N={n} machine(s): clockbench needs at least 2")
    if n is not None and "topology" in seen and seen["topology"].startswith("random:") \
            and 2 * int(seen["topology"][len("random:"):]) > n:
        raise bad(f"topology={seen['topology']} with N={n}: random:K needs K <= N/2 (docs/model.md)")
    seed = int(seen["seed"]) if "seed" in seen else None
    return PlanLine(index, line_no, text, tuple(args), n, seed)


def plan_line(path: str, index: int) -> PlanLine:
    """The index-th configuration (from 1) of the plan, parsed; the other lines are not looked at,
    so that a malformed line fails only its own sweep task. Raises PlanError."""
    lines = configuration_lines(path)
    if not 1 <= index <= len(lines):
        raise PlanError(f"{path} has {len(lines)} configuration(s): there is no configuration {index}"
                        + (f" (they are numbered 1..{len(lines)})" if lines else ""))
    return parse_line(path, index, *lines[index - 1])


def read_plan(path: str) -> List[PlanLine]:
    """Every configuration of the plan, parsed; raises PlanError for the first bad line, or for a
    plan without any configuration."""
    lines = configuration_lines(path)
    if not lines:
        raise PlanError(f"{path}: the plan has no configuration line")
    return [parse_line(path, k, no, text) for k, (no, text) in enumerate(lines, 1)]
