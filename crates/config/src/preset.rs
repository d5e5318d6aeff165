//! Provider presets: the known upstreams, so an endpoint can say `preset = "deepseek"` instead of
//! spelling out kind, base URL and auth. Explicit endpoint fields override the preset's.
//!
//! `docs/providers.md` shows this table; a test keeps the two in step.

use switchboard_protocol::Dialect;

use crate::model::AuthStyle;

/// One provider preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    /// Other names accepted for `preset = "…"`.
    pub aliases: &'static [&'static str],
    pub kind: Dialect,
    /// Base URL as an endpoint would write it: for OpenAI-kind presets it includes the version
    /// segment (the server appends `/chat/completions`); for Anthropic-kind ones the server
    /// appends `/v1/messages`; for Gemini `/v1beta/models/…`.
    pub base_url: &'static str,
    pub auth: AuthStyle,
    /// Default upper bound for `max_tokens`, where the provider documents one.
    pub max_output_tokens: Option<u32>,
    /// Whether the provider serves Anthropic's `/v1/messages/count_tokens`.
    pub count_tokens: bool,
    /// True for local servers that need no API key.
    pub local: bool,
    /// What to know about this provider, in one line.
    pub quirks: &'static str,
    /// The upstream documentation the preset and its quirks come from.
    pub docs: &'static str,
}

