//! A child process with both streams captured and streamed line by line, a timeout, and
//! its whole process group killed when the timeout passes. Used for cf and for the smoke
//! command.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long to keep reading after the child exited or was killed: a grandchild that
/// inherited the pipes must not hold the deploy hostage.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What a finished child printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// `None` when the child was ended by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Both streams in the order the lines arrived.
    pub combined: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    pub fn status(&self) -> String {
        match self.code {
            Some(c) => format!("exit code {c}"),
            None => "killed by a signal".to_string(),
        }
    }
}

#[derive(Debug)]
pub enum ChildError {
    /// It could not be started at all.
    Start(std::io::Error),
    /// It ran past its timeout and was killed; what it printed until then.
    TimedOut(Output),
    /// It was killed because the deploy was interrupted; what it printed until then.
    Aborted(Output),
}

enum Chunk {
    Line(String),
    Eof,
}

fn pump(reader: impl Read + Send + 'static, tx: mpsc::Sender<(bool, Chunk)>, is_err: bool) {
    thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    if tx.send((is_err, Chunk::Line(line))).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send((is_err, Chunk::Eof));
    });
}

/// Runs `program ARGS` with `env` added, stdin from /dev/null, and returns its output
/// whatever its exit code. When `abort()` turns true the child is killed.
pub fn run(
    program: &str,
    args: &[String],
    env: &[(&str, &str)],
    timeout: Duration,
    abort: &dyn Fn() -> bool,
    on_line: &(dyn Fn(&str) + Sync),
) -> Result<Output, ChildError> {
    let (out_r, out_w) = os_pipe::pipe().map_err(ChildError::Start)?;
    let (err_r, err_w) = os_pipe::pipe().map_err(ChildError::Start)?;
    let handle = {
        let mut expression = duct::cmd(program, args)
            .stdin_null()
            .stdout_file(out_w)
            .stderr_file(err_w)
            .unchecked();
        for (k, v) in env {
            expression = expression.env(k, v);
        }
        #[cfg(unix)]
        let expression = expression.before_spawn(|command| {
            use std::os::unix::process::CommandExt;
            // Its own process group: a timeout kills the child and whatever it started,
            // and a Ctrl-C on the terminal reaches the tool, which decides what to stop.
            command.process_group(0);
            Ok(())
        });
        expression.start().map_err(ChildError::Start)?
        // The expression, and with it our copies of the pipes' write ends, is dropped
        // here, so the readers see end-of-file when the child exits.
    };

    let (tx, rx) = mpsc::channel();
    pump(out_r, tx.clone(), false);
    pump(err_r, tx, true);

    let mut out = Output::default();
    let mut open_streams = 2;
    let deadline = Instant::now() + timeout;
    let mut finished_at: Option<Instant> = None;
    let mut timed_out = false;
    let mut aborted = false;
    loop {
        if open_streams == 0 && finished_at.is_some() {
            break;
        }
        if finished_at.is_some_and(|t| t.elapsed() > DRAIN_GRACE) {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok((is_err, Chunk::Line(line))) => {
                on_line(line.trim_end_matches(['\n', '\r']));
                if is_err {
                    out.stderr.push_str(&line);
                } else {
                    out.stdout.push_str(&line);
                }
                out.combined.push_str(&line);
                if !line.ends_with('\n') {
                    out.combined.push('\n');
                }
            }
            Ok((_, Chunk::Eof)) => open_streams -= 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => open_streams = 0,
        }
        if finished_at.is_none() {
            match handle.try_wait() {
                Ok(Some(_)) => finished_at = Some(Instant::now()),
                Ok(None) if Instant::now() >= deadline => {
                    kill_group(&handle);
                    timed_out = true;
                    finished_at = Some(Instant::now());
                }
                Ok(None) if abort() => {
                    kill_group(&handle);
                    aborted = true;
                    finished_at = Some(Instant::now());
                }
                Ok(None) => {}
                Err(e) => return Err(ChildError::Start(e)),
            }
        }
    }
    if timed_out || aborted {
        let _ = handle.wait_timeout(DRAIN_GRACE);
        return Err(if aborted {
            ChildError::Aborted(out)
        } else {
            ChildError::TimedOut(out)
        });
    }
    let status = handle.wait().map_err(ChildError::Start)?.status;
    out.code = status.code();
    Ok(out)
}

fn kill_group(handle: &duct::Handle) {
    #[cfg(unix)]
    for pid in handle.pids() {
        // SAFETY: killpg only sends a signal; the group is the one made for this child.
        unsafe {
            libc::killpg(pid as libc::pid_t, libc::SIGKILL);
        }
    }
    let _ = handle.kill();
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn sh(script: &str, timeout: Duration) -> (Result<Output, ChildError>, Vec<String>) {
        // `sh -c`, not a script file of its own: exec'ing a file just written fails with
        // "Text file busy" when another test's thread forks while it is still open.
        let lines = Mutex::new(Vec::new());
        let r = run(
            "sh",
            &["-c".to_string(), script.to_string()],
            &[("LC_ALL", "C")],
            timeout,
            &|| false,
            &|l| lines.lock().unwrap().push(l.to_string()),
        );
        (r, lines.into_inner().unwrap())
    }

    #[test]
    fn captures_both_streams_and_exit_code() {
        let (r, lines) = sh("echo out; echo err >&2; exit 3", Duration::from_secs(10));
        let out = r.unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        assert!(out.combined.contains("out\n") && out.combined.contains("err\n"));
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn passes_the_environment() {
        let (r, _) = sh("echo \"$LC_ALL\"", Duration::from_secs(10));
        assert_eq!(r.unwrap().stdout, "C\n");
    }

    #[test]
    fn timeout_kills_the_process_group() {
        let started = Instant::now();
        // The sleep is a grandchild holding the pipes: killing only the shell would hang.
        let (r, _) = sh(
            "echo before; sleep 30; echo after",
            Duration::from_millis(300),
        );
        match r {
            Err(ChildError::TimedOut(output)) => assert_eq!(output.combined, "before\n"),
            other => panic!("{other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn abort_kills_the_child() {
        let started = Instant::now();
        let dir = tempfile::tempdir().unwrap();
        let flag = dir.path().join("go");
        let r = run(
            "sh",
            &[
                "-c".to_string(),
                format!("touch {}; sleep 30", flag.display()),
            ],
            &[],
            Duration::from_secs(60),
            &|| flag.exists(),
            &|_| {},
        );
        assert!(matches!(r, Err(ChildError::Aborted(_))), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn missing_program() {
        let r = run(
            "/nonexistent/cf",
            &[],
            &[],
            Duration::from_secs(1),
            &|| false,
            &|_| {},
        );
        match r {
            Err(ChildError::Start(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
            other => panic!("{other:?}"),
        }
    }
}
