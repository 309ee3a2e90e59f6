//! The HTML pages people see: a credential at its URL, with a verdict anyone
//! understands at a glance, and the report of `/verify`. Pages are pure
//! functions of what the handler gathered (credential, verification report,
//! recorded status, language, URLs), so they are tested without a server.
//!
//! Every value taken from a credential or a report is escaped, in text and in
//! attributes alike, and only `http(s)` URLs become links: a hostile
//! credential cannot add markup or script. The Content-Security-Policy sent
//! with the pages allows only the style and script written here (by hash).

use crate::domain::microcredential::{AssessmentType, ParticipationType, SupervisionType};
use crate::verification::{CheckKind, InvalidCode, Outcome, Report, Verdict};
use base64::Engine as _;
use serde_json::Value;
use sha2::Digest as _;
use std::fmt::Write;
use std::sync::LazyLock;

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

/// `url` when it is an absolute http(s) URL without spaces or control
/// characters: the only URLs taken from a credential that become links
/// (never `javascript:`, `data:` and the like).
pub fn safe_url(url: &str) -> Option<&str> {
    let lower = url.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    let http = lower.starts_with("https://") || lower.starts_with("http://");
    (http && url.len() > 8 && !url.chars().any(|c| c.is_whitespace() || c.is_control())).then_some(url)
}

/// A link to `url` labelled `label` (escaped), or the label alone when the
/// URL is not a safe http(s) URL.
fn link(url: &str, label: &str) -> String {
    match safe_url(url) {
        Some(url) => format!(r#"<a href="{}">{}</a>"#, escape(url), escape(label)),
        None => escape(label),
    }
}

// ---------------------------------------------------------------------------
// Language
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Nl,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
        }
    }

    fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("nl") {
            Some(Lang::Nl)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The page language: `?lang=` when it names one zegel has, else the
    /// `Accept-Language` range of highest quality zegel has (the first
    /// named wins a tie, `q=0` rules out), else English.
    pub fn negotiate(query: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = query.and_then(Lang::parse) {
            return lang;
        }
        let mut best: Option<(f32, Lang)> = None;
        for item in accept_language.unwrap_or_default().split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else { continue };
            let mut q = 1.0_f32;
            for parameter in parts {
                if let Some((name, value)) = parameter.split_once('=')
                    && name.trim().eq_ignore_ascii_case("q")
                {
                    q = value.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0);
                }
            }
            if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    /// `en` or `nl` text.
    fn t(self, en: &'static str, nl: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Nl => nl,
        }
    }
}

/// The `lang` query parameter of a query string, if any.
pub fn lang_query(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| pair.strip_prefix("lang="))
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// "30 June 2026" / "30 juni 2026" for a date or date-time; anything else
/// as it is (escaped by the caller).
fn date(raw: &str, lang: Lang) -> String {
    use chrono::Datelike as _;
    let day = chrono::DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&chrono::Utc).date_naive())
        .ok()
        .or_else(|| chrono::NaiveDate::parse_from_str(raw.get(..10).unwrap_or(raw), "%Y-%m-%d").ok());
    match day {
        Some(d) => {
            let months = if lang == Lang::Nl { MONTHS_NL } else { MONTHS_EN };
            format!("{} {} {}", d.day(), months[d.month0() as usize], d.year())
        }
        None => raw.to_owned(),
    }
}

