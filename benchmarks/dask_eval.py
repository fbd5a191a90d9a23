"""Beam's DaskRunner evaluated as a local multi-core runner (issue #21): not adopted.

    pip install "apache-beam[dask]==<the locked apache-beam>"   # in a scratch venv, not the lock
    python benchmarks/dask_eval.py [--address tcp://...] [--npartitions N]

Runs small pipelines, one Beam feature each, on the DirectRunner (the reference), on
Beam's own DaskRunner and on `PatchedDaskRunner` below, and prints what each wrote (or how
it failed). Without `--address` each DaskRunner run starts its own `LocalCluster`.

`PatchedDaskRunner` is an experiment, not a fix to ship: Beam's DaskRunner with three of its
defects worked around, to see how far newsbeam's one-graph job gets once they are fixed
upstream (benchmarks/README.md, "DaskRunner"):

1. a multi-output ParDo drops its tags, so every output PCollection gets every element
   (`with_outputs`: each stage's dead letters reach the next stage as articles);
2. only the bag of the last transform visited is computed, so in a graph with several
   sinks the others never run;
3. `result.metrics()` raises NotImplementedError (run-report.json reads Metrics counters):
   here it answers no counters at all.

Use it with `bench_pipeline.py`:
`PYTHONPATH=benchmarks python benchmarks/bench_pipeline.py --runs loop,graph1
--runner-args=--runner=dask_eval.PatchedDaskRunner`.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import glob
import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.coders import VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.sideinputs import SideInputMap
from apache_beam.transforms.userstate import BagStateSpec

try:  # the runner and dask are not in the lock: the probe says so if they are missing
    import dask
    import dask.bag as db
    import dask.distributed as ddist
    from apache_beam.runners.dask import dask_runner as dr
    from apache_beam.runners.dask import transform_evaluator as te
    from apache_beam.runners.dask.overrides import dask_overrides
except ImportError:  # pragma: no cover
    dr = None

UPSTREAM = "apache_beam.runners.dask.dask_runner.DaskRunner"
PATCHED = "dask_eval.PatchedDaskRunner"


# -- the patched runner (experiment) ----------------------------------------------------
def _apply_dofn_tagged(items, invoker_args, invoker_kwargs, receivers) -> list:
    """te.apply_dofn_to_bundle, but every output keeps its tag: (tag, value)."""
    invoker = te.DoFnInvoker.create_invoker(*invoker_args, **invoker_kwargs)
    invoker.invoke_setup()
    invoker.invoke_start_bundle()
    for item in items:
        invoker.invoke_process(item)
    invoker.invoke_finish_bundle()
    out = [
        (v.tag, v.value) if isinstance(v, TaggedOutput) else (None, v.value)
        for v in receivers.values
    ]
    # One unpickled receivers object can serve several partitions in a worker.
    receivers.values.clear()
    invoker.invoke_teardown()
    return out


if dr is not None:

    class _TaggedParDo(te.ParDo):
        """te.ParDo.apply with `_apply_dofn_tagged` (defect 1)."""

        def apply(self, input_bag, side_inputs=None):
            transform = self.transform
            args, kwargs = transform.raw_side_inputs
            main_input = next(iter(self.applied.main_inputs.values()))
            window_fn = getattr(getattr(main_input, "windowing", None), "windowfn", None)
            receivers = te.OneReceiver()
            handler = te._OutputHandler(
                window_fn=window_fn,
                main_receivers=receivers[None],
                tagged_receivers=receivers,
                per_element_output_counter=None,
                output_batch_converter=None,
                process_yields_batches=False,
                process_batch_yields_elements=False,
            )
            invoker_kwargs = {
                "context": te.DoFnContext(transform.label, state=None),
                "side_inputs": side_inputs,
                "input_args": list(args),
                "input_kwargs": kwargs,
                "user_state_context": None,
                "bundle_finalizer_param": te.DoFn.BundleFinalizerParam(),
            }
            return input_bag.map(te.get_windowed_value, window_fn).map_partitions(
                _apply_dofn_tagged,
                [te.DoFnSignature(transform.fn), handler],
                invoker_kwargs,
                receivers,
            )

    def _has_tag(tag: str | None) -> Callable[[tuple], bool]:
        return lambda item: item[0] == tag

    def _untag(item: tuple) -> Any:
        return item[1]

    @dataclasses.dataclass
    class _Visitor(beam.pipeline.PipelineVisitor):
        bag_kwargs: dict
        lazy_side_inputs: bool
        bags: dict = dataclasses.field(default_factory=collections.OrderedDict)
        tagged: set = dataclasses.field(default_factory=set)
        consumed: set = dataclasses.field(default_factory=set)

        def bag_of(self, pcoll: pvalue.PCollection):
            producer = pcoll.producer
            self.consumed.add(producer)
            bag = self.bags.get(producer)
            if bag is not None and producer in self.tagged:
                bag = bag.filter(_has_tag(pcoll.tag)).map(_untag)
            return bag

        def visit_transform(self, node) -> None:
            translations = {**te.TRANSLATIONS, beam.ParDo: _TaggedParDo}
            op = translations.get(node.transform.__class__, te.NoOp)(
                node, bag_kwargs=self.bag_kwargs
            )
            kwargs: dict[str, Any] = {"input_bag": None, "side_inputs": None}
            if node.inputs:
                bags = []
                for value in node.inputs:
                    if isinstance(value, pvalue.PBegin):
                        bags.append(None)
                    if value.producer in self.bags:
                        bags.append(self.bag_of(value))
                single = len(bags) == 1 and not isinstance(op, te.Flatten)
                kwargs["input_bag"] = bags[0] if single else bags
            if node.side_inputs:
                kwargs["side_inputs"] = [
                    SideInputMap(
                        type(si),
                        si._view_options(),
                        te.DaskBagWindowedIterator(
                            self.bag_of(si.pvalue), si._window_mapping_fn, self.lazy_side_inputs
                        ),
                    )
                    for si in node.side_inputs
                ]
            self.bags[node] = op.apply(**kwargs)
            if isinstance(op, te.ParDo):
                self.tagged.add(node)

    class _NoMetrics:
        def query(self, filter=None) -> dict[str, list]:
            return {"counters": [], "distributions": [], "gauges": []}

    class _Result(dr.DaskRunnerResult):
        def metrics(self):  # defect 3
            return _NoMetrics()

    class PatchedDaskRunner(dr.DaskRunner):
        """Beam's DaskRunner with defects 1-3 above worked around."""

        def run_pipeline(self, pipeline, options):
            settings = options.view_as(dr.DaskOptions).get_all_options(
                drop_default=True, current_only=True
            )
            bag_kwargs = dr.DaskOptions._extract_bag_kwargs(settings)
            lazy = settings.pop("lazy_side_inputs", False)
            client = ddist.Client(**settings)
            pipeline.replace_all(dask_overrides())
            visitor = _Visitor(bag_kwargs, lazy)
            pipeline.visit(visitor)
            # Every leaf bag (defect 2), not only the last one.
            leaves = [
                bag
                for node, bag in visitor.bags.items()
                if node not in visitor.consumed and isinstance(bag, db.Bag)
            ]
            return _Result(client, client.compute(dask.optimize(*leaves)))


