//! `push.vars` reach cf through a temporary vars file, never on cf's command line, where
//! `ps` (and a CI log of the command) would show them: readable by this user only, and
//! removed once the push is over — on a failure, on the first interrupt (the push is
//! abandoned and this is dropped) and on the second (see [`crate::interrupt`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the push command holds in place of the file's path until it runs: the dry run
/// shows it, the executor replaces it.
pub const PLACEHOLDER: &str = "<push.vars, in a temporary file>";

/// A vars file that exists as long as this value does.
#[derive(Debug)]
pub struct VarsFile {
    path: PathBuf,
}

impl VarsFile {
    /// Writes `vars` as YAML (`key: "value"`, each value a double-quoted string, which
    /// is also a JSON string) into a new file of mode 0600 in the temporary directory.
    pub fn create(vars: &BTreeMap<String, String>) -> std::io::Result<VarsFile> {
        let mut text = String::new();
        for (key, value) in vars {
            let quoted = serde_json::Value::String(value.clone()).to_string();
            text.push_str(&format!("{key}: {quoted}\n"));
        }
        let dir = std::env::temp_dir();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = dir.join(format!(
            "cf-bluegreen-vars-{}-{stamp}.yml",
            std::process::id()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path)?;
        crate::interrupt::remove_on_exit(&path);
        let file_written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all());
        let vars_file = VarsFile { path };
        file_written?;
        Ok(vars_file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for VarsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        crate::interrupt::forget_on_exit(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_private_holds_the_vars_and_goes_away() {
        let vars = BTreeMap::from([
            ("password".to_string(), "s3cr\"et: x".to_string()),
            ("region".to_string(), "eu".to_string()),
        ]);
        let file = VarsFile::create(&vars).unwrap();
        let path = file.path().to_path_buf();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "password: \"s3cr\\\"et: x\"\nregion: \"eu\"\n");
        // YAML reads back what was meant.
        let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
        assert_eq!(docs[0]["password"].as_str(), Some("s3cr\"et: x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(file);
        assert!(!path.exists());
    }
}
