"""Batch extraction and downloads."""

import httpx

from .http import API


def extract(client: httpx.Client, urls: list[str]) -> list[dict]:
    response = client.post(f"{API}/extract", json={"urls": urls})
    if response.status_code == 200:
        # 200 with per-URL failures: items with status "failed" are silently kept.
        return response.json()["data"]["results"]
    response.raise_for_status()
    return []


def download_export(client: httpx.Client, execution_id: str, path: str) -> None:
    # A JSON error envelope would be written into the file.
    with client.stream("GET", f"{API}/executions/{execution_id}/results/download") as response:
        with open(path, "wb") as out:
            for chunk in response.iter_bytes():
                out.write(chunk)
