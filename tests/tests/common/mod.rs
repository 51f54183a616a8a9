//! Harness for the end-to-end tests: the real `kxian` server (same code as `kxian serve`) on
//! a free loopback port with a fresh SQLite store, ChromeDriver, and headless Chromium.

#![allow(dead_code)]

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, ClientBuilder};
use kxian_server::{AppState, Store, embedded};
use serde_json::json;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The CSI 300's regime report, computed by the library from the embedded file the server
/// loads: what the browser must show.
pub(crate) fn csi300_regime() -> anyhow::Result<kxian_shared::analysis::regime::RegimeReport> {
    let file = workspace_root().join("server/data/hqchart/000300.sh.day.kline.json");
    let parsed = kxian_shared::ingest::parse_file(
        "000300.sh.day.kline.json",
        &std::fs::read(&file)?,
        &kxian_shared::api::ImportOptions {
            skip_invalid: true,
            ..Default::default()
        },
    )?;
    Ok(kxian_shared::analysis::regime::report(
        "000300.SH",
        &parsed.series[0].bars,
    ))
}

/// Screenshots land here (ignored by git) for a person to look at.
pub(crate) fn artifacts_dir() -> PathBuf {
    let d = workspace_root().join("tests/artifacts");
    std::fs::create_dir_all(&d).expect("create tests/artifacts");
    d
}

/// Local admin on, quota, trainer environment, whether the runner runs the queue.
type JobsSetup = (bool, i64, Vec<(String, String)>, bool);

pub(crate) struct Server {
    pub base: String,
    pub store: Store,
    /// The SQLite file behind `store`, for CLI runs on the same data.
    pub db: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// The server's models folder (`kxian serve --models`): jobs' models land here, and the
    /// catalogue is read again from it whenever one does.
    pub(crate) fn models_dir(&self) -> PathBuf {
        self._dir.path().join("models")
    }

    /// Starts the server with the embedded data loaded and the built app from `dist/`, as
    /// `kxian serve` starts by default: the browser on this machine acts as the local admin.
    pub(crate) async fn start() -> Result<Server> {
        Server::start_with(None).await
    }

    /// The same with the job runner on: `kxian-trainer` from the build, one slot, a quota of
    /// `quota`, and loopback requests without a token treated as the local admin or not.
    pub(crate) async fn start_with_jobs(local_admin: bool, quota: i64) -> Result<Server> {
        Server::start_with(Some((local_admin, quota, Vec::new(), true))).await
    }

    /// Jobs are accepted and queued, but no runner takes them: they stay `queued`.
    pub(crate) async fn start_queue_only(local_admin: bool, quota: i64) -> Result<Server> {
        Server::start_with(Some((local_admin, quota, Vec::new(), false))).await
    }

    /// With extra environment for the trainer (e.g. a mock upstream's URL).
    pub(crate) async fn start_with_jobs_env(
        local_admin: bool,
        quota: i64,
        env: Vec<(String, String)>,
    ) -> Result<Server> {
        Server::start_with(Some((local_admin, quota, env, true))).await
    }

    async fn start_with(jobs: Option<JobsSetup>) -> Result<Server> {
        let dist = workspace_root().join("dist");
        if !dist.join("index.html").exists() {
            bail!(
                "dist/index.html is missing: build the app first (bash scripts/build-app.sh, or run bash scripts/test.sh)"
            );
        }
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("kxian.db");
        let store = Store::open(&db).await?;
        embedded::load_once(&store).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let models_dir = dir.path().join("models");
        let models = kxian_server::models::Models::load(Some(&models_dir)).unwrap();
        let with_jobs = jobs.as_ref().is_some_and(|j| j.3);
        let (auth, runner) = match jobs {
            // As `kxian serve` runs by default: a local admin, whom the browser acts as.
            None => {
                store
                    .create_user("admin", true)
                    .await?
                    .context("creating the local admin")?;
                (
                    kxian_server::auth::AuthConfig {
                        local_admin: true,
                        ..Default::default()
                    },
                    Default::default(),
                )
            }
            Some((local_admin, quota, env, _)) => (
                kxian_server::auth::AuthConfig {
                    local_admin,
                    ..Default::default()
                },
                kxian_server::jobs::Jobs::new(kxian_server::jobs::RunnerConfig {
                    trainer: target_bin("kxian-trainer")?,
                    work: dir.path().join("jobs"),
                    db: db.clone(),
                    slots: 1,
                    quota,
                    env,
                    models: Some(models_dir),
                }),
            ),
        };
        if with_jobs {
            kxian_server::jobs::runner::start(store.clone(), runner.clone(), models.clone());
        }
        let state = AppState {
            store: store.clone(),
            dist,
            max_upload: 64 * 1024 * 1024,
            models,
            auth,
            jobs: runner,
            limits: Default::default(),
        };
        tokio::spawn(kxian_server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(Server {
            base,
            store,
            db,
            stop: Some(stop),
            _dir: dir,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A binary of this workspace's build (`cargo test --workspace` builds them all).
pub(crate) fn target_bin(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test binary has no target folder")?;
    let bin = dir.join(name);
    if !bin.exists() {
        bail!(
            "{} is missing: build it first (cargo build -p {})",
            bin.display(),
            if name == "kxian" {
                "kxian-server"
            } else {
                name
            }
        );
    }
    Ok(bin)
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn find_program(env: &str, names: &[&str]) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Ok(PathBuf::from(p));
    }
    for n in names {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"] {
            let p = Path::new(dir).join(n);
            if p.exists() {
                return Ok(p);
            }
        }
    }
    bail!(
        "{} not found (set {env}, or install Debian's chromium and chromium-driver: bash scripts/setup.sh --browser)",
        names[0]
    )
}

/// ChromeDriver plus one headless Chromium session with its own fresh profile.
pub(crate) struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// JavaScript that sets an input's value the way typing does (so the page's `input` handler
/// sees it).
pub(crate) fn set_input(id: &str, value: &str) -> String {
    format!(
        "{{ const el = document.getElementById('{id}');
           el.value = {value:?};
           el.dispatchEvent(new Event('input', {{ bubbles: true }})); }}"
    )
}

/// JavaScript that picks `value` in the select `id` and fires the `change` event.
pub(crate) fn set_select(id: &str, value: &str) -> String {
    format!(
        "{{ const el = document.getElementById('{id}');
           el.value = {value:?};
           el.dispatchEvent(new Event('change', {{ bubbles: true }})); }}"
    )
}

