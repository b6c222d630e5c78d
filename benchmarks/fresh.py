"""Measures one row of one problem at one size in this process, which nothing has warmed.

Run by `harness.measure_in_fresh_process` as `python -m benchmarks.fresh PROBLEM ROW SIZE
[--quick]`; prints the result as one JSON line, with the outputs as lists under "values" for the
caller to check.
"""
import argparse
import json

from benchmarks import harness, tools
from benchmarks.problems import PROBLEMS


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fresh")
    parser.add_argument("problem", choices=PROBLEMS)
    parser.add_argument("row")
    parser.add_argument("size")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    problem = PROBLEMS[args.problem]
    row = next(r for r in problem.rows() if r.name == args.row)
    size = next(s for s in problem.sizes(args.quick) if s.label == args.size)
    budget = harness.QUICK if args.quick else harness.FULL
    tools.warm_up(row.tool)
    try:
        result, outputs = harness.measure(row.build(size, problem.make_args(size)), budget, reference=None)
        result["values"] = {kind: [leaf.tolist() for leaf in harness.to_numpy(out)]
                            for kind, out in outputs.items()}
    except Exception as exc:  # reported as a row status, like an in-process failure
        result = harness.failure(row.tool, exc)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
