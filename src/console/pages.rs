//! The console's pages: one HTML shell whose script draws everything from the creator API,
//! and the page an emailed sign-in link opens. No inline script anywhere, so the
//! Content-Security-Policy allows scripts from this origin only.

use fanline_edge::platform::error::ApiError;
use fanline_edge::platform::http::escape_html;
use fanline_edge::platform::http::{conditional, etag, query_param, with_content_type, IMMUTABLE_CACHE};
use worker::{Request, Response};

const SHELL: &str = include_str!("console.html");
const SCRIPT: &str = include_str!("console.js");
const STYLE: &str = include_str!("console.css");

pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn page(status: u16, html: String) -> Response {
    let mut response = with_content_type(html, "text/html; charset=utf-8").with_status(status);
    let headers = response.headers_mut();
    let _ = headers.set("Content-Security-Policy", CONSOLE_CSP);
    let _ = headers.set("Cache-Control", "no-store");
    // Not `no-referrer`: with it, browsers send `Origin: null` on the sign-in form's POST.
    let _ = headers.set("Referrer-Policy", "same-origin");
    response
}

/// The console shell, naming its script and style by version so a deploy is picked up at once.
pub fn console() -> Response {
    let html = SHELL.replace("{{script_version}}", version(SCRIPT).trim_matches('"')).replace("{{style_version}}", version(STYLE).trim_matches('"'));
    page(200, html)
}

fn version(text: &str) -> String {
    etag(&[text])
}

pub fn script(req: &Request) -> Response {
    conditional(req, &version(SCRIPT), IMMUTABLE_CACHE, || with_content_type(SCRIPT, "text/javascript; charset=utf-8"))
}

pub fn style(req: &Request) -> Response {
    conditional(req, &version(STYLE), IMMUTABLE_CACHE, || with_content_type(STYLE, "text/css; charset=utf-8"))
}

fn small(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/console/console.css?v={}\"></head><body><main class=\"narrow\"><h1>{title}</h1>{body}</main></body></html>",
        version(STYLE).trim_matches('"')
    )
}

/// A short page in the console's style saying how something the creator started ended (a
/// channel connection's return from Twitch or Google). `text` is HTML the caller escaped.
pub fn notice(title: &str, text: &str) -> Response {
    page(200, small(title, &format!("<p>{text}</p><p><a href=\"/console\">Back to the console</a></p>")))
}

/// `GET /console/signin?token=...`: a button that signs in (POST), so opening the link alone
/// (a mail scanner, a preview) never uses it up, and the address it signs in as, so a link
/// someone else asked for shows whose it is.
pub fn confirm_sign_in(req: &Request, address: &str) -> Response {
    let token = query_param(req, "token").unwrap_or_default();
    page(
        200,
        small(
            "Sign in to your console",
            &format!(
                "<form method=\"post\" action=\"/console/signin\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
                 <p>You opened a sign-in link for the Fanline creator console. It signs you in as <strong>{}</strong>.</p>\
                 <button type=\"submit\" id=\"confirm\">Sign in</button></form>",
                escape_html(&token),
                escape_html(address)
            ),
        ),
    )
}

pub fn sign_in_failed(error: &ApiError) -> Response {
    let message = match error {
        ApiError::BadRequest { message, .. } | ApiError::Forbidden { message, .. } => message.clone(),
        _ => "Signing in failed; try again.".to_string(),
    };
    page(
        error.status(),
        small("Sign-in failed", &format!("<p role=\"alert\">{}</p><p><a href=\"/console/\">Back to the console</a></p>", escape_html(&message))),
    )
}
