//! `${VAR}` substitution in string values. `$${` is a literal `${`; any other `$` is kept as is.

/// Why a string could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvError {
    Missing(String),
    Unterminated,
    BadName(String),
}

impl std::fmt::Display for EnvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(v) => write!(f, "environment variable `{v}` is not set"),
            Self::Unterminated => f.write_str(
                "unterminated `${`: expected `${NAME}` (write `$${` for a literal `${`)",
            ),
            Self::BadName(v) => write!(
                f,
                "`${{{v}}}` is not a valid variable reference: names use letters, digits and `_`"
            ),
        }
    }
}

/// Expands every `${NAME}` in `text` with `env(NAME)`. Reports every missing variable, not just
/// the first; a syntax problem stops the scan.
pub(crate) fn substitute(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<EnvError>> {
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let Some(end) = tail.find('}') else {
                errors.push(EnvError::Unterminated);
                return Err(errors);
            };
            let name = &tail[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                errors.push(EnvError::BadName(name.to_owned()));
            } else if let Some(value) = env(name) {
                out.push_str(&value);
            } else {
                errors.push(EnvError::Missing(name.to_owned()));
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("sk-123".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_whole_and_partial_references() {
        assert_eq!(substitute("${KEY}", &env).unwrap(), "sk-123");
        assert_eq!(
            substitute("Bearer ${KEY}!", &env).unwrap(),
            "Bearer sk-123!"
        );
        assert_eq!(substitute("${KEY}${KEY}", &env).unwrap(), "sk-123sk-123");
        assert_eq!(substitute("x${EMPTY}y", &env).unwrap(), "xy");
    }

    #[test]
    fn double_dollar_escapes_and_lone_dollar_is_literal() {
        assert_eq!(substitute("$${KEY}", &env).unwrap(), "${KEY}");
        assert_eq!(substitute("cost $5 $", &env).unwrap(), "cost $5 $");
        assert_eq!(substitute("$$x", &env).unwrap(), "$$x");
    }

    #[test]
    fn reports_every_missing_variable() {
        assert_eq!(
            substitute("${A} and ${KEY} and ${B}", &env),
            Err(vec![
                EnvError::Missing("A".into()),
                EnvError::Missing("B".into())
            ])
        );
    }

    #[test]
    fn rejects_malformed_references() {
        assert_eq!(substitute("${KEY", &env), Err(vec![EnvError::Unterminated]));
        assert_eq!(
            substitute("${}", &env),
            Err(vec![EnvError::BadName(String::new())])
        );
        assert_eq!(
            substitute("${A-B}", &env),
            Err(vec![EnvError::BadName("A-B".into())])
        );
    }
}
