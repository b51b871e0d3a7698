"""Creating charges: a write that must not happen twice."""

import time
import uuid

import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from .http import API

SHARED_KEY = str(uuid.uuid4())


@retry(retry=retry_if_exception_type(requests.ConnectionError), stop=stop_after_attempt(4),
       wait=wait_exponential(multiplier=1, max=20))
def create_charge(amount: int, currency: str) -> dict:
    # Retried with no Idempotency-Key: a timeout after the server charged means a second charge.
    response = requests.post(f"{API}/charges", json={"amount": amount, "currency": currency}, timeout=10)
    response.raise_for_status()
    return response.json()


def create_refund(charge_id: str) -> dict:
    for attempt in range(3):
        # A new key on every attempt defeats the point of having one.
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        try:
            response = requests.post(f"{API}/refunds", json={"charge": charge_id}, headers=headers, timeout=10)
            response.raise_for_status()
            return response.json()
        except requests.ConnectionError:
            time.sleep(2 ** attempt)
    raise RuntimeError("refund failed")


def create_payout(amount: int) -> dict:
    # One key for every payout: the server replays the first payout's result.
    response = requests.post(f"{API}/payouts", json={"amount": amount},
                             headers={"Idempotency-Key": SHARED_KEY}, timeout=10)
    response.raise_for_status()
    return response.json()
