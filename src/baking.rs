//! Baked badges (Open Badges 3.0 §"Baked Badge", `docformat.md`): a PNG or
//! SVG image that carries the credential it shows, so that the picture
//! itself can be verified.
//!
//! - PNG: one `iTXt` chunk with keyword `openbadgecredential` (before
//!   `IEND`, uncompressed) whose text is the credential.
//! - SVG: one `<openbadges:credential>` element, the prefix bound to
//!   `https://purl.imsglobal.org/ob/v3p0`, directly inside the root: a
//!   credential with an embedded proof as its JSON in a CDATA section, a
//!   VC-JWT as the compact JWS in its `verify` attribute.
//!
//! [`bake_png`] and [`bake_svg`] put a credential into an image (replacing
//! one already there); [`extract`] gets it out of either kind. Pure: no
//! I/O, and no image library (the PNG chunk walk and the bit of XML this
//! needs are written here). The pictures themselves are [`badge_image`]'s.
//!
//! [`badge_image`]: crate::badge_image

mod png;
mod svg;

pub use png::PngError;
pub use svg::SvgError;
pub use svg::escape as escape_xml;

pub(crate) use png::chunk as png_chunk;

/// The namespace of `<openbadges:credential>` (OB 3.0).
pub const OB3_NAMESPACE: &str = "https://purl.imsglobal.org/ob/v3p0";

/// The PNG `iTXt` keyword of an OB 3.0 credential.
pub const PNG_KEYWORD: &str = "openbadgecredential";

/// The most text zegel takes out of one image (a compressed chunk is
/// inflated up to this much, no more): the verifier refuses anything over
/// 1 MiB anyway.
pub const MAX_CREDENTIAL_BYTES: usize = 2 << 20;

/// A credential as it is put into an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedded<'a> {
    /// The JSON text of a credential with an embedded proof, exactly as
    /// signed (the bytes are baked as they are).
    Json(&'a str),
    /// A compact JWS: a VC-JWT.
    Jwt(&'a str),
}

impl<'a> Embedded<'a> {
    /// The text that goes into the image, checked: a JSON object, or three
    /// base64url segments; nothing a PNG text chunk or XML cannot carry.
    fn text(self) -> Result<&'a str, BakeError> {
        let (Embedded::Json(text) | Embedded::Jwt(text)) = self;
        if text.len() > MAX_CREDENTIAL_BYTES {
            return Err(BakeError::TooLarge);
        }
        match self {
            Embedded::Json(text) => {
                if !text.trim_start().starts_with('{') || serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
                    return Err(BakeError::NotJson);
                }
                // JSON escapes control characters inside strings: only
                // whitespace between tokens can be one, and U+FFFE/U+FFFF
                // (allowed raw in JSON) are not XML characters.
                if text.chars().any(|c| !svg::is_xml_char(c)) {
                    return Err(BakeError::NotXmlText);
                }
                Ok(text)
            }
            Embedded::Jwt(text) => {
                if !is_compact_jws(text) {
                    return Err(BakeError::NotJws);
                }
                Ok(text)
            }
        }
    }
}

/// Which kind of image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Svg,
}

impl ImageKind {
    pub fn name(self) -> &'static str {
        match self {
            ImageKind::Png => "PNG",
            ImageKind::Svg => "SVG",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Svg => "image/svg+xml",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Svg => "svg",
        }
    }

    /// What `bytes` are, by their first bytes: the PNG signature, or
    /// markup (`<`, after a byte order mark and white space). Only a guess
    /// for SVG: [`extract`] finds out.
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        if bytes.starts_with(&png::SIGNATURE) {
            return Some(ImageKind::Png);
        }
        let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        text.trim_ascii_start().starts_with(b"<").then_some(ImageKind::Svg)
    }
}

impl std::fmt::Display for ImageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A credential found in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Where it was found.
    pub image: ImageKind,
    /// JSON (an embedded proof) or a compact JWS (a VC-JWT), trimmed of
    /// surrounding white space; what the verifier reads.
    pub credential: String,
}

impl Extracted {
    /// The credential as it would be baked again.
    pub fn embedded(&self) -> Embedded<'_> {
        if self.is_jwt() { Embedded::Jwt(&self.credential) } else { Embedded::Json(&self.credential) }
    }

    pub fn is_jwt(&self) -> bool {
        !self.credential.starts_with('{')
    }
}

