//! The CI recipes in ci/: each parses as YAML, has the structure its CI needs, logs in
//! with `cf auth` from the environment, and runs only cf-bluegreen command lines that the
//! real parser accepts.

use std::path::Path;

use clap::Parser;
use yaml_rust2::{Yaml, YamlLoader};

use cf_bluegreen::cli::Cli;

fn recipe(name: &str) -> (String, Yaml) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut docs = YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{name}: one document");
    (text, docs.remove(0))
}

fn key<'a>(node: &'a Yaml, k: &str) -> &'a Yaml {
    &node[k]
}

fn strings(node: &Yaml) -> Vec<&str> {
    node.as_vec()
        .map(|v| v.iter().filter_map(Yaml::as_str).collect())
        .unwrap_or_default()
}

/// The simple commands of a shell script, as argv: continuation lines joined, comments
/// dropped, `&&`, `||`, `|` and `;` splitting a line into its commands, `sudo` and
/// redirections left out.
fn commands(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = shell_words::split(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        for command in words.split(|w| ["&&", "||", "|", ";"].contains(&w.as_str())) {
            let end = command
                .iter()
                .position(|w| w.starts_with('>') || w.starts_with("2>"))
                .unwrap_or(command.len());
            match &command[..end] {
                [] => {}
                [sudo, rest @ ..] if sudo == "sudo" => out.push(rest.to_vec()),
                command => out.push(command.to_vec()),
            }
        }
    }
    out
}

