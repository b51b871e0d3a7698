"""API profiles: schema validation, matching calls to profiles, and what each built-in changes.

Every built-in profile has a test in which the same code gets a different
result from a rule with the profile in effect and without it.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap

import libcst as cst
import pytest

from errlint.linter.builtin_profiles import BUILTIN_PROFILES, DEFAULT_PROFILES
from errlint.linter.config import (
    ConfigError,
    Settings,
    load_settings,
    settings_from_table,
)
from errlint.linter.engine import lint_source
from errlint.linter.model import Model
from errlint.linter.profiles import (
    PROFILE_FIELDS,
    ProfileSet,
    active_profiles,
    builtin_profiles,
    path_matches,
    validate_profiles,
)
from errlint.rules import known_codes, rules_by_code

WHERE = "pyproject.toml: `tool.errlint.profiles"


def _settings(profiles=None):
    table = {"profiles": profiles} if profiles is not None else {}
    return settings_from_table(table, None, known_codes=known_codes())


def _flagged(code: str, source: str, profiles=None) -> list[tuple[int, str]]:
    text = textwrap.dedent(source).lstrip("\n")
    result = lint_source(text, "example.py", _settings(profiles), rules=[rules_by_code()[code]])
    assert result.error is None
    return [(f.start.line, f.message) for f in result.findings if f.code == code]


def _model(source: str, profiles=None) -> Model:
    return Model(cst.parse_module(textwrap.dedent(source).lstrip("\n")), "example.py", _settings(profiles))


# --- every built-in profile changes a rule's result ------------------------------------------

RETRY_409 = """
import time, requests

def create(payload):
    for attempt in range(4):
        r = requests.post("{url}", json=payload)
        if r.status_code in (409, 503):
            time.sleep(1 + attempt)
            continue
        r.raise_for_status()
        return r.json()
"""

RETRY_ON_CODE = """
import time, requests

def call(payload):
    for attempt in range(4):
        r = requests.post("{url}", json=payload)
        if r.ok:
            return r.json()
        body = r.json()
        if {field} in ("{retryable}", "{terminal}"):
            time.sleep(2 ** attempt)
            continue
        raise RuntimeError(r.status_code)
"""

RETRY_429 = """
import time, requests

def call(payload):
    for attempt in range(5):
        r = requests.post("{url}", json=payload)
        if r.status_code == 429:
            time.sleep(2 ** attempt)
            continue
        r.raise_for_status()
        return r.json()
"""

# (profile, rule, source, settings with the profile, settings without it, flagged with the profile?)
CASES = [
    # Titan: 429 is both control-plane throttling and the preview quota (`preview_limit_exceeded`).
    ("titan", "ERR202", RETRY_429.format(url="https://scrape.internal/api/v1/tasks"), {"use": ["titan"]}, None, True),
    # Octen: the body `code` repeats the HTTP status, so `code != 0` retries 400/401/403/413.
    (
        "octen",
        "ERR101",
        """
import time, requests

def search(query):
    for attempt in range(4):
        data = requests.post("https://api.octen.test/v1/search", json={"query": query}).json()
        if data["code"] != 0:
            time.sleep(1)
            continue
        return data["data"]
