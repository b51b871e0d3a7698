"""What errlint knows about HTTP and retry libraries, in one place.

Rules never hard-code library names: they ask this module (through the model)
which calls send requests, which classes are clients, which exceptions cover
which failures and which decorators retry. Names are canonical dotted paths;
`canonical()` folds the many import paths a library exposes onto one.
"""

from __future__ import annotations

import functools

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
    "anthropic._exceptions": "anthropic",
    "openai._client": "openai",
    "anthropic._client": "anthropic",
    "stripe.error": "stripe",
    "stripe._error": "stripe",
}
_ALIAS_KEYS = sorted(_ALIASES, key=len, reverse=True)


@functools.lru_cache(maxsize=8192)
def canonical(name: str) -> str:
    for prefix in _ALIAS_KEYS:
        if name == prefix or name.startswith(prefix + "."):
            # Again: `requests.packages.urllib3.util.retry` -> `urllib3.util.retry` -> `urllib3`.
            return canonical(_ALIASES[prefix] + name[len(prefix) :])
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

# The constructor keyword that sets a self-retrying client's retry count (0 turns them off).
SELF_RETRY_SETTING: dict[str, str] = {
    "openai": "max_retries",
    "anthropic": "max_retries",
    "stripe": "max_network_retries",
}
# Retries that are off unless configured (stripe's `max_network_retries` defaults to 0).
SELF_RETRY_OPT_IN = frozenset({"stripe"})
# What a self-retrying client already retries on its own, as canonical exception
# names; an outer retry on any of these multiplies the attempts (ERR110).
SELF_RETRIED_EXCEPTIONS: dict[str, frozenset[str]] = {
    "openai": frozenset(
        f"openai.{name}"
        for name in ("OpenAIError", "APIError", "APIStatusError", "APIConnectionError", "APITimeoutError",
                     "RateLimitError", "InternalServerError", "ConflictError")
    ),
    "anthropic": frozenset(
        f"anthropic.{name}"
        for name in ("AnthropicError", "APIError", "APIStatusError", "APIConnectionError", "APITimeoutError",
                     "RateLimitError", "InternalServerError", "ConflictError", "OverloadedError")
    ),
    "stripe": frozenset(
        f"stripe.{name}" for name in ("StripeError", "APIError", "APIConnectionError", "RateLimitError")
    ),
    "boto3": frozenset(
        f"botocore.exceptions.{name}"
        for name in ("BotoCoreError", "ClientError", "EndpointConnectionError", "ConnectionError",
                     "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError")
    ),
    # `HTTPTransport(retries=N)` retries failed connections only.
    "httpx": frozenset(
        f"httpx.{name}"
        for name in ("HTTPError", "RequestError", "TransportError", "NetworkError", "ConnectError",
                     "TimeoutException", "ConnectTimeout")
    ),
    # A mounted urllib3 `Retry` retries connect and read errors before requests raises.
    "urllib3": frozenset(
        {"requests.RequestException", "requests.ConnectionError", "requests.Timeout", "requests.ConnectTimeout",
         "requests.ReadTimeout", "requests.RetryError", "urllib3.exceptions.MaxRetryError", "OSError", "IOError"}
    ),
    # aiohttp-retry retries 5xx (and `statuses=`) by default, no exceptions unless `exceptions=` lists them;
    # with `raise_for_status` the last 5xx surfaces as `ClientResponseError`.
    "aiohttp_retry": frozenset({"aiohttp.ClientError", "aiohttp.ClientResponseError"}),
}
# Resources of openai's module-level client (openai >= 1.0): `openai.chat.completions.create(...)`.
OPENAI_MODULE_RESOURCES = frozenset(
    {"chat", "completions", "embeddings", "images", "audio", "files", "moderations", "models", "beta",
     "responses", "batches", "fine_tuning", "uploads", "vector_stores", "containers", "evals"}
)

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
    "openai": ("openai.APIConnectionError", "openai.RateLimitError", "openai.InternalServerError"),
    "anthropic": ("anthropic.APIConnectionError", "anthropic.RateLimitError", "anthropic.InternalServerError"),
    "google": (
        "google.api_core.exceptions.TooManyRequests",
        "google.api_core.exceptions.InternalServerError",
        "google.api_core.exceptions.ServiceUnavailable",
    ),
}