/// What every recipe must do, in order, from its scripts' commands in the order they run.
#[track_caller]
fn check_commands(name: &str, text: &str, scripts: &[&str]) {
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg("-c")
        .arg(scripts.join("\n"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{name}: not valid bash: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let all: Vec<Vec<String>> = scripts.iter().flat_map(|s| commands(s)).collect();
    let position = |wanted: &[&str]| {
        all.iter()
            .position(|c| c == wanted)
            .unwrap_or_else(|| panic!("{name}: no `{}` in {all:?}", wanted.join(" ")))
    };

    // The cf CLI v8 from Cloud Foundry's own Debian repository.
    assert!(
        text.contains("https://packages.cloudfoundry.org/debian stable main"),
        "{name}: not Cloud Foundry's apt repository"
    );
    assert!(
        all.iter()
            .any(|c| c.starts_with(&["apt-get".into(), "install".into()])
                && c.contains(&"cf8-cli".to_string())),
        "{name}: cf8-cli is not installed"
    );

    // cf-bluegreen from git with cargo: there are no releases to download. A placeholder
    // repository says so.
    let install = all
        .iter()
        .find(|c| c.starts_with(&["cargo".into(), "install".into()]))
        .unwrap_or_else(|| panic!("{name}: no cargo install"));
    assert!(
        install.contains(&"--git".to_string()),
        "{name}: {install:?}"
    );
    assert!(
        install.contains(&"--locked".to_string()),
        "{name}: {install:?}"
    );
    if text.contains("example.invalid") {
        assert!(
            text.contains("PLACEHOLDER"),
            "{name}: unmarked placeholder URL"
        );
    }

    // `cf api` logs out and `cf auth` clears the target: api, auth, target, deploy.
    let api = position(&["cf", "api", "$CF_API"]);
    let auth = position(&["cf", "auth"]);
    let target = position(&["cf", "target", "-o", "$CF_ORG", "-s", "$CF_SPACE"]);
    assert!(api < auth && auth < target, "{name}: {all:?}");
    for c in all
        .iter()
        .filter(|c| c.starts_with(&["cf".into(), "auth".into()]))
    {
        assert_eq!(
            c.len(),
            2,
            "{name}: credentials on cf auth's command line: {c:?}"
        );
    }
    for c in &all {
        for word in c {
            assert!(
                !word.contains("CF_PASSWORD") && !word.contains("CF_USERNAME"),
                "{name}: credentials on a command line: {c:?}"
            );
        }
    }

    // Every cf-bluegreen command line is one the real parser accepts.
    let ours: Vec<(usize, &Vec<String>)> = all
        .iter()
        .enumerate()
        .filter(|(_, c)| c[0] == "cf-bluegreen")
        .collect();
    for (_, c) in &ours {
        match Cli::try_parse_from(c.iter()) {
            Ok(_) => {}
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => {}
            Err(e) => panic!("{name}: `{}` does not parse:\n{e}", c.join(" ")),
        }
    }
    let deploy = ours
        .iter()
        .find(|(_, c)| c.get(1).map(String::as_str) == Some("deploy"))
        .unwrap_or_else(|| panic!("{name}: no cf-bluegreen deploy"));
    assert!(target < deploy.0, "{name}: deploy before cf target");
    assert!(
        deploy.1.iter().any(|w| w == "--json") && text.contains("docs/json-schema.json"),
        "{name}: the deploy's events as JSON, and where their schema is"
    );
    for code in ["0 ", "1 ", "2 ", "3 ", "130 "] {
        assert!(
            text.contains(&format!("#   {code}")),
            "{name}: exit code {code}"
        );
    }
}

#[test]
fn github_actions() {
    let (text, doc) = recipe("github-actions.yml");
    // YAML 1.2: `on` is a string key, as GitHub reads it.
    let on = key(&doc, "on");
    assert!(!key(on, "push").is_badvalue(), "{on:?}");
    assert!(!key(on, "workflow_dispatch").is_badvalue(), "{on:?}");

    let jobs = key(&doc, "jobs").as_hash().expect("jobs");
    assert_eq!(jobs.len(), 1);
    let job = jobs.values().next().unwrap();
    let group = key(key(job, "concurrency"), "group").as_str().unwrap();
    assert!(
        group.contains("environment"),
        "one group per environment: {group}"
    );
    assert_eq!(
        key(key(job, "concurrency"), "cancel-in-progress").as_bool(),
        Some(false),
        "a deploy is never cancelled half-way"
    );
    let steps = key(job, "steps").as_vec().expect("jobs.<id>.steps");

    // The credentials come from the secret store, into the environment of the login step.
    let login = steps
        .iter()
        .find(|s| {
            key(s, "run")
                .as_str()
                .is_some_and(|r| commands(r).iter().any(|c| c == &["cf", "auth"]))
        })
        .expect("a step runs cf auth");
    for var in ["CF_USERNAME", "CF_PASSWORD"] {
        assert_eq!(
            key(key(login, "env"), var).as_str(),
            Some(format!("${{{{ secrets.{var} }}}}").as_str()),
            "{var}"
        );
    }
    let scripts: Vec<&str> = steps
        .iter()
        .filter_map(|s| key(s, "run").as_str())
        .collect();
    check_commands("github-actions.yml", &text, &scripts);
}

#[test]
fn gitlab_ci() {
    let (text, doc) = recipe("gitlab-ci.yml");
    let jobs: Vec<&Yaml> = doc
        .as_hash()
        .unwrap()
        .values()
        .filter(|v| !key(v, "script").is_badvalue())
        .collect();
    assert_eq!(jobs.len(), 1);
    let job = jobs[0];
    assert!(
        key(job, "resource_group").as_str().is_some(),
        "one deploy per environment at a time"
    );
    // CI/CD variables reach the job's environment; none is written into the file.
    for variables in [key(&doc, "variables"), key(job, "variables")] {
        for var in ["CF_USERNAME", "CF_PASSWORD"] {
            assert!(key(variables, var).is_badvalue(), "{var} in the file");
        }
    }
    let scripts: Vec<&str> = strings(key(job, "before_script"))
        .into_iter()
        .chain(strings(key(job, "script")))
        .collect();
    check_commands("gitlab-ci.yml", &text, &scripts);
}

#[test]
fn concourse() {
    let (text, doc) = recipe("concourse.yml");
    let jobs = key(&doc, "jobs").as_vec().expect("jobs");
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert!(
        !key(job, "serial_groups").is_badvalue() || key(job, "serial").as_bool() == Some(true),
        "one deploy at a time"
    );
    let plan = key(job, "plan").as_vec().expect("plan");
    let task = plan
        .iter()
        .find(|s| !key(s, "task").is_badvalue())
        .expect("a task");
    let config = key(task, "config");
    // The credentials come from the credential manager, as task parameters (environment).
    for var in ["CF_USERNAME", "CF_PASSWORD"] {
        let value = key(key(config, "params"), var).as_str().unwrap();
        assert!(
            value.starts_with("((") && value.ends_with("))"),
            "{var}: {value}"
        );
    }
    let run = key(config, "run");
    assert_eq!(key(run, "path").as_str(), Some("bash"));
    let args = strings(key(run, "args"));
    let script = args.last().expect("the script");
    check_commands("concourse.yml", &text, &[script]);
}

#[test]
fn the_readmes_ci_section_runs_only_command_lines_that_parse() {
    let readme = include_str!("../README.md");
    let start = readme.find("\n## CI\n").expect("a CI section");
    let section = &readme[start..];
    let section = &section[..section[1..].find("\n## ").unwrap()];
    let mut seen = Vec::new();
    for block in section.split("```sh\n").skip(1) {
        let block = &block[..block.find("```").unwrap()];
        for c in commands(block)
            .into_iter()
            .filter(|c| c[0] == "cf-bluegreen")
        {
            if let Err(e) = Cli::try_parse_from(c.iter()) {
                panic!("README: `{}` does not parse:\n{e}", c.join(" "));
            }
            seen.push(c[1].clone());
        }
    }
    for command in ["deploy", "promote", "abort", "completions", "man"] {
        assert!(seen.iter().any(|c| c == command), "{command}: {seen:?}");
    }
}
