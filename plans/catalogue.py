"""Loads the vetted exercise, red-flag, source, FAQ and template data under plans/data/."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError

from plans.datacheck import Problem, content_hash
from plans.errors import UnknownRedFlag, UnknownTemplate
from plans.model import (
    DOSE_FIELDS,
    Dose,
    DoseRange,
    Exercise,
    FaqEntry,
    Finding,
    Phase,
    PlanItem,
    RedFlag,
    Review,
    ScreeningCategory,
    ScreeningModel,
    Source,
    Template,
    Tier,
    TierGuidance,
    Unsuited,
)
from plans.schemas import (
    ExerciseFileSchema,
    FaqFileSchema,
    RedFlagFileSchema,
    ScreeningFileSchema,
    SourceFileSchema,
    TemplateSchema,
)

DATA_DIR = Path(__file__).parent / "data"
TIER_ORDER: tuple[Tier, ...] = (Tier.EMERGENCY, Tier.SAME_DAY, Tier.SLOW_DOWN)


class CatalogueError(Exception):
    """The data files are broken; `problems` lists each one, as check_templates would."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            f"{len(problems)} problem(s) in the template data:\n"
            + "\n".join(str(p) for p in problems)
        )
        self.problems = problems


@dataclass(frozen=True, eq=False)
class Catalogue:
    """Everything vetted that plans are built from. Read-only once loaded."""

    exercises: dict[str, Exercise]
    templates: dict[str, Template]
    red_flags: tuple[RedFlag, ...]  # every tier, in TIER_ORDER
    sources: dict[str, Source]
    faq: dict[str, FaqEntry] = field(default_factory=dict)
    tier_guidance: dict[Tier, TierGuidance] = field(default_factory=dict)
    # Templates whose stored content_hash no longer matches their content: edited after review,
    # so they are not offered until re-reviewed and re-stamped.
    stale_templates: frozenset[str] = frozenset()
    # The clinician screening model (plans/data/screening.yaml) and its review.
    screening: ScreeningModel = field(
        default_factory=lambda: ScreeningModel(categories={}, findings={}))
    screening_review: Review | None = None

    def approved_templates(self) -> list[Template]:
        """Templates a clinician may use: review status approved and content unchanged since."""
        return [
            t for t in self.templates.values() if t.approved and t.id not in self.stale_templates
        ]

    def template(self, template_id: str) -> Template:
        """Raises UnknownTemplate unless template_id names an approved, unchanged template."""
        t = self.templates.get(template_id)
        if t is None or not t.approved or t.id in self.stale_templates:
            raise UnknownTemplate(template_id)
        return t

    def plan_exercise_ids(self, template: Template) -> list[str]:
        """Every exercise a plan from template can show: its items, optional ones, swap targets."""
        start = [i.exercise_id for p in template.phases for i in p.items]
        return swap_closure(start + list(template.optional_exercises),
                            lambda i: self.exercises[i].swaps.values())

    def red_flag(self, flag_id: str) -> RedFlag:
        """Raises UnknownRedFlag for an id not in the catalogue."""
        for f in self.red_flags:
            if f.id == flag_id:
                return f
        raise UnknownRedFlag(flag_id)


def load_catalogue(data_dir: Path | None = None) -> Catalogue:
    """Loads and cross-checks the data files; raises CatalogueError listing every problem."""
    catalogue, problems = read_data_dir(data_dir or DATA_DIR)
    if problems or catalogue is None:
        raise CatalogueError(problems)
    return catalogue


@functools.cache
def default_catalogue() -> Catalogue:
    """The shipped catalogue, loaded once per process. Raises CatalogueError if it is broken."""
    return load_catalogue(DATA_DIR)


# --- reading -------------------------------------------------------------------------------


