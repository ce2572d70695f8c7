//! `Recorder`: puts a `curl` first on a script's `PATH` that runs the real curl and keeps each
//! call's arguments, response headers and output, so a test can check what every call of a
//! README script answered without changing the script.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Runs the real curl with the same arguments plus `-D` (which adds nothing to the output).
const WRAPPER: &str = r#"#!/usr/bin/env bash
call="$CURL_CALLS/$(printf '%04d' "$(ls "$CURL_CALLS" | wc -l)")"
mkdir "$call"
printf '%s\n' "$@" >"$call/args"
"$REAL_CURL" -D "$call/headers" "$@" | tee "$call/body"
exit "${PIPESTATUS[0]}"
"#;

pub struct Recorder {
    dir: tempfile::TempDir,
    real_curl: PathBuf,
}

impl Recorder {
    pub fn new() -> Self {
        let real_curl = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join("curl"))
            .find(|path| path.is_file())
            .expect("curl is installed (the README's walk-through uses it)");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::fs::create_dir(dir.path().join("calls")).unwrap();
        let wrapper = dir.path().join("bin/curl");
        std::fs::write(&wrapper, WRAPPER).unwrap();
        let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&wrapper, executable).unwrap();
        Self { dir, real_curl }
    }

    /// The environment a script needs to be recorded.
    pub fn env(&self) -> Vec<(String, String)> {
        let path = std::env::var("PATH").unwrap_or_default();
        let display = |p: &Path| p.display().to_string();
        vec![
            (
                "PATH".into(),
                format!("{}:{path}", display(&self.dir.path().join("bin"))),
            ),
            ("CURL_CALLS".into(), display(&self.dir.path().join("calls"))),
            ("REAL_CURL".into(), display(&self.real_curl)),
        ]
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("calls"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        dirs.sort();
        dirs.iter().map(|dir| Call::read(dir)).collect()
    }
}

#[derive(Debug)]
pub struct Call {
    args: Vec<String>,
    headers: String,
    output: String,
}

impl Call {
    fn read(dir: &Path) -> Self {
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        Self {
            args: read("args").lines().map(str::to_owned).collect(),
            headers: read("headers"),
            output: read("body"),
        }
    }

    /// Asserts the method, the URL's path and the answer's status.
    #[track_caller]
    pub fn expect(&self, method: &str, path: &str, status: u16) -> &Self {
        let sent = self
            .args
            .iter()
            .find_map(|arg| arg.strip_prefix("-X"))
            .unwrap_or("GET");
        let url = self.url();
        let sent_path = url.split('?').next().unwrap_or_default();
        assert!(
            sent == method && sent_path.ends_with(path),
            "expected {method} …{path}, the README called {sent} {url}"
        );
        assert_eq!(self.status(), status, "{method} {url}: {}", self.output);
        self
    }

    fn url(&self) -> &str {
        let url = self.args.iter().find(|arg| arg.starts_with("http"));
        url.map_or("(no URL)", String::as_str)
    }

    fn status(&self) -> u16 {
        // "HTTP/1.1 201 Created"
        let status = self.headers.split_whitespace().nth(1).unwrap_or_default();
        status
            .parse()
            .unwrap_or_else(|_| panic!("no answer to {}", self.url()))
    }

    /// The answer's body as JSON.
    #[track_caller]
    pub fn body(&self) -> Value {
        serde_json::from_str(self.output.trim())
            .unwrap_or_else(|e| panic!("{} answered no JSON ({e}): {}", self.url(), self.output))
    }

    pub fn content_type(&self) -> String {
        self.headers
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-type")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default()
    }

    /// A query parameter of the URL.
    pub fn url_param(&self, name: &str) -> String {
        let query = self.url().split_once('?').map_or("", |(_, q)| q);
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {}", self.url()))
            .to_owned()
    }

    /// The token the call sent in its `authorization` header.
    pub fn bearer_token(&self) -> String {
        self.args
            .iter()
            .find_map(|arg| arg.strip_prefix("authorization: Bearer "))
            .unwrap_or_else(|| panic!("{} sent no token", self.url()))
            .to_owned()
    }

    /// The `field`s of a validation problem, in order.
    pub fn problem_fields(&self) -> Vec<String> {
        let body = self.body();
        let errors = body["errors"].as_array().cloned().unwrap_or_default();
        errors
            .iter()
            .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}