""",
        {"use": ["octen"]},
        None,
        True,
    ),
    # Image-analysis API: `AUTHZ_ERROR` needs a new key, retrying cannot help.
    (
        "image-analysis",
        "ERR101",
        RETRY_ON_CODE.format(
            url="https://vision.test/v1/analyze", field='body["error"]["code"]', retryable="RATE_LIMIT_ERROR",
            terminal="AUTHZ_ERROR",
        ),
        {"use": ["image-analysis"]},
        None,
        True,
    ),
    # Generation API: 402 `INSUFFICIENT_CREDITS` needs a plan change.
    (
        "generation",
        "ERR101",
        RETRY_ON_CODE.format(
            url="https://gen.test/v1/generations", field='body["error"]["code"]',
            retryable="CONCURRENT_GENERATION_LIMIT", terminal="INSUFFICIENT_CREDITS",
        ),
        {"use": ["generation"]},
        None,
        True,
    ),
    # Katalo: `validation_error` is "Retry? No".
    (
        "katalo",
        "ERR101",
        RETRY_ON_CODE.format(
            url="https://katalo.test/v1/captures", field='body.get("error", {}).get("code")',
            retryable="rate_limited", terminal="validation_error",
        ),
        {"use": ["katalo"]},
        None,
        True,
    ),
    # OpenAI: 429 is `rate_limit_exceeded` or `insufficient_quota` (default profile; off with `disable`).
    ("openai", "ERR202", RETRY_429.format(url="https://api.openai.com/v1/chat/completions"), {}, {"disable": ["openai"]}, True),
    # OpenAI: its SDK retries 409 (lock timeouts), so retrying 409 is not "permanent".
    ("openai", "ERR101", RETRY_409.format(url="https://api.openai.com/v1/files"), {}, {"disable": ["openai"]}, False),
    # Anthropic: same 409 rule in its SDK.
    ("anthropic", "ERR101", RETRY_409.format(url="https://api.anthropic.com/v1/messages"), {}, {"disable": ["anthropic"]}, False),
    # Stripe: stripe-python retries 409 conflicts.
    ("stripe", "ERR101", RETRY_409.format(url="https://api.stripe.com/v1/charges"), {}, {"disable": ["stripe"]}, False),
    # GitHub: primary and secondary rate limits answer 403.
    (
        "github",
        "ERR101",
        """
import time, requests

def repo(name):
    for attempt in range(5):
        r = requests.get(f"https://api.github.com/repos/{name}")
        if r.status_code in (403, 429):
            time.sleep(int(r.headers.get("retry-after", "60")))
            continue
        r.raise_for_status()
        return r.json()
""",
        {},
        {"disable": ["github"]},
        False,
    ),
    # Slack: `error` is the machine code; `invalid_auth` never succeeds on retry.
    (
        "slack",
        "ERR101",
        """
import time, requests

def post(token, channel, text):
    for attempt in range(5):
        r = requests.post("https://slack.com/api/chat.postMessage", json={"channel": channel, "text": text})
        data = r.json()
        if data["ok"]:
            return data
        if data["error"] in ("ratelimited", "invalid_auth"):
            time.sleep(int(r.headers.get("Retry-After", "1")))
            continue
        raise RuntimeError(data["error"])
