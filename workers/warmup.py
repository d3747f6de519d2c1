"""Warm a worker before its first job: the database mappers, fonts, the template catalogue,
the drawings and one throwaway layout of every approved template in each page size, PDF and
HTML.

A fresh process otherwise pays for all of that inside the first patient's handout (0.35-1.08 s
against ~40 ms warm, issue 14). The throwaway renders go through the very functions a job
uses, so every per-process cache (registered fonts, style sheets, string widths, drawings) is
filled exactly as a real job would fill it: the caches are keyed by their inputs, so warming
cannot change any later handout's bytes.
"""

from __future__ import annotations

import logging
import time

from celery.signals import celeryd_after_setup
from sqlalchemy.orm import configure_mappers

from pdf.html import render_handout_html
from pdf.render import render_handout_with_pages
from plans.assembly import assemble_plan
from plans.catalogue import default_catalogue
from plans.model import ClinicInfo, HandoutOptions, HandoutSnapshot, PageSize, PlanRequest

log = logging.getLogger(__name__)

# Every combination a job can ask for (workers/tasks.py builds HandoutOptions from these).
_OPTIONS = tuple(HandoutOptions(page_size=size, large_print=large)
                 for size in PageSize for large in (False, True))


def warm() -> float:
    """Render every approved template once per option set and throw the results away; returns
    the seconds it took. Made-up patient and clinic: nothing real is touched or stored."""
    start = time.perf_counter()
    # SQLAlchemy configures the mappers on the first query that needs them: 30-40 ms, which a
    # fresh child otherwise spends inside its first job's claim (seen with py-spy in the fault
    # suite).
    configure_mappers()
    catalogue = default_catalogue()
    clinic = ClinicInfo(name="Warm-up Clinic", contact="555-0100", emergency_number="911",
                        out_of_hours="Call 555-0100")
    for template in catalogue.approved_templates():
        plan = assemble_plan(catalogue, PlanRequest(template_id=template.id,
                                                     patient_name="Warm Up"))
        snapshot = HandoutSnapshot(plan_id="PLN-WARMUP", revision=1, created_on="2026-01-01",
                                   clinician="Warm-up", clinic=clinic, plan=plan)
        for options in _OPTIONS:
            render_handout_with_pages(snapshot, options)
            render_handout_html(snapshot, options)
    return time.perf_counter() - start


def _on_worker_setup(**_: object) -> None:
    # celeryd_after_setup runs in the main worker process once logging is set up (worker_init
    # comes before, so its log lines were lost) and before the pool starts: prefork children
    # are forked from it and inherit the warm caches; solo and thread pools share them.
    # (worker_process_init, in each child, must finish within worker_proc_alive_timeout, 4 s
    # by default, or the child is killed: too tight for a busy 2-core machine.)
    # A warm-up failure only costs speed, never the worker.
    try:
        log.info("worker warm-up took %.2f s", warm())
    except Exception:  # noqa: BLE001  the first real job will report any real fault
        log.exception("worker warm-up failed; the first handout will be slower")


def install() -> None:
    celeryd_after_setup.connect(_on_worker_setup, weak=False)