# What each library raises, for "can this handler ever catch it?" (ERR203).
LIBRARY_EXCEPTION_ROOTS: dict[str, tuple[str, ...]] = {
    "requests": ("requests.", "urllib3.", "json.", "ValueError", "OSError", "IOError"),
    "httpx": ("httpx.", "json.", "ValueError"),
    "aiohttp": ("aiohttp.", "asyncio.TimeoutError", "TimeoutError", "OSError", "json.", "ValueError"),
    "urllib3": ("urllib3.", "OSError"),
    "urllib.request": ("urllib.error.", "OSError", "ConnectionError", "TimeoutError", "socket."),
}

# SDK exceptions raised for exactly one HTTP status (ERR202, ERR204): catching
# one is acting on that status.
EXCEPTION_STATUS: dict[str, int] = {
    **{
        f"{sdk}.{name}": status
        for sdk in ("openai", "anthropic")
        for name, status in (
            ("BadRequestError", 400), ("AuthenticationError", 401), ("PermissionDeniedError", 403),
            ("NotFoundError", 404), ("ConflictError", 409), ("UnprocessableEntityError", 422),
            ("RateLimitError", 429),
        )
    },
    "anthropic.OverloadedError": 529,
    "openai.error.RateLimitError": 429,  # openai < 1.0
    "stripe.AuthenticationError": 401,
    "stripe.CardError": 402,
    "stripe.PermissionError": 403,
    "stripe.RateLimitError": 429,
}

# Renames for an `except` naming another library's (or the builtin) exception:
# (caught name, library of the calls) -> the class that library raises (ERR203).
EQUIVALENT_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("ConnectionError", "requests"): "requests.ConnectionError",
    ("TimeoutError", "requests"): "requests.Timeout",
    ("ConnectionError", "httpx"): "httpx.NetworkError",
    ("TimeoutError", "httpx"): "httpx.TimeoutException",
    ("requests.HTTPError", "httpx"): "httpx.HTTPStatusError",
    ("requests.HTTPError", "aiohttp"): "aiohttp.ClientResponseError",
    ("requests.HTTPError", "urllib.request"): "urllib.error.HTTPError",
    ("requests.ConnectionError", "httpx"): "httpx.NetworkError",
    ("requests.ConnectionError", "aiohttp"): "aiohttp.ClientConnectionError",
    ("requests.Timeout", "httpx"): "httpx.TimeoutException",
    ("requests.RequestException", "httpx"): "httpx.HTTPError",
    ("requests.RequestException", "aiohttp"): "aiohttp.ClientError",
    ("httpx.HTTPStatusError", "requests"): "requests.HTTPError",
    ("httpx.HTTPStatusError", "aiohttp"): "aiohttp.ClientResponseError",
    ("httpx.ConnectError", "requests"): "requests.ConnectionError",
    ("httpx.NetworkError", "requests"): "requests.ConnectionError",
    ("httpx.TimeoutException", "requests"): "requests.Timeout",
    ("httpx.HTTPError", "requests"): "requests.RequestException",
    ("aiohttp.ClientResponseError", "requests"): "requests.HTTPError",
    ("aiohttp.ClientResponseError", "httpx"): "httpx.HTTPStatusError",
    ("aiohttp.ClientError", "requests"): "requests.RequestException",
    ("aiohttp.ClientError", "httpx"): "httpx.HTTPError",
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

# --- server retry hints and retry configuration (ERR104, ERR106, ERR107, ERR109)

# Where servers say *when* to retry: response headers and body fields, lower-case.
# Rules read them through `scopes.retry_hint_names(settings)`, which adds names
# declared by API profiles.
RETRY_HINT_HEADERS = (
    "retry-after",
    "retry-after-ms",
    "x-ratelimit-reset",
    "x-ratelimit-reset-after",
    "x-rate-limit-reset",
    "ratelimit-reset",
)
RETRY_HINT_FIELDS = ("retry_after", "retryafter", "retry_after_ms", "retry_after_seconds")
# Headers in which a server says *whether* to retry (Stainless-generated SDK servers).
SERVER_RETRY_DECISION_HEADERS = ("x-should-retry",)
# Statuses a server may send `Retry-After` with, and the ones a hint decides the wait for.
RETRY_AFTER_STATUSES = frozenset({429, 503})
# urllib3 `Retry` honours `Retry-After` on these (`Retry.RETRY_AFTER_STATUS_CODES`).
URLLIB3_RETRY_AFTER_STATUSES = frozenset({413, 429, 503})
# 5xx statuses that describe the request or the network, not a passing failure.
NON_TRANSIENT_SERVER_ERRORS = frozenset({501, 505, 511})