// ---------------------------------------------------------------------------
// Layout, style and the security policy
// ---------------------------------------------------------------------------

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1a1a1a; background: #f6f7f9; line-height: 1.5; font-size: 1.0625rem; }
header.top, main, footer { max-width: 48rem; margin: 0 auto; padding: 0 1rem; }
header.top { display: flex; justify-content: space-between; align-items: center; padding-top: 1rem; gap: 1rem; flex-wrap: wrap; }
header.top .brand { font-weight: 700; color: #1a1a1a; text-decoration: none; }
nav.lang a { margin-left: .5rem; }
nav.lang a[aria-current] { font-weight: 700; color: #1a1a1a; text-decoration: none; }
a { color: #0b57d0; }
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible, summary:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
.card { background: #fff; border: 1px solid #d0d4da; border-radius: .5rem; padding: 1rem 1.25rem; margin: 1rem 0; }
.badge { display: flex; gap: 1.25rem; align-items: flex-start; flex-wrap: wrap; }
.badge img { width: 8rem; height: 8rem; object-fit: contain; flex: none; }
.badge .intro { flex: 1 1 16rem; min-width: 0; }
h1 { font-size: 1.75rem; line-height: 1.2; margin: .25rem 0 .5rem; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 0 0 .75rem; }
.verdict { border-width: 2px; border-style: solid; }
.verdict h2 { font-size: 1.375rem; margin: 0 0 .25rem; }
.verdict p { margin: .25rem 0; }
.valid { background: #e6f4ea; border-color: #137333; color: #0d4f22; }
.invalid { background: #fce8e6; border-color: #a50e0e; color: #7a0a0a; }
.unknown { background: #fef7e0; border-color: #8a5a00; color: #5c3c00; }
.verdict a { color: inherit; font-weight: 600; }
.mark { font-size: 1.5rem; margin-right: .375rem; }
dl { display: grid; grid-template-columns: minmax(9rem, 14rem) 1fr; gap: .375rem 1rem; margin: 0; }
dt { font-weight: 600; color: #3c4043; }
dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 34rem) { dl { grid-template-columns: 1fr; } dd { margin-bottom: .5rem; } }
code { font-size: .9em; overflow-wrap: anywhere; }
ul { margin: 0; padding-left: 1.25rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .375rem .5rem; border-top: 1px solid #d0d4da; overflow-wrap: anywhere; }
.outcome-passed { color: #0d4f22; font-weight: 600; }
.outcome-failed { color: #7a0a0a; font-weight: 600; }
.outcome-other { color: #5c3c00; font-weight: 600; }
.downloads { display: flex; flex-wrap: wrap; gap: .5rem; padding: 0; list-style: none; }
.downloads a, button { display: inline-block; padding: .5rem .875rem; border: 1px solid #0b57d0; border-radius: .375rem; background: #fff; color: #0b57d0; font: inherit; text-decoration: none; cursor: pointer; }
button.primary { background: #0b57d0; color: #fff; }
.share { display: flex; gap: .5rem; flex-wrap: wrap; }
.share input { flex: 1 1 16rem; min-width: 0; padding: .5rem; font: inherit; border: 1px solid #5f6368; border-radius: .375rem; }
textarea { width: 100%; min-height: 10rem; font-family: ui-monospace, monospace; font-size: .9rem; padding: .5rem; border: 1px solid #5f6368; border-radius: .375rem; }
label { font-weight: 600; display: block; margin: .75rem 0 .25rem; }
.muted { color: #5f6368; }
footer { padding-bottom: 2rem; color: #5f6368; font-size: .9375rem; }
summary h2 { display: inline; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
"#;

/// "Copy link": the only script, optional (the link is shown either way).
const SCRIPT: &str = r#"
(function () {
  var button = document.getElementById("copy-link");
  var input = document.getElementById("share-url");
  if (!button || !input || !navigator.clipboard) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(input.value).then(function () {
      button.textContent = button.getAttribute("data-done");
    });
  });
})();
"#;

fn sha256_source(text: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes())))
}

static POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; img-src 'self' data:; style-src {}; script-src {}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        sha256_source(STYLE),
        sha256_source(SCRIPT)
    )
});

/// The Content-Security-Policy for zegel's pages: nothing but zegel's own
/// images, and the style and script above (by hash); forms post to zegel.
pub fn content_security_policy() -> &'static str {
    POLICY.as_str()
}

/// The page around `body`. `head` is extra, already safe markup;
/// `switch` is the page's own URL without query, for the language switch.
fn layout(lang: Lang, title: &str, head: &str, switch: &str, body: &str, footer: &str) -> String {
    let other = |l: Lang, label: &str| {
        let current = if l == lang { r#" aria-current="true""# } else { "" };
        format!(
            r#"<a href="{}?lang={}" hreflang="{}" lang="{}"{current}>{label}</a>"#,
            escape(switch),
            l.code(),
            l.code(),
            l.code()
        )
    };
    format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{head}<style>{STYLE}</style>
</head>
<body>
<header class="top"><span class="brand">zegel</span><nav class="lang" aria-label="{language}">{en} {nl}</nav></header>
<main>
{body}
</main>
<footer><p>{footer}</p></footer>
<script>{SCRIPT}</script>
</body>
</html>
"#,
        lang = lang.code(),
        title = escape(title),
        language = lang.t("Language", "Taal"),
        en = other(Lang::En, "English"),
        nl = other(Lang::Nl, "Nederlands"),
    )
}

// ---------------------------------------------------------------------------
// The verdict
// ---------------------------------------------------------------------------

/// What zegel recorded about a credential after issuing it, as the page
/// states it (the status lists say the same to verifiers).
#[derive(Debug, Clone, Default)]
pub struct PageStatus {
    /// (date, recorded reason)
    pub revoked: Option<(String, Option<String>)>,
    pub suspended: Option<(String, Option<String>)>,
    /// The URL of the credential that replaced this one.
    pub superseded_by: Option<String>,
}

/// The verdict as the page states it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    Valid,
    Superseded { at: Option<String>, by: String, reason: Option<String> },
    Revoked { at: Option<String>, reason: Option<String> },
    Suspended { at: Option<String>, reason: Option<String> },
    Expired { on: Option<String> },
    NotYetValid { from: Option<String> },
    Invalid { reason: String },
    Unknown { reason: String },
}

/// The recorded status first (it is never behind a change, whereas a
/// published list may be by the publish delay), then the verifier's verdict.
fn shown(report: &Report, status: &PageStatus) -> Shown {
    if let Some(by) = &status.superseded_by {
        let (at, reason) = status.revoked.clone().unzip();
        return Shown::Superseded { at, by: by.clone(), reason: reason.flatten() };
    }
    if let Some((at, reason)) = &status.revoked {
        return Shown::Revoked { at: Some(at.clone()), reason: reason.clone() };
    }
    if let Some((at, reason)) = &status.suspended {
        return Shown::Suspended { at: Some(at.clone()), reason: reason.clone() };
    }
    let summary = report.credential.as_ref();
    match &report.verdict {
        Verdict::Valid => Shown::Valid,
        Verdict::Invalid { code: InvalidCode::Revoked, reason } => {
            Shown::Revoked { at: None, reason: Some(reason.clone()) }
        }
        Verdict::Invalid { code: InvalidCode::Suspended, reason } => {
            Shown::Suspended { at: None, reason: Some(reason.clone()) }
        }
        Verdict::Invalid { code: InvalidCode::Expired, .. } => {
            Shown::Expired { on: summary.and_then(|s| s.valid_until.clone()) }
        }
        Verdict::Invalid { code: InvalidCode::NotYetValid, .. } => {
            Shown::NotYetValid { from: summary.and_then(|s| s.valid_from.clone()) }
        }
        Verdict::Invalid { reason, .. } => Shown::Invalid { reason: reason.clone() },
        Verdict::Indeterminate { reason } => Shown::Unknown { reason: reason.clone() },
    }
}

/// The verdict box: a class for its colour, a mark, a headline and what it
/// means, in plain words.
fn verdict_box(shown: &Shown, lang: Lang) -> String {
    let on =
        |at: &Option<String>| at.as_deref().map(|at| format!(" ({})", escape(&date(at, lang)))).unwrap_or_default();
    let reason = |reason: &Option<String>| {
        reason.as_deref().map(|r| format!("<p>{} {}</p>", lang.t("Reason:", "Reden:"), escape(r))).unwrap_or_default()
    };
    let (class, mark, headline, detail) = match shown {
        Shown::Valid => (
            "valid",
            "✓",
            lang.t("Valid", "Geldig").to_owned(),
            format!(
                "<p>{}</p>",
                lang.t(
                    "The signature is genuine, the issuer's key checks out, and the issuer has not revoked or suspended this credential.",
                    "De handtekening is echt, de sleutel van de uitgever klopt, en de uitgever heeft dit credential niet ingetrokken of geschorst."
                )
            ),
        ),
        Shown::Superseded { at, by, reason: why } => (
            "invalid",
            "✗",
            format!("{}{}", lang.t("Replaced by a newer credential", "Vervangen door een nieuwer credential"), on(at)),
            format!(
                "<p>{} {}.</p>{}",
                lang.t(
                    "The issuer replaced this credential; it is no longer valid. See",
                    "De uitgever heeft dit credential vervangen; het is niet meer geldig. Zie"
                ),
                link(by, lang.t("the newer credential", "het nieuwe credential")),
                reason(why)
            ),
        ),
        Shown::Revoked { at, reason: why } => (
            "invalid",
            "✗",
            format!("{}{}", lang.t("Revoked", "Ingetrokken"), on(at)),
            format!(
                "<p>{}</p>{}",
                lang.t(
                    "The issuer has withdrawn this credential: it is no longer valid.",
                    "De uitgever heeft dit credential ingetrokken: het is niet meer geldig."
                ),
                reason(why)
            ),
        ),
        Shown::Suspended { at, reason: why } => (
            "invalid",
            "!",
            format!("{}{}", lang.t("Suspended", "Geschorst"), on(at)),
            format!(
                "<p>{}</p>{}",
                lang.t(
                    "The issuer has suspended this credential for now: do not rely on it until the suspension is lifted.",
                    "De uitgever heeft dit credential voorlopig geschorst: vertrouw er niet op tot de schorsing is opgeheven."
                ),
                reason(why)
            ),
        ),
        Shown::Expired { on: until } => (
            "invalid",
            "✗",
            format!("{}{}", lang.t("Expired", "Verlopen"), on(until)),
            format!(
                "<p>{}</p>",
                lang.t(
                    "This credential was valid for a limited time only, and that time has passed.",
                    "Dit credential was beperkt geldig, en die periode is voorbij."
                )
            ),
        ),
        Shown::NotYetValid { from } => (
            "invalid",
            "✗",
            format!("{}{}", lang.t("Not yet valid", "Nog niet geldig"), on(from)),
            format!("<p>{}</p>", lang.t("This credential is only valid from a later date.", "Dit credential is pas later geldig.")),
        ),
        Shown::Invalid { reason: why } => (
            "invalid",
            "✗",
            lang.t("Not valid", "Niet geldig").to_owned(),
            format!(
                "<p>{}</p><p>{} {}</p>",
                lang.t(
                    "This credential did not pass verification: do not trust it.",
                    "Dit credential is niet door de controle gekomen: vertrouw het niet."
                ),
                lang.t("What failed:", "Wat niet klopt:"),
                escape(why)
            ),
        ),
        Shown::Unknown { reason: why } => (
            "unknown",
            "?",
            lang.t("Could not be checked", "Kon niet worden gecontroleerd").to_owned(),
            format!(
                "<p>{}</p><p>{} {}</p>",
                lang.t(
                    "Nothing wrong was found, but not everything could be checked, so this is no confirmation.",
                    "Er is niets fouts gevonden, maar niet alles kon worden gecontroleerd; dit is dus geen bevestiging."
                ),
                lang.t("Not checked:", "Niet gecontroleerd:"),
                escape(why)
            ),
        ),
    };
    format!(
        r#"<section class="card verdict {class}" aria-labelledby="verdict"><h2 id="verdict"><span class="mark" aria-hidden="true">{mark}</span>{headline}</h2>{detail}</section>"#
    )
}

/// The individual checks, in a collapsible details section (open when
/// something is wrong, so the reader sees what).
fn checks_section(report: &Report, lang: Lang, open: bool) -> String {
    let label = |kind: CheckKind| match kind {
        CheckKind::Format => lang.t("Format", "Formaat"),
        CheckKind::Context => lang.t("Vocabulary (JSON-LD context)", "Woordenschat (JSON-LD-context)"),
        CheckKind::Type => lang.t("Credential type", "Soort credential"),
        CheckKind::Terms => lang.t("Defined terms", "Gedefinieerde termen"),
        CheckKind::Schema => lang.t("Schema (1EdTech Open Badges 3.0)", "Schema (1EdTech Open Badges 3.0)"),
        CheckKind::Issuer => lang.t("Issuer's key", "Sleutel van de uitgever"),
        CheckKind::Proof => lang.t("Signature", "Handtekening"),
        CheckKind::ValidFrom => lang.t("Valid from", "Geldig vanaf"),
        CheckKind::ValidUntil => lang.t("Valid until", "Geldig tot"),
        CheckKind::Status => lang.t("Revocation and suspension", "Intrekking en schorsing"),
        CheckKind::Endorsements => lang.t("Endorsements", "Aanbevelingen"),
        CheckKind::Holder => lang.t("Holder", "Houder"),
        CheckKind::Credentials => lang.t("Credentials presented", "Getoonde credentials"),
    };
    let outcome = |outcome: Outcome| match outcome {
        Outcome::Passed => ("outcome-passed", lang.t("passed", "in orde")),
        Outcome::Failed => ("outcome-failed", lang.t("failed", "afgekeurd")),
        Outcome::Indeterminate => ("outcome-other", lang.t("could not check", "niet te controleren")),
        Outcome::Warning => ("outcome-other", lang.t("passed, with a note", "in orde, met een kanttekening")),
        Outcome::Skipped => ("outcome-other", lang.t("not applicable", "niet van toepassing")),
    };
    let mut rows = String::new();
    for check in &report.checks {
        let (class, text) = outcome(check.outcome);
        let _ = write!(
            rows,
            r#"<tr><th scope="row">{}</th><td class="{class}">{text}</td><td>{}</td></tr>"#,
            label(check.check),
            escape(&check.message)
        );
    }
    let mut warnings = String::new();
    if !report.warnings.is_empty() {
        let items: String = report.warnings.iter().map(|w| format!("<li>{}</li>", escape(w))).collect();
        warnings = format!("<h3>{}</h3><ul>{items}</ul>", lang.t("Notes", "Kanttekeningen"));
    }
    format!(
        r#"<section class="card" aria-labelledby="checks"><details{open}><summary><h2 id="checks">{title}</h2></summary>
<p class="muted">{intro}</p>
<table><thead><tr><th scope="col">{check}</th><th scope="col">{result}</th><th scope="col">{details}</th></tr></thead><tbody>{rows}</tbody></table>{warnings}</details></section>"#,
        title = lang.t("How this was checked", "Hoe dit is gecontroleerd"),
        intro = lang.t(
            "The details of the verification, for experts (the technical messages are in English).",
            "De details van de controle, voor deskundigen (de technische meldingen zijn in het Engels)."
        ),
        check = lang.t("Check", "Controle"),
        result = lang.t("Result", "Uitkomst"),
        details = lang.t("Details", "Details"),
        open = if open { " open" } else { "" },
    )
}

// ---------------------------------------------------------------------------
// The credential's content
// ---------------------------------------------------------------------------

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

/// A string, a number, or an array of them, as strings.
fn strings(value: Option<&Value>) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(v) => one(v).into_iter().collect(),
        None => Vec::new(),
    }
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

/// The alignments of the achievement with `target_type`.
fn alignments<'a>(achievement: &'a Value, target_type: Option<&str>) -> Vec<&'a Value> {
    achievement
        .get("alignment")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter().filter(|a| a.get("targetType").and_then(Value::as_str) == target_type).collect::<Vec<_>>()
        })
        .unwrap_or_default()
}

/// A list of (label, already safe HTML) rows as a definition list.
fn facts(rows: &[(&str, String)]) -> String {
    let mut out = String::from("<dl>");
    for (label, value) in rows {
        let _ = write!(out, "<dt>{label}</dt><dd>{value}</dd>");
    }
    out.push_str("</dl>");
    out
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => escape(one),
        many => format!("<ul>{}</ul>", many.iter().map(|i| format!("<li>{}</li>", escape(i))).collect::<String>()),
    }
}

fn yes_no(value: bool, lang: Lang) -> &'static str {
    if value { lang.t("yes", "ja") } else { lang.t("no", "nee") }
}

/// A vocabulary value in words, or as written when zegel does not know it.
fn labelled(raw: &str, lang: Lang) -> String {
    let pick = |en: &'static str, nl: &'static str| lang.t(en, nl).to_owned();
    if let Ok(t) = AssessmentType::parse(raw) {
        return pick(t.label_en(), t.label_nl());
    }
    if let Ok(t) = ParticipationType::parse(raw) {
        return pick(t.label_en(), t.label_nl());
    }
    if let Ok(t) = SupervisionType::parse(raw) {
        return pick(t.label_en(), t.label_nl());
    }
    match raw {
        "supervised" => pick("Supervised", "Onder toezicht"),
        "MicroCredential" => pick("Microcredential", "Microcredential"),
        "Course" => pick("Course (regular education)", "Cursus (regulier onderwijs)"),
        "CoCurricular" => pick("Extracurricular activity", "Extracurriculaire activiteit"),
        other => other.to_owned(),
    }
}

fn language_name(code: &str, lang: Lang) -> String {
    match code.split('-').next().unwrap_or_default().to_ascii_lowercase().as_str() {
        "nl" => lang.t("Dutch", "Nederlands").to_owned(),
        "en" => lang.t("English", "Engels").to_owned(),
        "de" => lang.t("German", "Duits").to_owned(),
        "fr" => lang.t("French", "Frans").to_owned(),
        _ => code.to_owned(),
    }
}

/// The achievement with its quality-framework fields, in words.
fn achievement_section(credential: &Value, lang: Lang) -> String {
    let empty = Value::Null;
    let achievement = credential.pointer("/credentialSubject/achievement").unwrap_or(&empty);
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(kind) = text(achievement, "/achievementType") {
        rows.push((lang.t("Kind", "Soort"), escape(&labelled(kind, lang))));
    }
    let ects = strings(achievement.get("ECTS").or_else(|| achievement.get("creditsAvailable")));
    if let Some(ects) = ects.first() {
        rows.push((lang.t("Study load", "Studielast"), format!("{} EC", escape(ects))));
    }
    for a in alignments(achievement, Some("ext:EQF")) {
        if let Some(level) = text(a, "/targetCode") {
            let label = format!("{} {}", lang.t("EQF level", "EQF-niveau"), level);
            let url = text(a, "/targetUrl").unwrap_or_default();
            rows.push((lang.t("Level (EQF)", "Niveau (EQF)"), link(url, &label)));
        }
    }
    for a in alignments(achievement, Some("ext:NLQF")) {
        if let Some(level) = text(a, "/targetCode") {
            let label = if level == "entry" {
                lang.t("NLQF entry level", "NLQF-instroomniveau").to_owned()
            } else {
                format!("{} {}", lang.t("NLQF level", "NLQF-niveau"), level)
            };
            let url = text(a, "/targetUrl").unwrap_or_default();
            rows.push((lang.t("Level (NLQF)", "Niveau (NLQF)"), link(url, &label)));
        }
    }
    let assessment: Vec<String> =
        strings(achievement.get("assessmentType")).iter().map(|t| labelled(t, lang)).collect();
    if !assessment.is_empty() {
        rows.push((lang.t("Assessment", "Toetsing"), list(&assessment)));
    }
    let participation: Vec<String> =
        strings(achievement.get("participationType")).iter().map(|t| labelled(t, lang)).collect();
    if !participation.is_empty() {
        rows.push((lang.t("Participation", "Deelname"), list(&participation)));
    }
    if let Some(checked) = achievement.get("identityChecked").and_then(Value::as_bool) {
        rows.push((
            lang.t("Identity checked at assessment", "Identiteit gecontroleerd bij toetsing"),
            yes_no(checked, lang).to_owned(),
        ));
    }
    if let Some(supervision) = text(achievement, "/supervisionType") {
        rows.push((
            lang.t("Supervision of the assessment", "Toezicht bij de toetsing"),
            escape(&labelled(supervision, lang)),
        ));
    }
    for a in alignments(achievement, Some("ext:QualityAssurance")) {
        let name = text(a, "/targetName").unwrap_or_default();
        let mut value = link(text(a, "/targetUrl").unwrap_or_default(), name);
        if let Some(description) = text(a, "/targetDescription") {
            let _ = write!(value, "<br><span class=\"muted\">{}</span>", escape(description));
        }
        rows.push((lang.t("Quality assurance", "Kwaliteitsborging"), value));
    }
    if let Some(language) = text(achievement, "/inLanguage") {
        rows.push((lang.t("Language of instruction", "Onderwijstaal"), escape(&language_name(language, lang))));
    }
    let programmes = strings(achievement.get("educationProgramIdentifier"));
    if !programmes.is_empty() {
        rows.push((lang.t("Programme code (CROHO/CREBO)", "Opleidingscode (CROHO/CREBO)"), list(&programmes)));
    }
    let grades: Vec<String> = credential
        .pointer("/credentialSubject/result")
        .and_then(Value::as_array)
        .map(|results| results.iter().filter_map(|r| text(r, "/value").map(str::to_owned)).collect())
        .unwrap_or_default();
    if !grades.is_empty() {
        rows.push((lang.t("Result", "Resultaat"), list(&grades)));
    }
    for a in alignments(achievement, None) {
        let name = text(a, "/targetName").unwrap_or_default();
        let framework = text(a, "/targetFramework").map(|f| format!(" <span class=\"muted\">({})</span>", escape(f)));
        rows.push((
            lang.t("Aligned with", "Sluit aan op"),
            format!("{}{}", link(text(a, "/targetUrl").unwrap_or_default(), name), framework.unwrap_or_default()),
        ));
    }
    let mut out = String::new();
    let outcomes = strings(achievement.get("learningOutcome"));
    let _ = write!(
        out,
        r#"<section class="card" aria-labelledby="achievement"><h2 id="achievement">{}</h2>"#,
        lang.t("What was achieved", "Wat is behaald")
    );
    if let Some(description) = text(achievement, "/description") {
        let _ = write!(out, "<p>{}</p>", escape(description));
    }
    out.push_str(&facts(&rows));
    if !outcomes.is_empty() {
        let _ = write!(out, "<h3>{}</h3>{}", lang.t("Learning outcomes", "Leeruitkomsten"), list_always(&outcomes));
    }
    if let Some(criteria) = text(achievement, "/criteria/narrative") {
        let _ = write!(out, "<h3>{}</h3><p>{}</p>", lang.t("Criteria", "Criteria"), escape(criteria));
    }
    out.push_str("</section>");
    out
}

fn list_always(items: &[String]) -> String {
    format!("<ul>{}</ul>", items.iter().map(|i| format!("<li>{}</li>", escape(i))).collect::<String>())
}

/// The issuer with its identifiers.
fn issuer_section(credential: &Value, lang: Lang) -> String {
    let issuer = credential.get("issuer").cloned().unwrap_or(Value::Null);
    // An issuer may be given by its id alone.
    let id = issuer.as_str().or_else(|| text(&issuer, "/id"));
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(name) = text(&issuer, "/name") {
        rows.push((lang.t("Name", "Naam"), escape(name)));
    }
    if let Some(identifiers) = issuer.get("otherIdentifier").and_then(Value::as_array) {
        for identifier in identifiers {
            let Some(value) = text(identifier, "/identifier") else { continue };
            let label = match text(identifier, "/identifierType") {
                Some("ext:BRIN") => lang.t("BRIN code (institution)", "BRIN-code (instelling)"),
                _ => lang.t("Identifier", "Kenmerk"),
            };
            rows.push((label, format!("<code>{}</code>", escape(value))));
        }
    }
    if let Some(url) = text(&issuer, "/url") {
        rows.push((lang.t("Website", "Website"), link(url, url)));
    }
    if let Some(email) = text(&issuer, "/email") {
        rows.push((lang.t("E-mail", "E-mail"), escape(email)));
    }
    if let Some(id) = id {
        rows.push((lang.t("Issuer id (DID)", "Uitgever-id (DID)"), format!("<code>{}</code>", escape(id))));
    }
    format!(
        r#"<section class="card" aria-labelledby="issuer"><h2 id="issuer">{}</h2>{}</section>"#,
        lang.t("Issued by", "Uitgegeven door"),
        facts(&rows)
    )
}

/// Where and how to get the credential, and a link to share.
fn downloads_section(url: &str, lang: Lang) -> String {
    let url = escape(url);
    format!(
        r#"<section class="card" aria-labelledby="downloads"><h2 id="downloads">{title}</h2>
<ul class="downloads">
<li><a href="{url}.json" download type="application/vc+ld+json">{json}</a></li>
<li><a href="{url}.jwt" download type="application/vc+jwt">{jwt}</a></li>
<li><a href="{url}.png" download type="image/png">{png}</a></li>
<li><a href="{url}.svg" download type="image/svg+xml">{svg}</a></li>
</ul>
<label for="share-url">{share}</label>
<div class="share"><input id="share-url" type="url" readonly value="{url}"><button type="button" id="copy-link" class="primary" hidden data-done="{copied}">{copy}</button></div>
</section>"#,
        title = lang.t("Download or share", "Downloaden of delen"),
        json = lang.t("Credential (JSON-LD, .json)", "Credential (JSON-LD, .json)"),
        jwt = lang.t("Credential (VC-JWT, .jwt)", "Credential (VC-JWT, .jwt)"),
        png = lang.t("Badge image with credential (.png)", "Badge-afbeelding met credential (.png)"),
        svg = lang.t("Badge image with credential (.svg)", "Badge-afbeelding met credential (.svg)"),
        share = lang.t("Link to this page", "Link naar deze pagina"),
        copy = lang.t("Copy link", "Link kopiëren"),
        copied = lang.t("Copied", "Gekopieerd"),
    )
}

/// The credential page: the verdict first, then the badge, learner and
/// dates, the achievement in words, the issuer, downloads and the checks.
/// `url` is the credential's public URL (also the page's).
pub fn credential_page(credential: &Value, report: &Report, status: &PageStatus, lang: Lang, url: &str) -> String {
    let achievement_name = text(credential, "/credentialSubject/achievement/name")
        .or_else(|| text(credential, "/name"))
        .unwrap_or("Open Badge");
    let issuer_name = text(credential, "/issuer/name");
    let learner = learner_name(credential);
    let shown = shown(report, status);

    let mut who: Vec<(&str, String)> = Vec::new();
    if let Some(name) = learner {
        who.push((lang.t("Awarded to", "Toegekend aan"), format!("<strong>{}</strong>", escape(name))));
    }
    if let Some(issuer) = issuer_name {
        who.push((lang.t("Issued by", "Uitgegeven door"), escape(issuer)));
    }
    if let Some(awarded) = text(credential, "/awardedDate") {
        who.push((lang.t("Achieved on", "Behaald op"), escape(&date(awarded, lang))));
    }
    if let Some(from) = text(credential, "/validFrom") {
        who.push((lang.t("Issued on", "Uitgegeven op"), escape(&date(from, lang))));
    }
    who.push((
        lang.t("Valid until", "Geldig tot"),
        match text(credential, "/validUntil") {
            Some(until) => escape(&date(until, lang)),
            None => lang.t("does not expire", "verloopt niet").to_owned(),
        },
    ));

    let description = match (learner, issuer_name) {
        (Some(learner), Some(issuer)) => {
            format!(
                "{achievement_name} — {} {learner} {} {issuer}",
                lang.t("awarded to", "toegekend aan"),
                lang.t("by", "door")
            )
        }
        _ => format!("{achievement_name} — Open Badge"),
    };
    let escaped_url = escape(url);
    let head = format!(
        r#"<meta name="description" content="{description}">
<meta property="og:type" content="website">
<meta property="og:title" content="{title}">
<meta property="og:description" content="{description}">
<meta property="og:url" content="{escaped_url}">
<meta property="og:image" content="{escaped_url}.png">
<meta property="og:image:alt" content="{title}">
<meta property="og:locale" content="{locale}">
<meta name="twitter:card" content="summary">
<link rel="canonical" href="{escaped_url}">
<link rel="alternate" type="application/vc+ld+json" href="{escaped_url}.json">
<link rel="alternate" type="application/vc+jwt" href="{escaped_url}.jwt">
"#,
        title = escape(achievement_name),
        description = escape(&description),
        locale = lang.t("en_GB", "nl_NL"),
    );
    let body = format!(
        r#"{verdict}
<section class="card badge" aria-labelledby="title">
<img src="{escaped_url}.svg" alt="{badge_alt}" width="128" height="128">
<div class="intro">
<p class="muted">{kind}</p>
<h1 id="title">{title}</h1>
{who}
</div>
</section>
{achievement}
{issuer}
{downloads}
{checks}"#,
        verdict = verdict_box(&shown, lang),
        badge_alt = escape(&format!("{} {achievement_name}", lang.t("Badge:", "Badge:"))),
        kind = lang.t("Open Badges 3.0 credential", "Open Badges 3.0-credential"),
        title = escape(achievement_name),
        who = facts(&who),
        achievement = achievement_section(credential, lang),
        issuer = issuer_section(credential, lang),
        downloads = downloads_section(url, lang),
        checks = checks_section(report, lang, shown != Shown::Valid),
    );
    let footer = lang.t(
        "Checked by zegel, the issuing service of this credential, when this page was loaded. Any Open Badges 3.0 verifier can check the downloads independently.",
        "Gecontroleerd door zegel, de uitgiftedienst van dit credential, bij het laden van deze pagina. Elke Open Badges 3.0-verifier kan de downloads zelf controleren.",
    );
    layout(lang, achievement_name, &head, url, &body, footer)
}

/// The footer of the /verify pages.
fn verify_footer(lang: Lang) -> &'static str {
    lang.t(
        "Checked by zegel with the Open Badges 3.0 rules of 1EdTech and the W3C. Nothing you submit is stored.",
        "Gecontroleerd door zegel volgens de Open Badges 3.0-regels van 1EdTech en het W3C. Wat u invoert wordt niet bewaard.",
    )
}

