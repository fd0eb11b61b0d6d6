//! The patterns a policy writes: shell-style `*` for images, packages, URLs and names, and
//! path patterns (`*` within a directory, `**` across) for configs. Compiled once, anchored.

use regex::Regex;

/// A pattern and the text it was written as, for messages.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    regex: Regex,
}

impl Pattern {
    /// `*` is any run of characters; everything else is literal.
    pub fn glob(text: &str) -> Result<Pattern, String> {
        let body: Vec<String> = text.split('*').map(regex::escape).collect();
        compile(text, &format!("^{}$", body.join(".*")))
    }

    /// A path pattern: `**` any number of directories, `*` and `?` within one; `/` separates.
    pub fn path(text: &str) -> Result<Pattern, String> {
        let normal = text.trim_start_matches("./");
        let mut out = String::from("^");
        let mut rest = normal;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("**/") {
                out.push_str("(?:.*/)?");
                rest = after;
            } else if let Some(after) = rest.strip_prefix("**") {
                out.push_str(".*");
                rest = after;
            } else if let Some(after) = rest.strip_prefix('*') {
                out.push_str("[^/]*");
                rest = after;
            } else if let Some(after) = rest.strip_prefix('?') {
                out.push_str("[^/]");
                rest = after;
            } else {
                let c = rest.chars().next().unwrap_or_default();
                out.push_str(&regex::escape(&c.to_string()));
                rest = &rest[c.len_utf8()..];
            }
        }
        out.push('$');
        compile(text, &out)
    }

    pub fn matches(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// Whether an image reference matches: as written, without its digest, or as a bare name
    /// (no tag, no digest), each also with Docker Hub's implicit `docker.io/` spelt out.
    pub fn matches_image(&self, image: &str) -> bool {
        let without_digest = image.split('@').next().unwrap_or(image);
        let name = image_name(image);
        [image, without_digest, name]
            .into_iter()
            .any(|form| self.matches(form) || self.matches(&docker_hub_form(form)))
    }
}

fn compile(text: &str, regex: &str) -> Result<Pattern, String> {
    Regex::new(regex)
        .map(|regex| Pattern {
            text: text.to_string(),
            regex,
        })
        .map_err(|e| format!("pattern `{text}` does not compile: {e}"))
}

/// An image without its tag and digest: `ghcr.io/org/x:1@sha256:…` → `ghcr.io/org/x`.
pub fn image_name(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].find(':') {
        Some(colon) => &name[..slash + colon],
        None => name,
    }
}

/// The digest an image reference pins, if any: `x@sha256:…` → `sha256:…`.
pub fn image_digest(image: &str) -> Option<&str> {
    image.split_once('@').map(|(_, digest)| digest)
}

/// A reference as Docker reads a name without a registry: `mcp/fetch` is
/// `docker.io/mcp/fetch`, `alpine` is `docker.io/library/alpine`.
fn docker_hub_form(image: &str) -> String {
    let first = image.split('/').next().unwrap_or(image);
    let has_registry =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_registry {
        image.to_string()
    } else if image.contains('/') {
        format!("docker.io/{image}")
    } else {
        format!("docker.io/library/{image}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_match_with_and_without_tag_digest_and_registry() {
        let p = Pattern::glob("ghcr.io/acme/*").unwrap();
        assert!(p.matches_image("ghcr.io/acme/tools:1@sha256:00"));
        assert!(!p.matches_image("ghcr.io/evil/tools"));
        let hub = Pattern::glob("docker.io/mcp/*").unwrap();
        assert!(hub.matches_image("mcp/fetch:1.0"));
        let exact = Pattern::glob("mcp/fetch:1.0").unwrap();
        assert!(exact.matches_image("mcp/fetch:1.0@sha256:00"));
        assert!(!exact.matches_image("mcp/fetch:2.0"));
        assert_eq!(image_digest("a/b@sha256:00"), Some("sha256:00"));
    }

    #[test]
    fn paths_match_by_directory() {
        let p = Pattern::path("agents/support/**").unwrap();
        assert!(p.matches("agents/support/.vscode/mcp.json"));
        assert!(!p.matches("agents/sales/mcp.json"));
        let any = Pattern::path("**/.vscode/mcp.json").unwrap();
        assert!(any.matches(".vscode/mcp.json"));
        assert!(any.matches("a/b/.vscode/mcp.json"));
        let one = Pattern::path("agents/*/mcp.json").unwrap();
        assert!(one.matches("agents/x/mcp.json"));
        assert!(!one.matches("agents/x/y/mcp.json"));
    }
}