""",
        {},
        {"disable": ["slack"]},
        True,
    ),
    # Elasticsearch: hosts vary, so a same-named table adds them; `mapper_parsing_exception` is final.
    (
        "elasticsearch",
        "ERR101",
        RETRY_ON_CODE.format(
            url="http://search.internal:9200/logs/_doc", field='body["error"]["type"]',
            retryable="es_rejected_execution_exception", terminal="mapper_parsing_exception",
        ),
        {"elasticsearch": {"hosts": ["search.internal:9200"]}},
        None,
        True,
    ),
]


def test_every_builtin_profile_has_a_behaviour_test():
    assert {case[0] for case in CASES} == set(BUILTIN_PROFILES)


@pytest.mark.parametrize(
    ("profile", "code", "source", "with_profile", "without", "flagged_with"),
    CASES,
    ids=[f"{case[0]}-{case[1]}" for case in CASES],
)
def test_builtin_profile_changes_the_result(profile, code, source, with_profile, without, flagged_with):
    found_with = _flagged(code, source, with_profile)
    found_without = _flagged(code, source, without)
    assert bool(found_with) is flagged_with, found_with
    assert bool(found_without) is not flagged_with, found_without
    if flagged_with:
        assert profile in found_with[0][1] or code == "ERR101"


def test_openai_quota_message_names_the_code():
    [(line, message)] = _flagged("ERR202", RETRY_429.format(url="https://api.openai.com/v1/chat/completions"))
    assert line == 6
    assert "`insufficient_quota`" in message and "`openai`" in message and "`error.code`" in message


def test_configured_profile_makes_a_409_retryable_and_code_dependent():
    source = RETRY_409.format(url="https://api.acme.test/orders")
    acme = {
        "acme": {
            "hosts": ["api.acme.test"],
            "code-fields": ["error.code"],
            "codes": {"409": {"retryable": ["concurrent_request"], "terminal": ["idempotency_conflict"]}},
        }
    }
    assert _flagged("ERR101", source) and not _flagged("ERR101", source, acme)
    assert not _flagged("ERR202", source) and _flagged("ERR202", source, acme)


# --- built-in data ---------------------------------------------------------------------------


def test_builtin_profiles_are_valid_and_documented():
    profiles = builtin_profiles()
    assert set(profiles) == set(BUILTIN_PROFILES)
    for name, profile in profiles.items():
        assert profile.builtin and profile.description and profile.references, name
        for status, codes in profile.codes:
            assert 100 <= status <= 599 and codes.all, name


def test_defaults_are_the_profiles_that_match_only_their_own_api():
    assert set(DEFAULT_PROFILES) == {"openai", "anthropic", "stripe", "github", "slack", "elasticsearch"}
    assert list(active_profiles(Settings())) == list(DEFAULT_PROFILES)
    for name in ("titan", "octen", "image-analysis", "generation", "katalo"):
        assert builtin_profiles()[name].matches_every_call


def test_seed_profiles_state_what_the_documents_say():
    profiles = builtin_profiles()
    assert profiles["katalo"].terminal_codes_for(409) == ("idempotency_conflict",)
    assert profiles["katalo"].retry_after_fields[0].name == "error.retry_after"
    assert profiles["katalo"].idempotency_header == "Idempotency-Key"
    assert profiles["titan"].is_download("https://x.test/api/v1/executions/ex_1/results/export")
    assert profiles["titan"].is_download("https://cdn.test/media/a/b/c.png?token=t")
    assert not profiles["titan"].is_download("https://x.test/api/v1/executions/ex_1")
    extract = profiles["octen"].partial_success_for("https://api.octen.test/v1/extract?x=1")
    assert extract is not None and extract.items == "data.results" and extract.failed == ("failed",)
    assert extract.item_error == "error_message" and extract.summary == "meta.usage"
    assert profiles["octen"].partial_success_for("/v1/search") is None
    assert profiles["generation"].terminal_codes_for(402) == ("INSUFFICIENT_CREDITS", "SPENDING_LIMIT_EXCEEDED")
    assert profiles["image-analysis"].is_code_path(("detail", "code"))
    assert profiles["image-analysis"].is_message_path(("detail",))
    assert profiles["openai"].overloaded_statuses() == frozenset({429})
    assert "retry-after-ms" in profiles["openai"].retry_after_header_names
    assert profiles["openai"].retry_hint("retry-after-ms").unit == "milliseconds"
    assert profiles["github"].retry_hint("x-ratelimit-reset").unit == "epoch"
    assert profiles["stripe"].should_retry_header == "Stripe-Should-Retry"
    assert profiles["slack"].is_code_path(("error",)) and profiles["slack"].success_field == "ok"
    assert profiles["elasticsearch"].partial_success_for("/logs/_bulk").flag == "errors"


def test_permanent_statuses_follow_the_profile():
    base = Settings().retryable_statuses
    profiles = builtin_profiles()
    assert 409 not in profiles["openai"].permanent_statuses(base)
    assert 409 in profiles["katalo"].permanent_statuses(base)
    assert 403 not in profiles["github"].permanent_statuses(base)
    assert 404 in profiles["github"].permanent_statuses(base)
    custom = validate_profiles({"x": {"hosts": ["x.test"], "terminal-statuses": [501]}}, WHERE)["x"]
    assert 501 in custom.permanent_statuses(base)


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"acme": {"retry-header": "Retry-After"}},
            "pyproject.toml: profile `acme`: unknown field `retry-header` (did you mean `retry-after-headers`?)",
        ),
        ({"acme": {"hosts": "api.acme.com"}}, "pyproject.toml: profile `acme`: `hosts` must be a list of strings"),
        (
            {"acme": {"retryable-statuses": [409, 99]}},
            "pyproject.toml: profile `acme`: `retryable-statuses`: 99 is not an HTTP status (100-599)",
        ),
        (
            {"acme": {"terminal-statuses": ["409x"]}},
            "pyproject.toml: profile `acme`: `terminal-statuses`: `409x` is not an HTTP status number",
        ),
        (
            {"acme": {"codes": {"4299": {"terminal": ["quota"]}}}},
            "pyproject.toml: profile `acme`: `codes.4299`: 4299 is not an HTTP status (100-599)",
        ),
        (
            {"acme": {"codes": {"429": {"final": ["quota"]}}}},
            "pyproject.toml: profile `acme`: unknown field `codes.429.final` (did you mean `terminal`?)",
        ),
        (
            {"acme": {"codes": {"429": {"retryable": ["x"], "terminal": ["x"]}}}},
            "pyproject.toml: profile `acme`: `codes.429`: `x` is listed as both retryable and terminal",
        ),
        (
            {"acme": {"retry-after-headers": [{"name": "X-Reset", "unit": "minutes"}]}},
            "pyproject.toml: profile `acme`: `retry-after-headers`: unit `minutes` must be one of seconds, "
            "milliseconds, epoch",
        ),
        (
            {"acme": {"partial-success": [{"path": "/batch", "items": "results"}]}},
            "pyproject.toml: profile `acme`: `partial-success[0]` needs `item-status`, `item-error` or `flag` "
            "to tell a failed item",
        ),
        (
            {"acme": {"download-paths": ["files/:id"]}},
            "pyproject.toml: profile `acme`: `download-paths`: `files/:id` must be an endpoint path starting with `/`",
        ),
        (
            {"acme": {"code-fields": ["error..code"]}},
            "pyproject.toml: profile `acme`: `code-fields` must be a dotted body path such as `error.code`",
        ),
        ({"acme": "api.acme.com"}, "pyproject.toml: profile `acme`: expected a table of fields"),
        (
            {"use": ["katalog"]},
            "pyproject.toml: `tool.errlint.profiles.use`: unknown built-in profile `katalog` (did you mean `katalo`?)",
        ),
        (
            {"use": ["katalo", "titan"]},
            "pyproject.toml: profiles `katalo` and `titan` have no `hosts` or `clients`, so each would apply to "
            "every call; give all but one of them `hosts`",
        ),
        (
            {"disable": ["github"], "github": {"hosts": ["ghe.corp.test"]}},
            "pyproject.toml: profile `github` is configured and also listed in `tool.errlint.profiles.disable`",
        ),
    ],
)
def test_config_errors_name_the_profile_and_the_field(table, message):
    with pytest.raises(ConfigError) as error:
        validate_profiles(table, WHERE)
    assert str(error.value) == message


def test_config_error_from_a_pyproject_file(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.errlint.profiles.acme]\nhosts = ["api.acme.com"]\nretry-header = "Retry-After"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert str(error.value) == (
        f"{path}: profile `acme`: unknown field `retry-header` (did you mean `retry-after-headers`?)"
    )


def test_profiles_load_from_toml(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text(
        textwrap.dedent(
            """
            [tool.errlint.profiles]
            use = ["katalo"]
            disable = ["github"]

            [tool.errlint.profiles.acme]
            hosts = ["https://api.acme.com/v2", "*.acme.io"]
            clients = ["acme_sdk.Client"]
            code-fields = ["error.code"]
            message-fields = ["error.message"]
            success-field = "success"
            retryable-statuses = [409]
            codes.429 = { retryable = ["rate_limited"], terminal = ["quota_exceeded"] }
            retry-after-headers = ["Retry-After", { name = "X-RateLimit-Reset", unit = "epoch" }]
            retry-after-fields = ["error.retry_after"]
            idempotency-header = "Idempotency-Key"
            idempotency-field = "request_id"
            partial-success = [{ path = "/extract", items = "data.results", item-status = "status", failed = ["failed"], item-error = "error_message" }]
            download-paths = ["/files/:id/content"]
            success-statuses = [{ path = "/search", statuses = [200] }]
            """
        )
    )
    settings = load_settings(path)
    profiles = settings.profiles
    assert isinstance(profiles, ProfileSet)
    assert list(profiles)[:2] == ["acme", "katalo"] and "github" not in profiles
    acme = profiles["acme"]
    assert acme.hosts == ("api.acme.com", "*.acme.io")
    assert acme.matches_host("API.ACME.COM") and acme.matches_host("eu.acme.io") and not acme.matches_host("acme.io.evil")
    assert acme.terminal_codes_for(429) == ("quota_exceeded",) and acme.overloaded_statuses() == {429}
    assert acme.retry_after_header_names == {"retry-after", "x-ratelimit-reset"}
    assert acme.idempotency_header == "Idempotency-Key" and acme.idempotency_field == "request_id"
    assert acme.partial_success_for("https://api.acme.com/v2/extract").item_error == "error_message"
    assert acme.is_download("/v2/files/f_1/content")
    assert acme.success_statuses_for("https://api.acme.com/v2/search") == {200}
    assert acme.success_statuses_for("/v2/other") is None


def test_a_table_named_like_a_builtin_extends_it():
    profiles = validate_profiles({"katalo": {"hosts": ["api.katalo.test"]}}, WHERE)
    katalo = profiles["katalo"]
    assert katalo.hosts == ("api.katalo.test",)
    assert katalo.terminal_codes_for(422) == ("validation_error",)
    assert profiles.fallback is None


def test_every_schema_field_is_documented():
    with open(os.path.join(os.path.dirname(__file__), "..", "docs", "profiles.md"), encoding="utf-8") as handle:
        text = handle.read()
    for name in PROFILE_FIELDS:
        assert f"`{name}`" in text, name
    for name in BUILTIN_PROFILES:
        assert f"`{name}`" in text, name


def test_the_documented_complete_example_loads(tmp_path):
    with open(os.path.join(os.path.dirname(__file__), "..", "docs", "profiles.md"), encoding="utf-8") as handle:
        text = handle.read()
    section = text[text.index("## A complete example") :]
    example = section[section.index("```toml") + len("```toml") : section.index("```", section.index("```toml") + 7)]
    path = tmp_path / "pyproject.toml"
    path.write_text(example)
    acme = load_settings(path).profiles["acme"]
    present = {name for name in PROFILE_FIELDS if getattr(acme, name.replace("-", "_")) not in ((), None, "")}
    assert present == set(PROFILE_FIELDS)
    assert acme.overloaded_statuses() == {409, 429}


def test_settings_stay_hashable_picklable_and_stable():
    settings = _settings({"use": ["katalo"], "acme": {"hosts": ["api.acme.test"]}})
    assert hash(settings) == hash(_settings({"use": ["katalo"], "acme": {"hosts": ["api.acme.test"]}}))
    assert pickle.loads(pickle.dumps(settings)) == settings
    assert settings.cache_key() != _settings({"use": ["titan"]}).cache_key()
    assert settings.cache_key() != _settings().cache_key()


def test_cache_key_does_not_depend_on_hash_seed():
    script = (
        "from errlint.linter.config import settings_from_table;"
        "print(settings_from_table({'profiles': {'use': ['octen'], 'a': {'hosts': ['a.test'],"
        " 'codes': {'429': {'retryable': ['x', 'y', 'z'], 'terminal': ['q', 'r']}}}}}, None).cache_key())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


# --- which profile a call belongs to -----------------------------------------------------------


def test_profile_for_http_calls():
    model = _model(
        """
