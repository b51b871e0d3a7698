"""The same client, done right. errlint reports nothing here."""

import email.utils
import random
import time
import uuid
from datetime import datetime, timezone

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

API = "https://api.acme.example"
MAX_WAIT = 60.0
RETRYABLE = (408, 425, 429, 500, 502, 503, 504)


def make_session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    retry = Retry(total=4, backoff_factor=0.5, status_forcelist=RETRYABLE)  # GET-like methods only
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def retry_after_seconds(response: requests.Response, default: float) -> float:
    value = response.headers.get("Retry-After")
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return min(max(seconds, 0.0), MAX_WAIT)


def create_charge(amount: int, currency: str) -> dict:
    key = str(uuid.uuid4())  # one key for every attempt of this charge
    for attempt in range(4):
        response = requests.post(
            f"{API}/charges",
            json={"amount": amount, "currency": currency},
            headers={"Idempotency-Key": key},
            timeout=10,
        )
        if response.status_code in RETRYABLE and attempt < 3:
            fallback = min(MAX_WAIT, 2 ** attempt) * random.uniform(0.5, 1.0)
            time.sleep(retry_after_seconds(response, fallback))
            continue
        response.raise_for_status()
        return response.json()
    raise RuntimeError("unreachable")


def error_code(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error.get("code")
    return None
