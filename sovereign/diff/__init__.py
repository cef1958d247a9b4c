"""`sovereign diff`: what a change does to every stack, from offline plans of a base ref and the head.

sides.py plans each side with its own code (a temporary git worktree for a ref), compare.py and
changes.py compare snapshots section by section, report.py builds the JSON report and markdown.py
renders it as one pull-request comment within GitHub's size limit.
"""

from .markdown import GITHUB_COMMENT_LIMIT, render
from .report import build_report
from .sides import SideError, plan_sides

__all__ = ["GITHUB_COMMENT_LIMIT", "SideError", "build_report", "plan_sides", "render"]