def _flatten(messages: Any, prefix: str, names: list[str] | None) -> list[tuple[str, str]]:
    """Marshmallow's nested error dict -> (dotted field, message) pairs; list indexes become ids."""
    out: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, sub in messages.items():
            part = str(key)
            if isinstance(key, int) and names is not None and key < len(names):
                part = names[key]
            elif key == "_schema":
                part = ""
            path = f"{prefix}.{part}" if prefix and part else (prefix or part)
            out.extend(_flatten(sub, path, None))
    elif isinstance(messages, list):
        for m in messages:
            out.extend(_flatten(m, prefix, None))
    else:
        out.append((prefix, str(messages)))
    return out


def _load(path: Path, rel: str, schema: Schema, list_key: str | None,
          problems: list[Problem]) -> dict[str, Any] | None:
    """Reads one YAML file through its schema; records problems and returns None if it fails."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(Problem(rel, "", "file is missing"))
        return None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(Problem(rel, "", f"not valid YAML: {exc}"))
        return None
    if not isinstance(raw, dict):
        problems.append(Problem(rel, "", "must be a YAML mapping"))
        return None
    try:
        return schema.load(raw)
    except ValidationError as exc:
        names = None
        if list_key and isinstance(raw.get(list_key), list):
            names = [
                str(e.get("id", i)) if isinstance(e, dict) else str(i)
                for i, e in enumerate(raw[list_key])
            ]
        messages = exc.messages
        if list_key and isinstance(messages, dict) and isinstance(messages.get(list_key), dict):
            for key, sub in messages[list_key].items():
                label = names[key] if names and isinstance(key, int) and key < len(names) else key
                for f, m in _flatten(sub, f"{list_key}.{label}", None):
                    problems.append(Problem(rel, f, m))
            messages = {k: v for k, v in messages.items() if k != list_key}
        for f, m in _flatten(messages, "", None):
            problems.append(Problem(rel, f, m))
        return None


def _by_id(items: list[dict[str, Any]], rel: str, key: str,
           problems: list[Problem]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        if item["id"] in out:
            problems.append(Problem(rel, f"{key}.{item['id']}", "id is used twice"))
        out[item["id"]] = item
    return out


def _dose_problems(dose: dict[str, Any], bounds: dict[str, list[int]], where: str,
                   rel: str, problems: list[Problem]) -> None:
    for name in DOSE_FIELDS:
        value = dose.get(name)
        if value is None or name not in bounds:
            continue
        lo, hi = bounds[name]
        if not lo <= value <= hi:
            problems.append(
                Problem(rel, f"{where}.{name}",
                        f"{value} is outside the allowed range {lo} to {hi}")
            )


def _check_exercises(exercises: dict[str, dict[str, Any]], problems: list[Problem]) -> None:
    rel = "exercises.yaml"
    for ex_id, ex in exercises.items():
        where = f"exercises.{ex_id}"
        dose, bounds = ex["dose"], ex["dose_range"]
        for name in bounds:
            if dose.get(name) is None:
                problems.append(
                    Problem(rel, f"{where}.dose_range.{name}",
                            "has a range but the default dose does not use this field")
                )
        _dose_problems(dose, bounds, f"{where}.dose", rel, problems)
        for kind in ("regressions", "progressions"):
            for target in ex[kind]:
                if target not in exercises:
                    problems.append(Problem(rel, f"{where}.{kind}", f"unknown exercise {target!r}"))
        for answer, target in ex["swaps"].items():
            if target not in exercises:
                problems.append(
                    Problem(rel, f"{where}.swaps.{answer}", f"unknown exercise {target!r}")
                )
            elif target == ex_id:
                problems.append(Problem(rel, f"{where}.swaps.{answer}", "swaps to itself"))
            elif exercises[target]["straight_knee_long_hold"]:
                problems.append(
                    Problem(rel, f"{where}.swaps.{answer}",
                            f"{target!r} is itself a straight-knee long hold")
                )
        for answer in ("nerve_symptoms", "high_irritability"):
            # The seed: with nerve-type feelings or a touchy back, bent-knee or active moves.
            if ex["straight_knee_long_hold"] and not (
                answer in ex["swaps"] or answer in ex["excluded_when"]
            ):
                problems.append(
                    Problem(rel, f"{where}.swaps",
                            f"a straight-knee long hold needs a {answer} swap or exclusion")
                )
        # REFERENCES.md A.4: with nerve-related signs, sliders rather than tensioners.
        if ex["nerve_tensioning"] and "nerve_symptoms" not in ex["swaps"] \
                and "nerve_symptoms" not in ex["excluded_when"]:
            problems.append(Problem(rel, f"{where}.swaps",
                                    "a nerve-tensioning move needs a nerve_symptoms swap or "
                                    "exclusion"))
        target = ex["swaps"].get("nerve_symptoms")
        if target in exercises and exercises[target]["nerve_tensioning"]:
            problems.append(Problem(rel, f"{where}.swaps.nerve_symptoms",
                                    f"{target!r} is itself a nerve-tensioning move"))


def _check_screening(f: dict[str, Any], problems: list[Problem]) -> None:
    rel = "screening.yaml"
    cats = _by_id(f["categories"], rel, "categories", problems)
    _by_id(f["findings"], rel, "findings", problems)
    for c in cats.values():
        for s in c["sources"]:
            if s not in f["sources"]:
                problems.append(Problem(rel, f"categories.{c['id']}.sources",
                                        f"unknown source {s!r}"))
    for finding in f["findings"]:
        for c in (finding["category"], *finding["also"]):
            if c not in cats:
                problems.append(Problem(rel, f"findings.{finding['id']}.category",
                                        f"unknown category {c!r}"))


def _screening_model(f: dict[str, Any]) -> ScreeningModel:
    return ScreeningModel(
        categories={c["id"]: ScreeningCategory(
            id=c["id"], title=c["title"], consequence=c["consequence"], requires=c["requires"],
            answer=c["answer"], ease_dose=c["ease_dose"], advice_only=c["advice_only"],
            sources=tuple(c["sources"])) for c in f["categories"]},
        findings={x["id"]: Finding(x["id"], x["category"], x["label"], tuple(x["also"]))
                  for x in f["findings"]},
        sources=dict(f["sources"]),
    )


def swap_closure(start: Iterable[str], swaps_of: Callable[[str], Iterable[str]]) -> list[str]:
    """start plus every exercise a safety swap can lead to from it, in first-seen order."""
    todo = list(start)
    seen: list[str] = []
    while todo:
        ex_id = todo.pop(0)
        if ex_id not in seen:
            seen.append(ex_id)
            todo.extend(swaps_of(ex_id))
    return seen


def referenced_exercise_ids(template: dict[str, Any],
                            exercises: dict[str, dict[str, Any]]) -> list[str]:
    """Every exercise a plan from this (loaded, unbuilt) template can contain."""
    start = [i["exercise"] for p in template["phases"] for i in p["items"]]
    return swap_closure(
        start + list(template["optional_exercises"]),
        lambda i: exercises[i]["swaps"].values() if i in exercises else (),
    )


def _check_template(t: dict[str, Any], rel: str, stem: str, exercises: dict[str, dict[str, Any]],
                    sources: dict[str, Any], faq: dict[str, Any],
                    problems: list[Problem]) -> None:
    if t["id"] != stem:
        problems.append(Problem(rel, "id", f"must match the file name {stem!r}"))
    for i, s in enumerate(t["sources"]):
        if s not in sources:
            problems.append(Problem(rel, f"sources.{i}", f"unknown source {s!r}"))
    for i, q in enumerate(t["faq"]):
        if q not in faq:
            problems.append(Problem(rel, f"faq.{i}", f"unknown FAQ entry {q!r}"))
    in_phases: set[str] = set()
    for pi, phase in enumerate(t["phases"]):
        for ii, item in enumerate(phase["items"]):
            where = f"phases.{pi}.items.{ii}"
            ex_id = item["exercise"]
            if ex_id not in exercises:
                problems.append(Problem(rel, f"{where}.exercise", f"unknown exercise {ex_id!r}"))
                continue
            if ex_id in in_phases:
                problems.append(Problem(rel, f"{where}.exercise", f"{ex_id!r} is listed twice"))
            in_phases.add(ex_id)
            if item["dose"]:
                bounds = exercises[ex_id]["dose_range"]
                for name in item["dose"]:
                    if name != "each_side" and name not in bounds:
                        problems.append(
                            Problem(rel, f"{where}.dose.{name}",
                                    f"is fixed for {ex_id!r} and cannot be changed")
                        )
                _dose_problems(item["dose"], bounds, f"{where}.dose", rel, problems)
    for i, ex_id in enumerate(t["optional_exercises"]):
        if ex_id not in exercises:
            problems.append(
                Problem(rel, f"optional_exercises.{i}", f"unknown exercise {ex_id!r}")
            )
        elif ex_id in in_phases:
            problems.append(
                Problem(rel, f"optional_exercises.{i}", f"{ex_id!r} is already in a phase")
            )


def referenced_content(t: dict[str, Any], exercises: dict[str, dict[str, Any]],
                       sources: dict[str, Any], faq: dict[str, Any],
                       red_flags: dict[str, Any]) -> dict[str, Any]:
    """The catalogue entries a template's plans show, for its content hash."""
    return {
        "exercises": {i: exercises[i] for i in referenced_exercise_ids(t, exercises)
                      if i in exercises},
        "sources": {i: sources[i] for i in t["sources"] if i in sources},
        "faq": {i: faq[i] for i in t["faq"] if i in faq},
        "red_flags": red_flags,
    }


