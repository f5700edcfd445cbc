"""A pack as data: located spec objects built from validated YAML, with `extends` merged and
parameter override files applied. Nothing here compiles or evaluates; see `rulekit.engine`.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import pathlib
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

import attrs
import jsonschema
import yaml

from rulekit.errors import PackError, Problem
from rulekit.pack.loader import YamlDoc, load_yaml, path_text

PACK_FILE = "pack.yaml"


@attrs.frozen
class Where:
    """Where an entry was written, so that every later error can point at it."""
    file: str
    line: int | None
    column: int | None
    path: str
    pack_id: str
    fields: tuple[tuple[str, int | None, int | None], ...] = ()   # (key, line, column) of children

    def at(self, key: str) -> Where:
        """The location of one key of this entry (e.g. its `when:`), for a sharper pointer."""
        for name, line, column in self.fields:
            if name == key:
                return attrs.evolve(self, line=line, column=column, path=f"{self.path}.{key}")
        return attrs.evolve(self, path=f"{self.path}.{key}")

    def problem(self, message: str, rule_id: str | None = None, severity: str = "error") -> Problem:
        return Problem(message, file=self.file, line=self.line, column=self.column, path=self.path,
                       rule_id=rule_id, severity=severity)


@attrs.frozen
class ParamValue:
    start: dt.date
    value: Any
    source: str = ""
    note: str = ""
    origin: str = "pack"          # pack:<id> | override:<file> | argument


@attrs.frozen
class ParamSpec:
    name: str
    label: str
    unit: str
    cites: tuple[str, ...]
    values: tuple[ParamValue, ...]      # sorted by start
    where: Where
    en: str = ""
    local_choice: str = ""
    note: str = ""
    written_in_order: bool = True    # were the values written from the earliest date on?

    def value_on(self, day: dt.date) -> ParamValue | None:
        """The value in force on `day`: the last one whose start is not after it."""
        current = None
        for v in self.values:
            if v.start <= day:
                current = v
            else:
                break
        return current


@attrs.frozen
class ComputedSpec:
    name: str
    label: str
    formula: str
    cites: tuple[str, ...]
    where: Where
    unit: str = ""
    per: str | None = None
    en: str = ""
    local_choice: str = ""
    note: str = ""


@attrs.frozen
class RuleSpec:
    id: str
    group: str
    label: str
    when: str
    cites: tuple[str, ...]
    where: Where
    per: str | None = None
    en: str = ""
    local_choice: str = ""
    note: str = ""


@attrs.frozen
class GroupSpec:
    id: str
    label: str
    rules: tuple[str, ...]
    where: Where
    cites: tuple[str, ...] = ()
    en: str = ""
    note: str = ""


@attrs.frozen
class OverrideSpec:
    id: str
    label: str
    when: str
    cancels: tuple[str, ...]
    cites: tuple[str, ...]
    where: Where
    en: str = ""
    note: str = ""


@attrs.frozen
class OutcomeSpec:
    id: str
    label: str
    status: str
    where: Where
    when: str | None = None
    cites: tuple[str, ...] = ()
    review: str = ""
    en: str = ""
    note: str = ""


@attrs.frozen
class DecisionSpec:
    name: str
    label: str
    hit: str
    outcomes: tuple[OutcomeSpec, ...]
    where: Where
    cites: tuple[str, ...] = ()
    en: str = ""
    note: str = ""


@attrs.frozen
class MeasureSpec:
    name: str
    label: str
    kind: str                 # count | sum
    expr: str                 # per-record expression ("True" counts every record)
    where: Where
    en: str = ""
    unit: str = ""


@attrs.frozen
class ReportSpec:
    """A population-level report: per-record measures aggregated by group, then group rules."""
    name: str
    label: str
    cites: tuple[str, ...]
    measures: dict[str, MeasureSpec]
    computed: dict[str, ComputedSpec]
    rules: dict[str, RuleSpec]
    where: Where
    group_by: tuple[str, ...] = ()
    filter: str | None = None
    table: dict | None = None
    en: str = ""
    note: str = ""


@attrs.frozen
class PackSpec:
    meta: dict
    parameters: dict[str, ParamSpec]
    computed: dict[str, ComputedSpec]
    groups: dict[str, GroupSpec]
    rules: dict[str, RuleSpec]
    overrides: dict[str, OverrideSpec]
    decisions: dict[str, DecisionSpec]
    files: tuple[str, ...]              # every file read, base packs first, override files last
    digest: str                          # sha256 over the bytes of those files
    facts: dict[str, dict] = attrs.field(factory=dict)   # flat input facts, when the pack declares them
    reports: dict[str, ReportSpec] = attrs.field(factory=dict)
    local_facts: dict[str, dict] = attrs.field(factory=dict)   # facts records give under local:
    checks: dict[str, RuleSpec] = attrs.field(factory=dict)    # conditions the input must meet
    catalogue_files: tuple[str, ...] = ()      # the packs' own catalogue.yaml files, if any

    @property
    def id(self) -> str:
        return self.meta["id"]


# -- finding packs ---------------------------------------------------------------------------------

def policies_root() -> pathlib.Path:
    """Where the bundled packs live: inside the installed package, or the checkout's policies/."""
    try:
        root = resources.files("rulekit.policies")
        path = pathlib.Path(str(root))
        if (path / "yuxi").is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return pathlib.Path(__file__).resolve().parents[2] / "policies"


