//! A loopback TDX quote server speaking the legacy protocol: it answers the three setup frames,
//! then bar requests from the series it was given (paged back from the newest, 800 rows a
//! page, zlib-compressed when that is smaller), and logs each request. `EmptyBodies` answers
//! bar requests as public servers have since July 2026: a header and no body.
// Shared by the trainer's and the end-to-end tests; each uses part of it.
#![allow(dead_code)]

use kxian_trainer::download::tdx::wire::{self, BarsRequest, WireBar};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Serve,
    EmptyBodies,
}

/// A series the server holds: (market, code, category) → whether it is an index (its rows
/// carry advancers and decliners) and its rows, oldest first.
pub(crate) type Book = BTreeMap<(u16, String, u16), (bool, Vec<WireBar>)>;

pub(crate) struct TdxMock {
    pub addr: String,
    log: Arc<Mutex<Vec<BarsRequest>>>,
}

impl TdxMock {
    pub(crate) fn start(book: Book, mode: Mode) -> TdxMock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let book = Arc::new(book);
        let l = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (book, log) = (book.clone(), l.clone());
                std::thread::spawn(move || serve(stream, &book, &log, mode));
            }
        });
        TdxMock { addr, log }
    }

    pub(crate) fn requests(&self) -> Vec<BarsRequest> {
        self.log.lock().unwrap().clone()
    }
}

fn serve(mut s: TcpStream, book: &Book, log: &Mutex<Vec<BarsRequest>>, mode: Mode) {
    loop {
        let mut head = [0u8; 10];
        if s.read_exact(&mut head).is_err() {
            return;
        }
        let mut frame = head.to_vec();
        frame.resize(wire::frame_len(&head), 0);
        if s.read_exact(&mut frame[10..]).is_err() {
            return;
        }
        let answer = match BarsRequest::decode(&frame) {
            None => wire::reply(0x000d, &[0u8; 8], false),
            Some(req) => {
                log.lock().unwrap().push(req);
                let code = String::from_utf8_lossy(&req.code).into_owned();
                let (index, rows) = book
                    .get(&(req.market, code, req.category))
                    .map_or((false, &[][..]), |(i, r)| (*i, r.as_slice()));
                let end = rows.len().saturating_sub(req.start as usize);
                let page = &rows[end.saturating_sub(req.count as usize)..end];
                match mode {
                    Mode::EmptyBodies => wire::reply(wire::BARS_COMMAND, &[], false),
                    Mode::Serve => wire::reply(
                        wire::BARS_COMMAND,
                        &wire::encode_bars(page, req.category, index),
                        true,
                    ),
                }
            }
        };
        if s.write_all(&answer).is_err() {
            return;
        }
    }
}