def _exercise(ex: dict[str, Any]) -> Exercise:
    return Exercise(
        id=ex["id"],
        name=ex["name"],
        purpose=ex["purpose"],
        steps=tuple(ex["steps"]),
        cues=tuple(ex["cues"]),
        feel=ex["feel"],
        back_off=ex["back_off"],
        dose=Dose.from_dict(ex["dose"]),
        dose_range=DoseRange.from_dict(ex["dose_range"]),
        straight_knee_long_hold=ex["straight_knee_long_hold"],
        nerve_tensioning=ex["nerve_tensioning"],
        hamstring_load=ex["hamstring_load"],
        regressions=tuple(ex["regressions"]),
        progressions=tuple(ex["progressions"]),
        swaps=dict(ex["swaps"]),
        excluded_when=tuple(ex["excluded_when"]),
        pose=ex["pose"],
        illustration_alt=ex["illustration_alt"],
    )


def _template(t: dict[str, Any], exercises: dict[str, Exercise], faq: dict[str, FaqEntry],
              digest: str) -> Template:
    phases = tuple(
        Phase(
            name=p["name"],
            note=p["note"],
            items=tuple(
                PlanItem(
                    exercise_id=i["exercise"],
                    dose=exercises[i["exercise"]].dose.with_changes(i["dose"]) if i["dose"]
                    else None,
                )
                for i in p["items"]
            ),
        )
        for p in t["phases"]
    )
    return Template(
        id=t["id"],
        version=t["version"],
        title=t["title"],
        summary=t["summary"],
        review=Review(**t["review"]),
        sources=tuple(t["sources"]),
        phases=phases,
        optional_exercises=tuple(t["optional_exercises"]),
        habit_anchor=t["habit_anchor"],
        tracking_prompts=tuple(t["tracking_prompts"]),
        faq=tuple(faq[q] for q in t["faq"]),
        content_hash=digest,
        not_suited_for=tuple(Unsuited(u["answer"], u["why"]) for u in t["not_suited_for"]),
    )


