//! Who is asking: an API token (`Authorization: Bearer kx_…`), a browser session (the
//! HttpOnly cookie that signing in sets; ended by signing out), or — on a request that came
//! straight from this machine to a server that allows it — the local install's admin, so a
//! single-user install needs no login at all.
//!
//! The local-admin rule is trust in the network path, so it is applied only where that trust
//! cannot be borrowed: the peer is a loopback address, no proxy forwarded the request (no
//! `Forwarded`/`X-Forwarded-*`/`X-Real-IP`/`Via`), and the `Host` is a loopback name (a
//! DNS-rebinding page arrives with its own host name). Every request must name a host this
//! server answers to, and a state-changing API request that relies on ambient credentials
//! (a cookie, or the local-admin rule) must come from this server's own pages: same-origin
//! `Origin`/`Sec-Fetch-Site`, and the [`CLIENT_HEADER`] the app sends, which no cross-site
//! form can set and no cross-site script can send without a CORS preflight this server never
//! grants ([`require_same_origin`]). The host check is `routes::guard`.

use crate::error::AppError;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use rand::RngCore;
use std::net::SocketAddr;

pub const COOKIE: &str = "kxian_session";

pub use kxian_shared::api::CLIENT_HEADER;

/// Headers a proxy adds: a request carrying any of them did not come straight from here.
const FORWARDING: [&str; 6] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "via",
];

fn random_hex(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// A fresh API token: 192 random bits from the OS-seeded CSPRNG, `kx_` + hex.
pub fn new_token() -> String {
    random_hex("kx_")
}

/// A fresh browser session id (192 random bits, `ks_` + hex): what the cookie holds, so the
/// cookie is never the long-lived API token.
pub fn new_session() -> String {
    random_hex("ks_")
}

/// How requests are trusted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthConfig {
    /// Loopback requests without a token act as the first admin (see the module docs).
    pub local_admin: bool,
    /// Host names (lower case, without a port) this server answers to besides `localhost`,
    /// `127.0.0.1` and `[::1]`: `--public-host`, and the address it binds when that is not a
    /// wildcard.
    pub public_hosts: Vec<String>,
    /// Cookies get `Secure` (the server is reached over https, e.g. behind a TLS proxy).
    pub secure_cookies: bool,
}

/// The host name of a `Host` header value, lower case, without its port.
pub fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = if host.starts_with('[') {
        host.split_once(']').map_or(host, |(h, _)| h).to_string() + "]"
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h)
            .to_string()
    };
    name.to_ascii_lowercase()
}

/// Whether a host name is this machine's own loopback name.
pub fn is_loopback_name(name: &str) -> bool {
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

impl AuthConfig {
    /// Whether a request naming `host` is for this server.
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        is_loopback_name(&name) || self.public_hosts.contains(&name)
    }

    /// The `Set-Cookie` value holding a session for `max_age` seconds (0 clears it).
    pub fn session_cookie(&self, value: &str, max_age: u64) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
    }
}

/// How long a browser session lasts.
pub const SESSION_SECONDS: u64 = 30 * 24 * 3600;

pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

/// Whether the request carries an `Authorization: Bearer` token (which no browser adds by
/// itself, so such a request cannot be forged cross-site).
pub fn has_bearer(headers: &HeaderMap) -> bool {
    bearer(headers).is_some()
}

