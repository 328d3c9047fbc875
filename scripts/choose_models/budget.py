"""The cost budget's start date, fixed the first time a budget is provisioned.

Azure's budgets API refuses to change a budget's start date, so a template that sets it to the
current month (`utcNow`) fails every provision after the budget's first month. The hook writes
the first day of the month into the azd environment once (AZURE_BUDGET_START_DATE) and later runs
keep it; infra/main.parameters.json passes it to infra/modules/budget.bicep. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

START_VARIABLE = "AZURE_BUDGET_START_DATE"
EMAIL_VARIABLE = "AZURE_BUDGET_ALERT_EMAIL"


def start_date_to_record(env: Mapping[str, str], today: date) -> str | None:
    """The start date to write into the environment, or None when there is nothing to write: no
    budget is asked for (a budget created in a later month starts in that month), or the date
    was fixed by an earlier run."""
    if not env.get(EMAIL_VARIABLE, "").strip() or env.get(START_VARIABLE, "").strip():
        return None
    return today.replace(day=1).isoformat()