@dataclass
class DataDir:
    """The data files after schema and cross-reference checks, before building the catalogue."""

    exercises: dict[str, dict[str, Any]] = field(default_factory=dict)
    red_flag_file: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    faq: dict[str, dict[str, Any]] = field(default_factory=dict)
    screening_file: dict[str, Any] = field(default_factory=dict)
    # file name relative to the data dir -> loaded template
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    # template id -> hash computed from its content now
    hashes: dict[str, str] = field(default_factory=dict)


def read_raw(data_dir: Path) -> tuple[DataDir, list[Problem]]:
    """Reads and checks every data file; returns what loaded and every problem found."""
    problems: list[Problem] = []
    d = DataDir()
    ex_file = _load(data_dir / "exercises.yaml", "exercises.yaml", ExerciseFileSchema(),
                    "exercises", problems)
    if ex_file:
        d.exercises = _by_id(ex_file["exercises"], "exercises.yaml", "exercises", problems)
        _check_exercises(d.exercises, problems)
    rf_file = _load(data_dir / "red_flags.yaml", "red_flags.yaml", RedFlagFileSchema(),
                    "red_flags", problems)
    if rf_file:
        d.red_flag_file = rf_file
        _by_id(rf_file["red_flags"], "red_flags.yaml", "red_flags", problems)
    sc_file = _load(data_dir / "screening.yaml", "screening.yaml", ScreeningFileSchema(),
                    "findings", problems)
    if sc_file:
        d.screening_file = sc_file
        _check_screening(sc_file, problems)
    src_file = _load(data_dir / "sources.yaml", "sources.yaml", SourceFileSchema(), "sources",
                     problems)
    if src_file:
        d.sources = _by_id(src_file["sources"], "sources.yaml", "sources", problems)
    faq_file = _load(data_dir / "faq.yaml", "faq.yaml", FaqFileSchema(), "faq", problems)
    if faq_file:
        d.faq = _by_id(faq_file["faq"], "faq.yaml", "faq", problems)
    paths = sorted((data_dir / "templates").glob("*.yaml"))
    if not paths:
        problems.append(Problem("templates", "", "no template files"))
    seen_ids: dict[str, str] = {}
    for path in paths:
        rel = f"templates/{path.name}"
        t = _load(path, rel, TemplateSchema(), None, problems)
        if t is None:
            continue
        if t["id"] in seen_ids:
            problems.append(Problem(rel, "id", f"id is also used by {seen_ids[t['id']]}"))
            continue
        seen_ids[t["id"]] = rel
        _check_template(t, rel, path.stem, d.exercises, d.sources, d.faq, problems)
        d.templates[rel] = t
        d.hashes[t["id"]] = content_hash(
            t, referenced_content(t, d.exercises, d.sources, d.faq, d.red_flag_file)
        )
    return d, problems


