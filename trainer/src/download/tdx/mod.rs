//! TDX (通达信) quote servers as a download source, over the legacy protocol pytdx speaks:
//! raw (unadjusted) stock and index bars, daily, weekly, monthly and 1–60 minutes, paged 800
//! rows at a time back from the newest.
//!
//! Public servers stopped answering this protocol's bar requests in July 2026 (they send an
//! empty body). That answer is a failed fetch saying so, which `--source tdx,eastmoney` hands
//! to the next source; a broker's or your own server that still answers works as before.
//! Funds are not served: their prices travel at a scale of their own that we have not
//! verified against a real answer.

pub mod wire;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use kxian_shared::{Bar, Exchange, InstrumentKind, Symbol};

use super::eastmoney::Kline;
use super::http::FetchError;
use super::source::{BarSource, Fetched};
use super::{DownloadArgs, DownloadError};
use wire::{BarsRequest, HEADER_LEN, MAX_ROWS, WireBar, WireError};

/// Pages of 800 bars one symbol may take: daily bars since 1990, or the ~100 days of 1-minute
/// bars a server keeps, fit well inside.
const MAX_PAGES: u16 = 80;

/// What went wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum TdxError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(
        "the server answered a bar request with an empty body: public TDX servers stopped answering bar requests in July 2026; use a server that still does (--tdx-host) or another source"
    )]
    EmptyBody,
}

/// One connection to one server, set up as the official client does.
pub struct Session {
    stream: TcpStream,
    pub requests: u64,
}

impl Session {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Session, TdxError> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        let mut s = Session {
            stream,
            requests: 0,
        };
        for frame in wire::SETUP {
            s.call(frame)?;
        }
        Ok(s)
    }

    /// Sends one request frame and returns the reply's body, inflated.
    pub fn call(&mut self, frame: &[u8]) -> Result<Vec<u8>, TdxError> {
        self.requests += 1;
        self.stream.write_all(frame)?;
        let mut head = [0u8; HEADER_LEN];
        self.stream.read_exact(&mut head)?;
        let h = wire::header(&head)?;
        let mut zipped = vec![0u8; h.zipped];
        self.stream.read_exact(&mut zipped)?;
        Ok(wire::body(h, &zipped)?)
    }

    /// Bars of one security, oldest first: pages back from the newest until one reaches
    /// `beg`, comes back short, or 80 pages (64,000 bars) are read.
    pub fn bars(
        &mut self,
        market: u16,
        code: [u8; 6],
        category: u16,
        index: bool,
        beg: Option<NaiveDate>,
    ) -> Result<Vec<WireBar>, TdxError> {
        let mut pages: Vec<Vec<WireBar>> = Vec::new();
        for page in 0..MAX_PAGES {
            let req = BarsRequest {
                market,
                code,
                category,
                start: page * MAX_ROWS,
                count: MAX_ROWS,
            };
            let body = self.call(&req.encode())?;
            if body.is_empty() {
                return Err(TdxError::EmptyBody);
            }
            let rows = wire::decode_bars(&body, category, index)?;
            let full = rows.len() == MAX_ROWS as usize;
            let reached = rows
                .first()
                .is_some_and(|b| beg.is_some_and(|d| b.ts.date() <= d));
            pages.push(rows);
            if !full || reached {
                break;
            }
        }
        Ok(pages.into_iter().rev().flatten().collect())
    }
}

/// The market byte and code of a symbol.
pub fn address(symbol: &Symbol) -> (u16, [u8; 6]) {
    let market = match symbol.exchange() {
        Exchange::Szse => 0,
        Exchange::Sse => 1,
        Exchange::Bse => 2,
    };
    let mut code = [b'0'; 6];
    let c = symbol.code().as_bytes();
    code[6 - c.len().min(6)..].copy_from_slice(&c[..c.len().min(6)]);
    (market, code)
}

/// Canonical bars from wire rows: volume from lots to shares, the amount as sent.
pub fn canonical(rows: &[WireBar]) -> Vec<Bar> {
    rows.iter()
        .map(|r| Bar {
            ts: r.ts,
            open: r.open,
            high: r.high,
            low: r.low,
            close: r.close,
            volume: r.volume * 100.0,
            amount: Some(r.amount),
        })
        .collect()
}

