//! Carrying Gemini's state through Claude Code, which keeps none of ours.
//!
//! Gemini wants each `functionCall` part echoed next turn with its `thoughtSignature` (else 400
//! "Function call is missing a thought_signature"), and its call `id` when it gave one. Claude Code
//! echoes `tool_use.id` and `thinking.signature` verbatim, so both are encoded there, statelessly:
//!
//! - tool_use id: `toolu_gem` + mode + core + optionally (`_` + signature encoding). The core is
//!   alphanumeric, so the first `_` after the prefix separates it from the signature:
//!   - mode `g`: core is gateway-made (Gemini gave no id); nothing is sent back as `id`;
//!   - mode `i`: core is Gemini's own id (alphanumeric), sent back verbatim;
//!   - mode `h`: core is Gemini's id in hex (it had other characters).
//!   - signature encoding `b` + standard base64 mapped to the URL alphabet without padding (exact
//!     inverse: padding is implied by the length), or `r` + base64url of the raw bytes for
//!     signatures that aren't standard base64.
//!
//!   The result matches Anthropic's `^[a-zA-Z0-9_-]+$`.
//! - thinking signature: [`SIG_PREFIX`] + kind + the signature verbatim; kind `t` means it came on
//!   a thought part, kind `x` on the text part that followed the (empty) thinking block. A thinking
//!   block without a Gemini signature is closed with [`NO_SIGNATURE`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const TOOL_ID_PREFIX: &str = "toolu_gem";

/// Prefix of thinking-block signatures that carry a Gemini `thoughtSignature`.
pub(crate) const SIG_PREFIX: &str = "gemini.sig.";

/// Signature of a thinking block for which Gemini sent none: opaque, recognisably ours, carries
/// nothing back.
pub(crate) const NO_SIGNATURE: &str = "gemini.nosig";

/// What a gateway-made tool_use id carries back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DecodedToolId {
    /// Gemini's own function-call id, when it gave one.
    pub(crate) gemini_id: Option<String>,
    /// The part's `thoughtSignature`, when it had one.
    pub(crate) signature: Option<String>,
}

/// Builds the tool_use id for a Gemini function call. `seed` makes gateway-made cores unique
/// (response id, position, name and arguments); the same inputs give the same id.
pub(crate) fn encode_tool_id(
    gemini_id: Option<&str>,
    signature: Option<&str>,
    seed: &str,
) -> String {
    let mut out = String::from(TOOL_ID_PREFIX);
    match gemini_id.filter(|id| !id.is_empty()) {
        Some(id) if id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            out.push('i');
            out.push_str(id);
        }
        Some(id) => {
            out.push('h');
            for b in id.bytes() {
                out.push_str(&format!("{b:02x}"));
            }
        }
        None => {
            out.push('g');
            let digest = Sha256::digest(seed.as_bytes());
            for b in &digest[..12] {
                out.push_str(&format!("{b:02x}"));
            }
        }
    }
    if let Some(sig) = signature.filter(|s| !s.is_empty()) {
        out.push('_');
        if is_std_base64(sig) {
            out.push('b');
            out.extend(sig.chars().filter(|&c| c != '=').map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            }));
        } else {
            out.push('r');
            out.push_str(&URL_SAFE_NO_PAD.encode(sig.as_bytes()));
        }
    }
    out
}

/// Decodes an id made by [`encode_tool_id`]; `None` for anyone else's id.
pub(crate) fn decode_tool_id(id: &str) -> Option<DecodedToolId> {
    let rest = id.strip_prefix(TOOL_ID_PREFIX)?;
    let mut chars = rest.chars();
    let mode = chars.next()?;
    let rest = chars.as_str();
    let (core, sig) = match rest.split_once('_') {
        Some((core, sig)) => (core, Some(sig)),
        None => (rest, None),
    };
    if core.is_empty() || !core.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let gemini_id = match mode {
        'g' => None,
        'i' => Some(core.to_owned()),
        'h' => Some(from_hex(core)?),
        _ => return None,
    };
    let signature = match sig {
        None => None,
        Some(s) => Some(decode_signature(s)?),
    };
    Some(DecodedToolId {
        gemini_id,
        signature,
    })
}

fn decode_signature(s: &str) -> Option<String> {
    let mut chars = s.chars();
    match chars.next()? {
        'b' => {
            let body = chars.as_str();
            if body.len() % 4 == 1 {
                return None;
            }
            let mut out: String = body
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .collect();
            while !out.len().is_multiple_of(4) {
                out.push('=');
            }
            Some(out)
        }
        'r' => String::from_utf8(URL_SAFE_NO_PAD.decode(chars.as_str()).ok()?).ok(),
        _ => None,
    }
}

/// Standard base64 with canonical padding: the `b` encoding can restore it exactly.
fn is_std_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    let pad = s.len() - body.len();
    !body.is_empty()
        && s.len().is_multiple_of(4)
        && pad <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

fn from_hex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

/// Where a thinking block's Gemini signature belongs when the history comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SigKind {
    /// On a thought part (sent back as a thought part with that signature).
    Thought,
    /// On the text part that followed (sent back on that text part).
    Text,
}

/// The signature for a thinking block carrying a Gemini signature.
pub(crate) fn encode_thinking_signature(kind: SigKind, sig: &str) -> String {
    let k = match kind {
        SigKind::Thought => 't',
        SigKind::Text => 'x',
    };
    format!("{SIG_PREFIX}{k}{sig}")
}

/// The Gemini signature in a thinking block's signature, if it is one of ours.
pub(crate) fn decode_thinking_signature(sig: &str) -> Option<(SigKind, &str)> {
    let rest = sig.strip_prefix(SIG_PREFIX)?;
    let kind = match rest.chars().next()? {
        't' => SigKind::Thought,
        'x' => SigKind::Text,
        _ => return None,
    };
    let s = rest.get(1..)?;
    (!s.is_empty()).then_some((kind, s))
}

/// A gateway-made id (messages, tool calls without a seed of their own).
pub(crate) fn short_hash(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_anthropic_id(id: &str) -> bool {
        !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    #[test]
    fn tool_ids_round_trip() {
        let cases: &[(Option<&str>, Option<&str>)] = &[
            (None, None),
            (None, Some("EpwICpkIAXLI2nx+/lU6gsW==")),
            (None, Some("EpwI")),
            (Some("abc123"), Some("Eq+/")),
            (Some("call_1-x.y"), Some("not base64 at all!")),
            (Some("ü"), None),
            (None, Some("Eg==")),
            (None, Some("Eg=")),
        ];
        for &(gid, sig) in cases {
            let id = encode_tool_id(gid, sig, "seed");
            assert!(valid_anthropic_id(&id), "{id}");
            let d = decode_tool_id(&id).expect("ours");
            assert_eq!(d.gemini_id.as_deref(), gid, "{id}");
            assert_eq!(d.signature.as_deref(), sig, "{id}");
        }
    }

    #[test]
    fn foreign_ids_are_not_decoded() {
        assert_eq!(decode_tool_id("toolu_01AbCdEf"), None);
        assert_eq!(decode_tool_id("call_abc"), None);
        assert_eq!(decode_tool_id("toolu_gemz123"), None);
    }

    #[test]
    fn thinking_signatures_round_trip() {
        let s = encode_thinking_signature(SigKind::Text, "EpwI+/=");
        assert_eq!(
            decode_thinking_signature(&s),
            Some((SigKind::Text, "EpwI+/="))
        );
        assert_eq!(decode_thinking_signature(NO_SIGNATURE), None);
        assert_eq!(decode_thinking_signature("EqQBCkgIARAB"), None);
    }
}
