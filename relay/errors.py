"""Errors a client sees, in the shape of the API it called, with new-api's codes and texts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

# message id → (English, Chinese). English is the default; `Accept-Language: zh…` picks Chinese.
MESSAGES: Mapping[str, tuple[str, str]] = {
    "token_invalid": ("Invalid token", "无效的令牌"),
    "user_banned": ("User has been banned", "用户已被封禁"),
    "ip_denied": (
        "Your IP is not in the token's allowed list",
        "您的 IP 不在令牌允许访问的列表中",
    ),
    "group_denied": ("No permission to access group {group}", "无权访问 {group} 分组"),
    "group_deprecated": ("Group {group} has been deprecated", "分组 {group} 已被弃用"),
    "pin_denied": (
        "Only administrators may pin a channel",
        "普通用户不支持指定渠道",
    ),
    "pin_invalid": ("Invalid channel ID", "无效的渠道 ID"),
    "pin_disabled": ("This channel has been disabled", "该渠道已被禁用"),
    "model_required": (
        "Model name not specified, model name cannot be empty",
        "未指定模型名称，模型名称不能为空",
    ),
    "invalid_request": ("Invalid request: {error}", "无效的请求: {error}"),
    "no_model_access": ("This token has no access to any models", "该令牌无权访问任何模型"),
    "model_forbidden": ("This token has no access to model {model}", "该令牌无权访问模型 {model}"),
    "no_channel": (
        "No available channel for model {model} under group {group} (distributor)",
        "分组 {group} 下模型 {model} 无可用渠道（distributor）",
    ),
    "price_unset_admin": (
        "Model {model} price not configured. Enable self-use mode or set the model's price "
        "or ratio in the options.",
        "模型 {model} 的价格未配置。请开启自用模式，或为该模型配置价格或倍率。",
    ),
    "price_unset": (
        "Model {model} has not been priced by the administrator yet. Please contact the site "
        "administrator to enable this model.",
        "模型 {model} 的价格尚未由管理员配置，暂时无法使用，请联系站点管理员开启该模型。",
    ),
    "user_quota_empty": (
        "Insufficient user quota, remaining: {remain}",
        "用户额度不足, 剩余额度: {remain}",
    ),
    "user_quota_short": (
        "Pre-consumption failed, user remaining quota: {remain}, needed: {need}",
        "预扣费额度失败, 用户剩余额度: {remain}, 需要预扣费额度: {need}",
    ),
    "token_quota_short": (
        "Token quota is insufficient for pre-consumption, remaining: {remain}, needed: {need}",
        "令牌额度不足以预扣费, 剩余额度: {remain}, 需要预扣费额度: {need}",
    ),
    "rpm_limited": (
        "Token rate limit reached: at most {limit} requests per minute",
        "令牌请求频率已达上限：每分钟最多 {limit} 次",
    ),
    "rpd_limited": (
        "Token rate limit reached: at most {limit} requests per day",
        "令牌请求频率已达上限：每天最多 {limit} 次",
    ),
    "tpm_limited": (
        "Token rate limit reached: at most {limit} tokens per minute",
        "令牌 token 用量已达上限：每分钟最多 {limit} tokens",
    ),
    "model_success_limited": (
        "You have reached the request limit: maximum {limit} requests in {minutes} minutes",
        "您已达到请求数限制：{minutes}分钟内最多请求{limit}次",
    ),
    "model_total_limited": (
        "You have reached the total request limit: maximum {limit} requests in {minutes} "
        "minutes, including failed attempts",
        "您已达到总请求数限制：{minutes}分钟内最多请求{limit}次，包括失败次数，请检查您的请求是否正确",
    ),
    "body_too_large": ("Request body too large", "请求体过大"),
    "not_found": ("Invalid URL ({method} {path})", "无效的 URL ({method} {path})"),
    "upstream_unreachable": (
        "Failed to reach the upstream: {error}",
        "请求上游失败: {error}",
    ),
    "upstream_status": ("bad response status code {status}", "bad response status code {status}"),
    "upstream_bad_body": (
        "Failed to read the upstream response: {error}",
        "读取上游响应失败: {error}",
    ),
    "internal": ("Internal error", "内部错误"),
}


def message(msg_id: str, lang: str = "en", **params: Any) -> str:
    en, zh = MESSAGES[msg_id]
    return (zh if lang == "zh" else en).format(**params)


def language(accept_language: str) -> str:
    """'zh' when the client prefers Chinese, else 'en'."""
    return "zh" if accept_language.lower().startswith("zh") else "en"


class RelayError(Exception):
    """An error answered to the client. `skip_retry` stops the retry loop; `channel_error`
    marks problems of one channel (retried on another even when retries are otherwise off)."""

    def __init__(
        self,
        status: int,
        text: str,
        code: str = "",
        *,
        type: str = "new_api_error",
        param: str | None = None,
        skip_retry: bool = False,
        channel_error: bool = False,
        retry_after: int | None = None,
        upstream: bool = False,
    ) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.code = code
        self.type = type
        self.param = param
        self.skip_retry = skip_retry
        self.channel_error = channel_error
        self.retry_after = retry_after
        self.upstream = upstream
        # The API shape of the body: "openai", or the client surface's once the request is
        # past new-api's middleware (upstream and relay errors on /v1/messages are Claude's;
        # new-api answers Gemini's and the Responses routes OpenAI-shaped).
        self.shape = "openai"

    def body(self, request_id: str) -> bytes:
        if self.shape == "claude":
            return self.claude_body(request_id)
        return self.openai_body(request_id)

    def claude_body(self, request_id: str) -> bytes:
        """`{"type":"error","error":{type,message}}`; an OpenAI upstream error's code becomes
        the type, as new-api's ToClaudeError does."""
        kind = self.code if self.upstream and self.code else self.type
        error = {"type": kind, "message": f"{self.text} (request id: {request_id})"}
        return orjson.dumps({"type": "error", "error": error})

    def openai_body(self, request_id: str) -> bytes:
        error: dict[str, Any] = {
            "message": f"{self.text} (request id: {request_id})",
            "type": self.type,
        }
        if self.param is not None or self.upstream:
            error["param"] = self.param or ""
        error["code"] = self.code
        return orjson.dumps({"error": error})

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


def upstream_error(status: int, body: bytes) -> RelayError:
    """new-api's reading of an upstream non-200: keep an OpenAI error's fields, else a summary."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            code = err.get("code")
            return RelayError(
                status,
                str(err["message"]),
                "" if code is None else str(code),
                type=str(err.get("type") or "upstream_error"),
                param=str(err.get("param") or ""),
                upstream=True,
            )
        text = _extract_message(data) or message("upstream_status", status=status)
        return RelayError(
            status, text, "bad_response_status_code", type="upstream_error", upstream=True
        )
    return RelayError(
        status,
        message("upstream_status", status=status),
        "bad_response_status_code",
        type="upstream_error",
        upstream=True,
    )


def _extract_message(data: dict[str, Any]) -> str:
    for key in ("message", "msg", "detail", "error"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and isinstance(value.get("message"), str):
            return str(value["message"])
    return ""
