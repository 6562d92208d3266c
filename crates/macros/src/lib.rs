//! `bake_manifest!(<path to fanline_core>, "<file>")`: reads the app's manifest (relative to
//! the crate being compiled), checks it like `fanline check` does and expands to a function
//! returning the `Manifest` as a value. A manifest with problems is a compile error listing
//! them. Apps use it through `fanline_edge::manifest!()`, which passes its own path to
//! `fanline_core`. Runs on the build machine only: nothing of it reaches a Worker.

use fanline_core::manifest::{bake, Manifest};
use proc_macro::{Delimiter, Group, TokenStream, TokenTree};

/// Stands for the caller's path to `fanline_core` in the generated source until it is parsed.
const KRATE: &str = "__fanline_core_path";

#[proc_macro]
pub fn bake_manifest(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(out) => out,
        Err(message) => format!("::core::compile_error!({message:?})").parse().unwrap_or_default(),
    }
}

fn expand(input: TokenStream) -> Result<TokenStream, String> {
    let usage = "usage: bake_manifest!(<path to fanline_core>, \"manifest.json\")";
    let tokens: Vec<TokenTree> = input.into_iter().collect();
    let comma = tokens.iter().rposition(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')).ok_or(usage)?;
    let krate: TokenStream = tokens[..comma].iter().cloned().collect();
    // A literal passed on by `macro_rules!` arrives wrapped in an invisible group.
    let file = match &tokens[comma + 1..] {
        [TokenTree::Literal(file)] => file.to_string(),
        [TokenTree::Group(g)] if g.delimiter() == Delimiter::None => g.stream().to_string(),
        _ => return Err(usage.into()),
    };
    let file = file.strip_prefix('"').and_then(|f| f.strip_suffix('"')).ok_or(usage)?;

    let dir = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| "CARGO_MANIFEST_DIR is not set: build the app with cargo".to_string())?;
    let path = std::path::Path::new(&dir).join(file);
    let json = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let manifest = Manifest::parse_all(&json).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        format!("{} has problems (see `scripts/fanline check`):\n{}", path.display(), list.join("\n"))
    })?;
    // `include_str!` of the file makes cargo rebuild the app when its manifest changes; the
    // constant is never used, so the text does not reach the Worker.
    let source = format!("{{ const _: &str = ::core::include_str!({:?}); {} baked }}", path.display().to_string(), bake::function(&manifest, "baked", KRATE));
    let generated: TokenStream = source.parse().map_err(|e| format!("baked manifest does not parse: {e:?}"))?;
    Ok(substitute(generated, &krate))
}

/// The generated source with every `KRATE` placeholder replaced by the caller's tokens (which
/// may be `$crate::...`, only expressible as tokens).
fn substitute(stream: TokenStream, krate: &TokenStream) -> TokenStream {
    stream
        .into_iter()
        .flat_map(|tree| -> Vec<TokenTree> {
            match tree {
                TokenTree::Ident(ref i) if i.to_string() == KRATE => krate.clone().into_iter().collect(),
                TokenTree::Group(g) => {
                    let mut group = Group::new(g.delimiter(), substitute(g.stream(), krate));
                    group.set_span(g.span());
                    vec![TokenTree::Group(group)]
                }
                other => vec![other],
            }
        })
        .collect()
}
