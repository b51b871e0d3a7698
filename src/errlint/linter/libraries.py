"""What errlint knows about HTTP and retry libraries, in one place.

Rules never hard-code library names: they ask this module (through the model)
which calls send requests, which classes are clients, which exceptions cover
which failures and which decorators retry. Names are canonical dotted paths;
`canonical()` folds the many import paths a library exposes onto one.
"""

from __future__ import annotations

HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})
WRITE_METHODS = frozenset({"POST", "PATCH"})

# Prefix rewrites applied longest-first: every public path to the same object
# ends up under one name.
_ALIASES: dict[str, str] = {
    "requests.api": "requests",
    "requests.sessions": "requests",
    "requests.exceptions": "requests",
    "requests.models": "requests",
    "requests.packages.urllib3": "urllib3",
    "pip._vendor.requests": "requests",
    "pip._vendor.urllib3": "urllib3",
    "urllib3.util.retry": "urllib3",
    "urllib3.util": "urllib3",
    "urllib3.poolmanager": "urllib3",
    "httpx._client": "httpx",
    "httpx._exceptions": "httpx",
    "httpx._transports.default": "httpx",
    "aiohttp.client": "aiohttp",
    "aiohttp.client_exceptions": "aiohttp",
    "aiohttp_retry.retry_options": "aiohttp_retry",
    "aiohttp_retry.client": "aiohttp_retry",
    "tenacity.stop": "tenacity",
    "tenacity.wait": "tenacity",
    "tenacity.asyncio": "tenacity",
    "google.api_core.retry.retry_unary": "google.api_core.retry",
    "google.api_core.retry_async": "google.api_core.retry",
    "six.moves.urllib.request": "urllib.request",
    "openai._exceptions": "openai",
}
_ALIAS_KEYS = sorted(_ALIASES, key=len, reverse=True)


def canonical(name: str) -> str:
    for prefix in _ALIAS_KEYS:
        if name == prefix or name.startswith(prefix + "."):
            return _ALIASES[prefix] + name[len(prefix) :]
    if name.startswith("requests.adapters."):
        return "requests." + name.rsplit(".", 1)[1]
    return name


# --- libraries and clients -------------------------------------------------

HTTP_LIBRARIES = frozenset(
    {"requests", "httpx", "aiohttp", "aiohttp_retry", "urllib3", "urllib.request"}
)

# Module-level functions that send a request. The value is the HTTP method when
# the name implies one, or None when it comes from the first argument.
MODULE_REQUEST_FUNCTIONS: dict[str, str | None] = {
    **{f"requests.{verb}": verb.upper() for verb in HTTP_VERBS},
    "requests.request": None,
    **{f"httpx.{verb}": verb.upper() for verb in HTTP_VERBS},
    "httpx.request": None,
    "httpx.stream": None,
    "urllib.request.urlopen": None,
    "urllib3.request": None,
    "aiohttp.request": None,
}

# Constructors of objects whose verb methods send requests.
CLIENT_CLASSES: dict[str, str] = {
    "requests.Session": "requests",
    "requests.session": "requests",
    "httpx.Client": "httpx",
    "httpx.AsyncClient": "httpx",
    "aiohttp.ClientSession": "aiohttp",
    "aiohttp_retry.RetryClient": "aiohttp_retry",
    "urllib3.PoolManager": "urllib3",
    "urllib3.HTTPConnectionPool": "urllib3",
    "urllib3.HTTPSConnectionPool": "urllib3",
    "urllib3.ProxyManager": "urllib3",
}

# SDK clients that retry on their own (ERR110) and honour server hints (ERR104).
SELF_RETRYING_CLIENTS: dict[str, str] = {
    "openai.OpenAI": "openai",
    "openai.AsyncOpenAI": "openai",
    "openai.AzureOpenAI": "openai",
    "openai.AsyncAzureOpenAI": "openai",
    "anthropic.Anthropic": "anthropic",
    "anthropic.AsyncAnthropic": "anthropic",
    "stripe.StripeClient": "stripe",
    "boto3.client": "boto3",
    "boto3.resource": "boto3",
    "boto3.session.Session.client": "boto3",
}
SELF_RETRYING_MODULES = frozenset({"stripe"})

# Methods on a client object that send a request, beyond the HTTP verbs.
CLIENT_REQUEST_METHODS = frozenset({"request", "stream", "send", "urlopen"})