/// The session cookie's value.
pub fn session_of(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(axum::http::header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// Whether the request came straight from this machine to a loopback name, so the
/// local-admin rule may apply.
pub(crate) fn direct_from_loopback(parts: &Parts) -> bool {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback());
    let forwarded = FORWARDING.iter().any(|h| parts.headers.contains_key(*h));
    let host_is_loopback = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_none_or(|h| is_loopback_name(&host_name(h)));
    peer && !forwarded && host_is_loopback
}

/// Refuses a state-changing request that did not come from this server's own pages: an
/// `Origin` of another origin, a `Sec-Fetch-Site` other than `same-origin`/`none`, or no
/// [`CLIENT_HEADER`]. Applied wherever ambient credentials (the cookie, the local-admin rule)
/// would act, and to the anonymous writes; a bearer token is never sent by a browser on its
/// own, so requests carrying one are exempt. Safe methods pass.
pub fn require_same_origin(method: &Method, headers: &HeaderMap) -> Result<(), AppError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) || has_bearer(headers) {
        return Ok(());
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Err(AppError::Forbidden(format!(
            "a {site} request may not change anything here"
        )));
    }
    if let Some(origin) = headers.get(axum::http::header::ORIGIN) {
        let host = text("host").unwrap_or_default().to_ascii_lowercase();
        let origin = origin.to_str().unwrap_or("null").to_ascii_lowercase();
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or_default();
        if origin_host.is_empty() || origin_host != host {
            return Err(AppError::Forbidden(format!(
                "a request from {origin} may not change anything here"
            )));
        }
    }
    if !headers.contains_key(CLIENT_HEADER) {
        return Err(AppError::Forbidden(format!(
            "a state-changing request without a token must carry the `{CLIENT_HEADER}` header (the app sends it)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_lose_their_port_and_case() {
        assert_eq!(host_name("LocalHost:3000"), "localhost");
        assert_eq!(host_name("[::1]:3000"), "[::1]");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name("kxian.example.com:443"), "kxian.example.com");
        let c = AuthConfig {
            public_hosts: vec!["kxian.example.com".into()],
            ..AuthConfig::default()
        };
        assert!(c.host_allowed("localhost:8080") && c.host_allowed("KXIAN.example.com"));
        assert!(!c.host_allowed("evil.example:3000"));
        assert!(!c.host_allowed("127.0.0.1.evil.example"));
        assert!(!c.host_allowed("localhost.evil.example"));
    }

    #[test]
    fn the_session_cookie_is_secure_behind_https_and_clears_with_max_age_zero() {
        let plain = AuthConfig::default().session_cookie("ks_1", 60);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"), "{plain}");
        let tls = AuthConfig {
            secure_cookies: true,
            ..AuthConfig::default()
        };
        assert!(tls.session_cookie("ks_1", 60).ends_with("; Secure"));
        assert!(tls.session_cookie("", 0).contains("Max-Age=0"));
        assert!(new_session().starts_with("ks_") && new_token().starts_with("kx_"));
        assert_ne!(new_session(), new_session());
    }

    #[test]
    fn a_state_changing_request_must_come_from_the_app() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, v.parse().unwrap());
            }
            m
        };
        let app = [("host", "127.0.0.1:3000"), (CLIENT_HEADER, "app")];
        assert!(require_same_origin(&Method::POST, &h(&app)).is_ok());
        assert!(require_same_origin(&Method::GET, &h(&[])).is_ok());
        assert!(
            require_same_origin(&Method::POST, &h(&[("authorization", "Bearer kx_1")])).is_ok()
        );
        for bad in [
            vec![("host", "127.0.0.1:3000")],
            vec![
                ("host", "127.0.0.1:3000"),
                (CLIENT_HEADER, "app"),
                ("origin", "http://evil.example"),
            ],
            vec![
                ("host", "127.0.0.1:3000"),
                (CLIENT_HEADER, "app"),
                ("origin", "null"),
            ],
            vec![
                ("host", "127.0.0.1:3000"),
                (CLIENT_HEADER, "app"),
                ("sec-fetch-site", "cross-site"),
            ],
            vec![
                ("host", "127.0.0.1:3000"),
                (CLIENT_HEADER, "app"),
                ("origin", "http://127.0.0.1:8080"),
            ],
        ] {
            assert!(
                matches!(
                    require_same_origin(&Method::POST, &h(&bad)),
                    Err(AppError::Forbidden(_))
                ),
                "{bad:?}"
            );
        }
        let same = [
            ("host", "127.0.0.1:3000"),
            (CLIENT_HEADER, "app"),
            ("origin", "http://127.0.0.1:3000"),
            ("sec-fetch-site", "same-origin"),
        ];
        assert!(require_same_origin(&Method::DELETE, &h(&same)).is_ok());
    }
}
