//! Configuration: `switchboard_config::compile_str` on arbitrary text with an environment
//! closure (some variables set, some empty, some unset, some whose values contain `${…}`).
//!
//! Input: the TOML text (lossily decoded). Invariants: no panic; errors are non-empty, carry
//! 1-based positions inside the text (or 0 for whole-file errors), and render.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use switchboard_config::{ConfigSource, compile_str, render_errors};

fn env(name: &str) -> Option<String> {
    match name {
        "KEY" | "OPENAI_API_KEY" | "ANTHROPIC_API_KEY" | "GEMINI_API_KEY" => {
            Some("sk-secret-fuzz-0123456789".into())
        }
        "EMPTY" => Some(String::new()),
        "NESTED" => Some("${KEY}".into()),
        "PORT" => Some("8080".into()),
        "URL" => Some("https://example.com/v1".into()),
        "WEIRD" => Some("\u{0}\n\"'\\ ${".into()),
        n if n.starts_with("SET_") => Some(n.to_owned()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count() + 1;
    let source = ConfigSource::File(PathBuf::from("switchboard.toml"));
    match compile_str(&text, source, &env) {
        Ok(cfg) => {
            std::hint::black_box(format!("{cfg:?}"));
        }
        Err(errs) => {
            assert!(!errs.is_empty(), "Err with no errors");
            for e in &errs {
                assert!(
                    e.line <= lines + 1,
                    "error line {} beyond the text ({lines} lines)",
                    e.line
                );
            }
            std::hint::black_box(render_errors(&errs));
        }
    }
});
