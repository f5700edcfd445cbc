"""The compiled pack users hold: load once, evaluate many households."""
from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from rulekit.engine.compile import CompiledPack, compile_spec
from rulekit.engine.evaluate import FALLBACK_ERRORS, _parameters, _period, _prepare, evaluate, reference_date
from rulekit.errors import EvaluationError, Problem, RecordError
from rulekit.expr.values import Unknown
from rulekit.pack import spec as S
from rulekit.record import model as M
from rulekit.record.flat import compile_checker, flat_env
from rulekit.record.schema import normalise, to_canonical
from rulekit.trace.result import Result


class Pack:
    """A loaded, compiled policy pack. Immutable; safe to share between threads."""

    def __init__(self, compiled: CompiledPack, digest: str) -> None:
        self.compiled = compiled
        self.spec = compiled.spec
        self.digest = digest
        self._check_flat = compile_checker(self.spec.facts) if self.spec.facts else None
        self._columnar: Any = False      # compiled on first use (needs numpy)
        fast = compiled.fast
        self._on_raw = fast.on_raw if fast is not None else None
        self._inputs: dict[Any, Any] = {}   # as_of as given -> (date, parameters and dates) or None
        # what reason chains need of the pack's static structure (expressions by name, the order
        # of their inputs, citations), built on first use and shared by every result
        self.trace_cache: dict[Any, Any] = {}

    @property
    def compiled_columnar(self) -> Any:
        """The pack's columnar function (flat-fact packs only), or None."""
        if self._columnar is False:
            try:
                from rulekit.engine.columnar import compile_columnar
                self._columnar = compile_columnar(self.compiled)
            except ImportError:
                self._columnar = None
        return self._columnar

    def evaluate_columns(self, columns: Mapping[str, Any], *, as_of: Any) -> Any:
        """Decide many rows at once from columns (name -> values); see engine/columnar.py.
        Rows it marks `fallback` (a missing value, a division by zero) must be evaluated one by
        one with evaluate()."""
        from rulekit.engine.columnar import evaluate_columns
        return evaluate_columns(self, columns, as_of)

    def evaluate_records(self, records: Sequence[Mapping[str, Any]], *, as_of: Any) -> Any:
        """Decide a list of flat records at once with the columnar path (flat-fact packs): the
        outcomes, every rule's result and every computed value, one array per name. Rows it
        cannot decide exactly as evaluate() would (a missing or wrong-typed value, a key the pack
        does not declare, an id that is not text, a division by zero) are marked `fallback`:
        evaluate those one by one with evaluate(), which decides or explains them."""
        from rulekit.engine.columnar import columns_from_records, evaluate_columns
        columns, odd = columns_from_records(self, records)
        decided = evaluate_columns(self, columns, as_of)
        return attrs.evolve(decided, fallback=decided.fallback | odd)

    @property
    def id(self) -> str:
        return self.spec.meta["id"]

    @property
    def version(self) -> str:
        return str(self.spec.meta["version"])

    def info(self) -> dict:
        m = self.spec.meta
        return {"id": self.id, "version": self.version, "sha256": self.digest,
                "locality": m.get("locality"), "title": m.get("title"),
                "number": m.get("number"), "issued": str(m.get("issued", "")) or None,
                "extends": m.get("extends"), "files": list(self.spec.files)}

    def evaluate(self, record: Mapping[str, Any] | M.Household, *, as_of: dt.date | str | None = None,
                 parameters: Mapping[str, Any] | None = None) -> Result:
        """Decide what the pack says about one household.

        `record` is a JSON-shaped dict (aliases and Chinese values accepted) or a `Household`.
        `as_of` picks the parameter values in force; it defaults to the record's collected_on,
        and must be given when the record has none. `parameters` overrides parameter values for
        this call (shown in the trace with origin "argument").
        """
        if self._on_raw is not None and as_of is not None and not parameters:
            inputs = self._inputs.get(as_of, False)
            if inputs is False:
                inputs = self._fast_inputs(as_of)
            if inputs is not None:
                try:
                    vector = self._on_raw(record, inputs[1])
                except FALLBACK_ERRORS:
                    vector = None
                if vector is not None:
                    return Result(self, None, record["id"], inputs[0], None, vector)
        if self.spec.facts:
            canonical = flat_env(self.spec.facts, record, self._check_flat)
            canonical["id"] = record["id"]
        elif isinstance(record, M.Household):
            canonical = to_canonical(record)
        else:
            canonical = normalise(record)
        day = _as_of(as_of, canonical)
        if parameters:
            unknown = sorted(set(parameters) - set(self.spec.parameters))
            if unknown:
                raise KeyError(f"pack {self.id!r} has no parameter {unknown[0]!r}; it has "
                               f"{', '.join(self.spec.parameters)}")
        state = evaluate(self.compiled, canonical, day, dict(parameters or {}))
        if self.compiled.checks:
            _input_checks(self.compiled, state.env, canonical.get("id"))
        return Result(self, state, canonical["id"], day, canonical)

    def _fast_inputs(self, as_of: Any) -> tuple[dt.date, tuple] | None:
        """The day and the values the raw fast route binds (parameters in force, then as_of,
        reference date, period start and end), or None when one is unknown on that day."""
        try:
            day = _as_of(as_of, {})
        except (ValueError, RecordError):
            return None               # the checked route says what is wrong with as_of
        values = _parameters(self.compiled, day, None)[1]
        ref = reference_date(self.spec.meta.get("reference_date"), {}, day)
        period = _period(ref, self.spec.meta.get("income_period") or {})
        names = self.compiled.fast.inputs
        given = {**values, "as_of": day, "reference_date": ref, "period_start": period[0],
                 "period_end": period[1]}
        inputs = None
        if not any(given[n].__class__ is Unknown for n in names):
            inputs = (day, tuple(given[n] for n in names))
        if len(self._inputs) > 64:
            self._inputs.clear()
        self._inputs[as_of] = inputs
        return inputs

    def record_of(self, vector: tuple, record_id: str) -> dict:
        """The checked flat record a fast-path vector was computed from."""
        given = dict(zip(self.compiled.fast.facts, vector))
        record = {name: given[name] for name in self.spec.facts}    # in the pack's order
        record["id"] = record_id
        return record

    def state_of(self, vector: tuple, record_id: str, day: dt.date) -> Any:
        """The State the interpreter would have produced, rebuilt from a fast-path vector."""
        state = _prepare(self.compiled, self.record_of(vector, record_id), day, None)
        self.compiled.fast.fill(state, vector)
        return state

    def evaluate_many(self, records: Iterable[Mapping[str, Any]], *, as_of: Any = None,
                      parameters: Mapping[str, Any] | None = None
                      ) -> Iterable[Result | RecordError | EvaluationError]:
        """Evaluate each record in order; a record that fails validation or evaluation yields its
        error instead (in its place), so one bad record never loses the others."""
        for rec in records:
            try:
                yield self.evaluate(rec, as_of=as_of, parameters=parameters)
            except (RecordError, EvaluationError) as e:
                yield e

    def report(self, name: str, items: Iterable[Any], *, as_of: Any = None,
               parameters: Mapping[str, Any] | None = None) -> Any:
        """Run the population report `name` over records (or already evaluated Results).
        Invalid records are listed with their position, never dropped silently."""
        from rulekit.engine.report import run_report
        return run_report(self, name, items, as_of=as_of, parameters=parameters)

    def __repr__(self) -> str:
        return f"<Pack {self.id} {self.version} sha256:{self.digest[:12]}>"


