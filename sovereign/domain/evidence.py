"""How long the region keeps its audit trail: flow logs, DNS query logs and control-plane logs.

A fence that leaves no record cannot be audited. CloudWatch Logs takes only these retention periods
(PutRetentionPolicy, retentionInDays; https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/
API_PutRetentionPolicy.html); a stack choosing another is refused before anything is built.
"""

from __future__ import annotations

CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                             2922, 3288, 3653)
DEFAULT_RETENTION_DAYS = 365
