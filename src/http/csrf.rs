//! Cross-site request forgery on the pages: a form posted from another
//! site must change nothing, although the browser would send the
//! session cookie with it.
//!
//! Two checks on every page `POST` (the login form included), both before
//! the handler runs:
//!
//! - the browser's `Origin` header, when it sends one, names this site (and
//!   `Sec-Fetch-Site` does not say `cross-site`);
//! - the form carries the token of the `fuelcard_csrf` cookie (double
//!   submit): another site can make a browser send the cookie, but cannot
//!   read it to put it in the form.
//!
//! The token is written into every `method="post"` form of every page on
//! its way out, so the page code never handles it; a browser without the
//! cookie gets one with the page. The JSON API is not concerned: it
//! authenticates with a bearer token a browser never sends by itself.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::actions::App;

/// The cookie that holds the token.
pub const COOKIE: &str = "fuelcard_csrf";
/// The form field that repeats it.
pub const FIELD: &str = "csrf";
/// The largest page form read for its token (the pages' forms are small;
/// the server's body limit applies before this anyway).
const FORM_LIMIT: usize = 1 << 20;

fn fresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The token of the request's cookie, if it looks like one of ours.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    super::extract::cookie(headers, COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether the browser says the request comes from this very site: an
/// `Origin` naming the `Host` the request was sent to, and no
/// `Sec-Fetch-Site: cross-site`. A request without either header (an older
/// browser, a script) is left to the token.
fn same_site(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(
            "<!DOCTYPE html><meta charset=\"utf-8\"><title>403</title>\
             <p>此表单已失效或来自其他网站，未作任何更改。请刷新页面后重试。</p>\
             <p>This form has expired or came from another site; nothing was changed. \
             Reload the page and try again.</p>",
        ),
    )
        .into_response()
}

/// The middleware of the page routes.
pub async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let token = cookie_token(req.headers());
    let req = if req.method() == Method::GET || req.method() == Method::HEAD {
        req
    } else {
        if !same_site(req.headers()) {
            return refused();
        }
        let Some(expected) = token.as_deref() else {
            return refused();
        };
        let (parts, body) = req.into_parts();
        let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
            return refused();
        };
        let sent = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == FIELD)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
            return refused();
        }
        Request::from_parts(parts, Body::from(bytes))
    };
    let (token, fresh) = match token {
        Some(t) => (t, false),
        None => (fresh_token(), true),
    };
    let response = next.run(req).await;
    let mut response = with_token_in_forms(response, &token).await;
    if fresh {
        let secure = super::extract::secure_attribute(&app.settings);
        let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// An HTML page with the token in each of its `POST` forms.
async fn with_token_in_forms(response: Response, token: &str) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let page = String::from_utf8_lossy(&bytes);
    let out = insert_token(&page, token);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

/// Inserts the hidden token field right after each `<form …>` tag whose
/// method is post.
pub fn insert_token(page: &str, token: &str) -> String {
    let field = format!("<input type=\"hidden\" name=\"{FIELD}\" value=\"{token}\">");
    let mut out = String::with_capacity(page.len() + 256);
    let mut rest = page;
    while let Some(start) = rest.find("<form") {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag_end = start + end + 1;
        out.push_str(&rest[..tag_end]);
        if rest[start..tag_end]
            .to_ascii_lowercase()
            .contains("method=\"post\"")
        {
            out.push_str(&field);
        }
        rest = &rest[tag_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_into_post_forms_only() {
        let page = "<form method=\"post\" action=\"/x\"><input name=\"a\"></form>\
                    <form action=\"/search\"><input name=\"q\"></form>";
        let out = insert_token(page, "abc");
        assert_eq!(out.matches("name=\"csrf\" value=\"abc\"").count(), 1);
        assert!(out.starts_with(
            "<form method=\"post\" action=\"/x\"><input type=\"hidden\" name=\"csrf\" value=\"abc\">"
        ));
    }

    #[test]
    fn another_origin_is_another_site() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_site(&h), "no Origin: left to the token");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_site(&h));
    }
}