# --- exceptions ------------------------------------------------------------

# Exceptions that carry an HTTP status (raised for 4xx/5xx responses).
STATUS_ERRORS = frozenset(
    {
        "requests.HTTPError",
        "httpx.HTTPStatusError",
        "aiohttp.ClientResponseError",
        "urllib.error.HTTPError",
        "openai.APIStatusError",
        "openai.APIError",
        "anthropic.APIStatusError",
        "anthropic.APIError",
        "google.api_core.exceptions.GoogleAPICallError",
    }
)

# Base classes that include status errors and programming errors alike: using
# one as a retry trigger retries 400s and 404s too (ERR102).
BROAD_LIBRARY_BASES = frozenset(
    {
        "requests.RequestException",
        "requests.HTTPError",
        "httpx.HTTPError",
        "httpx.HTTPStatusError",
        "aiohttp.ClientError",
        "aiohttp.ClientResponseError",
        "openai.APIError",
        "openai.APIStatusError",
        "anthropic.APIError",
        "anthropic.APIStatusError",
        "google.api_core.exceptions.GoogleAPICallError",
        "urllib.error.URLError",
        "urllib.error.HTTPError",
    }
)
BROAD_BUILTINS = frozenset({"Exception", "BaseException"})

# Narrow, transient exception tuples to suggest instead, per library.
TRANSIENT_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "requests": ("requests.ConnectionError", "requests.Timeout"),
    "httpx": ("httpx.TransportError",),
    "aiohttp": ("aiohttp.ClientConnectionError", "asyncio.TimeoutError"),
    "aiohttp_retry": ("aiohttp.ClientConnectionError", "asyncio.TimeoutError"),
    "urllib3": ("urllib3.exceptions.ProtocolError", "urllib3.exceptions.TimeoutError"),
    "urllib.request": ("urllib.error.URLError",),
}

# What each library raises, for "can this handler ever catch it?" (ERR203).
LIBRARY_EXCEPTION_ROOTS: dict[str, tuple[str, ...]] = {
    "requests": ("requests.", "urllib3.", "json.", "ValueError", "OSError", "IOError"),
    "httpx": ("httpx.", "json.", "ValueError"),
    "aiohttp": ("aiohttp.", "asyncio.TimeoutError", "TimeoutError", "OSError", "json.", "ValueError"),
    "urllib3": ("urllib3.", "OSError"),
    "urllib.request": ("urllib.error.", "OSError", "ConnectionError", "TimeoutError", "socket."),
}

# --- retry libraries -------------------------------------------------------

# Decorators (or decorator factories) that turn a function into a retry scope.
RETRY_DECORATORS: dict[str, str] = {
    "tenacity.retry": "tenacity",
    "backoff.on_exception": "backoff",
    "backoff.on_predicate": "backoff",
    "stamina.retry": "stamina",
    "retrying.retry": "retrying",
    "google.api_core.retry.Retry": "google",
    "google.api_core.retry.AsyncRetry": "google",
}

# Iterables whose `for attempt in ...:` blocks are retry scopes.
RETRY_ITERATORS: dict[str, str] = {
    "tenacity.Retrying": "tenacity",
    "tenacity.AsyncRetrying": "tenacity",
    "stamina.retry_context": "stamina",
}

URLLIB3_RETRY = "urllib3.Retry"
AIOHTTP_RETRY_OPTIONS = frozenset(
    {
        "aiohttp_retry.ExponentialRetry",
        "aiohttp_retry.RandomRetry",
        "aiohttp_retry.ListRetry",
        "aiohttp_retry.FibonacciRetry",
        "aiohttp_retry.JitterRetry",
    }
)
HTTP_ADAPTER = "requests.HTTPAdapter"
HTTPX_TRANSPORTS = frozenset({"httpx.HTTPTransport", "httpx.AsyncHTTPTransport"})

SLEEP_FUNCTIONS = frozenset({"time.sleep", "asyncio.sleep", "trio.sleep", "anyio.sleep", "gevent.sleep"})
RANDOM_MODULES = ("random.", "secrets.", "numpy.random.")

# Response attributes that carry the status, and the library that uses each.
STATUS_ATTRIBUTES = frozenset({"status_code", "status", "code"})