import os, requests, httpx, aiohttp, urllib.request
from urllib.parse import urljoin

OPENAI = "https://api.openai.com/v1"
STRIPE = os.environ.get("STRIPE_BASE", "https://api.stripe.com")

def a(): return requests.post(f"{OPENAI}/chat/completions")
def b(): return requests.get(urljoin(STRIPE, "/v1/charges"))
def c(): return httpx.get("https://API.GITHUB.COM/repos/x/y")
gh = httpx.Client(base_url="https://api.github.com")
def d(): return gh.get("/user")
async def e(session: aiohttp.ClientSession): return await session.get("https://slack.com/api/chat.postMessage")
def f(): return urllib.request.urlopen(urllib.request.Request("https://api.anthropic.com/v1/messages", data=b"{}"))
def g(url): return requests.get(url)
def h(): return requests.get("https://example.org/status")
"""
    )
    found = {model.code(call.node).split("(")[0] + str(i): getattr(model.profile_for(call), "name", None)
             for i, call in enumerate(model.http_calls)}
    assert list(found.values()) == ["openai", "stripe", "github", "github", "slack", "anthropic", None, None]


def test_profile_for_sdk_calls_clients_and_exceptions():
    model = _model(
        """
import openai, stripe
from elasticsearch import Elasticsearch