// ---------------------------------------------------------------------------
// /verify
// ---------------------------------------------------------------------------

/// The form of `/verify`: paste a credential or a compact JWT, or upload a
/// file (JSON, JWT, or a baked PNG or SVG badge).
fn verify_form(lang: Lang, action: &str, pasted: &str) -> String {
    format!(
        r#"<section class="card" aria-labelledby="verify-form"><h2 id="verify-form">{title}</h2>
<form method="post" action="{action}?lang={code}" enctype="multipart/form-data">
<label for="credential">{paste}</label>
<textarea id="credential" name="credential" spellcheck="false" autocomplete="off">{pasted}</textarea>
<label for="file">{upload}</label>
<input id="file" name="file" type="file" accept=".json,.jwt,.jsonld,.txt,.png,.svg,application/json,application/ld+json,image/png,image/svg+xml">
<p><button type="submit" class="primary">{submit}</button></p>
</form></section>"#,
        title = lang.t("Check a credential", "Een credential controleren"),
        action = escape(action),
        code = lang.code(),
        paste = lang.t(
            "Paste an Open Badges 3.0 credential (JSON) or a VC-JWT",
            "Plak een Open Badges 3.0-credential (JSON) of een VC-JWT"
        ),
        pasted = escape(pasted),
        upload = lang.t(
            "or choose a file: the credential, or a badge image (PNG or SVG) it is baked into",
            "of kies een bestand: het credential, of een badge-afbeelding (PNG of SVG) waarin het zit"
        ),
        submit = lang.t("Check", "Controleren"),
    )
}

