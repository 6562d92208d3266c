//! What a fan's browser loads: the form page and the embed script. The page is only a host
//! for the script, so the form a fan sees is the same on our page and on a creator's site.
//! Both, and `manifest.json`, are the same for every fan, so they are versioned by the manifest
//! and this build (`Pages::version`) and cached at Cloudflare's edge and in browsers. The hub
//! answers them from the app's registered manifest, so no app Worker carries them.

use crate::platform::error::ApiResult;
use crate::platform::http::{conditional, escape_html, etag, html_page, json, query_param, with_content_type, FORM_PAGE_CSP, IMMUTABLE_CACHE, SHARED_CACHE};
use fanline_core::manifest::Manifest;
use serde_json::{json, Value};
use worker::{Request, Response};

// Minified from embed.js (scripts/minify-embed.mjs): a third fewer bytes on every fan's page load.
const EMBED_JS: &str = include_str!("embed.min.js");

/// A page of an app that every fan gets alike, answered by the hub from the app's registered
/// manifest (see `routes` in the hub): no app Worker carries the pages.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Page {
    Form,
    Embed,
    Script,
    Manifest,
}

impl Page {
    /// The page at this path under `/apps/<slug>/`, if it is one.
    pub fn at(rest: &[&str]) -> Option<Self> {
        Some(match rest {
            [] | ["index.html"] => Self::Form,
            ["embed"] => Self::Embed,
            ["embed.js"] => Self::Script,
            ["manifest.json"] => Self::Manifest,
            _ => return None,
        })
    }
}

/// An app's pages at one version: its manifest and the strong ETag that changes whenever the
/// manifest, the page or the script does.
pub struct Pages<'a> {
    manifest: &'a Manifest,
    etag: String,
}

impl<'a> Pages<'a> {
    /// `manifest_json` is the manifest's text as registered, `manifest` its parse.
    pub fn new(manifest_json: &str, manifest: &'a Manifest) -> Self {
        Self { manifest, etag: etag(&[manifest_json, EMBED_JS, PAGE_TEMPLATE_VERSION, env!("CARGO_PKG_VERSION")]) }
    }

    /// The version as a URL parameter (`embed.js?v=...`).
    pub fn version(&self) -> &str {
        self.etag.trim_matches('"')
    }

    /// `GET` of `page`: the page, or `304` when the caller holds this version.
    pub fn answer(&self, req: &Request, page: Page) -> ApiResult<Response> {
        let manifest = self.manifest;
        Ok(match page {
            Page::Form => conditional(req, &self.etag, SHARED_CACHE, || form_page(self)),
            Page::Embed => conditional(req, &self.etag, SHARED_CACHE, || embed_page(self)),
            Page::Script => {
                // The page asks for `embed.js?v=<version>`: that URL is this version's forever.
                let pinned = query_param(req, "v").is_some_and(|v| v == self.version());
                conditional(req, &self.etag, if pinned { IMMUTABLE_CACHE } else { SHARED_CACHE }, || embed_script(manifest))
            }
            Page::Manifest => conditional(req, &self.etag, SHARED_CACHE, || json(200, &public_manifest(manifest))),
        })
    }
}

/// Bumped when the page's HTML below changes (the script and manifest are hashed whole).
const PAGE_TEMPLATE_VERSION: &str = "form-page-3";

/// The manifest without its moderation rules: spammers should not read the block list.
pub fn public_manifest(manifest: &Manifest) -> Value {
    json!({
        "slug": manifest.slug,
        "title": manifest.title,
        "description": manifest.description,
        "fields": manifest.fields,
        "pricing": manifest.pricing,
        "auction": manifest.auction,
        // What the form needs to render, without the rules themselves.
        "form": {"honeypot_field": manifest.moderation.honeypot_field},
        "turnstile": manifest.turnstile,
    })
}

fn embed_script(manifest: &Manifest) -> Response {
    // JSON is valid JavaScript; `</` is escaped so the script can also be inlined in HTML.
    let data = public_manifest(manifest).to_string().replace("</", "<\\/");
    let mut response = with_content_type(EMBED_JS.replace("__FANLINE_MANIFEST__", &data), "text/javascript; charset=utf-8");
    let _ = response.headers_mut().set("Access-Control-Allow-Origin", "*");
    response
}

fn form_page(app: &Pages) -> Response {
    let manifest = app.manifest;
    let title = escape_html(&manifest.title);
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;background:#f4f4f8;margin:0;padding:2rem 1rem}}main{{max-width:34rem;margin:0 auto}}</style>
</head><body><main>
<script src="/apps/{slug}/embed.js?v={version}"></script>
<noscript>This form needs JavaScript. The API is at /apps/{slug}/api/requests.</noscript>
</main></body></html>"#,
        slug = manifest.slug,
        version = app.version()
    );
    html_page(html)
}

/// The form made to live in an iframe on a creator's site: a transparent page around the same
/// script, which tells its parent (and only the parent's own origin) its height and results.
/// Only the app's `embed.sites` may frame it (any site when the manifest names none).
fn embed_page(app: &Pages) -> Response {
    let manifest = app.manifest;
    let html = format!(
        r#"<!doctype html>
<html lang="en" data-fanline-frame=""><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>html,body{{background:transparent;margin:0}}main{{padding:4px}}</style>
</head><body><main>
<script src="/apps/{slug}/embed.js?v={version}"></script>
<noscript>This form needs JavaScript.</noscript>
</main></body></html>"#,
        title = escape_html(&manifest.title),
        slug = manifest.slug,
        version = app.version()
    );
    let mut response = with_content_type(html, "text/html; charset=utf-8");
    let csp = FORM_PAGE_CSP.replace("frame-ancestors 'none'", &format!("frame-ancestors {}", manifest.embed.frame_ancestors()));
    let _ = response.headers_mut().set("Content-Security-Policy", &csp);
    response
}
