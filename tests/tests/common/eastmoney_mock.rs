//! A loopback mock of Eastmoney's kline and spot-list endpoints that replays the recorded
//! bodies of `tests/fixtures/upstream` (matched as its `manifest.json` says), cuts a wider
//! recording to the range asked for, and injects faults per secid. Shared by the trainer's
//! download tests and the end-to-end job tests (included by path).

#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/upstream")
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Fault {
    /// Answer 429 this many times first.
    TooMany(usize),
    /// Close the connection without answering this many times first.
    Drop(usize),
    /// Always answer a body that is not JSON.
    Malformed,
    /// Always answer a well-formed body without a single bar (what a source answers when it
    /// has nothing, or nothing for this caller).
    Empty,
    /// Tushare: at most this many rows an answer, the newest of the range asked for, with
    /// `has_more` set when rows were left out (the API's row cap).
    Paged(usize),
    /// Eastmoney: the recording, with the close of this day (`YYYY-MM-DD`) one tick higher (a
    /// source that disagrees with another).
    Tick(String),
}

/// A kline answer with the close of `day` 0.01 higher.
fn tick_up(body: &str, day: &str) -> String {
    let Ok(mut v) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    if let Some(lines) = v["data"]["klines"].as_array_mut() {
        for l in lines {
            let Some(text) = l.as_str().filter(|t| t.starts_with(day)) else {
                continue;
            };
            let mut cells: Vec<String> = text.split(',').map(str::to_string).collect();
            let close: f64 = cells[2].parse().unwrap();
            cells[2] = format!("{:.2}", close + 0.01);
            *l = Value::String(cells.join(","));
        }
    }
    v.to_string()
}

#[derive(Default)]
struct State {
    /// (secid, elapsed) of every kline request, in order.
    log: Vec<(String, f64)>,
    served: BTreeMap<String, usize>,
}

pub(crate) struct Mock {
    pub base: String,
    state: Arc<Mutex<State>>,
}

