//! The plugin never outlives its host and always removes its socket directory:
//! on `SIGTERM`, and when the process that started it dies without a word.
//! (A `Shutdown` through the controller is covered in `protocol_plugin.rs`.)

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use terraform_provider_vm::plugin::handshake::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-vm");

/// The handshake environment, plain gRPC, sockets under `socket_dir`.
fn handshake_env(cmd: &mut Command, socket_dir: &Path) {
    cmd.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_UNIX_SOCKET_DIR", socket_dir)
        .env_remove("PLUGIN_CLIENT_CERT")
        .env_remove("TF_LOG_PROVIDER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .env_remove("TF_LOG")
        .stderr(Stdio::null());
}

/// The socket path from the handshake line (`1|6|unix|PATH|grpc|`).
fn socket_of(line: &str) -> String {
    let fields: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(fields.get(2), Some(&"unix"), "handshake line {line:?}");
    fields[3].to_string()
}

/// Whether `pid` has ended (gone, or a zombie nobody has reaped yet).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // `PID (COMM) STATE …`; COMM may hold spaces, so read after the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_until(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < deadline,
            "{what}: not within {deadline:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn empty(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigterm_ends_the_plugin_and_removes_its_socket_directory() {
    let sockets = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BINARY);
    handshake_env(&mut cmd, sockets.path());
    let mut child = Reaped(cmd.spawn().unwrap());
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let socket = socket_of(&line);
    assert!(
        Path::new(&socket).exists(),
        "{socket} should exist while serving"
    );

    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) }, 0);
    let mut status = None;
    wait_until("exit after SIGTERM", Duration::from_secs(10), || {
        status = child.0.try_wait().unwrap();
        status.is_some()
    });
    assert!(status.unwrap().success(), "exit status {status:?}");
    assert!(
        empty(sockets.path()),
        "socket directory left behind in {sockets:?}"
    );
}

#[test]
fn the_plugin_ends_when_the_process_that_started_it_dies() {
    let sockets = tempfile::tempdir().unwrap();
    // A stand-in for Terraform: starts the plugin, prints its pid, then waits to be killed.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", r#""$0" & echo "$!"; exec sleep 120"#, BINARY]);
    handshake_env(&mut cmd, sockets.path());
    let mut host = Reaped(cmd.spawn().unwrap());
    let mut out = BufReader::new(host.0.stdout.take().unwrap());
    let (mut pid, mut line) = (String::new(), String::new());
    out.read_line(&mut pid).unwrap();
    out.read_line(&mut line).unwrap();
    let pid: u32 = pid.trim().parse().unwrap();
    let socket = socket_of(&line);
    assert!(!ended(pid) && Path::new(&socket).exists());

    host.0.kill().unwrap();
    host.0.wait().unwrap();
    wait_until(
        "the orphaned plugin to exit",
        Duration::from_secs(15),
        || ended(pid),
    );
    assert!(
        empty(sockets.path()),
        "socket directory left behind in {sockets:?}"
    );
}
