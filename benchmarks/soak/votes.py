"""The soak's feedback as apps log it: a vote is given minutes to hours after the answer.

`votes` holds a vote per record with feedback (`request_id`, `vote`, `given_at`), for a
monitor that reads `source.feedback_table`; the view `requests_read` holds the records with
their feedback as an hourly run reads it when the app writes the vote onto the record's row
later: NULL unless the vote was given before the record's window was read (its hour plus the
grace). The `requests` table itself keeps every vote on its record, as if given at once: the
scenario's default, so its figures stay comparable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["GRACE", "votes_of", "write_votes"]

# When a vote is given after the answer: minutes, lognormal (median 20; 10% after ~1h45m, 1%
# after ~6h), within two days. Most feedback widgets are clicked at once or on a later visit.
VOTE_DELAY_MEDIAN_MIN, VOTE_DELAY_SIGMA, VOTE_DELAY_MAX_MIN = 20.0, 1.3, 2 * 24 * 60.0
GRACE = pd.Timedelta(minutes=15)  # the soak monitor's window grace (monitors.yml)


def votes_of(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The records' feedback as an app logs it apart: a vote each, given some minutes after
    the answer (`VOTE_DELAY_*`). Its own random generator, so the records stay the same."""
    rng = np.random.default_rng([seed, 7])
    rated = frame[frame["feedback"].notna()]
    minutes = rng.lognormal(np.log(VOTE_DELAY_MEDIAN_MIN), VOTE_DELAY_SIGMA, len(rated))
    delay = pd.to_timedelta(minutes.clip(0.5, VOTE_DELAY_MAX_MIN) * 60e6, unit="us")
    return pd.DataFrame(
        {
            "vote_id": np.arange(len(rated), dtype="int64"),
            "request_id": rated["request_id"].to_numpy(),
            "vote": rated["feedback"].to_numpy(),
            "given_at": (rated["created_at"] + delay).to_numpy(),
        }
    )


def write_votes(conn: Any, frame: pd.DataFrame, seed: int) -> None:
    """The `votes` table and the `requests_read` view, in the DuckDB connection `conn`."""
    conn.register("soak_votes", votes_of(frame, seed))
    conn.execute("CREATE TABLE votes AS SELECT * FROM soak_votes ORDER BY given_at")
    conn.unregister("soak_votes")
    read_by = (
        "date_trunc('hour', r.created_at) + INTERVAL 1 HOUR "
        f"+ INTERVAL {int(GRACE.total_seconds())} SECOND"
    )
    conn.execute(
        f"CREATE VIEW requests_read AS SELECT r.* REPLACE (CASE WHEN v.given_at < {read_by} "
        "THEN r.feedback END AS feedback) FROM requests r LEFT JOIN votes v USING (request_id)"
    )