/// Percent-decodes one query component (`+` is a space).
fn decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..(i + 3).min(b.len())])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(x) => {
                        out.push(x);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_of(target: &str) -> BTreeMap<String, String> {
    let q = target.split_once('?').map_or("", |x| x.1);
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// A file's bytes (a workbook), as a static host serves it.
fn respond_file(stream: &mut TcpStream, body: &[u8]) {
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.ms-excel\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(body);
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

impl Mock {
    pub(crate) fn start(faults: BTreeMap<String, Fault>) -> Mock {
        Mock::start_with(faults, Duration::ZERO)
    }

    /// With `latency` before every answer (a realistic upstream for benchmarks).
    pub(crate) fn start_with(faults: BTreeMap<String, Fault>, latency: Duration) -> Mock {
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(fixtures().join("manifest.json")).unwrap())
                .unwrap();
        let entries: Vec<Value> = manifest["eastmoney"].as_array().unwrap().clone();
        let tushare: Vec<Value> = manifest["tushare"].as_array().unwrap().clone();
        let yahoo: Vec<Value> = manifest["yahoo"].as_array().unwrap().clone();
        let csindex: Vec<Value> = manifest["csindex"].as_array().unwrap().clone();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let st = Arc::clone(&state);
        let t0 = Instant::now();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                if !latency.is_zero() {
                    std::thread::sleep(latency);
                }
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut length = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let path = target.split('?').next().unwrap_or("/").to_string();
                let q = query_of(&target);
                // Tushare: a JSON body posted to the root.
                if line.starts_with("POST") {
                    let mut body = vec![0u8; length];
                    let _ = reader.read_exact(&mut body);
                    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    // Bars are asked by `ts_code`, constituent lists by `index_code`.
                    let key = format!(
                        "tushare:{}",
                        b["params"]["ts_code"]
                            .as_str()
                            .or(b["params"]["index_code"].as_str())
                            .unwrap_or_default()
                    );
                    let n = {
                        let mut s = st.lock().unwrap();
                        s.log.push((key.clone(), t0.elapsed().as_secs_f64()));
                        let c = s.served.entry(key.clone()).or_default();
                        *c += 1;
                        *c
                    };
                    let file = |f: &str| std::fs::read_to_string(fixtures().join(f)).unwrap();
                    if b["token"] != "test-token" {
                        respond(
                            &mut stream,
                            200,
                            &file("tushare/error_40101_bad_token.json"),
                        );
                        continue;
                    }
                    if let Some(Fault::TooMany(k)) = faults.get(&key)
                        && n <= *k
                    {
                        respond(
                            &mut stream,
                            200,
                            &file("tushare/error_40203_rate_limit.json"),
                        );
                        continue;
                    }
                    let hit = tushare.iter().find(|e| {
                        e["match"].as_object().unwrap().iter().all(|(k, v)| {
                            let got = match k.split_once('.') {
                                Some((a, c)) => &b[a][c],
                                None => &b[k.as_str()],
                            };
                            !k.starts_with('<') && k != "token" && got == v
                        }) && !e["match"]
                            .as_object()
                            .unwrap()
                            .keys()
                            .any(|k| k.starts_with('<') || k == "token")
                    });
                    // A capped answer comes from the recording of the same API and code,
                    // whatever range was asked for, cut to that range and to the cap.
                    if let Some(Fault::Paged(cap)) = faults.get(&key) {
                        let same = |e: &&Value| {
                            e["match"]["api_name"] == b["api_name"]
                                && e["match"]["params.ts_code"] == b["params"]["ts_code"]
                                && e["match"]["params.index_code"] == b["params"]["index_code"]
                        };
                        if let Some(e) = tushare.iter().find(same) {
                            let mut v: Value =
                                serde_json::from_str(&file(e["file"].as_str().unwrap())).unwrap();
                            let at = v["data"]["fields"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .position(|f| f == "trade_date")
                                .unwrap();
                            let day =
                                |k: &str| b["params"][k].as_str().unwrap_or_default().to_string();
                            let (beg, end) = (day("start_date"), day("end_date"));
                            let rows: Vec<Value> = v["data"]["items"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .filter(|r| {
                                    let d = r[at].as_str().unwrap_or_default();
                                    (beg.is_empty() || d >= beg.as_str())
                                        && (end.is_empty() || d <= end.as_str())
                                })
                                .cloned()
                                .collect();
                            v["data"]["has_more"] = Value::Bool(rows.len() > *cap);
                            v["data"]["items"] =
                                Value::Array(rows.into_iter().take(*cap).collect());
                            respond(&mut stream, 200, &v.to_string());
                            continue;
                        }
                    }
                    match hit {
                        Some(e) => respond(&mut stream, 200, &file(e["file"].as_str().unwrap())),
                        None => respond(
                            &mut stream,
                            200,
                            "{\"request_id\":\"x\",\"code\":0,\"msg\":\"\",\"data\":{\"fields\":[\"ts_code\",\"trade_date\",\"open\",\"high\",\"low\",\"close\",\"vol\",\"amount\"],\"items\":[],\"has_more\":false}}",
                        ),
                    }
                    continue;
                }
                // CSIndex: a workbook by its path.
                if path.contains("/autofile/cons/") {
                    st.lock()
                        .unwrap()
                        .log
                        .push((path.clone(), t0.elapsed().as_secs_f64()));
                    match csindex
                        .iter()
                        .find(|e| e["path"].as_str() == Some(path.as_str()))
                    {
                        Some(e) => respond_file(
                            &mut stream,
                            &std::fs::read(fixtures().join(e["file"].as_str().unwrap())).unwrap(),
                        ),
                        None => respond(&mut stream, 404, "<html>Not Found</html>"),
                    }
                    continue;
                }
                // Yahoo: the ticker in the path.
                if path.starts_with("/v8/finance/chart/") {
                    st.lock()
                        .unwrap()
                        .log
                        .push((path.clone(), t0.elapsed().as_secs_f64()));
                    let hit = yahoo
                        .iter()
                        .find(|e| e["path"].as_str() == Some(path.as_str()));
                    match hit {
                        Some(e) => {
                            let body = std::fs::read_to_string(
                                fixtures().join(e["file"].as_str().unwrap()),
                            )
                            .unwrap();
                            respond(
                                &mut stream,
                                e["status"].as_u64().unwrap_or(200) as u16,
                                &body,
                            );
                        }
                        None => respond(
                            &mut stream,
                            404,
                            "{\"chart\":{\"result\":null,\"error\":{\"code\":\"Not Found\",\"description\":\"No data found\"}}}",
                        ),
                    }
                    continue;
                }
                let secid = q.get("secid").cloned().unwrap_or_default();
                let mut s = st.lock().unwrap();
                if path.ends_with("/kline/get") {
                    s.log.push((secid.clone(), t0.elapsed().as_secs_f64()));
                }
                let n = {
                    let c = s.served.entry(secid.clone()).or_default();
                    *c += 1;
                    *c
                };
                drop(s);
                match faults.get(&secid) {
                    Some(Fault::TooMany(k)) if n <= *k => {
                        respond(&mut stream, 429, "{}");
                        continue;
                    }
                    Some(Fault::Drop(k)) if n <= *k => {
                        let _ = stream.shutdown(std::net::Shutdown::Both);
                        continue;
                    }
                    Some(Fault::Malformed) => {
                        respond(&mut stream, 200, "{\"rc\":0,\"data\":{\"klines\":[");
                        continue;
                    }
                    Some(Fault::Empty) => {
                        respond(
                            &mut stream,
                            200,
                            "{\"rc\":0,\"data\":{\"code\":\"600000\",\"name\":\"x\",\"klines\":[]}}",
                        );
                        continue;
                    }
                    _ => {}
                }
                let hit =
                    entries.iter().find(|e| {
                        path == e["path"].as_str().unwrap_or_default()
                            && e["match"].as_object().unwrap().iter().all(|(k, v)| {
                                k == "pz" || q.get(k).map(String::as_str) == v.as_str()
                            })
                    });
                // Without an exact match, answer from the recording of the same security over
                // a wider range, cut to the range asked for, as the upstream does.
                let wider = || {
                    entries.iter().find(|e| {
                        let m = &e["match"];
                        path.ends_with("/kline/get")
                            && m["beg"].is_string()
                            && ["secid", "klt", "fqt"]
                                .iter()
                                .all(|k| q.get(*k).map(String::as_str) == m[*k].as_str())
                    })
                };
                match (hit, wider()) {
                    (Some(e), _) => {
                        let mut body =
                            std::fs::read_to_string(fixtures().join(e["file"].as_str().unwrap()))
                                .unwrap();
                        if let Some(Fault::Tick(day)) = faults.get(&secid) {
                            body = tick_up(&body, day);
                        }
                        respond(&mut stream, e["status"].as_u64().unwrap() as u16, &body);
                    }
                    (None, Some(e)) => {
                        let mut v: Value = serde_json::from_slice(
                            &std::fs::read(fixtures().join(e["file"].as_str().unwrap())).unwrap(),
                        )
                        .unwrap();
                        let day = |k: &str| q.get(k).cloned().unwrap_or_default();
                        let (beg, end) = (day("beg"), day("end"));
                        let keep = |l: &Value| {
                            let d = l.as_str().unwrap_or_default()[..10].replace('-', "");
                            (beg == "0" || d >= beg) && d <= end
                        };
                        let lines: Vec<Value> = v["data"]["klines"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter(|l| keep(l))
                            .cloned()
                            .collect();
                        v["data"]["klines"] = Value::Array(lines);
                        let mut body = v.to_string();
                        if let Some(Fault::Tick(day)) = faults.get(&secid) {
                            body = tick_up(&body, day);
                        }
                        respond(&mut stream, 200, &body);
                    }
                    (None, None) => respond(&mut stream, 404, "{\"error\":\"no fixture\"}"),
                }
                let mut rest = Vec::new();
                let _ = reader.read_to_end(&mut rest);
            }
        });
        Mock { base, state }
    }

    pub(crate) fn log(&self) -> Vec<(String, f64)> {
        self.state.lock().unwrap().log.clone()
    }
}
