//! TOML and type errors in the user's words: the line and column, serde's message without
//! internal type names, and the key probably meant when one is unknown.

use std::path::Path;

use super::ConfigError;

/// The [`ConfigError::Syntax`] for `text`, read from `path`, that failed to deserialise.
pub(super) fn error(text: &str, path: &Path, e: &toml::de::Error) -> ConfigError {
    let (line, column) = e
        .span()
        .map(|span| line_column(text, span.start))
        .unwrap_or((1, 1));
    let message = readable(e.message().trim());
    let message = match did_you_mean(&message) {
        Some(hint) => format!("{message}; did you mean `{hint}`?"),
        None => message,
    };
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// serde's words for the user's: no internal type names.
fn readable(message: &str) -> String {
    let mut out = message
        .replace("expected u16", "expected a whole number")
        .replace("expected a boolean", "expected true or false");
    while let Some(at) = out.find("struct Raw") {
        let end = out[at..]
            .find(|c: char| !c.is_alphanumeric() && c != ' ')
            .map_or(out.len(), |i| at + i);
        out.replace_range(at..end, "a table");
    }
    out
}

/// For serde's "unknown field `blu`, expected one of `blue`, `green`": the expected key
/// closest to the unknown one, if it is close.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest.split_once("expected")?.1;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|candidate| (strsim::jaro_winkler(unknown, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate.to_string())
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{parse, MINIMAL};

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = parse("[apps]\nblue = \"a\"\ngreen = \n").unwrap_err();
        match err {
            ConfigError::Syntax { line, column, .. } => {
                assert_eq!(line, 3);
                assert!(column >= 7, "column {column}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = parse(&format!("{MINIMAL}\n[smoke]\nexpect-code = 200\n")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("expect-code"), "{text}");
        assert!(text.starts_with("deploy.toml:12:1:"), "{text}");
    }

    #[test]
    fn unknown_key_gets_a_suggestion() {
        let err = parse(&format!("{MINIMAL}\n[smoke]\nexpect-stauts = 200\n")).unwrap_err();
        assert!(
            err.to_string().contains("did you mean `expect-status`?"),
            "{err}"
        );
        let err = parse(&MINIMAL.replace("blue =", "bleu =")).unwrap_err();
        assert!(err.to_string().contains("did you mean `blue`?"), "{err}");
        // Nothing close: no guess.
        let err = parse(&format!("{MINIMAL}\n[smoke]\nzzz = 1\n")).unwrap_err();
        assert!(!err.to_string().contains("did you mean"), "{err}");
    }

    #[test]
    fn missing_required_key() {
        let err =
            parse("[apps]\nblue = \"a\"\n[routes]\ndomain=\"d.com\"\nlive=\"l\"\nstaging=\"s\"\n")
                .unwrap_err();
        assert!(err.to_string().contains("missing field `green`"), "{err}");
    }

    #[test]
    fn wrong_type() {
        let err = parse(&format!("{MINIMAL}\n[smoke]\nexpect-status = \"200\"\n")).unwrap_err();
        assert!(
            matches!(err, ConfigError::Syntax { line: 12, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
