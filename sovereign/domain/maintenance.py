"""When a cloud may upgrade and repair a region's nodes on its own: one weekly window, in UTC.

GKE auto-upgrades nodes and control planes only inside a cluster's maintenance window, and refuses a window
that allows less than 48 hours of maintenance in any 32-day rolling window, counting only contiguous stretches
of at least 4 hours (https://cloud.google.com/kubernetes-engine/docs/how-to/maintenance-window). EKS has no
window: its managed node groups change only when an update is applied (`pulumi up`), so the window is when
GKE may act alone. Node pools upgrade by surge (a new node before an old one drains), so a model with two or
more replicas keeps serving through it; a single replica goes down while its node drains.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")   # RFC 5545 BYDAY codes
MIN_HOURS_IN_32_DAYS = 48
MIN_CONTIGUOUS_HOURS = 4
# The first occurrence a recurring window is written from: a fixed Monday keeps snapshots byte-identical.
ANCHOR_MONDAY = datetime.datetime(2025, 1, 6, tzinfo=datetime.timezone.utc)


@dataclass(frozen=True)
class MaintenanceWindow:
    days: tuple[str, ...]     # BYDAY codes, in week order
    start_hour: int           # UTC, 0-23
    hours: int                # each day's window length

    def recurrence(self) -> str:
        return f"FREQ=WEEKLY;BYDAY={','.join(self.days)}"

    def first(self) -> tuple[str, str]:
        """RFC 3339 start and end of the first window, on the anchor week's first listed day."""
        start = ANCHOR_MONDAY + datetime.timedelta(days=DAYS.index(self.days[0]), hours=self.start_hour)
        end = start + datetime.timedelta(hours=self.hours)
        return start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")

    def to_dict(self) -> dict:
        return {"days": list(self.days), "startHour": self.start_hour, "hours": self.hours,
                "hoursIn32Days": hours_in_32_days(len(self.days), self.hours)}


# Saturday and Sunday, 01:00-09:00 UTC: 16 hours a week, ~64 in any 32 days.
DEFAULT_WINDOW = MaintenanceWindow(("SA", "SU"), 1, 8)


def hours_in_32_days(days_per_week: int, hours: int) -> int:
    """The fewest maintenance hours any 32-day rolling window holds (4 whole weeks and 4 days, the 4 days the
    ones without a window where possible), counting only stretches of at least MIN_CONTIGUOUS_HOURS."""
    if hours < MIN_CONTIGUOUS_HOURS:
        return 0
    return (4 * days_per_week + max(0, days_per_week - 3)) * min(hours, 24)
