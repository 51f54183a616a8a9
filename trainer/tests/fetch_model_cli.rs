//! `kxian-trainer fetch-model` against a loopback mock of the Hugging Face hub: the file list
//! with sizes and hashes, `resolve` URLs with `Range`, a connection that drops half-way through
//! the weights, an unknown repository and a file that does not match its listing. What arrives
//! must be a model the forecast command loads.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::Digest;

/// The hub's repositories: name → files (name → bytes).
type Repos = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

struct Hub {
    url: String,
    /// Every request line with its Range header, in order.
    log: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone, Copy)]
struct Faults {
    /// The first request for the predictor's weights stops after half the bytes.
    drop_once: bool,
    /// The tokenizer's weights are listed with a SHA-256 they do not have.
    wrong_hash: bool,
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
    fn start(repos: Repos, faults: Faults) -> Hub {
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

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn read_dir_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    ["config.json", "model.safetensors"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
        .collect()
}

/// The hub holds the random Kronos-mini pair under the published names.
fn repos() -> Repos {
    let mut r = Repos::new();
    r.insert(
        "NeoQuasar/Kronos-mini".into(),
        read_dir_files(&crate::checkpoints::predictor()),
    );
    r.insert(
        "NeoQuasar/Kronos-Tokenizer-2k".into(),
        read_dir_files(&crate::checkpoints::tokenizer()),
    );
    r
}

fn fetch(hub: &Hub, models: &Path, repo: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["fetch-model", repo, "--endpoint", &hub.url, "--models"])
        .arg(models)
        .env_remove("HF_ENDPOINT")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_published_model_arrives_resumed_checked_and_loadable() {
    let repos = repos();
    let hub = Hub::start(
        repos.clone(),
        Faults {
            drop_once: true,
            wrong_hash: false,
        },
    );
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");

    let o = fetch(&hub, &models, "NeoQuasar/Kronos-mini");
    assert!(o.status.success(), "{}", stderr(&o));
    let model = models.join("Kronos-mini");
    for (part, repo) in [
        ("predictor", "NeoQuasar/Kronos-mini"),
        ("tokenizer", "NeoQuasar/Kronos-Tokenizer-2k"),
    ] {
        assert_eq!(
            read_dir_files(&model.join(part)),
            repos[repo],
            "{part} arrived byte for byte"
        );
    }
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["id"], "Kronos-mini");
    assert_eq!(report["files"].as_array().unwrap().len(), 4, "{report}");
    assert_eq!(report["files"][1]["how"], "resumed", "{report}");
    assert_eq!(
        report["files"][3]["path"],
        model
            .join("tokenizer/model.safetensors")
            .display()
            .to_string()
    );
    let log = hub.requests();
    assert!(
        log.iter()
            .any(|l| l.contains("Kronos-mini/resolve/main/model.safetensors range=Some(")),
        "the dropped download resumed with a Range request: {log:?}"
    );
    assert!(
        !std::fs::read_dir(model.join("predictor"))
            .unwrap()
            .flatten()
            .any(|e| e.path().to_string_lossy().ends_with(".part")),
        "no part file is left behind"
    );

    // The forecast command loads what arrived.
    let csi300 = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../server/data/hqchart/000300.sh.day.kline.json");
    let f = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "forecast",
            "--horizon",
            "2",
            "--lookback",
            "40",
            "--top-k",
            "1",
            "--input",
        ])
        .arg(&csi300)
        .arg("--tokenizer")
        .arg(model.join("tokenizer"))
        .arg("--predictor")
        .arg(model.join("predictor"))
        .output()
        .unwrap();
    assert!(f.status.success(), "{}", stderr(&f));
    let r: Value = serde_json::from_slice(&f.stdout).unwrap();
    assert_eq!(r["model"]["predictor"]["parameters"], 4_108_032);

    // Again: everything is there, nothing is downloaded.
    let before = hub.requests().len();
    let o = fetch(&hub, &models, "NeoQuasar/Kronos-mini");
    assert!(o.status.success(), "{}", stderr(&o));
    let again: Vec<String> = hub.requests()[before..].to_vec();
    assert!(
        !again.iter().any(|l| l.contains("model.safetensors")),
        "a second run fetches no weights: {again:?}"
    );
    assert!(stderr(&o).contains("present"), "{}", stderr(&o));
}

#[test]
fn unknown_repositories_and_files_that_do_not_check_out_are_refused() {
    let hub = Hub::start(
        repos(),
        Faults {
            drop_once: false,
            wrong_hash: true,
        },
    );
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");

    let o = fetch(&hub, &models, "NeoQuasar/Kronos-huge");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("NeoQuasar/Kronos-huge"),
        "{}",
        stderr(&o)
    );

    let o = fetch(&hub, &models, "not-a-repo");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("OWNER/NAME"), "{}", stderr(&o));

    // The tokenizer's weights are not what the hub lists: the run fails and keeps nothing of it.
    let o = fetch(&hub, &models, "NeoQuasar/Kronos-mini");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not match"), "{}", stderr(&o));
    let tok = models.join("Kronos-mini/tokenizer");
    assert!(!tok.join("model.safetensors").exists());
    assert!(
        !std::fs::read_dir(&tok)
            .unwrap()
            .flatten()
            .any(|e| e.path().to_string_lossy().ends_with(".part")),
        "a part that fails its check is removed"
    );
}