def read_data_dir(data_dir: Path) -> tuple[Catalogue | None, list[Problem]]:
    """The catalogue (None if any problem stops it from loading) and the problems found."""
    d, problems = read_raw(data_dir)
    if problems:
        return None, problems
    exercises = {i: _exercise(e) for i, e in d.exercises.items()}
    faq = {i: FaqEntry(q["question"], q["answer"]) for i, q in d.faq.items()}
    flags = [
        RedFlag(id=f["id"], tier=Tier(f["tier"]), text=f["text"], label=f["label"])
        for f in d.red_flag_file["red_flags"]
    ]
    red_flags = tuple(sorted(flags, key=lambda f: TIER_ORDER.index(f.tier)))
    templates = {
        t["id"]: _template(t, exercises, faq, d.hashes[t["id"]]) for t in d.templates.values()
    }
    stale = frozenset(t["id"] for t in d.templates.values()
                      if t["content_hash"] != d.hashes[t["id"]])
    return Catalogue(
        exercises=exercises,
        templates=templates,
        red_flags=red_flags,
        sources={i: Source(**s) for i, s in d.sources.items()},
        faq=faq,
        tier_guidance={
            Tier(k): TierGuidance(Tier(k), v["heading"], v["action"])
            for k, v in sorted(d.red_flag_file["tiers"].items(),
                               key=lambda kv: TIER_ORDER.index(Tier(kv[0])))
        },
        stale_templates=stale,
        screening=_screening_model(d.screening_file),
        screening_review=Review(**d.screening_file["review"]),
    ), problems
