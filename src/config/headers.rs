//! The smoke check's HTTP headers: their names checked, their values taken from the
//! environment where they say `${VAR}`, and kept out of every message and `Debug` output,
//! since they usually carry a token.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// A header value: never shown. `Debug` prints `***`; no `Display`, so that it cannot end
/// up in a message by accident. [`Secret::expose`] is for the HTTP request alone.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The headers a check sends, names as written, values expanded.
pub type Headers = Vec<(String, Secret)>;

/// `own` over `defaults`, name by name and regardless of case, as HTTP compares names: a
/// name in `own` replaces the default of that name.
pub(super) fn over(
    own: BTreeMap<String, Secret>,
    defaults: BTreeMap<String, Secret>,
) -> BTreeMap<String, Secret> {
    let mut all: BTreeMap<String, Secret> = defaults
        .into_iter()
        .filter(|(name, _)| !own.keys().any(|o| o.eq_ignore_ascii_case(name)))
        .collect();
    all.extend(own);
    all
}

/// An HTTP header name: a token (RFC 9110, 5.1 and 5.6.2).
pub(super) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// What went wrong with a value; the message names the variable, never the value.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ExpandError {
    Unset(String),
    Empty(String),
    BadName(String),
    Unclosed,
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpandError::Unset(var) => write!(
                f,
                "takes the environment variable {var}, which is not set; set it for the run (in CI, from a secret), or write $${{ for a literal ${{"
            ),
            ExpandError::Empty(var) => write!(
                f,
                "takes the environment variable {var}, which is set but empty (a CI secret this job cannot see?); give it a value"
            ),
            ExpandError::BadName(var) => write!(
                f,
                "`${{{var}}}` is not an environment variable name (letters, digits and _, not starting with a digit); write $${{ for a literal ${{"
            ),
            ExpandError::Unclosed => {
                f.write_str("has a `${` without its closing `}`; write $${ for a literal ${")
            }
        }
    }
}

/// `template` with each `${VAR}` replaced by the variable's value from `env`, and each
/// `$${` by a literal `${`; any other `$` stays as it is.
pub(super) fn expand(
    template: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = tail.find('}').ok_or(ExpandError::Unclosed)?;
            let name = &tail[..end];
            let valid = name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(ExpandError::BadName(name.to_string()));
            }
            match env(name) {
                None => return Err(ExpandError::Unset(name.to_string())),
                Some(v) if v.is_empty() => return Err(ExpandError::Empty(name.to_string())),
                Some(v) => out.push_str(&v),
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A value HTTP can carry: no control characters but tab (a newline would start a header
/// of its own).
pub(super) fn is_field_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr3t".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn variables_are_expanded_and_escapes_kept_literal() {
        assert_eq!(expand("Bearer ${TOKEN}", &env).unwrap(), "Bearer s3cr3t");
        assert_eq!(expand("${TOKEN}${TOKEN}", &env).unwrap(), "s3cr3ts3cr3t");
        assert_eq!(expand("$${TOKEN}", &env).unwrap(), "${TOKEN}");
        assert_eq!(expand("cost $5, $HOME", &env).unwrap(), "cost $5, $HOME");
        assert_eq!(expand("end $", &env).unwrap(), "end $");
        assert_eq!(expand("$$${TOKEN}", &env).unwrap(), "$${TOKEN}");
    }

    #[test]
    fn unset_empty_and_malformed_variables_are_errors_naming_the_variable() {
        assert_eq!(
            expand("Bearer ${MISSING}", &env),
            Err(ExpandError::Unset("MISSING".into()))
        );
        assert_eq!(
            expand("${EMPTY}", &env),
            Err(ExpandError::Empty("EMPTY".into()))
        );
        assert_eq!(
            expand("${1X}", &env),
            Err(ExpandError::BadName("1X".into()))
        );
        assert_eq!(expand("${}", &env), Err(ExpandError::BadName("".into())));
        assert_eq!(expand("${TOKEN", &env), Err(ExpandError::Unclosed));
        let message = ExpandError::Unset("MISSING".into()).to_string();
        assert!(
            message.contains("MISSING") && message.contains("not set"),
            "{message}"
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = Secret::new("s3cr3t".into());
        assert_eq!(format!("{s:?}"), "***");
        let headers: Headers = vec![("Authorization".into(), s)];
        assert!(!format!("{headers:?}").contains("s3cr3t"));
    }

    #[test]
    fn header_names_are_tokens() {
        assert!(is_token("Authorization"));
        assert!(is_token("X-Api-Key"));
        assert!(!is_token(""));
        assert!(!is_token("X Api"));
        assert!(!is_token("X-Api:"));
        assert!(!is_token("Ä"));
    }

    #[test]
    fn own_headers_replace_defaults_of_the_same_name_in_any_case() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, Secret> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Secret::new(v.to_string())))
                .collect()
        };
        let merged = over(
            map(&[("authorization", "own")]),
            map(&[("Authorization", "default"), ("X-Team", "shop")]),
        );
        let shown: Vec<(&str, &str)> = merged
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose()))
            .collect();
        assert_eq!(shown, [("X-Team", "shop"), ("authorization", "own")]);
    }

    #[test]
    fn field_values() {
        assert!(is_field_value("Bearer abc\tdef"));
        assert!(!is_field_value("abc\r\nX-Evil: 1"));
    }
}