# urllib3 `Retry.__init__` keywords, 1.26 and 2.x (`backoff_jitter`, `backoff_max`
# and `retry_after_max` are 2.x only; `method_whitelist` was removed in 2.0).
URLLIB3_RETRY_KEYWORDS = frozenset(
    {
        "total", "connect", "read", "redirect", "status", "other", "allowed_methods", "status_forcelist",
        "backoff_factor", "backoff_max", "raise_on_redirect", "raise_on_status", "history",
        "respect_retry_after_header", "remove_headers_on_redirect", "backoff_jitter", "retry_after_max",
    }
)
# Names removed in urllib3 2.0 and their replacements.
URLLIB3_RETRY_RENAMES: dict[str, str] = {
    "method_whitelist": "allowed_methods",
    "DEFAULT_METHOD_WHITELIST": "DEFAULT_ALLOWED_METHODS",
    "BACKOFF_MAX": "DEFAULT_BACKOFF_MAX",
}

# tenacity waits with a random component; any of them in a `wait=` sum spreads retries.
TENACITY_RANDOM_WAITS = frozenset(
    {"tenacity.wait_random", "tenacity.wait_random_exponential", "tenacity.wait_full_jitter",
     "tenacity.wait_exponential_jitter"}
)
TENACITY_CONFIGS = frozenset({"tenacity.retry", "tenacity.Retrying", "tenacity.AsyncRetrying"})
# backoff wait generators: `runtime` waits what a callable (usually `Retry-After`) says.
BACKOFF_DETERMINISTIC_WAITS = frozenset({"backoff.expo", "backoff.constant", "backoff.fibo"})
BACKOFF_RUNTIME = "backoff.runtime"
BACKOFF_FULL_JITTER = "backoff.full_jitter"
# aiohttp-retry options whose waits are the same in every client.
AIOHTTP_RETRY_DETERMINISTIC = frozenset({"aiohttp_retry.ExponentialRetry", "aiohttp_retry.FibonacciRetry"})


# --- idempotency (ERR4xx) ----------------------------------------------------

# Headers that carry an idempotency key besides the configured ones (lower-case).
IDEMPOTENCY_HEADERS = frozenset({"idempotency-key", "x-idempotency-key"})
# Body fields that carry one (vendor names, compared without `_`/`-` and case):
# Stripe-style `idempotency_key`, `idempotency_token`, AWS `ClientToken`/`ClientRequestToken`.
IDEMPOTENCY_FIELDS = frozenset({"idempotencykey", "idempotencytoken", "clienttoken", "clientrequesttoken"})
# Calls that return a new value each time: a key built from one is a new key per call.
KEY_MINTING_FUNCTIONS = frozenset(
    {
        "uuid.uuid1", "uuid.uuid4", "uuid.uuid6", "uuid.uuid7", "os.urandom", "time.time", "time.time_ns",
        "datetime.datetime.now", "datetime.datetime.utcnow", "random.random", "random.randint",
        "random.getrandbits", "ulid.new", "ulid.ULID", "nanoid.generate", "shortuuid.uuid",
    }
)
KEY_MINTING_PREFIXES = ("secrets.token_",)
# Failures raised before the request reached the server: retrying them cannot apply a write twice.
# Not `requests.ConnectionError`, `aiohttp.ClientConnectionError` or the builtin
# `ConnectionError`: they also cover a connection dropped after the body was
# sent ("Connection aborted", ServerDisconnectedError, ConnectionResetError),
# the classic way a retried POST charges twice.
CONNECT_ONLY_EXCEPTIONS = frozenset(
    {
        "requests.ConnectTimeout", "requests.SSLError", "requests.ProxyError",
        "httpx.ConnectError", "httpx.ConnectTimeout", "httpx.PoolTimeout",
        "aiohttp.ClientConnectorError",
        "urllib3.exceptions.NewConnectionError", "urllib3.exceptions.ConnectTimeoutError",
        "ConnectionRefusedError", "socket.gaierror",
    }
)