# -- the feature probe ------------------------------------------------------------------
class _Split(beam.DoFn):
    def process(self, x):
        yield x if x % 2 == 0 else beam.pvalue.TaggedOutput("odd", x)


class _Count(beam.DoFn):
    def __init__(self) -> None:
        self.seen = Metrics.counter("probe", "seen")

    def process(self, x):
        self.seen.inc()
        yield x


_BAG = BagStateSpec("b", VarIntCoder())
_BAG_PARAM = beam.DoFn.StateParam(_BAG)


class _Stateful(beam.DoFn):
    def process(self, kv, bag=_BAG_PARAM):
        bag.add(kv[1])
        yield kv[0], sorted(bag.read())


def _write(pcoll, out: str, name: str) -> None:
    pcoll | f"Write{name}" >> beam.io.WriteToText(os.path.join(out, name))


def _tagged(p, out):
    both = p | beam.Create(range(6)) | beam.ParDo(_Split()).with_outputs("odd", main="even")
    _write(both.even, out, "even")
    _write(both.odd, out, "odd")
    return ["even", "odd"]


def _two_sinks(p, out):
    numbers = p | beam.Create(range(4))
    _write(numbers | "Times10" >> beam.Map(lambda x: x * 10), out, "a")
    _write(numbers | "Plus1" >> beam.Map(lambda x: x + 1), out, "b")
    return ["a", "b"]