def _input_checks(compiled: CompiledPack, env: dict, record_id: str | None) -> None:
    """The pack's conditions on the input (e.g. sub-items add up to their item): one that is
    known to fail makes the record invalid, naming the figures it read and the figures those
    were computed from. A check whose facts are missing cannot fail here."""
    reads = {n.name: n.expr.reads for n in compiled.nodes if n.kind == "computed" and n.expr}
    problems = []
    for spec, expr in compiled.checks:
        if expr(env) is False:
            names = list(dict.fromkeys([*sorted(expr.reads),
                                        *(m for r in sorted(expr.reads) for m in sorted(reads.get(r, ())))]))
            figures = ", ".join(f"{n}={_figure(env.get(n))}" for n in names)
            problems.append(Problem(f"{spec.label}: {spec.when} does not hold ({figures}); correct "
                                    f"the record", path=f"checks.{spec.id}", rule_id=spec.id))
    if problems:
        raise RecordError(problems, subject=f"household {record_id!r}", record_id=record_id)


def _figure(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return str(v)


def _as_of(as_of: dt.date | str | None, canonical: dict) -> dt.date:
    if isinstance(as_of, dt.date):
        return as_of
    if isinstance(as_of, str):
        try:
            return dt.date.fromisoformat(as_of)
        except ValueError:
            raise ValueError(f"as_of must be a date written YYYY-MM-DD (got {as_of!r})") from None
    collected = canonical.get("collected_on")
    if isinstance(collected, dt.date):
        return collected
    if collected:
        return dt.date.fromisoformat(collected)
    raise RecordError([Problem("the record has no collected_on date, so give as_of= (the date "
                               "whose parameter values apply; --as-of on the command line)",
                               path="collected_on",
                               zh="记录没有采集日期（collected_on），请给出 as_of（命令行用 --as-of）："
                                  "适用哪一天的参数值")],
                      record_id=canonical.get("id"))


def load_pack(name_or_path: str | pathlib.Path,
              overrides: Iterable[str | pathlib.Path] | str | pathlib.Path | None = None) -> Pack:
    """Load, validate and compile a pack by bundled id ("yuxi") or path, with optional parameter
    override files; raises PackError listing every problem with file:line:col."""
    spec, parts = S.read_spec(name_or_path)
    if isinstance(overrides, (str, pathlib.Path)):
        overrides = [overrides]
    for path in overrides or ():
        spec, raw = S.apply_override_file(spec, path)
        parts.append(raw)
    digest = S.digest(parts)
    spec = attrs.evolve(spec, digest=digest)
    return Pack(compile_spec(spec), digest)
