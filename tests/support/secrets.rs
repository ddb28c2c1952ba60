//! "No secret anywhere": terraform runs traced into log files of their own (`TF_LOG=trace`), and
//! the check that a text (state, plan JSON, trace log, CLI output) holds none of a test's
//! secrets and no access token.

use crate::acceptance::Acceptance;

/// Terraform runs with `TF_LOG=trace`, each into a log file of its own, kept so that a test can
/// search every log for secrets.
pub struct Traced<'a> {
    acc: &'a Acceptance,
    logs: Vec<String>,
}

impl<'a> Traced<'a> {
    /// No run traced yet.
    pub fn new(acc: &'a Acceptance) -> Self {
        Traced {
            acc,
            logs: Vec::new(),
        }
    }

    /// Runs `args` with extra `env`, which must succeed; returns what terraform printed
    /// (stdout, then stderr).
    pub fn run(&mut self, args: &[&str], env: &[(&str, &str)]) -> String {
        let log_path =
            (self.acc.tf.work_dir().join("..")).join(format!("trace-{}.log", self.logs.len() + 1));
        let log_str = log_path.to_string_lossy().into_owned();
        let mut all = vec![("TF_LOG", "trace"), ("TF_LOG_PATH", log_str.as_str())];
        all.extend_from_slice(env);
        let out = self.acc.run_with_env(args, &all);
        out.assert_success();
        self.logs
            .push(std::fs::read_to_string(&log_path).unwrap_or_default());
        out.stdout + &out.stderr
    }

    /// Every log so far, checked to be a full trace whose provider requests reached a path
    /// containing `extension_path` (`/extensions/VMAccessAgent`): an absent secret then means
    /// it was kept out rather than never logged.
    pub fn logs(&self, extension_path: &str) -> String {
        let logs = self.logs.concat();
        assert!(
            logs.len() > 10_000,
            "a full trace log ({} bytes)",
            logs.len()
        );
        assert!(
            logs.contains("request body"),
            "provider request bodies are traced"
        );
        assert!(logs.contains("REDACTED"), "and redacted");
        assert!(
            logs.contains(extension_path),
            "the extension calls ({extension_path}) are traced"
        );
        logs
    }
}

/// Asserts none of `secrets` (`(name, value)`) and no emulator access token occurs in `text`;
/// `what` names the text.
pub fn assert_clean(what: &str, text: &str, secrets: &[(&str, &str)]) {
    for (name, secret) in secrets {
        assert!(!text.contains(secret), "{name} found in {what}");
    }
    assert_eq!(find_token(text), None, "an access token found in {what}");
}

/// The first JWT (an emulator access token or client assertion) in `text`:
/// `eyJ…` base64url segments joined by exactly two dots.
pub fn find_token(text: &str) -> Option<&str> {
    text.match_indices("eyJ").find_map(|(i, _)| {
        let len = text[i..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            .count();
        let candidate = &text[i..i + len];
        (candidate.len() > 100 && candidate.matches('.').count() == 2).then_some(candidate)
    })
}
