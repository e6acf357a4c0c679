//! A CF route as the tool names it: host, domain and optional context path.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    pub host: String,
    pub domain: String,
    pub path: Option<String>,
}

impl Route {
    /// Hostnames and domains are case-insensitive; they are kept in lower case so that
    /// comparing with cf's output is plain equality.
    pub fn new(host: &str, domain: &str, path: Option<&str>) -> Route {
        Route {
            host: host.trim().to_ascii_lowercase(),
            domain: domain.trim().to_ascii_lowercase(),
            path: path.map(str::to_string).filter(|p| !p.is_empty()),
        }
    }

    /// `host.domain/path`, the form `cf app` lists routes in.
    pub fn url(&self) -> String {
        format!(
            "{}.{}{}",
            self.host,
            self.domain,
            self.path.as_deref().unwrap_or("")
        )
    }

    /// The arguments that name this route to `cf map-route APP ...` and `cf unmap-route`:
    /// the portable form for cf v6, v7 and v8.
    pub fn cf_args(&self) -> Vec<String> {
        let mut args = vec![
            self.domain.clone(),
            "--hostname".to_string(),
            self.host.clone(),
        ];
        if let Some(p) = &self.path {
            args.push("--path".into());
            args.push(p.clone());
        }
        args
    }

    /// Whether a route as printed by cf (`host.domain/path`) is this one.
    pub fn matches(&self, printed: &str) -> bool {
        normalize(printed) == self.url()
    }
}

/// Lower-cases the host part and drops a scheme and a trailing slash, which cf versions
/// print differently.
pub fn normalize(printed: &str) -> String {
    let s = printed.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let s = s.trim_end_matches('/');
    match s.find('/') {
        Some(i) => format!("{}{}", s[..i].to_ascii_lowercase(), &s[i..]),
        None => s.to_ascii_lowercase(),
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_and_args() {
        let r = Route::new("Live", "Example.COM", Some("/api"));
        assert_eq!(r.url(), "live.example.com/api");
        assert_eq!(
            r.cf_args(),
            ["example.com", "--hostname", "live", "--path", "/api"]
        );
        let r = Route::new("live", "example.com", None);
        assert_eq!(r.cf_args(), ["example.com", "--hostname", "live"]);
    }

    #[test]
    fn matching_printed_routes() {
        let r = Route::new("live", "example.com", Some("/api"));
        assert!(r.matches("live.example.com/api"));
        assert!(r.matches("LIVE.example.com/api/"));
        assert!(r.matches("https://live.example.com/api"));
        assert!(!r.matches("live.example.com/API"));
        assert!(!r.matches("live.example.com"));
        assert!(!r.matches("live.example.com/api/v2"));
    }
}
