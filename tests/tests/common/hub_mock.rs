//! A loopback mock of the Hugging Face hub, for `kxian-trainer fetch-model` and the
//! fetch-model job: the file list with sizes and hashes (`/api/models/{repo}/tree/main`), the
//! `resolve` URLs with `Range`, and two faults a real download meets: a connection that drops
//! half-way through the weights, and a file that does not match its listing.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::Digest;

/// The hub's repositories: name → files (name → bytes).
pub(crate) type Repos = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

pub(crate) struct Hub {
    pub(crate) url: String,
    /// Every request line with its Range header, in order.
    log: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone, Copy, Default)]
pub(crate) struct Faults {
    /// The first request for the predictor's weights stops after half the bytes.
    pub(crate) drop_once: bool,
    /// The tokenizer's weights are listed with a SHA-256 they do not have.
    pub(crate) wrong_hash: bool,
}

fn git_blob(bytes: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    hex(&h.finalize())
}

fn hex(b: &[u8]) -> String {
    kxian_store::digest::hex(b)
}

fn listing(files: &BTreeMap<String, Vec<u8>>, wrong_hash: bool) -> Value {
    let entries: Vec<Value> = files
        .iter()
        .map(|(name, bytes)| {
            if name.ends_with(".safetensors") {
                let mut sha = hex(&sha2::Sha256::digest(bytes));
                if wrong_hash {
                    sha = "0".repeat(64);
                }
                json!({"type": "file", "path": name, "size": bytes.len(), "oid": git_blob(b"pointer"),
                       "lfs": {"oid": sha, "size": bytes.len(), "pointerSize": 134}})
            } else {
                json!({"type": "file", "path": name, "size": bytes.len(), "oid": git_blob(bytes)})
            }
        })
        .chain(std::iter::once(
            json!({"type": "file", "path": "README.md", "size": 5, "oid": git_blob(b"hello")}),
        ))
        .collect();
    Value::Array(entries)
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn serve(
    mut stream: TcpStream,
    repos: &Repos,
    faults: Faults,
    dropped: &Mutex<bool>,
    log: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("range")
        {
            range = v
                .trim()
                .strip_prefix("bytes=")
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
        }
    }
    log.lock().unwrap().push(format!("{path} range={range:?}"));
    let not_found = |s: &mut TcpStream| {
        respond(
            s,
            "404 Not Found",
            &[("Content-Type", "application/json".into())],
            br#"{"error":"Repository not found"}"#,
        )
    };
    if let Some(rest) = path.strip_prefix("/api/models/") {
        let Some(repo) = rest.strip_suffix("/tree/main") else {
            return not_found(&mut stream);
        };
        let Some(files) = repos.get(repo) else {
            return not_found(&mut stream);
        };
        let wrong = faults.wrong_hash && repo.contains("Tokenizer");
        let body = listing(files, wrong).to_string();
        return respond(
            &mut stream,
            "200 OK",
            &[
                ("Content-Type", "application/json".into()),
                ("Content-Length", body.len().to_string()),
            ],
            body.as_bytes(),
        );
    }
    let Some((repo, file)) = path.trim_start_matches('/').split_once("/resolve/main/") else {
        return not_found(&mut stream);
    };
    let Some(bytes) = repos.get(repo).and_then(|f| f.get(file)) else {
        return not_found(&mut stream);
    };
    let from = range.unwrap_or(0).min(bytes.len());
    let body = &bytes[from..];
    let status = if range.is_some() {
        "206 Partial Content"
    } else {
        "200 OK"
    };
    let headers = [
        ("Content-Length", body.len().to_string()),
        (
            "Content-Range",
            format!(
                "bytes {from}-{}/{}",
                bytes.len().saturating_sub(1),
                bytes.len()
            ),
        ),
    ];
    let mut drop_now = false;
    if faults.drop_once && file == "model.safetensors" && !repo.contains("Tokenizer") {
        let mut d = dropped.lock().unwrap();
        drop_now = !*d;
        *d = true;
    }
    if drop_now {
        // Promise the whole body, send half, hang up.
        respond(&mut stream, status, &headers, &body[..body.len() / 2]);
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return;
    }
    respond(&mut stream, status, &headers, body);
}

impl Hub {
    pub(crate) fn start(repos: Repos, faults: Faults) -> Hub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let (repos, log2) = (Arc::new(repos), Arc::clone(&log));
        let dropped = Arc::new(Mutex::new(false));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (repos, log, dropped) =
                    (Arc::clone(&repos), Arc::clone(&log2), Arc::clone(&dropped));
                std::thread::spawn(move || serve(stream, &repos, faults, &dropped, &log));
            }
        });
        Hub { url, log }
    }

    pub(crate) fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// A model part's two files, as the hub would hold them.
pub(crate) fn read_dir_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    ["config.json", "model.safetensors"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
        .collect()
}