/// `--tdx-host` as a download source: the hosts are tried in order, and a session is kept
/// for the whole run.
pub(crate) struct TdxSource<'a> {
    pub(crate) args: &'a DownloadArgs,
    pub(crate) session: Option<Session>,
    pub(crate) requests: u64,
    pub(crate) last: Option<Instant>,
}

impl TdxSource<'_> {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.args.timeout_s.max(1))
    }

    /// A live session, connecting to the first host that answers.
    fn session(&mut self) -> Result<&mut Session, FetchError> {
        if self.session.is_none() {
            let mut errors = Vec::new();
            for host in &self.args.tdx_host {
                let addrs = match host.to_socket_addrs() {
                    Ok(a) => a.collect::<Vec<_>>(),
                    Err(e) => {
                        errors.push(format!("{host}: {e}"));
                        continue;
                    }
                };
                for addr in addrs {
                    match Session::connect(addr, self.timeout()) {
                        Ok(s) => {
                            self.requests += s.requests;
                            self.session = Some(s);
                            break;
                        }
                        Err(e) => errors.push(format!("{host}: {e}")),
                    }
                }
                if self.session.is_some() {
                    break;
                }
            }
            if self.session.is_none() {
                return Err(FetchError::Transport {
                    url: format!("tdx://{}", self.args.tdx_host.join(",")),
                    message: format!("no TDX server answered ({})", errors.join("; ")),
                    attempts: 1,
                });
            }
        }
        Ok(self.session.as_mut().expect("connected above"))
    }

    fn fetch_bars(
        &mut self,
        symbol: &Symbol,
        beg: Option<NaiveDate>,
    ) -> Result<(Kline, Option<String>), FetchError> {
        if symbol.kind() == InstrumentKind::Fund {
            return Ok((Kline::Unknown, None));
        }
        let category = wire::category(self.args.frequency);
        let (market, code) = address(symbol);
        let index = symbol.kind() == InstrumentKind::Index;
        // The same politeness interval as the HTTP sources, per symbol.
        let wait = Duration::from_millis(self.args.min_interval_ms);
        if let Some(l) = self.last
            && l.elapsed() < wait
        {
            std::thread::sleep(wait - l.elapsed());
        }
        self.last = Some(Instant::now());
        let mut attempts = 0;
        loop {
            attempts += 1;
            let url = format!("tdx://{}", self.args.tdx_host.join(","));
            let session = self.session()?;
            let before = session.requests;
            let result = session.bars(market, code, category, index, beg);
            self.requests += self.session.as_ref().map_or(0, |s| s.requests - before);
            match result {
                Ok(rows) if rows.is_empty() => return Ok((Kline::Unknown, None)),
                Ok(rows) => {
                    let request = format!(
                        "{market}.{} category {category}",
                        String::from_utf8_lossy(&code)
                    );
                    return Ok((
                        Kline::Bars {
                            name: None,
                            bars: canonical(&rows),
                        },
                        Some(request),
                    ));
                }
                // A dropped connection is retried once on a fresh session.
                Err(TdxError::Io(e)) if attempts < self.args.attempts.max(1) => {
                    tracing::info!("tdx: {e}; reconnecting");
                    self.session = None;
                }
                Err(e) => {
                    self.session = None;
                    return Err(FetchError::Transport {
                        url,
                        message: e.to_string(),
                        attempts,
                    });
                }
            }
        }
    }
}

impl BarSource for TdxSource<'_> {
    fn fetch(&mut self, symbol: &Symbol, beg: Option<NaiveDate>) -> Result<Fetched, DownloadError> {
        Ok(self.fetch_bars(symbol, beg))
    }

    fn ids(&self, symbol: &Symbol) -> Vec<String> {
        let (market, code) = address(symbol);
        vec![format!("{market}.{}", String::from_utf8_lossy(&code))]
    }

    fn requests(&self) -> u64 {
        self.requests
    }
}
