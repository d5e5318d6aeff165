//! Outcomes and dispositions: closed sets of words, each with one spelling on the wire, in the
//! database and in metrics labels.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A word that names no variant of the type it was parsed as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {word:?}: expected one of {}", expected.join(", "))]
pub struct UnknownWord {
    pub kind: &'static str,
    pub word: String,
    pub expected: &'static [&'static str],
}

/// Declares a closed set of snake_case words with `as_str`, `ALL`, `Display` and `FromStr`.
macro_rules! words {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// Every word, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            /// The one spelling of this word.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compares with the word as text (`outcome == "ok"`).
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok(Self::$variant),)+
                    _ => Err(UnknownWord { kind: $kind, word: s.to_owned(), expected: Self::WORDS }),
                }
            }
        }
    };
}

words! {
    /// What became of a request.
    Outcome, "outcome" {
        /// Served: the whole answer reached the client.
        Ok => "ok",
        /// `count_tokens` answered from the gateway's own estimate.
        Estimated => "estimated",
        /// A stream broke after it had committed: the client got an `error` event.
        Partial => "partial",
        /// The client went away before the answer was complete.
        ClientClosed => "client_closed",
        /// The upstream refused the request (400, 404, 413, 422): its answer went back.
        ClientError => "client_error",
        /// The upstream answered with something the gateway could not pass on.
        UpstreamError => "upstream_error",
        /// Every endpoint was tried or is cooling down; none could serve.
        Exhausted => "exhausted",
        /// The gateway refused the request itself (auth, body, limits) before any upstream.
        Rejected => "rejected",
        /// Not an outcome yet: a stream whose first byte has gone out (the live feed only).
        InProgress => "in_progress",
    }
}

impl Outcome {
    /// Whether the request was served (`ok`, `estimated`).
    #[must_use]
    pub const fn is_success(self) -> bool {
        matches!(self, Self::Ok | Self::Estimated)
    }
}

words! {
    /// What the router decided after one attempt against one endpoint.
    AttemptDisposition, "disposition" {
        /// The attempt committed: its answer went to the client.
        Ok => "ok",
        /// A transient failure: the same endpoint is tried again after a backoff.
        Retry => "retry",
        /// A transient failure with no retries left: the next endpoint is tried.
        Next => "next",
        /// Rate-limited or refused credentials: the endpoint cools down, the next one is tried.
        Cooldown => "cooldown",
        /// The request is at fault: the upstream's answer went back to the client.
        Returned => "returned",
        /// Passed over: the endpoint was cooling down.
        Skipped => "skipped",
        /// A thinking signature was refused: retried once with thinking blocks stripped.
        Repair => "repair",
        /// The endpoint cannot serve this kind of request (e.g. a feature its dialect lacks).
        Unsupported => "unsupported",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_round_trips_through_text_and_serde() {
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>(), Ok(*o));
            let json = serde_json::to_string(o).expect("serialize");
            assert_eq!(json, format!("\"{}\"", o.as_str()));
        }
        for d in AttemptDisposition::ALL {
            assert_eq!(d.as_str().parse::<AttemptDisposition>(), Ok(*d));
            let json = serde_json::to_string(d).expect("serialize");
            assert_eq!(json, format!("\"{}\"", d.as_str()));
        }
    }

    #[test]
    fn an_unknown_word_names_the_choices() {
        let e = "exhausted!".parse::<Outcome>().expect_err("not a word");
        assert_eq!(
            e.to_string(),
            "unknown outcome \"exhausted!\": expected one of ok, estimated, partial, \
             client_closed, client_error, upstream_error, exhausted, rejected, in_progress"
        );
    }
}
