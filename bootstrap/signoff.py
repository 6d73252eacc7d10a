"""verify as a signed-off step: the legacy checksums before and after it, what it compared,
and its outcome, in the one report shape (``reports.SignOff``) cutover and rollback share."""

from __future__ import annotations

from typing import Any

from bootstrap.cutover import legacy_checksums
from bootstrap.legacy_source import LegacySource
from bootstrap.reports import SignOff, verify_report_data
from bootstrap.verify import VerifyReport, verify
from infrastructure.application import ConversionTracker


def signed_verify(
    tracker: ConversionTracker, source: LegacySource, signoff: SignOff, *, progress: Any = None
) -> VerifyReport:
    run = tracker.bootstrap_run()
    if run is not None and run.completed and not run.cut_over:  # else verify refuses, and says why
        signoff.legacy_checksums["snapshot"] = dict(run.legacy_checksums)
        signoff.legacy_checksums["before"] = legacy_checksums(source)
    report = verify(tracker, source, progress=progress)
    signoff.legacy_checksums["after"] = legacy_checksums(source)
    signoff.compared = dict(report.compared)
    signoff.details.update(verify_report_data(report))
    signoff.finish("passed" if report.ok else "failed", ok=report.ok)
    return report
