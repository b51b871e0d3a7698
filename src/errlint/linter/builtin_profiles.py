"""The built-in API profiles, as the tables a user would write in `[tool.errlint.profiles.<name>]`.

Each table states only what the API's own documentation (or its official
SDK's source) says, and lists where each fact comes from in `references`.
They are validated by `profiles.validate_profiles` like configured tables,
so the schema in docs/profiles.md is the only format.

Profiles with `hosts` or `clients` are on by default (`DEFAULT_PROFILES`):
they match only their own API. The profiles for the APIs in the seed
documents state no host, so they are turned on by name,
`[tool.errlint.profiles] use = ["katalo"]`, and then apply to every call no
other profile matches (or give them `hosts` in a same-named table).
"""

from __future__ import annotations

from typing import Any

BUILTIN_PROFILES: dict[str, dict[str, Any]] = {
    # --- APIs described by the seed documents (turned on with `use`) -------------------
    "titan": {
        "description": "Titan webscraping platform: Task, Analytics and Billing JSON APIs, result exports, media CDN.",
        "code-fields": ["error.code"],
        # `{ "error": "<message>" }` on the media CDN and legacy billing operations.
        "message-fields": ["error.message", "error"],
        "success-field": "success",
        "codes": {
            "400": {"terminal": ["BAD_REQUEST"]},
            "401": {"terminal": ["UNAUTHORIZED"]},
            "403": {"terminal": ["FORBIDDEN"]},
            "404": {"terminal": ["NOT_FOUND"]},
            # Control-plane throttling vs the preview quota: same status, different outcome.
            "429": {"retryable": ["TOO_MANY_REQUESTS"], "terminal": ["preview_limit_exceeded"]},
            "501": {"terminal": ["NOT_IMPLEMENTED"]},
        },
        "download-paths": [
            "/api/v1/executions/:id/results/export",
            "/api/v1/executions/:id/results/download",
            "/media/**",
        ],
        "references": [
            'Seed 000: "Your client should branch on HTTP status and `error.code`, not only on message text."',
            "Seed 000: 401 `UNAUTHORIZED` = no identity; 403 `FORBIDDEN` = the token lacks scopes for the route.",
            'Seed 000: "Control-plane throttling and preview quotas use different bodies and headers" '
            "(`preview_limit_exceeded`); \"there is typically no `Retry-After` on control-plane 429\".",
            "Seed 000: `.../results/export` and `.../results/download` return raw file bytes, and the JSON error "
            "envelope when the handler rejects the request; the media CDN streams binary.",
        ],
    },
    "octen": {
        "description": "Octen search and extraction API (`{code, msg, data, meta}` envelope).",
        # `code` repeats the HTTP status (0 on success); it is not a machine code.
        "status-field": "code",
        "message-fields": ["msg"],
        "retryable-statuses": [429, 500],
        "terminal-statuses": [400, 401, 403, 413],
        "partial-success": [
            {
                "path": "/extract",
                "items": "data.results",
                "item-status": "status",
                "failed": ["failed"],
                "item-error": "error_message",
                "summary": "meta.usage",
            }
        ],
        "references": [
            "Seed 001: error body `{code, msg, data, meta}`; `code` is the \"HTTP status code indicating the error type\".",
            "Seed 001: 403 = insufficient account balance; 413 = payload too large; 429 = exponential backoff; "
            "500 = retry after a brief delay.",
            'Seed 001: "Extract may return `200 OK` overall while individual URLs within the request fail; failed '
            'URLs are marked with `status: "failed"` and include an `error_message`."',
        ],
    },
    "image-analysis": {
        "description": "The FastAPI image-analysis API of the seed \"Error Codes Reference\" "
        "(uploads, rules, extraction schemas, VLM analysis).",
        # Middleware errors: `{"error": {"code", "message"}}`; HTTPException: `{"detail": str | {"code", ...}}`.
        "code-fields": ["error.code", "detail.code"],
        "message-fields": ["error.message", "detail.message", "detail"],
        "retry-after-headers": ["Retry-After"],
        "codes": {
            "413": {"terminal": ["HTTP_413"]},
            "429": {"retryable": ["RATE_LIMIT_ERROR"]},
        },
        "retryable-codes": ["VLM_PROVIDER_ERROR", "TIMEOUT"],
        "terminal-codes": [
            "INVALID_API_KEY",
            "EXPIRED_API_KEY",
            "DEACTIVATED_API_KEY",
            "AUTHZ_ERROR",
            "STORAGE_QUOTA_EXCEEDED",
            "USAGE_LIMIT_EXCEEDED",
        ],
        "references": [
            "Seed 002: middleware errors use `{ \"error\": { \"code\", \"message\", \"details\" }, \"request_id\" }`; "
            "HTTPException errors use `{ \"detail\": ... }`, where detail \"may be a string or an object\".",
            'Seed 002: 429 "Rate limit exceeded. Check Retry-After header."; `RATE_LIMIT_ERROR`: "respect Retry-After".',
            "Seed 002: API-key codes need a new key; quota codes need a plan change or the next billing cycle; "
            "`VLM_PROVIDER_ERROR` and `TIMEOUT`: retry.",
        ],
    },
    "generation": {
        "description": "The `{success, data, error}` generation API (async generation jobs, webhooks, billable calls).",
        "code-fields": ["error.code", "error.details.type"],
        "message-fields": ["error.message"],
        "success-field": "success",
        "retry-after-headers": ["Retry-After"],
        "idempotency-header": "Idempotency-Key",
        "terminal-statuses": [400, 401, 402, 403, 404],
        "codes": {"402": {"terminal": ["INSUFFICIENT_CREDITS", "SPENDING_LIMIT_EXCEEDED"]}},
        "terminal-codes": ["invalid_request", "FORBIDDEN", "INVALID_URL", "INVALID_EVENTS"],
        "references": [
            'Seed 003: "Handle error.code first, then use the message for logs or UI."',
            'Seed 003: "Do not retry 400, 401, 403, or 404 until you change input or credentials." '
            '"For 402, reset allowance, upgrade plan, or reduce billable calls before retrying."',
            'Seed 003: "402: API call allowance exhausted or spend cap blocked a billable job"; "Billable jobs can '
            'fail with INSUFFICIENT_CREDITS or SPENDING_LIMIT_EXCEEDED."',
            'Seed 003: "Retry 429 with backoff and honor Retry-After." "For generation endpoints, always send an '
            'Idempotency-Key when your own client may retry the same request."',
        ],
    },
    "katalo": {
        "description": "Katalo API (normalized `{error: {code, message, retryable, retry_after}}` envelope).",
        "code-fields": ["error.code"],
        "message-fields": ["error.message"],
        "retryable-field": "error.retryable",
        "retry-after-fields": ["error.retry_after"],
        "idempotency-header": "Idempotency-Key",
        "codes": {
            "400": {"terminal": ["bad_request"]},
            "401": {"terminal": ["unauthorized"]},
            "403": {"terminal": ["forbidden"]},
            "404": {"terminal": ["not_found"]},
            "409": {"terminal": ["idempotency_conflict"]},
            "422": {"terminal": ["validation_error"]},
            "429": {"retryable": ["rate_limited"]},
            "500": {"retryable": ["internal_error"]},
        },
        "references": [
            "Seed 004: the status table gives one code per status and a \"Retry?\" column: only 429 "
            "`rate_limited` and 500 `internal_error` say Yes.",
            'Seed 004: 409 `idempotency_conflict`: "The same Idempotency-Key was reused with a different payload."',
            'Seed 004: "Retry 429 only after the advertised retry window." "Keep the same idempotency key when '
            'retrying the same write request."',
        ],
    },
    # --- public APIs and SDKs (on by default: they match only their own hosts and clients) ---
    "openai": {
        "description": "OpenAI API (api.openai.com and the `openai` Python SDK).",
        "hosts": ["api.openai.com"],
        "clients": ["openai.OpenAI", "openai.AsyncOpenAI", "openai.AzureOpenAI", "openai.AsyncAzureOpenAI"],
        "code-fields": ["error.code", "error.type"],
        "message-fields": ["error.message"],
        "should-retry-header": "x-should-retry",
        # The SDK retries 408, 409 ("lock timeouts"), 429 and 5xx unless `x-should-retry` says otherwise.
        "retryable-statuses": [408, 409, 429],
        "codes": {
            "429": {
                "retryable": ["rate_limit_exceeded", "slow_down"],
                "terminal": [
                    "insufficient_quota",
                    "credit_balance_exhausted",
                    "organization_spend_limit_exceeded",
                    "project_spend_limit_exceeded",
                    "organization_usage_limit_exceeded",
                ],
            },
        },
        "retry-after-headers": [{"name": "retry-after-ms", "unit": "milliseconds"}, "retry-after"],
        "references": [
            "openai-python `_should_retry`: obeys `x-should-retry`, then retries 408, 409 (lock timeouts), 429 "
            "and >= 500; waits `retry-after-ms`, then `retry-after`.",
            "OpenAI error codes: 429 `rate_limit_exceeded` is temporary; 429 `insufficient_quota` (and the billing "
            "codes under it) does not clear by waiting.",
        ],
    },
    "anthropic": {
        "description": "Anthropic API (api.anthropic.com and the `anthropic` Python SDK).",
        "hosts": ["api.anthropic.com"],
        "clients": ["anthropic.Anthropic", "anthropic.AsyncAnthropic"],
        "code-fields": ["error.type"],
        "message-fields": ["error.message"],
        "should-retry-header": "x-should-retry",
        "retryable-statuses": [408, 409, 429, 529],
        "codes": {
            "400": {"terminal": ["invalid_request_error"]},
            "401": {"terminal": ["authentication_error"]},
            "402": {"terminal": ["billing_error"]},
            "403": {"terminal": ["permission_error"]},
            "404": {"terminal": ["not_found_error"]},
            "413": {"terminal": ["request_too_large"]},
            "429": {"retryable": ["rate_limit_error"]},
            "500": {"retryable": ["api_error"]},
            "529": {"retryable": ["overloaded_error"]},
        },
        "retry-after-headers": [{"name": "retry-after-ms", "unit": "milliseconds"}, "retry-after"],
        "references": [
            "anthropic-python `_should_retry`: obeys `x-should-retry`, then retries 408, 409, 429 and >= 500 "
            "(529 `overloaded_error` included); waits `retry-after-ms`, then `retry-after`.",
            "Anthropic errors: `{\"type\": \"error\", \"error\": {\"type\", \"message\"}}` with one `error.type` per status.",
        ],
    },
    "stripe": {
        "description": "Stripe API (api.stripe.com and the `stripe` Python SDK).",
        "hosts": ["api.stripe.com", "files.stripe.com"],
        "clients": ["stripe.StripeClient"],
        "code-fields": ["error.code", "error.type", "error.decline_code"],
        "message-fields": ["error.message"],
        "should-retry-header": "Stripe-Should-Retry",
        "idempotency-header": "Idempotency-Key",
        # stripe-python retries 409 ("conflict errors") and 429 lock timeouts.
        "retryable-statuses": [409],
        "codes": {
            "402": {"terminal": ["card_declined", "expired_card", "incorrect_cvc", "incorrect_number"]},
            "429": {"retryable": ["lock_timeout", "rate_limit"]},
        },
        "terminal-codes": ["idempotency_error"],
        "references": [
            "stripe-python `_should_retry`: obeys `Stripe-Should-Retry`, then retries 409 and >= 500; 429 "
            "`lock_timeout` is retried too.",
            "Stripe docs: send `Idempotency-Key` on POST to retry safely; errors are `{\"error\": {\"type\", \"code\", "
            "\"decline_code\", \"message\"}}`; reusing a key with other parameters fails with `idempotency_error`.",
        ],
    },
    "github": {
        "description": "GitHub REST API (api.github.com).",
        "hosts": ["api.github.com", "uploads.github.com"],
        "clients": ["github.Github"],
        "message-fields": ["message"],
        # Primary and secondary rate limits answer 403 or 429.
        "retryable-statuses": [403, 429],
        "retry-after-headers": ["retry-after", {"name": "x-ratelimit-reset", "unit": "epoch"}],
        "references": [
            "GitHub REST docs: over a primary or secondary rate limit you get 403 or 429; wait `retry-after` "
            "seconds when present, else until `x-ratelimit-reset` (UTC epoch seconds) when "
            "`x-ratelimit-remaining` is 0.",
            "GitHub errors are `{\"message\", \"documentation_url\"}`: no machine code.",
        ],
    },
    "slack": {
        "description": "Slack Web API (slack.com/api) and `slack_sdk`.",
        "hosts": ["slack.com", "*.slack.com"],
        "clients": ["slack_sdk.WebClient", "slack_sdk.web.async_client.AsyncWebClient", "slack.WebClient"],
        # `{"ok": false, "error": "channel_not_found"}`: `error` is the machine code, not prose.
        "code-fields": ["error"],
        "success-field": "ok",
        "retry-after-headers": ["Retry-After"],
        "codes": {"429": {"retryable": ["ratelimited"]}},
        "retryable-codes": ["service_unavailable", "internal_error"],
        "terminal-codes": [
            "invalid_auth",
            "not_authed",
            "account_inactive",
            "token_revoked",
            "token_expired",
            "no_permission",
            "missing_scope",
            "channel_not_found",
            "not_in_channel",
            "is_archived",
            "invalid_arguments",
            "msg_too_long",
            "no_text",
        ],
        "references": [
            "Slack Web API: responses carry `ok`; on failure `error` holds a short machine-readable code.",
            "Slack rate limits: HTTP 429 with `Retry-After` (seconds) and `error: ratelimited`.",
        ],
    },
    "elasticsearch": {
        "description": "Elasticsearch REST API and the `elasticsearch` Python client (hosts vary: add them).",
        "clients": ["elasticsearch.Elasticsearch", "elasticsearch.AsyncElasticsearch"],
        "code-fields": ["error.type", "error.root_cause.*.type"],
        "message-fields": ["error.reason"],
        "codes": {
            "400": {
                "terminal": [
                    "mapper_parsing_exception",
                    "document_parsing_exception",
                    "illegal_argument_exception",
                    "parsing_exception",
                ]
            },
            "404": {"terminal": ["index_not_found_exception"]},
            "429": {"retryable": ["es_rejected_execution_exception"]},
        },
        "partial-success": [{"path": "/_bulk", "flag": "errors", "items": "items", "item-status": "*.status", "item-error": "*.error"}],
        "references": [
            "Elasticsearch bulk API: the response is 200 with `errors: true` when any item failed; each item "
            "carries its own `status` and `error`.",
            "Elasticsearch rejected requests: 429 `es_rejected_execution_exception` can be retried with backoff.",
            "Error bodies are `{\"error\": {\"type\", \"reason\", \"root_cause\"}, \"status\"}`.",
        ],
    },
}

# Built-ins on without configuration: each matches only its own hosts or SDK clients.
DEFAULT_PROFILES: tuple[str, ...] = tuple(
    name for name, table in BUILTIN_PROFILES.items() if table.get("hosts") or table.get("clients")
)
