//! What the tool records on the apps themselves, as CF metadata annotations: which deploy
//! pushed each app, whether that version passed its check, whether it waits for
//! promotion, when it went live, and the lock that keeps two deploys apart. Kept in Cloud Foundry so that every machine — a
//! laptop, any CI runner — sees the same.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Deserialize;

pub const DEPLOY: &str = "cf-bluegreen/deploy";
pub const CHECKED: &str = "cf-bluegreen/checked";
pub const LIVE_SINCE: &str = "cf-bluegreen/live-since";
pub const LOCK: &str = "cf-bluegreen/lock";
pub const LABEL: &str = "cf-bluegreen/label";
/// On an app that runs a checked version on the staging route, waiting for `promote`:
/// the id of the deploy that staged it (who, and since when).
pub const STAGED: &str = "cf-bluegreen/staged";
/// On an app whose version failed `[verify]` after the switch, written before the live
/// routes go back: the deploy that pushed it. Its `checked` record stays (it did pass
/// the check on the staging route), but it no longer counts: a run stopped hard during
/// the switch back must finish it, not the switch to this version.
pub const VERIFY_FAILED: &str = "cf-bluegreen/verify-failed";
/// On an app whose version passed its verification after the switch but was switched
/// back because another deployment of its suite did not (`--all-or-nothing`), written
/// before the live routes go back: the deploy that pushed it. Not a failure of the
/// version, but, as with [`VERIFY_FAILED`], it no longer counts as checked: a run
/// stopped hard during the switch back must finish it, not the switch to this version
/// (that would leave the suite on mixed versions).
pub const SWITCHED_BACK: &str = "cf-bluegreen/switched-back";

/// What the tool knows of an app beyond `cf app`: its GUID, its records, and its routes
/// as the v3 API names them (typed: `cf app` prints `shop.apps.internal` without saying
/// where the host ends and the domain begins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppMeta {
    pub guid: String,
    pub annotations: BTreeMap<String, String>,
    pub routes: Vec<crate::route::Route>,
}

impl AppMeta {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }

    /// The version on this app passed its check in the deploy that pushed it, and did not
    /// fail its verification after a switch since, nor was switched back from.
    pub fn checked(&self) -> bool {
        let deploy = self.get(DEPLOY);
        matches!((deploy, self.get(CHECKED)), (Some(d), Some(c)) if d == c)
            && !self.verify_failed()
            && !self.switched_back()
    }

    /// The version on this app failed its verification after a switch (see
    /// [`VERIFY_FAILED`]).
    pub fn verify_failed(&self) -> bool {
        self.get(VERIFY_FAILED)
            .is_some_and(|f| Some(f) == self.get(DEPLOY))
    }

    /// The version on this app was switched back from by `--all-or-nothing`, after it
    /// passed its verification (see [`SWITCHED_BACK`]).
    pub fn switched_back(&self) -> bool {
        self.get(SWITCHED_BACK)
            .is_some_and(|f| Some(f) == self.get(DEPLOY))
    }
}

/// Identifies one run of the tool. Starts with a UTC timestamp so that ids sort by time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployId(pub String);

impl DeployId {
    pub fn new(who: &str) -> DeployId {
        let now = humantime::format_rfc3339_seconds(SystemTime::now());
        DeployId(sanitize(&format!("{now} {who}")))
    }
}

/// Annotation values travel in a JSON body the fake cf (and people reading `cf curl`)
/// handle best without quotes, braces, commas or backslashes.
pub fn sanitize(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if matches!(c, '"' | '\\' | '{' | '}' | ',') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// The body of `PATCH /v3/apps/GUID`: `None` removes a key.
pub fn patch_body(values: &[(String, Option<String>)]) -> String {
    let annotations: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Some(v) => serde_json::Value::String(sanitize(v)),
                None => serde_json::Value::Null,
            };
            (k.clone(), value)
        })
        .collect();
    serde_json::json!({ "metadata": { "annotations": annotations } }).to_string()
}

#[derive(Debug, Deserialize)]
struct AppResource {
    guid: String,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    annotations: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Deserialize)]
struct ApiErrors {
    errors: Vec<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    #[serde(default)]
    detail: String,
    #[serde(default)]
    title: String,
}

/// Parses the body of `GET`/`PATCH /v3/apps/GUID`; an API error (cf curl exits 0 on
/// those) is returned as its message.
pub fn parse_app_resource(body: &str) -> Result<AppMeta, String> {
    if let Ok(e) = serde_json::from_str::<ApiErrors>(body) {
        let msgs: Vec<String> = e
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.title, e.detail))
            .collect();
        return Err(format!("the API answered {}", msgs.join("; ")));
    }
    let app: AppResource = serde_json::from_str(body)
        .map_err(|e| format!("the API answered something that is not an app ({e})"))?;
    Ok(AppMeta {
        routes: Vec::new(),
        guid: app.guid,
        annotations: app
            .metadata
            .annotations
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
    })
}

/// Who runs this deploy, for the lock and the records: `user@host pid N`.
pub fn who(user: Option<&str>, host: Option<&str>) -> String {
    format!(
        "{}@{} pid {}",
        user.unwrap_or("unknown"),
        host.unwrap_or("unknown-host"),
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_body_sets_and_removes() {
        let body = patch_body(&[
            (DEPLOY.into(), Some("a \"b\", {c}".into())),
            (CHECKED.into(), None),
        ]);
        assert_eq!(
            body,
            r#"{"metadata":{"annotations":{"cf-bluegreen/checked":null,"cf-bluegreen/deploy":"a _b__ _c_"}}}"#
        );
    }

    #[test]
    fn parses_app_v8_raw_and_v7_indented() {
        let raw = r#"{"guid":"g1","name":"a","state":"STARTED","metadata":{"labels":{},"annotations":{"cf-bluegreen/deploy":"d1","cf-bluegreen/checked":"d1"}}}"#;
        let meta = parse_app_resource(raw).unwrap();
        assert_eq!(meta.guid, "g1");
        assert!(meta.checked());
        let indented = "{\n   \"guid\": \"g2\",\n   \"metadata\": {\n      \"annotations\": {\n         \"cf-bluegreen/deploy\": \"d2\"\n      }\n   }\n}\n";
        let meta = parse_app_resource(indented).unwrap();
        assert_eq!(meta.get(DEPLOY), Some("d2"));
        assert!(!meta.checked());
    }

    #[test]
    fn api_errors_are_reported() {
        let e = parse_app_resource(
            r#"{"errors":[{"detail":"App not found","title":"CF-ResourceNotFound","code":10010}]}"#,
        )
        .unwrap_err();
        assert_eq!(e, "the API answered CF-ResourceNotFound: App not found");
        assert!(parse_app_resource("<html>").is_err());
    }

    #[test]
    fn deploy_ids_sort_by_time() {
        let id = DeployId::new("me@host pid 1");
        assert!(id.0.starts_with("20"), "{}", id.0);
        assert!(id.0.ends_with("me@host pid 1"));
    }
}