/// Why a credential could not be baked into an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BakeError {
    #[error(transparent)]
    Png(#[from] PngError),
    #[error(transparent)]
    Svg(#[from] SvgError),
    #[error("the credential to bake is not a JSON object")]
    NotJson,
    #[error("the credential to bake holds a character an image cannot carry")]
    NotXmlText,
    #[error("the VC-JWT to bake is not a compact JWS")]
    NotJws,
    #[error("the credential to bake is larger than {MAX_CREDENTIAL_BYTES} bytes")]
    TooLarge,
}

/// Why no credential came out of an image. The messages are for whoever
/// sent the image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("this is neither a PNG nor an SVG image")]
    NotAnImage,
    #[error(transparent)]
    Png(#[from] PngError),
    #[error(transparent)]
    Svg(#[from] SvgError),
    #[error("{}", match .0 {
        ImageKind::Png => "this PNG image carries no Open Badges 3.0 credential (no iTXt chunk \"openbadgecredential\")",
        ImageKind::Svg => "this SVG image carries no Open Badges 3.0 credential (no <openbadges:credential> element in the https://purl.imsglobal.org/ob/v3p0 namespace)",
    })]
    NoCredential(ImageKind),
    #[error("this {0} image is an Open Badges 2.0 badge; zegel verifies Open Badges 3.0 credentials")]
    OpenBadges2(ImageKind),
    #[error("this {0} image carries more than one Open Badges 3.0 credential; a baked badge has exactly one")]
    SeveralCredentials(ImageKind),
    #[error("the credential baked into this {0} image is neither JSON nor a compact JWS")]
    NotACredential(ImageKind),
    #[error("the credential baked into this {0} image is larger than {MAX_CREDENTIAL_BYTES} bytes")]
    TooLarge(ImageKind),
}

/// `image` (a PNG) with `credential` baked in: an `iTXt` chunk
/// `openbadgecredential` (uncompressed, no language) just before `IEND`,
/// replacing any there was. Every other chunk is kept as it is; the image
/// is checked first (signature, chunk lengths and CRCs, `IHDR` first,
/// `IEND` present), so a broken image is refused rather than passed on.
pub fn bake_png(image: &[u8], credential: Embedded<'_>) -> Result<Vec<u8>, BakeError> {
    let text = credential.text()?;
    Ok(png::bake(image, text)?)
}

/// `svg` with `credential` baked in: one `<openbadges:credential>` (the
/// prefix the root element binds to the OB 3.0 namespace, else
/// `openbadges`, declared on the root) first inside the root element,
/// replacing any credential element there was. JSON goes into a CDATA
/// section (a `]]>` in it split across two), a JWS into the `verify`
/// attribute. The rest of the document is kept byte for byte.
pub fn bake_svg(svg: &str, credential: Embedded<'_>) -> Result<String, BakeError> {
    let text = credential.text()?;
    Ok(svg::bake(svg, credential, text)?)
}

/// The credential baked into `bytes`, a PNG or an SVG image.
pub fn extract(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let (image, raw) = match ImageKind::sniff(bytes) {
        Some(ImageKind::Png) => (ImageKind::Png, png::extract(bytes)?),
        Some(ImageKind::Svg) => {
            let text = std::str::from_utf8(bytes).map_err(|_| SvgError::NotUtf8)?;
            (ImageKind::Svg, svg::extract(text)?)
        }
        None => return Err(ExtractError::NotAnImage),
    };
    let credential = match raw {
        Found::Credential(text) => text.trim().to_owned(),
        Found::Several => return Err(ExtractError::SeveralCredentials(image)),
        Found::OpenBadges2 => return Err(ExtractError::OpenBadges2(image)),
        Found::Nothing => return Err(ExtractError::NoCredential(image)),
        Found::TooLarge => return Err(ExtractError::TooLarge(image)),
    };
    if !(credential.starts_with('{') || is_compact_jws(&credential)) {
        return Err(ExtractError::NotACredential(image));
    }
    Ok(Extracted { image, credential })
}

/// What an image holds, as the format modules report it.
#[derive(Debug)]
enum Found {
    Credential(String),
    Several,
    OpenBadges2,
    Nothing,
    TooLarge,
}

/// Three non-empty base64url segments (the signature may be empty only in
/// an unsecured JWS, which no verifier accepts anyway).
fn is_compact_jws(text: &str) -> bool {
    let segments: Vec<&str> = text.split('.').collect();
    segments.len() == 3
        && segments[..2].iter().all(|s| !s.is_empty())
        && segments.iter().all(|s| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

#[cfg(test)]
mod tests;
