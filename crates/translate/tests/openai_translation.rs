//! Anthropic ⇄ OpenAI chat translation: requests, responses and streams, on recorded fixtures
//! (`tests/fixtures/`), constructed edge cases and property tests.

#[path = "openai/support.rs"]
mod support;

#[path = "openai/streams.rs"]
mod streams;

#[path = "openai/requests.rs"]
mod requests;

#[path = "openai/responses.rs"]
mod responses;

#[path = "openai/props.rs"]
mod props;
