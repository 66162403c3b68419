//! Running external commands with a time bound, and installing missing tools.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// `program arg arg …`, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Waits for `child`, killing it once `limit` has passed.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Result<ExitStatus, String> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", limit.as_secs()));
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("wait failed: {e}")),
        }
    }
}

/// Runs `cmd` with its output captured and `input` on standard input.
pub fn run(cmd: &mut Command, input: Option<&str>, limit: Duration) -> Result<Output, String> {
    let name = describe(cmd);
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{name}: cannot start: {e}"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("{name}: writing stdin: {e}"))?;
    }
    let out = child
        .stdout
        .take()
        .map(|s| thread::spawn(move || read_all(s)));
    let err = child
        .stderr
        .take()
        .map(|s| thread::spawn(move || read_all(s)));
    let status = wait_bounded(&mut child, limit).map_err(|e| format!("{name}: {e}"))?;
    let join =
        |h: Option<thread::JoinHandle<Vec<u8>>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Output {
        status,
        stdout: join(out),
        stderr: join(err),
    })
}

/// Like [`run`], but a non-zero exit is an error carrying stderr; answers stdout.
pub fn run_ok(cmd: &mut Command, input: Option<&str>, limit: Duration) -> Result<String, String> {
    let name = describe(cmd);
    let out = run(cmd, input, limit)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{name}: {} — {}", out.status, stderr.trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `cmd` with the terminal's stdout/stderr (for long builds).
pub fn run_visible(cmd: &mut Command, limit: Duration) -> Result<(), String> {
    let name = describe(cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("{name}: cannot start: {e}"))?;
    let status = wait_bounded(&mut child, limit).map_err(|e| format!("{name}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name}: {status}"))
    }
}

fn read_all(mut r: impl Read) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = r.read_to_end(&mut buf);
    buf
}

/// Whether an executable called `name` is on `PATH`.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| Path::new(&d).join(name).is_file()))
        .unwrap_or(false)
}

/// Makes sure `tool` exists, installing Debian's `package` with apt-get when it does not.
pub fn ensure_tool(tool: &str, package: &str) -> Result<(), String> {
    if on_path(tool) {
        return Ok(());
    }
    eprintln!("bench: `{tool}` is not on PATH; installing {package} with apt-get");
    let apt = |args: &[&str], limit: u64| {
        run_ok(
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive"),
            None,
            Duration::from_secs(limit),
        )
    };
    apt(&["update"], 300)?;
    apt(&["install", "-y", package], 600)?;
    if on_path(tool) {
        Ok(())
    } else {
        Err(format!(
            "`{tool}` is still missing after installing {package}"
        ))
    }
}