client = openai.AsyncOpenAI()
es = Elasticsearch("http://localhost:9200")

async def a(): return await client.chat.completions.create(model="x", messages=[])
def b(): return es.search(index="logs", query={})
def c(): return stripe.Customer.create(email="a@b.c")
"""
    )

    def profile_of(fragment):
        call = next(call for call in model.calls if model.code(call).startswith(fragment))
        return getattr(model.profile_for(call), "name", None)

    assert profile_of("client.chat.completions.create") == "openai"
    assert profile_of("es.search") == "elasticsearch"
    assert profile_of("stripe.Customer.create") == "stripe"
    assert model.profile_for_exception("openai.RateLimitError").name == "openai"
    assert model.profile_for_exception("stripe.CardError").name == "stripe"
    assert model.profile_for_exception("requests.HTTPError") is None
    assert model.profile_for(model.clients["client"]).name == "openai"


def test_catch_all_profile_and_configured_order():
    source = """
import requests
def a(base): return requests.get(f"{base}/v1/jobs")
def b(): return requests.get("https://api.openai.com/v1/models")
def c(): return requests.get("https://mirror.openai.internal/v1/models")
"""
    model = _model(source, {"use": ["katalo"], "my-openai": {"hosts": ["api.openai.com", "*.openai.internal"]}})
    names = [getattr(model.profile_for(call), "name", None) for call in model.http_calls]
    assert names == ["katalo", "my-openai", "my-openai"]
    assert [p.name for p in model.profiles_for_calls(model.http_calls)] == ["katalo", "my-openai"]


@pytest.mark.parametrize(
    ("path", "pattern", "matches"),
    [
        ("/v1/extract", "/extract", True),
        ("/v1/extractor", "/extract", False),
        ("/api/v1/executions/ex_1/results/download", "/api/v1/executions/:id/results/download", True),
        ("/api/v1/executions/\x00/results/download", "/api/v1/executions/{id}/results/download", True),
        ("/media/a/b/c.png", "/media/**", True),
        ("/files/1/content", "/files/*/content", True),
        ("/files/1/2/content", "/files/*/content", False),
    ],
)
def test_endpoint_patterns(path, pattern, matches):
    assert path_matches(path, pattern) is matches
