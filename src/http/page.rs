//! The plain HTML page a browser gets at a credential's URL. Every value
//! taken from the credential is escaped: a hostile value cannot add markup.

use serde_json::Value;
use std::fmt::Write;

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The learner's name as issued: the unhashed `name` identifier.
fn learner_name(credential: &Value) -> Option<&str> {
    credential.pointer("/credentialSubject/identifier")?.as_array()?.iter().find_map(|identifier| {
        (identifier.get("identityType").and_then(Value::as_str) == Some("name")
            && identifier.get("hashed").and_then(Value::as_bool) == Some(false))
        .then(|| identifier.get("identityHash").and_then(Value::as_str))
        .flatten()
    })
}

/// What zegel recorded about a credential after issuing it, as the page
/// states it (the status lists say the same to verifiers).
#[derive(Debug, Clone, Default)]
pub struct PageStatus {
    pub revoked: Option<(String, Option<String>)>,
    pub suspended: Option<(String, Option<String>)>,
    /// The URL of the credential that replaced this one.
    pub superseded_by: Option<String>,
}

impl PageStatus {
    /// The notice shown above the credential, if anything happened to it.
    fn notice(&self) -> Option<String> {
        let reason = |r: &Option<String>| r.as_deref().map(|r| format!(" Reason: {}", escape(r))).unwrap_or_default();
        let replaced = self
            .superseded_by
            .as_deref()
            .map(|u| format!(r#" It was replaced by <a href="{0}">a newer credential</a>."#, escape(u)))
            .unwrap_or_default();
        if let Some((at, why)) = &self.revoked {
            if self.superseded_by.is_some() {
                return Some(format!("This credential was replaced on {}.{replaced}", escape(at)));
            }
            return Some(format!("This credential was revoked by its issuer on {}.{}", escape(at), reason(why)));
        }
        self.suspended
            .as_ref()
            .map(|(at, why)| format!("This credential is suspended by its issuer since {}.{}", escape(at), reason(why)))
    }
}

pub fn credential_page(credential: &Value, url: &str, status: &PageStatus) -> String {
    let achievement = text(credential, "/credentialSubject/achievement/name")
        .or_else(|| text(credential, "/name"))
        .unwrap_or("Open Badge");
    let mut facts: Vec<(&str, String)> = Vec::new();
    if let Some(name) = learner_name(credential) {
        facts.push(("Awarded to", escape(name)));
    }
    if let Some(issuer) = text(credential, "/issuer/name") {
        facts.push(("Issued by", escape(issuer)));
    }
    if let Some(id) = text(credential, "/issuer/id") {
        facts.push(("Issuer id", format!("<code>{}</code>", escape(id))));
    }
    if let Some(ects) = credential.pointer("/credentialSubject/achievement/ECTS") {
        facts.push(("Study load", format!("{} EC", escape(&ects.to_string()))));
    }
    if let Some(alignments) = credential.pointer("/credentialSubject/achievement/alignment").and_then(Value::as_array) {
        for alignment in alignments {
            if alignment.get("targetType").and_then(Value::as_str) == Some("ext:EQF")
                && let Some(level) = alignment.get("targetCode").and_then(Value::as_str)
            {
                facts.push(("EQF level", escape(level)));
            }
        }
    }
    if let Some(from) = text(credential, "/validFrom") {
        facts.push(("Issued on", escape(from)));
    }
    if let Some(until) = text(credential, "/validUntil") {
        facts.push(("Valid until", escape(until)));
    }
    let description = text(credential, "/credentialSubject/achievement/description").unwrap_or_default();
    let mut rows = String::new();
    for (label, value) in &facts {
        let _ = write!(rows, "<dt>{label}</dt><dd>{value}</dd>");
    }
    let url = escape(url);
    let title = escape(achievement);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta property="og:title" content="{title}">
<meta property="og:type" content="website">
<meta property="og:url" content="{url}">
<link rel="alternate" type="application/vc+ld+json" href="{url}.json">
<link rel="alternate" type="application/vc+jwt" href="{url}.jwt">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; line-height: 1.5; }}
dt {{ font-weight: 600; }} dd {{ margin: 0 0 .75rem 0; }} code {{ word-break: break-all; }}
a {{ color: #0b57d0; }}
</style>
</head>
<body>
<main>
{notice}<h1>{title}</h1>
<p>{description}</p>
<dl>{rows}</dl>
<p>This is an Open Badges 3.0 credential, signed by its issuer. Download it as
<a href="{url}.json">JSON-LD</a> or as a <a href="{url}.jwt">VC-JWT</a>; any Open Badges 3.0 verifier can check it.</p>
</main>
</body>
</html>
"#,
        description = escape(description),
        notice = status
            .notice()
            .map(|n| format!("<p role=\"alert\" style=\"border:2px solid #b3261e;padding:.75rem;color:#b3261e\"><strong>{n}</strong></p>\n"))
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hostile_values_are_escaped() {
        let credential = json!({
            "name": "x",
            "issuer": {"id": "did:key:z6Mk\"><script>", "name": "<img src=x onerror=alert(1)>"},
            "credentialSubject": {
                "identifier": [{"type": "IdentityObject", "hashed": false, "identityType": "name", "identityHash": "Sam </dd><script>alert(1)</script>"}],
                "achievement": {"name": "</title><script>alert(1)</script>", "description": "a & b"}
            }
        });
        let status = PageStatus {
            revoked: None,
            suspended: Some(("2026-12-01".into(), Some("<script>alert(2)</script>".into()))),
            superseded_by: None,
        };
        let page = credential_page(&credential, "https://badges.example.edu/credentials/1\"><x", &status);
        assert!(page.contains("suspended by its issuer since 2026-12-01. Reason: &lt;script&gt;"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;/title&gt;&lt;script&gt;"));
        assert!(page.contains("Sam &lt;/dd&gt;&lt;script&gt;"));
        assert!(page.contains("a &amp; b"));
        assert!(page.contains("credentials/1&quot;&gt;&lt;x.json"));
    }

    #[test]
    fn a_replaced_credential_links_to_its_successor_and_a_clean_one_has_no_notice() {
        let credential = json!({"name": "x"});
        let replaced = PageStatus {
            revoked: Some(("2026-12-02".into(), Some("superseded by 2".into()))),
            suspended: None,
            superseded_by: Some("https://badges.example.edu/credentials/2".into()),
        };
        let page = credential_page(&credential, "https://badges.example.edu/credentials/1", &replaced);
        assert!(page.contains(r#"replaced by <a href="https://badges.example.edu/credentials/2">"#), "{page}");
        let page = credential_page(&credential, "https://badges.example.edu/credentials/1", &PageStatus::default());
        assert!(!page.contains("role=\"alert\""), "{page}");
    }
}