/// `GET /verify`: the empty form.
pub fn verify_page(lang: Lang, action: &str) -> String {
    let body = format!(
        "<h1>{}</h1><p>{}</p>{}",
        lang.t("Verify an Open Badge", "Een Open Badge controleren"),
        lang.t(
            "Check whether an Open Badges 3.0 credential is genuine and still valid: signature, issuer, revocation and dates. Nothing you submit is stored.",
            "Controleer of een Open Badges 3.0-credential echt is en nog geldig: handtekening, uitgever, intrekking en data. Wat u invoert wordt niet bewaard."
        ),
        verify_form(lang, action, "")
    );
    layout(lang, lang.t("Verify an Open Badge", "Een Open Badge controleren"), "", action, &body, verify_footer(lang))
}

/// The answer to a form post: the verdict, what the credential claims, the
/// checks, and the form again.
pub fn verify_report_page(report: &Report, lang: Lang, action: &str) -> String {
    let shown = shown(report, &PageStatus::default());
    let mut claimed: Vec<(&str, String)> = Vec::new();
    if let Some(summary) = &report.credential {
        if let Some(name) = summary.achievement_name.as_deref().or(summary.name.as_deref()) {
            claimed.push((lang.t("Achievement", "Prestatie"), escape(name)));
        }
        if let Some(issuer) = &summary.issuer_name {
            claimed.push((lang.t("Issued by", "Uitgegeven door"), escape(issuer)));
        }
        if let Some(issuer) = &summary.issuer_id {
            claimed.push((lang.t("Issuer id", "Uitgever-id"), format!("<code>{}</code>", escape(issuer))));
        }
        if let Some(awarded) = &summary.awarded_date {
            claimed.push((lang.t("Achieved on", "Behaald op"), escape(&date(awarded, lang))));
        }
        if let Some(from) = &summary.valid_from {
            claimed.push((lang.t("Issued on", "Uitgegeven op"), escape(&date(from, lang))));
        }
        if let Some(until) = &summary.valid_until {
            claimed.push((lang.t("Valid until", "Geldig tot"), escape(&date(until, lang))));
        }
        if let Some(id) = &summary.id {
            claimed.push((lang.t("Credential id", "Credential-id"), link(id, id)));
        }
    }
    let claimed = if claimed.is_empty() {
        String::new()
    } else {
        format!(
            r#"<section class="card" aria-labelledby="claims"><h2 id="claims">{}</h2><p class="muted">{}</p>{}</section>"#,
            lang.t("What the credential says", "Wat het credential zegt"),
            lang.t(
                "As written in the credential; trust it only as far as the verdict above.",
                "Zoals het in het credential staat; vertrouw het alleen zover het oordeel hierboven gaat."
            ),
            facts(&claimed)
        )
    };
    let body = format!(
        "<h1>{}</h1>{}{}{}{}",
        lang.t("Verification result", "Uitkomst van de controle"),
        verdict_box(&shown, lang),
        claimed,
        checks_section(report, lang, shown != Shown::Valid),
        verify_form(lang, action, "")
    );
    layout(lang, lang.t("Verification result", "Uitkomst van de controle"), "", action, &body, verify_footer(lang))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verification::{Check, Summary};
    use serde_json::json;

    const URL: &str = "https://badges.example.edu/credentials/1";

    fn report(verdict: Verdict, checks: Vec<Check>) -> Report {
        Report { verdict, format: None, credential: Some(Summary::default()), checks, warnings: Vec::new() }
    }

    fn valid() -> Report {
        report(Verdict::Valid, vec![Check::passed(CheckKind::Proof, "Data Integrity proof verified")])
    }

    /// A credential as zegel issues it (the parts the page reads).
    fn credential() -> Value {
        json!({
            "id": URL,
            "name": "Data Literacy",
            "validFrom": "2026-07-01T10:00:00Z",
            "awardedDate": "2026-06-30T00:00:00Z",
            "issuer": {"id": "did:web:badges.example.edu", "name": "Universiteit Voorbeeld", "url": "https://uni.example.nl",
                       "otherIdentifier": [{"identifier": "21PM", "identifierType": "ext:BRIN"}]},
            "credentialSubject": {
                "identifier": [{"identityType": "name", "hashed": false, "identityHash": "Sam de Vries"}],
                "result": [{"value": "8.5"}],
                "achievement": {
                    "name": "Data Literacy for Professionals",
                    "description": "Working with data.",
                    "achievementType": "MicroCredential",
                    "criteria": {"narrative": "Passed the exam."},
                    "inLanguage": "nl",
                    "ECTS": 5,
                    "learningOutcome": ["Analyses a data set.", "Reports findings."],
                    "assessmentType": ["written_exam", "oral_exam"],
                    "participationType": "blended",
                    "identityChecked": true,
                    "supervisionType": "supervised_onsite",
                    "alignment": [
                        {"targetType": "ext:EQF", "targetCode": "6", "targetName": "EQF level 6", "targetUrl": "https://europass.europa.eu/en/description-eight-eqf-levels"},
                        {"targetType": "ext:NLQF", "targetCode": "6", "targetName": "NLQF level 6", "targetUrl": "https://www.nlqf.nl/nlqf-niveaus"},
                        {"targetType": "ext:QualityAssurance", "targetName": "NVAO accreditation", "targetUrl": "https://example.org/qa", "targetDescription": "Accredited by the NVAO."}
                    ]
                }
            }
        })
    }

    #[test]
    fn a_valid_credential_states_its_verdict_and_framework_in_english_and_dutch() {
        let page = credential_page(&credential(), &valid(), &PageStatus::default(), Lang::En, URL);
        for expected in [
            r#"<html lang="en">"#,
            r#"class="card verdict valid""#,
            "Valid</h2>",
            "Sam de Vries",
            "5 EC",
            "EQF level 6",
            "NLQF level 6",
            "Written exam",
            "Presentation or oral exam",
            "Blended",
            "Identity checked at assessment</dt><dd>yes",
            "Supervised on-site",
            "NVAO accreditation",
            "Dutch",
            "<code>21PM</code>",
            "30 June 2026",
            "1 July 2026",
            "does not expire",
            "8.5",
            "<li>Analyses a data set.</li>",
            r#"<meta property="og:image" content="https://badges.example.edu/credentials/1.png">"#,
            r#"<meta property="og:url" content="https://badges.example.edu/credentials/1">"#,
            r#"<meta property="og:title" content="Data Literacy for Professionals">"#,
            r#"<img src="https://badges.example.edu/credentials/1.svg""#,
            r#"href="https://badges.example.edu/credentials/1.jwt" download"#,
            r#"href="https://badges.example.edu/credentials/1.png" download"#,
            r#"readonly value="https://badges.example.edu/credentials/1""#,
            "Signature",
            "<details><summary>",
        ] {
            assert!(page.contains(expected), "missing {expected:?}:\n{page}");
        }
        let page = credential_page(&credential(), &valid(), &PageStatus::default(), Lang::Nl, URL);
        for expected in [
            r#"<html lang="nl">"#,
            "Geldig</h2>",
            "Studielast",
            "EQF-niveau 6",
            "Schriftelijk tentamen",
            "Op locatie onder toezicht",
            "Nederlands",
            "30 juni 2026",
            "verloopt niet",
            "Handtekening",
        ] {
            assert!(page.contains(expected), "missing {expected:?}:\n{page}");
        }
    }

    #[test]
    fn revoked_suspended_and_replaced_say_so_with_the_reason() {
        let revoked =
            PageStatus { revoked: Some(("2026-12-01".into(), Some("fraud".into()))), ..PageStatus::default() };
        let page = credential_page(&credential(), &valid(), &revoked, Lang::En, URL);
        assert!(
            page.contains("verdict invalid")
                && page.contains("Revoked (1 December 2026)")
                && page.contains("Reason: fraud"),
            "{page}"
        );
        let suspended =
            PageStatus { suspended: Some(("2026-12-02".into(), Some("under review".into()))), ..PageStatus::default() };
        let page = credential_page(&credential(), &valid(), &suspended, Lang::Nl, URL);
        assert!(page.contains("Geschorst (2 december 2026)") && page.contains("Reden: under review"), "{page}");
        let replaced = PageStatus {
            revoked: Some(("2026-12-03".into(), Some("superseded".into()))),
            superseded_by: Some("https://badges.example.edu/credentials/2".into()),
            ..PageStatus::default()
        };
        let page = credential_page(&credential(), &valid(), &replaced, Lang::En, URL);
        assert!(page.contains("Replaced by a newer credential (3 December 2026)"), "{page}");
        assert!(page.contains("Reason: superseded"), "{page}");
        assert!(
            page.contains(r#"<a href="https://badges.example.edu/credentials/2">the newer credential</a>"#),
            "{page}"
        );
    }

    #[test]
    fn the_verifier_decides_when_nothing_is_recorded() {
        let mut expired = report(
            Verdict::Invalid { code: InvalidCode::Expired, reason: "expired on 2027-01-01".into() },
            vec![Check::failed(CheckKind::ValidUntil, InvalidCode::Expired, "expired on 2027-01-01 00:00:00 UTC")],
        );
        expired.credential = Some(Summary { valid_until: Some("2027-01-01T00:00:00Z".into()), ..Summary::default() });
        let page = credential_page(&credential(), &expired, &PageStatus::default(), Lang::En, URL);
        assert!(page.contains("Expired (1 January 2027)") && page.contains("verdict invalid"), "{page}");
        assert!(page.contains("<details open>"), "what failed is shown: {page}");
        assert!(page.contains("outcome-failed") && page.contains("expired on 2027-01-01 00:00:00 UTC"), "{page}");
        let page = credential_page(&credential(), &expired, &PageStatus::default(), Lang::Nl, URL);
        assert!(page.contains("Verlopen (1 januari 2027)"), "{page}");

        let tampered = report(
            Verdict::Invalid { code: InvalidCode::Proof, reason: "the signature does not match".into() },
            vec![Check::failed(CheckKind::Proof, InvalidCode::Proof, "the signature does not match")],
        );
        let page = credential_page(&credential(), &tampered, &PageStatus::default(), Lang::En, URL);
        assert!(page.contains("Not valid</h2>") && page.contains("the signature does not match"), "{page}");
        let unknown = report(Verdict::Indeterminate { reason: "the key was not fetched".into() }, Vec::new());
        let page = credential_page(&credential(), &unknown, &PageStatus::default(), Lang::En, URL);
        assert!(page.contains("verdict unknown") && page.contains("Could not be checked"), "{page}");
    }

    #[test]
    fn hostile_values_are_escaped_and_only_http_urls_are_linked() {
        let hostile = json!({
            "name": "x",
            "validFrom": "<script>alert(0)</script>",
            "issuer": {"id": "did:key:z6Mk\"><script>", "name": "<img src=x onerror=alert(1)>",
                       "url": "javascript:alert(1)",
                       "otherIdentifier": [{"identifier": "\"><img src=x onerror=alert(2)>", "identifierType": "ext:BRIN"}]},
            "credentialSubject": {
                "identifier": [{"type": "IdentityObject", "hashed": false, "identityType": "name", "identityHash": "Sam </dd><script>alert(1)</script>"}],
                "achievement": {
                    "name": "</title><script>alert(1)</script>", "description": "a & b",
                    "learningOutcome": ["<script>alert(3)</script>"],
                    "assessmentType": ["\"><svg onload=alert(4)>"],
                    "alignment": [
                        {"targetType": "ext:QualityAssurance", "targetName": "QA\"><b>", "targetUrl": "javascript:alert(5)"},
                        {"targetName": "framework", "targetUrl": "https://ok.example/\"onmouseover=\"alert(6)"},
                        {"targetName": "data", "targetUrl": "data:text/html,<script>alert(7)</script>"}
                    ]
                }
            }
        });
        let status = PageStatus {
            revoked: None,
            suspended: Some(("2026-12-01".into(), Some("<script>alert(2)</script>".into()))),
            superseded_by: None,
        };
        let hostile_report = report(
            Verdict::Invalid { code: InvalidCode::Issuer, reason: "<script>alert(8)</script>".into() },
            vec![Check::failed(CheckKind::Issuer, InvalidCode::Issuer, "<img src=x onerror=alert(9)>")],
        );
        for lang in [Lang::En, Lang::Nl] {
            for (report, status) in [(&valid(), &status), (&hostile_report, &PageStatus::default())] {
                let page =
                    credential_page(&hostile, report, status, lang, "https://badges.example.edu/credentials/1\"><x");
                // The page's own script is the only one, and no element came from a value.
                assert_eq!(page.matches("<script").count(), 1, "{page}");
                for injected in
                    ["<img src=x", "<svg", "<b>", "href=\"javascript:", "href=\"data:", "onmouseover=\"", "<x"]
                {
                    assert!(!page.contains(injected), "{injected} got through:\n{page}");
                }
                assert!(page.contains("&lt;/title&gt;&lt;script&gt;"));
                assert!(page.contains("Sam &lt;/dd&gt;&lt;script&gt;"));
                assert!(page.contains("a &amp; b"));
                assert!(page.contains("credentials/1&quot;&gt;&lt;x.json"));
            }
        }
        let page = credential_page(&hostile, &valid(), &status, Lang::En, URL);
        assert!(page.contains("Reason: &lt;script&gt;alert(2)"), "{page}");
        // A safe URL is linked, with its quote escaped.
        assert!(
            page.contains(r#"<a href="https://ok.example/&quot;onmouseover=&quot;alert(6)">framework</a>"#),
            "{page}"
        );
        let page = verify_report_page(&hostile_report, Lang::En, "/verify");
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        assert!(!page.contains("<img src=x"), "{page}");
    }

    #[test]
    fn the_language_comes_from_the_query_then_accept_language() {
        assert_eq!(Lang::negotiate(None, None), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("nl-NL,nl;q=0.9,en;q=0.8")), Lang::Nl);
        assert_eq!(Lang::negotiate(None, Some("de-DE, en;q=0.5, nl;q=0.7")), Lang::Nl);
        assert_eq!(Lang::negotiate(None, Some("nl;q=0, en;q=0.1")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("fr, de")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("en, nl")), Lang::En);
        assert_eq!(Lang::negotiate(Some("nl"), Some("en")), Lang::Nl);
        assert_eq!(Lang::negotiate(Some("en"), Some("nl")), Lang::En);
        assert_eq!(Lang::negotiate(Some("xx"), Some("nl")), Lang::Nl);
        assert_eq!(lang_query("a=1&lang=nl"), Some("nl"));
        assert_eq!(lang_query(""), None);
    }

    #[test]
    fn only_http_urls_are_safe() {
        for safe in ["https://a.example/x", "HTTP://a.example"] {
            assert!(safe_url(safe).is_some(), "{safe}");
        }
        for unsafe_url in [
            "javascript:alert(1)",
            "JaVaScRiPt:x",
            "data:text/html,x",
            "//a.example",
            "https://a b",
            "https://",
            "https://a\n.example",
        ] {
            assert!(safe_url(unsafe_url).is_none(), "{unsafe_url}");
        }
    }

    #[test]
    fn the_policy_allows_exactly_the_page_style_and_script() {
        let policy = content_security_policy();
        assert!(policy.starts_with("default-src 'none'; img-src 'self' data:;"), "{policy}");
        assert!(policy.contains(&sha256_source(STYLE)) && policy.contains(&sha256_source(SCRIPT)), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
    }
}
