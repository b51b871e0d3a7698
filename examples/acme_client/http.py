"""Session set-up shared by the client modules."""

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

API = "https://api.acme.example"


def _retry_policy():
    # 401 and 404 cannot succeed on a second attempt: errlint flags them.
    return Retry(
        total=5,
        backoff_factor=0.5,
        status_forcelist=[401, 404, 429, 500, 502, 503, 504],
        allowed_methods=None,  # every method, POST included
    )


def make_session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.mount("https://", HTTPAdapter(max_retries=_retry_policy()))
    return session


def legacy_session() -> requests.Session:
    session = requests.Session()
    # `method_whitelist` was removed in urllib3 2.0.
    retry = Retry(total=3, method_whitelist=["GET"], status_forcelist=[503])
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session