def _side_input(p, out):
    side = p | "Side" >> beam.Create([("a", 1), ("c", 3)])
    main = p | "Main" >> beam.Create(["a", "b", "c"])
    _write(main | beam.Map(lambda x, d: (x, d.get(x)), d=beam.pvalue.AsDict(side)), out, "si")
    return ["si"]


def _combine(p, out):
    pairs = p | beam.Create([("a", 1), ("b", 2), ("a", 3)])
    _write(pairs | beam.CombinePerKey(sum), out, "perkey")
    _write(pairs | beam.Values() | beam.CombineGlobally(sum), out, "global")
    return ["perkey", "global"]


def _cogroup(p, out):
    a = p | "A" >> beam.Create([("k", 1), ("j", 2)])
    b = p | "B" >> beam.Create([("k", "x")])
    joined = {"a": a, "b": b} | beam.CoGroupByKey()
    _write(joined | beam.MapTuple(lambda k, v: (k, sorted(v["a"]), sorted(v["b"]))), out, "cj")
    return ["cj"]


def _read_text(p, out):
    source = os.path.join(out, "in.txt")
    with open(source, "w") as handle:
        handle.write("x\ny\n")
    _write(p | beam.io.ReadFromText(source), out, "rt")
    return ["rt"]


def _state(p, out):
    _write(p | beam.Create([("k", 1), ("k", 2)]) | beam.ParDo(_Stateful()), out, "st")
    return ["st"]


def _metrics(p, out):
    _write(p | beam.Create(range(5)) | beam.ParDo(_Count()), out, "m")
    return None


CASES = {
    "tagged outputs": _tagged,
    "two sinks": _two_sinks,
    "side input (AsDict)": _side_input,
    "CombinePerKey/Globally": _combine,
    "CoGroupByKey": _cogroup,
    "ReadFromText": _read_text,
    "state (BagState)": _state,
    "Metrics counter": _metrics,
}


def _written(out: str, names: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in names:
        lines: list[str] = []
        for path in glob.glob(os.path.join(out, name) + "-*"):
            with open(path) as handle:
                lines += [line.strip() for line in handle]
        found[name] = sorted(lines)
    leftover = glob.glob(os.path.join(out, "beam-temp-*"))
    if leftover:  # WriteToText's temporary folders that were never removed
        found["leftover temp dirs"] = len(leftover)
    return found


def probe(case: str, runner: str, extra: list[str]) -> str:
    out = tempfile.mkdtemp(prefix="dask-eval-")
    pipeline = beam.Pipeline(options=PipelineOptions([f"--runner={runner}", *extra]))
    names = CASES[case](pipeline, out)
    try:
        result = pipeline.run()
        result.wait_until_finish()
    except Exception as exc:  # what the runner does with the feature is the answer
        return f"fails: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:110]}"
    if names is None:
        try:
            counters = result.metrics().query()["counters"]
        except Exception as exc:
            return f"metrics() fails: {type(exc).__name__}: {exc}"
        return f"counters {[(c.key.metric.name, c.committed) for c in counters]}"
    return json.dumps(_written(out, names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="a running dask scheduler (default: a LocalCluster)")
    parser.add_argument("--npartitions", type=int, help="dask bag partitions of each Create")
    parser.add_argument("--cases", help="comma-separated subset of: " + ", ".join(CASES))
    args = parser.parse_args()
    if dr is None:
        raise SystemExit('needs dask: pip install "apache-beam[dask]" (not in the lock)')
    extra = [f"--dask_client_address={args.address}"] if args.address else []
    extra += [f"--dask_npartitions={args.npartitions}"] if args.npartitions else []
    cases = args.cases.split(",") if args.cases else list(CASES)
    for case in cases:
        for runner, options in (("DirectRunner", []), (UPSTREAM, extra), (PATCHED, extra)):
            name = runner.rsplit(".", 1)[-1]
            print(f"{case:<24} {name:<18} {probe(case, runner, options)}", flush=True)


if __name__ == "__main__":
    main()