impl Browser {
    /// Opens the forecast page at `href` (a model's "use for forecast" link) with a short CPU
    /// set-up, runs it and returns the page's report.
    pub(crate) async fn forecast_at(
        &self,
        base: &str,
        href: &str,
    ) -> Result<kxian_shared::api::ForecastReport> {
        self.client
            .goto(&format!(
                "{base}{href}&lookback=60&horizon=3&samples=1&backend=cpu"
            ))
            .await?;
        self.wait_for_js(
            "the forecast form",
            "return document.getElementById('forecast-run') ? true : null;",
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
        // The model list loads asynchronously; the run needs it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.client
            .execute("document.getElementById('forecast-run').click();", vec![])
            .await?;
        let raw = self
            .wait_for_js(
                "the forecast",
                "const e = document.getElementById('forecast-error'); if (e) return 'ERROR: ' + e.textContent;
                 const r = document.getElementById('forecast-report'); return r ? r.textContent : null;",
                Duration::from_secs(120),
                |v| v.is_string(),
            )
            .await?;
        let raw = raw.as_str().unwrap_or_default();
        if raw.starts_with("ERROR") {
            bail!("{raw}");
        }
        Ok(serde_json::from_str(raw)?)
    }

    pub(crate) async fn start() -> Result<Browser> {
        Self::start_with(false).await
    }

    /// With `webgpu`, Chromium exposes its software WebGPU adapter (SwiftShader); without it
    /// `navigator.gpu` finds no adapter and the app falls back to its CPU backend.
    pub(crate) async fn start_with(webgpu: bool) -> Result<Browser> {
        let chromium = find_program("KXIAN_CHROMIUM", &["chromium", "chromium-browser"])?;
        let chromedriver = find_program("KXIAN_CHROMEDRIVER", &["chromedriver"])?;
        let port = free_port()?;
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", chromedriver.display()))?;
        let profile = tempfile::tempdir()?;
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            // This machine has no network: keep Chromium from trying (and stalling on) it.
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1400,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut args = args;
        if webgpu {
            args.push("--enable-unsafe-webgpu".into());
        }
        let caps = json!({
            "goog:chromeOptions": { "binary": chromium.to_string_lossy(), "args": args }
        });
        let caps = caps.as_object().cloned().expect("object");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => bail!("cannot start a Chromium session through ChromeDriver: {e}"),
            }
        };
        Ok(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Polls `script` (a JS function body that returns a value) until `done` accepts it.
    pub(crate) async fn wait_for_js(
        &self,
        what: &str,
        script: &str,
        timeout: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        let mut last = serde_json::Value::Null;
        while Instant::now() < deadline {
            match self.client.execute(script, vec![]).await {
                Ok(v) if done(&v) => return Ok(v),
                Ok(v) => last = v,
                Err(e) => last = json!(format!("script error: {e}")),
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        bail!("timed out waiting for {what}; last value: {last}")
    }

    /// The probability strip's reading once it shows (`{up, down, flat, text}`), or its error.
    pub(crate) async fn strip_reading(&self, what: &str) -> Result<serde_json::Value> {
        let got = self
            .wait_for_js(
                what,
                "const e = document.getElementById('strip-error'); if (e) return 'ERROR: ' + e.textContent;
                 const s = document.getElementById('strip-status');
                 return s ? { up: +s.dataset.up, down: +s.dataset.down, flat: +s.dataset.flat, text: s.textContent } : null;",
                Duration::from_secs(90),
                |v| v.is_object() || v.as_str().is_some_and(|s| s.starts_with("ERROR")),
            )
            .await?;
        ensure!(got.is_object(), "{got}");
        Ok(got)
    }

    pub(crate) async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let path = artifacts_dir().join(name);
        std::fs::write(&path, png)?;
        Ok(path)
    }

    pub(crate) async fn quit(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Also on a failed assertion: never leave a ChromeDriver behind, nor the Chromium it
        // started (killing the driver does not end its browser). The profile folder is unique
        // to this session, so it names exactly our browser processes.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(format!("user-data-dir={}", self._profile.path().display()))
            .status();
    }
}

/// Creates the users (name, admin) with one API token each; returns the tokens by name.
pub(crate) async fn users(
    store: &Store,
    who: &[(&'static str, bool)],
) -> Result<std::collections::BTreeMap<&'static str, String>> {
    let mut tokens = std::collections::BTreeMap::new();
    for &(name, admin) in who {
        let u = store.create_user(name, admin).await?.context("user")?;
        let t = kxian_server::auth::new_token();
        store.add_token(u.id, &t, "test").await?;
        tokens.insert(name, t);
    }
    Ok(tokens)
}