impl Preset {
    /// Whether `name` names this preset (its name or an alias).
    #[must_use]
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

const fn openai(name: &'static str, base_url: &'static str) -> Preset {
    Preset {
        name,
        aliases: &[],
        kind: Dialect::OpenAiChat,
        base_url,
        auth: AuthStyle::Bearer,
        max_output_tokens: None,
        count_tokens: false,
        local: false,
        quirks: "",
        docs: "",
    }
}

/// Every preset, in the order `docs/providers.md` lists them.
pub const PRESETS: &[Preset] = &[
    Preset {
        kind: Dialect::Anthropic,
        auth: AuthStyle::XApiKey,
        count_tokens: true,
        quirks: "The native API. Omit `api_key` to pass the client's own credentials through.",
        docs: "https://docs.anthropic.com/en/api/messages",
        ..openai("anthropic", "https://api.anthropic.com")
    },
    Preset {
        quirks: "Newer reasoning models take `max_completion_tokens`; `max_tokens` is deprecated.",
        docs: "https://platform.openai.com/docs/api-reference/chat",
        ..openai("openai", "https://api.openai.com/v1")
    },
    Preset {
        max_output_tokens: Some(8192),
        quirks: "No version segment in the base URL. `deepseek-chat` allows 8K output tokens (the \
                 default here); `deepseek-reasoner` allows 64K, so raise `max_output_tokens` for it. \
                 Requests with tools sent to `deepseek-reasoner` are served by `deepseek-chat`.",
        docs: "https://api-docs.deepseek.com/quick_start/pricing",
        ..openai("deepseek", "https://api.deepseek.com")
    },
    Preset {
        kind: Dialect::Anthropic,
        auth: AuthStyle::XApiKey,
        max_output_tokens: Some(8192),
        quirks: "Anthropic-compatible. Images and documents are not supported; `cache_control` and \
                 `anthropic-beta` are ignored; unknown model names fall back to DeepSeek's default \
                 model. No `count_tokens`.",
        docs: "https://api-docs.deepseek.com/guides/anthropic_api",
        ..openai("deepseek-anthropic", "https://api.deepseek.com/anthropic")
    },
    Preset {
        aliases: &["grok"],
        quirks: "Reasoning models reject `presence_penalty`, `frequency_penalty` and `stop`.",
        docs: "https://docs.x.ai/docs/api-reference",
        ..openai("xai", "https://api.x.ai/v1")
    },
    Preset {
        kind: Dialect::Gemini,
        auth: AuthStyle::GoogApiKey,
        quirks: "Native API: the server appends `/v1beta/models/{model}:streamGenerateContent`. \
                 Tool schemas must be cleaned of JSON Schema keywords Gemini rejects.",
        docs: "https://ai.google.dev/api/generate-content",
        ..openai("gemini", "https://generativelanguage.googleapis.com")
    },
    Preset {
        quirks: "Gemini's OpenAI compatibility layer (beta); some OpenAI fields are ignored.",
        docs: "https://ai.google.dev/gemini-api/docs/openai",
        ..openai(
            "gemini-openai",
            "https://generativelanguage.googleapis.com/v1beta/openai",
        )
    },
    Preset {
        quirks: "Model ids are `vendor/model`. Optional `HTTP-Referer` and `X-Title` headers \
                 attribute traffic to your app.",
        docs: "https://openrouter.ai/docs/api-reference/overview",
        ..openai("openrouter", "https://openrouter.ai/api/v1")
    },
    Preset {
        aliases: &["kimi"],
        quirks: "Accounts on the China platform use `https://api.moonshot.cn/v1`.",
        docs: "https://platform.moonshot.ai/docs/api/chat",
        ..openai("moonshot", "https://api.moonshot.ai/v1")
    },
    Preset {
        kind: Dialect::Anthropic,
        quirks: "Anthropic-compatible; authenticates with `Authorization: Bearer`. No `count_tokens`.",
        docs: "https://platform.moonshot.ai/docs/guide/agent-support",
        ..openai("kimi-anthropic", "https://api.moonshot.ai/anthropic")
    },
    Preset {
        aliases: &["glm"],
        quirks: "The version segment is `/v4`. International accounts use `https://api.z.ai/api/paas/v4`.",
        docs: "https://docs.bigmodel.cn/api-reference",
        ..openai("zhipu", "https://open.bigmodel.cn/api/paas/v4")
    },
    Preset {
        kind: Dialect::Anthropic,
        quirks: "Anthropic-compatible; authenticates with `Authorization: Bearer`. No `count_tokens`. \
                 International accounts use `https://api.z.ai/api/anthropic`.",
        docs: "https://docs.bigmodel.cn/cn/guide/develop/claude",
        ..openai("glm-anthropic", "https://open.bigmodel.cn/api/anthropic")
    },
    Preset {
        aliases: &["dashscope"],
        quirks: "Beijing region; international accounts use \
                 `https://dashscope-intl.aliyuncs.com/compatible-mode/v1`.",
        docs: "https://help.aliyun.com/zh/model-studio/compatibility-of-openai-with-dashscope",
        ..openai("qwen", "https://dashscope.aliyuncs.com/compatible-mode/v1")
    },
    Preset {
        quirks: "`n` must be 1; `logprobs` and `logit_bias` are not supported.",
        docs: "https://console.groq.com/docs/openai",
        ..openai("groq", "https://api.groq.com/openai/v1")
    },
    Preset {
        local: true,
        quirks: "Local; no API key. The model must be pulled first (`ollama pull`).",
        docs: "https://github.com/ollama/ollama/blob/main/docs/openai.md",
        ..openai("ollama", "http://127.0.0.1:11434/v1")
    },
    Preset {
        local: true,
        quirks: "Local; a key only if the server runs with `--api-key`. Tool calls need \
                 `--enable-auto-tool-choice` and a `--tool-call-parser`.",
        docs: "https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
        ..openai("vllm", "http://127.0.0.1:8000/v1")
    },
    Preset {
        local: true,
        quirks: "Local; no API key. Load the model in LM Studio and start its server first.",
        docs: "https://lmstudio.ai/docs/app/api/endpoints/openai",
        ..openai("lmstudio", "http://127.0.0.1:1234/v1")
    },
];

/// The preset called `name` (or with `name` as an alias).
#[must_use]
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.is_named(name))
}

/// Every accepted preset name, aliases included.
pub(crate) fn preset_names() -> Vec<&'static str> {
    PRESETS
        .iter()
        .flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_base_urls_parse() {
        let names = preset_names();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        for p in PRESETS {
            let url = url::Url::parse(p.base_url).expect(p.name);
            assert!(
                !url.path().ends_with('/') || url.path() == "/",
                "{}",
                p.name
            );
            assert!(!p.quirks.is_empty() && !p.docs.is_empty(), "{}", p.name);
        }
    }

    #[test]
    fn aliases_resolve() {
        assert_eq!(preset("grok").map(|p| p.name), Some("xai"));
        assert_eq!(preset("glm").map(|p| p.name), Some("zhipu"));
        assert!(preset("nope").is_none());
    }
}
