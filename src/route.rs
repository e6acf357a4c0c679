//! A CF route as the tool names it: an HTTP route (host, domain, optional context path;
//! internal domains such as `apps.internal` included) or a TCP route (domain and port).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    /// Empty for a TCP route, and for an HTTP route on the bare domain.
    pub host: String,
    pub domain: String,
    pub path: Option<String>,
    /// Set for a TCP route only.
    pub port: Option<u16>,
}

impl Route {
    /// Hostnames and domains are case-insensitive; they are kept in lower case so that
    /// comparing with cf's output is plain equality.
    pub fn new(host: &str, domain: &str, path: Option<&str>) -> Route {
        Route {
            host: host.trim().to_ascii_lowercase(),
            domain: domain.trim().to_ascii_lowercase(),
            path: path
                .map(str::to_string)
                .filter(|p| !p.is_empty() && p != "/"),
            port: None,
        }
    }

    /// A TCP route: `domain:port`.
    pub fn tcp(domain: &str, port: u16) -> Route {
        Route {
            host: String::new(),
            domain: domain.trim().to_ascii_lowercase(),
            path: None,
            port: Some(port),
        }
    }

    /// `host.domain/path` or `domain:port`, the form `cf app` lists routes in.
    pub fn url(&self) -> String {
        if let Some(port) = self.port {
            return format!("{}:{port}", self.domain);
        }
        let path = self.path.as_deref().unwrap_or("");
        if self.host.is_empty() {
            format!("{}{path}", self.domain)
        } else {
            format!("{}.{}{path}", self.host, self.domain)
        }
    }

    /// The arguments that name this route to `cf map-route APP ...` and `cf unmap-route`:
    /// the portable form for cf v6, v7 and v8. A TCP route needs `--port`: without it
    /// cf v7+ quietly maps a route on a random port.
    pub fn cf_args(&self) -> Vec<String> {
        let mut args = vec![self.domain.clone()];
        if let Some(port) = self.port {
            args.extend(["--port".to_string(), port.to_string()]);
            return args;
        }
        if !self.host.is_empty() {
            args.extend(["--hostname".to_string(), self.host.clone()]);
        }
        if let Some(p) = &self.path {
            args.push("--path".into());
            args.push(p.clone());
        }
        args
    }

    /// An HTTP route, reachable at `https://URL` (not a TCP route).
    pub fn is_http(&self) -> bool {
        self.port.is_none()
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
        let r = Route::tcp("TCP.example.com", 1234);
        assert_eq!(r.url(), "tcp.example.com:1234");
        assert_eq!(r.cf_args(), ["tcp.example.com", "--port", "1234"]);
        assert!(r.matches("tcp.example.com:1234") && !r.matches("tcp.example.com:1235"));
        let r = Route::new("shop", "apps.internal", None);
        assert_eq!(r.url(), "shop.apps.internal");
        let r = Route::new("", "example.com", Some("/api"));
        assert_eq!(r.url(), "example.com/api");
        assert_eq!(r.cf_args(), ["example.com", "--path", "/api"]);
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
