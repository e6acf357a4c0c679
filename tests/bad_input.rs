//! Bad input gets a clear error, exit 2, and changes nothing: the corpus of malformed
//! configurations in tests/fixtures/bad-configs (each names the message it must get on
//! its first line), plus what cannot live in a file of its own.

use std::path::{Path, PathBuf};

use crate::support::*;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn expectation(file: &Path) -> String {
    let bytes = std::fs::read(file).unwrap();
    let first = bytes.split(|b| *b == b'\n').next().unwrap();
    let first = String::from_utf8_lossy(first);
    first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{} lacks its `# expect:` line", file.display()))
        .to_string()
}

#[track_caller]
fn expect_refused(t: &Test, config: &Path, message: &str) {
    let run = t.run(&["--config", config.to_str().unwrap(), "deploy"]);
    run.expect_code(2).stderr_has(message);
    let name = config.file_name().unwrap().to_str().unwrap();
    run.stderr_has(name);
    assert!(t.log().is_empty(), "cf was called for {name}");
}

#[test]
fn every_malformed_config_is_refused_with_its_message() {
    let files = corpus();
    assert!(files.len() >= 20, "{files:?}");
    let t = Test::new();
    for file in &files {
        expect_refused(&t, file, &expectation(file));
    }
}

#[test]
fn a_truly_empty_file() {
    let t = Test::new().write("empty.toml", "");
    expect_refused(&t, &t.dir.path().join("empty.toml"), "the file is empty");
}

#[test]
fn a_directory_instead_of_a_file() {
    let t = Test::new();
    t.write_dir("conf.toml");
    expect_refused(&t, &t.dir.path().join("conf.toml"), "it is a directory");
}

#[test]
fn an_unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new().write("secret.toml", "[apps]\n");
    let path = t.dir.path().join("secret.toml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&path).is_ok() {
        // root reads anything: nothing to test here.
        return;
    }
    expect_refused(&t, &path, "permission denied");
}

#[test]
fn push_path_missing() {
    let t = Test::new().with("[push]\npath = \"dist\"");
    t.run(&["deploy"])
        .expect_code(2)
        .stderr_has("push.path names dist, which does not exist");
    assert!(t.log().is_empty());
}

#[test]
fn vars_file_missing() {
    let t = Test::new().with("[push]\nvars-files = [\"vars/prod.yml\"]");
    t.run(&["deploy"])
        .expect_code(2)
        .stderr_has("push.vars-files names vars/prod.yml, which does not exist");
}

#[test]
fn manifest_with_several_apps_but_not_the_pair() {
    let t = Test::new()
        .write(
            "manifest.yml",
            "applications:\n- name: sinatra_a\n- name: worker\n",
        )
        .with("[push]\nmanifest = \"manifest.yml\"");
    t.run(&["deploy"])
        .expect_code(2)
        .stderr_has("describes several apps (sinatra_a, worker) but not sinatra_b")
        .stderr_has("give the manifest a single app");
    assert!(t.log().is_empty());
}

#[test]
fn manifest_that_is_not_yaml() {
    let t = Test::new()
        .write("manifest.yml", "applications: [\n")
        .with("[push]\nmanifest = \"manifest.yml\"");
    t.run(&["deploy"])
        .expect_code(2)
        .stderr_has("push.manifest manifest.yml is not valid YAML");
}

#[test]
fn manifest_naming_both_apps_is_fine() {
    let t = Test::new()
        .write(
            "manifest.yml",
            "applications:\n- name: sinatra_a\n- name: sinatra_b\n",
        )
        .with("[push]\nmanifest = \"manifest.yml\"");
    t.run(&["deploy"]).expect_code(0);
}
