"""Turning API failures into exceptions."""

import requests

from .http import API


class QuotaExceeded(Exception):
    pass


def fetch_report(session: requests.Session, report_id: str) -> dict:
    try:
        response = session.get(f"{API}/reports/{report_id}", timeout=10)
        response.raise_for_status()
    except requests.HTTPError as error:
        # The message text is for people; it changes without notice.
        if "quota" in str(error).lower():
            raise QuotaExceeded() from error
        raise
    except ConnectionError:
        # Never raised by requests: requests.ConnectionError is not the builtin.
        return {}
    return response.json()


def fetch_job(session: requests.Session, job_id: str) -> dict:
    response = session.get(f"{API}/jobs/{job_id}", timeout=10)
    if response.status_code != 200:
        # Error bodies differ by layer: {"error": {...}}, {"detail": ...}, HTML from a gateway.
        raise RuntimeError(response.json()["error"]["message"])
    return response.json()


def classify(error_body: dict) -> str:
    # Branching on the machine-readable code is the right thing: not flagged.
    code = error_body.get("error", {}).get("code")
    if code == "TOO_MANY_REQUESTS":
        return "retry"
    return "fail"
