"""Calling the search endpoint under rate limits."""

import asyncio
import time

import aiohttp
import requests

from .http import API


def search(query: str) -> dict:
    for attempt in range(5):
        response = requests.get(f"{API}/search", params={"q": query}, timeout=10)
        if response.status_code == 429:
            # Crashes on the HTTP-date form of Retry-After and when the header is absent.
            delay = int(response.headers["Retry-After"])
            time.sleep(delay)
            continue
        if response.status_code >= 500:
            time.sleep(2)
            continue
        response.raise_for_status()
        return response.json()
    raise RuntimeError("search kept failing")


async def search_async(session: aiohttp.ClientSession, query: str) -> dict:
    for attempt in range(5):
        async with session.get(f"{API}/search", params={"q": query}) as response:
            if response.status in (429, 503):
                # The server says how long to wait; this ignores it.
                await asyncio.sleep(1)
                continue
            response.raise_for_status()
            return await response.json()
    raise RuntimeError("search kept failing")