def bundled_packs() -> list[str]:
    root = policies_root()
    return sorted(p.name for p in root.iterdir() if (p / PACK_FILE).is_file())


def resolve_pack_path(name_or_path: str | pathlib.Path) -> pathlib.Path:
    """A pack file from a pack id ("yuxi"), a directory holding pack.yaml, or a YAML file path."""
    p = pathlib.Path(name_or_path)
    if p.is_file():
        return p
    if p.is_dir() and (p / PACK_FILE).is_file():
        return p / PACK_FILE
    bundled = policies_root() / str(name_or_path) / PACK_FILE
    if bundled.is_file():
        return bundled
    raise PackError([Problem(f"no pack {str(name_or_path)!r}: give a bundled pack id "
                             f"({', '.join(bundled_packs())}), a directory holding {PACK_FILE}, "
                             f"or a YAML file")])


# -- the catalogue of requirements -----------------------------------------------------------------

_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def catalogue(extra: tuple[str, ...] = ()) -> dict[str, dict]:
    """Requirement id -> entry (quote, where, kind, note, section): the shipped catalogue, plus
    the catalogue.yaml files a pack brings for a locality the shipped one does not cover."""
    out: dict[str, dict] = {}
    for path in (str(policies_root() / "catalogue.yaml"), *extra):
        text = pathlib.Path(path).read_text(encoding="utf-8")   # checked files: plain safe load,
        data = yaml.load(text, Loader=_SAFE) or {}              # in C where PyYAML has libyaml
        for section, entries in data.items():
            for e in entries or []:
                out.setdefault(e["id"], {**e, "section": section})
    return out


def pack_catalogue(spec: PackSpec) -> dict[str, dict]:
    """The catalogue a pack's citations are checked against and quoted from."""
    return catalogue(spec.catalogue_files)


def _local_catalogue(pack_file: pathlib.Path, display: str) -> tuple[list[str], list[Problem]]:
    """The pack's own catalogue.yaml (next to pack.yaml), checked: entries with id, where and
    quote, ids not already in the shipped catalogue."""
    path = pack_file.parent / "catalogue.yaml"
    if pack_file.parent == policies_root() or not path.is_file():
        return [], []
    doc = load_yaml(path, _display(path))
    problems: list[Problem] = []
    shipped = catalogue()
    if not isinstance(doc.data, dict):
        return [], [doc.problem((), "a catalogue is a mapping: section name -> list of entries "
                                    "(id, where, quote, kind, note)")]
    for section, entries in doc.data.items():
        for i, e in enumerate(entries or []):
            where = (section, i)
            if not isinstance(e, dict) or not {"id", "where", "quote"} <= set(e):
                problems.append(doc.problem(where, "each entry needs id, where and quote (the "
                                                   "clause's verbatim text)"))
            elif e["id"] in shipped:
                problems.append(doc.problem(where + ("id",), f"{e['id']!r} is already in the "
                                                              f"shipped catalogue; choose a new id"))
    return ([str(path)] if not problems else []), problems


# -- schema validation -----------------------------------------------------------------------------

@functools.cache
def pack_schema() -> dict:
    return json.loads(resources.files("rulekit.pack").joinpath("pack.schema.json")
                      .read_text(encoding="utf-8"))


