//! The shape of a body the gateway translates, checked before translation builds anything from
//! it: how deep its JSON nests, how many messages, tools and content blocks it has
//! (`[server] max_json_depth`, `max_messages`, `max_tools`, `max_content_blocks`). One pass of
//! serde_json over the bytes, nothing kept: a hostile body costs its parse and no more.
//!
//! Passthrough bodies are not parsed beyond their top-level `model` and `stream`, so they are
//! bounded by `max_body_bytes` alone.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use switchboard_config::InputLimits;

/// Which limit a body broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ShapeError {
    Depth(usize),
    Messages(usize),
    Tools(usize),
    Blocks(usize),
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, max, key) = match self {
            Self::Depth(n) => ("levels of JSON nesting", n, "max_json_depth"),
            Self::Messages(n) => ("messages", n, "max_messages"),
            Self::Tools(n) => ("tools", n, "max_tools"),
            Self::Blocks(n) => ("content blocks", n, "max_content_blocks"),
        };
        write!(
            f,
            "the request has more than {max} {what}, the most this gateway translates (`[server] {key}`)"
        )
    }
}

/// Where in the body a value is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    Root,
    Messages,
    Message,
    Content,
    Tools,
    Other,
}

struct Counts<'l> {
    limits: &'l InputLimits,
    messages: usize,
    tools: usize,
    blocks: usize,
    broke: Option<ShapeError>,
}

impl Counts<'_> {
    fn over(&mut self, e: ShapeError) -> Result<(), ()> {
        self.broke = Some(e);
        Err(())
    }

    fn count(&mut self, at: At) -> Result<(), ()> {
        let l = self.limits;
        match at {
            At::Messages => {
                self.messages += 1;
                if self.messages > l.max_messages {
                    return self.over(ShapeError::Messages(l.max_messages));
                }
            }
            At::Tools => {
                self.tools += 1;
                if self.tools > l.max_tools {
                    return self.over(ShapeError::Tools(l.max_tools));
                }
            }
            At::Content => {
                self.blocks += 1;
                if self.blocks > l.max_content_blocks {
                    return self.over(ShapeError::Blocks(l.max_content_blocks));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

struct Walk<'c, 'l> {
    at: At,
    depth: usize,
    counts: &'c mut Counts<'l>,
}

impl Walk<'_, '_> {
    fn enter<E: de::Error>(&mut self) -> Result<usize, E> {
        let depth = self.depth + 1;
        if depth > self.counts.limits.max_json_depth {
            self.counts.broke = Some(ShapeError::Depth(self.counts.limits.max_json_depth));
            return Err(E::custom("limit"));
        }
        Ok(depth)
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let depth = self.enter()?;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let at = match (self.at, key.as_ref()) {
                (At::Root, "messages") => At::Messages,
                (At::Root, "tools") => At::Tools,
                (At::Message, "content") => At::Content,
                _ => At::Other,
            };
            map.next_value_seed(Walk {
                at,
                depth,
                counts: self.counts,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.enter()?;
        let item = match self.at {
            At::Messages => At::Message,
            _ => At::Other,
        };
        loop {
            if seq
                .next_element_seed(Walk {
                    at: item,
                    depth,
                    counts: self.counts,
                })?
                .is_none()
            {
                return Ok(());
            }
            if self.counts.count(self.at).is_err() {
                return Err(de::Error::custom("limit"));
            }
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Checks `body` against the translation limits. A body that is not JSON passes: translation
/// reports that in its own words.
pub(crate) fn check(body: &[u8], limits: &InputLimits) -> Result<(), ShapeError> {
    let mut counts = Counts {
        limits,
        messages: 0,
        tools: 0,
        blocks: 0,
        broke: None,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let walked = Walk {
        at: At::Root,
        depth: 0,
        counts: &mut counts,
    }
    .deserialize(&mut de);
    match (walked, counts.broke) {
        (_, Some(e)) => Err(e),
        // serde_json's own recursion limit (128) stops deeper bodies first.
        (Err(e), None) if e.to_string().contains("recursion limit") => {
            Err(ShapeError::Depth(limits.max_json_depth))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> InputLimits {
        InputLimits {
            max_json_depth: 8,
            max_messages: 3,
            max_tools: 2,
            max_content_blocks: 4,
            ..InputLimits::default()
        }
    }

    #[test]
    fn each_limit_is_named() {
        let l = limits();
        let ok = br#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":"x"}],"tools":[{"name":"a"},{"name":"b"}]}"#;
        assert_eq!(check(ok, &l), Ok(()));
        let msgs = br#"{"messages":[{},{},{},{}]}"#;
        assert_eq!(check(msgs, &l), Err(ShapeError::Messages(3)));
        let tools = br#"{"tools":[1,2,3]}"#;
        assert_eq!(check(tools, &l), Err(ShapeError::Tools(2)));
        let blocks = br#"{"messages":[{"content":[1,2,3]},{"content":[4,5]}]}"#;
        assert_eq!(check(blocks, &l), Err(ShapeError::Blocks(4)));
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(8), "]".repeat(8));
        assert_eq!(check(deep.as_bytes(), &l), Err(ShapeError::Depth(8)));
        let deeper = format!("{{\"x\":{}{}}}", "[".repeat(500), "]".repeat(500));
        assert_eq!(
            check(deeper.as_bytes(), &InputLimits::default()),
            Err(ShapeError::Depth(100))
        );
        assert_eq!(check(b"not json", &l), Ok(()));
        assert_eq!(
            ShapeError::Tools(2).to_string(),
            "the request has more than 2 tools, the most this gateway translates (`[server] max_tools`)"
        );
    }
}