@functools.cache
def _pack_validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(pack_schema(), format_checker=jsonschema.FormatChecker())


def _schema_message(e: jsonschema.ValidationError) -> str:
    v = e.validator
    got = e.instance
    if v == "required":
        missing = e.message.split("'")[1]
        return f"{missing!r} is required here"
    if v == "additionalProperties":
        extra = sorted(set(got) - set(e.schema.get("properties", {})))
        allowed = ", ".join(e.schema.get("properties", {}))
        import difflib
        hints = []
        for x in extra:
            close = difflib.get_close_matches(x, list(e.schema.get("properties", {})), n=1)
            hints.append(f"{x!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return f"unknown key {', '.join(hints)}; allowed keys here: {allowed}"
    if v == "enum":
        return f"must be one of {', '.join(map(repr, e.validator_value))} (got {got!r})"
    if v == "type":
        return f"must be {e.validator_value} (got {got!r})"
    if v == "pattern":
        if e.validator_value.startswith("^[A-Z]{2,6}-"):
            return f"{got!r} is not a catalogue id; cite ids such as YX-F1 or NAT-LINE"
        return f"{got!r} is not a valid name: use letters, digits and _ starting with a letter"
    if v == "format":
        return f"must be a date written YYYY-MM-DD (got {got!r})"
    if v in ("minItems", "minLength", "minProperties"):
        return "must not be empty"
    return e.message


def _located_path(e: jsonschema.ValidationError) -> tuple:
    path = tuple(e.absolute_path)
    if e.validator == "additionalProperties":
        extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
        if extra:
            path += (extra[0],)
    return path


def validate_doc(doc: YamlDoc) -> list[Problem]:
    data = _dates_to_text(doc.data)
    if not isinstance(data, dict):
        return [Problem("a pack file must be a mapping with at least a 'pack:' section",
                        file=doc.file, line=1)]
    problems = []
    for e in _pack_validator().iter_errors(data):
        problems.append(doc.problem(_located_path(e), _schema_message(e)))
    return problems


def _dates_to_text(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _dates_to_text(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_dates_to_text(v) for v in data]
    if isinstance(data, dt.date):
        return data.isoformat()
    return data


# -- building the spec -----------------------------------------------------------------------------

def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _where(doc: YamlDoc, path: tuple, pack_id: str) -> Where:
    line, col = doc.mark(path)
    fields = tuple((k[-1], *doc.marks[k]) for k in doc.children(path))
    return Where(doc.file, line, col, path_text(path), pack_id, fields)


def _common(entry: dict) -> dict:
    return {"en": entry.get("en", ""), "note": entry.get("note", "")}


def _params(doc: YamlDoc, pid: str, origin: str) -> dict[str, ParamSpec]:
    out = {}
    for name, p in (doc.data.get("parameters") or {}).items():
        written = [ParamValue(_date(v["from"]), _param_value(v["value"]), v.get("source", ""),
                              v.get("note", ""), origin) for v in p["values"]]
        values = tuple(sorted(written, key=lambda v: v.start))
        out[name] = ParamSpec(name, p["label"], p["unit"], tuple(p["cites"]), values,
                              _where(doc, ("parameters", name), pid),
                              local_choice=p.get("local_choice", ""), **_common(p),
                              written_in_order=tuple(written) == values)
    return out


_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _param_value(v: Any) -> Any:
    """A parameter value as the engine holds it: dates (written YYYY-MM-DD) become dates, other
    text stays text, lists become tuples."""
    if isinstance(v, list):
        return tuple(_param_value(x) for x in v)
    if isinstance(v, str) and _DATE_TEXT.match(v):
        return _date(v)
    return v


def build_spec(doc: YamlDoc, digest_parts: list[bytes]) -> PackSpec:
    d = doc.data
    meta = dict(d["pack"])
    pid = meta["id"]
    computed = {n: ComputedSpec(n, c["label"], c["formula"], tuple(c["cites"]),
                                _where(doc, ("computed", n), pid), unit=c.get("unit", ""),
                                per=c.get("per"), local_choice=c.get("local_choice", ""), **_common(c))
                for n, c in (d.get("computed") or {}).items()}
    groups, rules = {}, {}
    for gid, g in (d.get("rules") or {}).items():
        groups[gid] = GroupSpec(gid, g["label"], tuple(g["rules"]), _where(doc, ("rules", gid), pid),
                                tuple(g.get("cites", ())), **_common(g))
        for rid, r in g["rules"].items():
            rules[rid] = RuleSpec(rid, gid, r["label"], r["when"], tuple(r["cites"]),
                                  _where(doc, ("rules", gid, "rules", rid), pid), per=r.get("per"),
                                  local_choice=r.get("local_choice", ""), **_common(r))
    overrides = {oid: OverrideSpec(oid, o["label"], o["when"], tuple(o["cancels"]),
                                   tuple(o["cites"]), _where(doc, ("overrides", oid), pid),
                                   **_common(o))
                 for oid, o in (d.get("overrides") or {}).items()}
    decisions = {}
    for name, dec in (d.get("decisions") or {}).items():
        outcomes = tuple(
            OutcomeSpec(o["id"], o["label"], o["status"],
                        _where(doc, ("decisions", name, "outcomes", i), pid), when=o.get("when"),
                        cites=tuple(o.get("cites", ())), review=o.get("review", ""), **_common(o))
            for i, o in enumerate(dec["outcomes"]))
        decisions[name] = DecisionSpec(name, dec["label"], dec["hit"], outcomes,
                                       _where(doc, ("decisions", name), pid),
                                       tuple(dec.get("cites", ())), **_common(dec))
    return PackSpec(meta, _params(doc, pid, f"pack:{pid}"), computed, groups, rules, overrides,
                    decisions, (doc.file,), "", dict(d.get("facts") or {}), _reports(doc, pid),
                    {n: {**f, "where": _where(doc, ("local_facts", n), pid)}
                     for n, f in (d.get("local_facts") or {}).items()},
                    {n: RuleSpec(n, "checks", c["label"], c["must"], tuple(c["cites"]),
                                 _where(doc, ("checks", n), pid), **_common(c))
                     for n, c in (d.get("checks") or {}).items()})


def _reports(doc: YamlDoc, pid: str) -> dict[str, ReportSpec]:
    out = {}
    for name, r in (doc.data.get("reports") or {}).items():
        base = ("reports", name)
        measures = {}
        for m, spec in r["measures"].items():
            kind = "count" if "count" in spec else "sum"
            expr = spec[kind]
            measures[m] = MeasureSpec(m, spec["label"], kind, "True" if expr is True else str(expr),
                                      _where(doc, base + ("measures", m), pid), spec.get("en", ""),
                                      spec.get("unit", ""))
        computed = {n: ComputedSpec(n, c["label"], c["formula"], tuple(c["cites"]),
                                    _where(doc, base + ("computed", n), pid), unit=c.get("unit", ""),
                                    local_choice=c.get("local_choice", ""), **_common(c))
                    for n, c in (r.get("computed") or {}).items()}
        rules = {rid: RuleSpec(rid, name, x["label"], x["when"], tuple(x["cites"]),
                               _where(doc, base + ("rules", rid), pid),
                               local_choice=x.get("local_choice", ""), **_common(x))
                 for rid, x in (r.get("rules") or {}).items()}
        out[name] = ReportSpec(name, r["label"], tuple(r["cites"]), measures, computed, rules,
                               _where(doc, base, pid), tuple(r.get("group_by") or ()),
                               r.get("where"), r.get("table"), **_common(r))
    return out


def _merge(base: PackSpec, child: PackSpec) -> PackSpec:
    """The child's entries replace the base's entries of the same name; the rest are inherited."""
    groups = dict(base.groups)
    rules = dict(base.rules)
    for gid, g in child.groups.items():
        if gid in groups:   # a group given again adds to (or replaces rules of) the base group
            g = attrs.evolve(g, rules=tuple(dict.fromkeys(groups[gid].rules + g.rules)))
        groups[gid] = g
    rules.update(child.rules)
    return PackSpec(child.meta, {**base.parameters, **child.parameters},
                    {**base.computed, **child.computed}, groups, rules,
                    {**base.overrides, **child.overrides}, {**base.decisions, **child.decisions},
                    base.files + child.files, "", {**base.facts, **child.facts},
                    {**base.reports, **child.reports}, {**base.local_facts, **child.local_facts},
                    checks={**base.checks, **child.checks},
                    catalogue_files=base.catalogue_files + child.catalogue_files)


def _display(path: pathlib.Path) -> str:
    """How a file is named in errors and results: bundled packs as policies/<id>/pack.yaml
    wherever they are installed (so results reproduce across machines), others relative to the
    working directory when they are under it."""
    resolved = path.resolve()
    for base, prefix in ((policies_root().resolve(), "policies"), (pathlib.Path.cwd(), "")):
        try:
            rel = resolved.relative_to(base)
        except ValueError:
            continue
        return f"{prefix}/{rel}" if prefix else str(rel)
    return str(path)


def read_spec(name_or_path: str | pathlib.Path, _seen: tuple[str, ...] = ()) -> tuple[PackSpec, list[bytes]]:
    """The merged spec of a pack and its `extends` chain, plus the bytes of every file read."""
    path = resolve_pack_path(name_or_path)
    doc = load_yaml(path, _display(path))
    problems = validate_doc(doc)
    if problems:
        raise PackError(problems, subject=doc.file)
    spec = build_spec(doc, [])
    parts = [path.read_bytes()]
    local, problems = _local_catalogue(path, doc.file)
    if problems:
        raise PackError(problems)
    if local:
        spec = attrs.evolve(spec, catalogue_files=tuple(local))
        parts.append(pathlib.Path(local[0]).read_bytes())
    base_id = spec.meta.get("extends")
    if base_id:
        if base_id in _seen or base_id == spec.id:
            chain = " -> ".join(_seen + (spec.id, base_id))
            raise PackError([doc.problem(("pack", "extends"), f"extends forms a cycle: {chain}")])
        base_path = path.parent.parent / base_id / PACK_FILE
        base, base_parts = read_spec(base_path if base_path.is_file() else base_id,
                                     _seen + (spec.id,))
        spec = _merge(base, spec)
        parts = base_parts + parts
    return spec, parts


def apply_override_file(spec: PackSpec, path: pathlib.Path | str) -> tuple[PackSpec, bytes]:
    """Add the dated parameter values of an override file; on the same start date it wins."""
    path = pathlib.Path(path)
    doc = load_yaml(path, _display(path))
    data = doc.data
    problems: list[Problem] = []
    if not isinstance(data, dict) or set(data) - {"overrides_for", "issued_by", "note", "parameters"}:
        extra = sorted(set(data) - {"overrides_for", "issued_by", "note", "parameters"}) \
            if isinstance(data, dict) else []
        problems.append(doc.problem((extra[0],) if extra else (),
                                    "an override file has keys overrides_for, issued_by, note and "
                                    "parameters" + (f" (got {extra[0]!r})" if extra else "")))
        raise PackError(problems)
    if data.get("overrides_for") not in (None, spec.id):
        problems.append(doc.problem(("overrides_for",), f"this file overrides pack "
                                    f"{data['overrides_for']!r}, not {spec.id!r}"))
    params = dict(spec.parameters)
    origin = f"override:{doc.file}"
    for name, p in (data.get("parameters") or {}).items():
        where = ("parameters", name)
        if name not in params:
            import difflib
            close = difflib.get_close_matches(name, list(params), n=1)
            problems.append(doc.problem(where, f"pack {spec.id!r} has no parameter {name!r}"
                                        + (f" (did you mean {close[0]!r}?)" if close else "")))
            continue
        entries = p.get("values") if isinstance(p, dict) else None
        if not isinstance(entries, list) or not entries:
            problems.append(doc.problem(where, "write the new values as 'values: [{from: "
                                        "YYYY-MM-DD, value: ..., source: ...}]'"))
            continue
        new = []
        for i, v in enumerate(entries):
            if not isinstance(v, dict) or "from" not in v or "value" not in v:
                problems.append(doc.problem(where + ("values", i),
                                            "each value needs 'from' (a date) and 'value'"))
                continue
            try:
                new.append(ParamValue(_date(v["from"]), _param_value(v["value"]),
                                      v.get("source", ""), v.get("note", ""), origin))
            except ValueError:
                problems.append(doc.problem(where + ("values", i, "from"),
                                            f"must be a date written YYYY-MM-DD (got {v['from']!r})"))
        kept = [v for v in params[name].values if v.start not in {n.start for n in new}]
        params[name] = attrs.evolve(params[name],
                                    values=tuple(sorted(kept + new, key=lambda v: v.start)))
    if problems:
        raise PackError(problems)
    return attrs.evolve(spec, parameters=params, files=spec.files + (doc.file,)), path.read_bytes()


def digest(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()
