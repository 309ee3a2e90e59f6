//! The picture of a badge, for baking: the achievement's own image when the
//! credential carries it as data (a `data:` URI of a PNG or an SVG), else
//! one zegel draws: an SVG seal with the achievement's name, study load and
//! level, or (for PNG, which would need a font) the same seal with a check
//! mark. Pure: an image the credential only links to is never fetched, and
//! every value taken from the credential is escaped.

use crate::baking::{self, BakeError, Embedded, ImageKind};
use base64::Engine as _;
use serde_json::Value;
use std::f64::consts::PI;
use std::fmt::Write as _;
use std::sync::LazyLock;

/// The credential baked into its badge picture of `kind`: the achievement's
/// own image if the credential carries one as data and it takes the
/// credential, else the one zegel draws.
pub fn baked(kind: ImageKind, credential: &Value, embedded: Embedded<'_>) -> Result<Vec<u8>, BakeError> {
    match kind {
        ImageKind::Png => {
            if let Some(Own::Png(own)) = own_image(credential)
                && let Ok(baked) = baking::bake_png(&own, embedded)
            {
                return Ok(baked);
            }
            baking::bake_png(default_png(), embedded)
        }
        ImageKind::Svg => {
            let own = match own_image(credential) {
                Some(Own::Svg(svg)) => Some(svg),
                Some(Own::Png(png)) => Some(png_in_svg(&png)),
                None => None,
            };
            if let Some(own) = own
                && let Ok(baked) = baking::bake_svg(&own, embedded)
            {
                return Ok(baked.into_bytes());
            }
            Ok(baking::bake_svg(&drawn_svg(&Face::of(credential)), embedded)?.into_bytes())
        }
    }
}

/// A file name for the badge of `credential` (id `credential_id`): the
/// achievement's name in lower-case ASCII letters and digits joined by
/// dashes (at most 48 characters; "badge" when none are left), the first
/// eight characters of the id, and the extension. Safe in a quoted
/// `Content-Disposition` parameter as it is.
pub fn file_name(credential: &Value, credential_id: &str, kind: ImageKind) -> String {
    let name = Face::of(credential).name;
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 48 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "badge" } else { slug };
    let id: String = credential_id.chars().filter(char::is_ascii_alphanumeric).take(8).collect();
    format!("{slug}-{id}.{}", kind.extension())
}

// ---------------------------------------------------------------------------
// The achievement's own image
// ---------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
enum Own {
    Png(Vec<u8>),
    Svg(String),
}

/// The image of the achievement (else of the credential) when it is a
/// `data:` URI of a PNG or an SVG.
fn own_image(credential: &Value) -> Option<Own> {
    fn image_id(image: Option<&Value>) -> Option<&str> {
        match image? {
            Value::String(id) => Some(id.as_str()),
            Value::Object(image) => image.get("id").and_then(Value::as_str),
            _ => None,
        }
    }
    let uri = image_id(credential.pointer("/credentialSubject/achievement/image"))
        .or_else(|| image_id(credential.get("image")))?;
    let (media_type, data) = data_uri(uri)?;
    match media_type.as_str() {
        // Only bytes that are a PNG.
        "image/png" if data.starts_with(b"\x89PNG\r\n\x1a\n") => Some(Own::Png(data)),
        "image/svg+xml" => String::from_utf8(data).ok().map(Own::Svg),
        _ => None,
    }
}

/// The media type (lower case, without parameters) and the decoded data of
/// a `data:` URI (RFC 2397): base64, or percent-encoded text.
fn data_uri(uri: &str) -> Option<(String, Vec<u8>)> {
    let rest = uri.get(..5).filter(|s| s.eq_ignore_ascii_case("data:")).map(|_| &uri[5..])?;
    let (header, data) = rest.split_once(',')?;
    let mut parts = header.split(';');
    let media_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let base64 = parts.any(|p| p.trim().eq_ignore_ascii_case("base64"));
    let data = if base64 {
        let compact: String = percent_decode(data).into_iter().map(char::from).filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.trim_end_matches('=')).ok()?
    } else {
        percent_decode(data)
    };
    Some((media_type, data))
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b))) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// An SVG showing `png`, for the `.svg` of an achievement whose image is a PNG.
fn png_in_svg(png: &[u8]) -> String {
    // The size, from IHDR (width and height at bytes 16..24).
    let dimension = |at: usize| {
        png.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).filter(|d| *d > 0).unwrap_or(256)
    };
    let (width, height) = (dimension(16), dimension(20));
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><image width="{width}" height="{height}" href="data:image/png;base64,{data}" xlink:href="data:image/png;base64,{data}"/></svg>"#,
        data = base64::engine::general_purpose::STANDARD.encode(png)
    )
}

// ---------------------------------------------------------------------------
// The drawn badge
// ---------------------------------------------------------------------------

/// What the drawn badge shows, read from a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Face {
    /// The achievement's name.
    pub name: String,
    /// Study load and level, e.g. "5 EC · EQF 6".
    pub details: Option<String>,
}

impl Face {
    pub fn of(credential: &Value) -> Face {
        let achievement = credential.pointer("/credentialSubject/achievement").unwrap_or(&Value::Null);
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Array(items)) => items.first().and_then(|i| i.as_str().map(str::to_owned)),
            _ => None,
        };
        let name = text(achievement.get("name"))
            .or_else(|| text(credential.get("name")))
            .unwrap_or_else(|| "Open Badge".to_owned());
        let ec =
            text(achievement.get("ECTS").or_else(|| achievement.get("creditsAvailable"))).map(|ec| format!("{ec} EC"));
        let eqf = achievement.get("alignment").and_then(Value::as_array).and_then(|alignments| {
            alignments.iter().find_map(|a| {
                (a.get("targetType").and_then(Value::as_str) == Some("ext:EQF"))
                    .then(|| a.get("targetCode").and_then(Value::as_str))
                    .flatten()
                    .map(|level| format!("EQF {level}"))
            })
        });
        let details: Vec<String> = ec.into_iter().chain(eqf).collect();
        Face { name, details: (!details.is_empty()).then(|| details.join(" · ")) }
    }
}

/// zegel's blue (the pages' link colour) and a lighter one for the gradient.
const BLUE: &str = "#0b57d0";
const LIGHT_BLUE: &str = "#1a73e8";

/// The seal: a scalloped disc, as a path in a 256 × 256 box.
static SEAL_PATH: LazyLock<String> = LazyLock::new(|| {
    const SCALLOPS: usize = 24;
    let point = |angle: f64, radius: f64| (128.0 + radius * angle.sin(), 128.0 - radius * angle.cos());
    let mut path = String::new();
    for k in 0..SCALLOPS {
        let from = k as f64 * 2.0 * PI / SCALLOPS as f64;
        let middle = from + PI / SCALLOPS as f64;
        let to = from + 2.0 * PI / SCALLOPS as f64;
        if k == 0 {
            let (x, y) = point(from, 116.0);
            let _ = write!(path, "M{x:.1} {y:.1}");
        }
        let (cx, cy) = point(middle, 134.0);
        let (x, y) = point(to, 116.0);
        let _ = write!(path, "Q{cx:.1} {cy:.1} {x:.1} {y:.1}");
    }
    path.push('Z');
    path
});

/// Words of `text` in lines of at most `width` characters (longer words
/// broken), at most `max_lines` lines (the last one ending in "…" when the
/// text does not fit). Whether it fits: all of it, no word broken.
fn wrap(text: &str, width: usize, max_lines: usize) -> (Vec<String>, bool) {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut words: Vec<String> = Vec::new();
    let mut broken = false;
    for word in text.split_whitespace() {
        let chars: Vec<char> = word.chars().collect();
        broken |= chars.len() > width.max(1);
        for piece in chars.chunks(width.max(1)) {
            words.push(piece.iter().collect());
        }
    }
    for word in words {
        let length = current.chars().count();
        if length > 0 && length + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    let fits = lines.len() <= max_lines && !broken;
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            let mut shortened: String = last.chars().take(width.saturating_sub(1)).collect();
            shortened = shortened.trim_end().to_owned();
            shortened.push('…');
            *last = shortened;
        }
    }
    (lines, fits)
}

/// The badge zegel draws for `face`: a blue seal, a white disc with a thin
/// ring, a check mark, the name in up to four lines (smaller type for
/// longer names) and the details below it.
pub fn drawn_svg(face: &Face) -> String {
    // Text must fit a width of about 155 in the disc; an average bold
    // character is about 0.58 of the type size wide.
    let sizes: [(f64, usize); 4] = [(22.0, 3), (19.0, 3), (16.0, 4), (14.0, 4)];
    let mut chosen = None;
    for (size, max_lines) in sizes {
        let width = (155.0 / (size * 0.58)) as usize;
        let (lines, fits) = wrap(&face.name, width, max_lines);
        if fits || size <= 14.0 {
            chosen = Some((size, lines));
            break;
        }
    }
    let (size, lines) = chosen.unwrap_or((14.0, Vec::new()));
    let line_height = size * 1.2;
    let details_height = if face.details.is_some() { 24.0 } else { 0.0 };
    let block = lines.len() as f64 * line_height + details_height;
    // The block is centred a little below the middle, under the check mark.
    let top = 140.0 - block / 2.0;
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        let y = top + (i as f64 + 0.8) * line_height;
        let _ = write!(text, r#"<tspan x="128" y="{y:.1}">{}</tspan>"#, baking::escape_xml(line));
    }
    let details = face
        .details
        .as_deref()
        .map(|details| {
            let y = top + lines.len() as f64 * line_height + 18.0;
            format!(
                r#"<text x="128" y="{y:.1}" text-anchor="middle" font-size="14" font-weight="600" fill="{BLUE}">{}</text>"#,
                baking::escape_xml(details)
            )
        })
        .unwrap_or_default();
    let check_y = (top - 30.0).max(46.0);
    format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256" role="img" aria-label="{title}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif">"##,
            "\n<title>{title}</title>\n",
            r##"<defs><linearGradient id="zegel-seal" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="{light}"/><stop offset="1" stop-color="{blue}"/></linearGradient></defs>"##,
            "\n",
            r##"<path d="{seal}" fill="url(#zegel-seal)"/>"##,
            r##"<circle cx="128" cy="128" r="100" fill="#fff"/>"##,
            r##"<circle cx="128" cy="128" r="92" fill="none" stroke="{blue}" stroke-width="1.5" stroke-opacity=".35"/>"##,
            "\n",
            r##"<path d="M116 {c1:.1}l8 8 16-16" fill="none" stroke="{blue}" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/>"##,
            "\n",
            r##"<text text-anchor="middle" font-size="{size}" font-weight="700" fill="#1a1a1a">{text}</text>"##,
            "{details}\n</svg>\n"
        ),
        title = baking::escape_xml(&face.name),
        light = LIGHT_BLUE,
        blue = BLUE,
        seal = SEAL_PATH.as_str(),
        c1 = check_y,
        size = size,
        text = text,
        details = details,
    )
}

/// The PNG zegel draws: the seal with a check mark, 256 × 256 (made once).
pub fn default_png() -> &'static [u8] {
    static PNG: LazyLock<Vec<u8>> = LazyLock::new(|| draw_png(256));
    PNG.as_slice()
}

/// The seal at `size` × `size` pixels (RGBA, anti-aliased), as a PNG.
fn draw_png(size: u32) -> Vec<u8> {
    let scale = f64::from(size) / 256.0;
    let parse = |hex: &str| {
        let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
        [f64::from((v >> 16) & 0xff) / 255.0, f64::from((v >> 8) & 0xff) / 255.0, f64::from(v & 0xff) / 255.0]
    };
    let (blue, light, white) = (parse(BLUE), parse(LIGHT_BLUE), [1.0, 1.0, 1.0]);
    // Coverage of a pixel by a shape whose signed distance (in pixels,
    // negative inside) is `d`.
    let cover = |d: f64| (0.5 - d).clamp(0.0, 1.0);
    let segment = |(px, py): (f64, f64), (ax, ay): (f64, f64), (bx, by): (f64, f64)| {
        let (dx, dy) = (bx - ax, by - ay);
        let t = (((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
        ((px - ax - t * dx).powi(2) + (py - ay - t * dy).powi(2)).sqrt()
    };
    let mut rows = Vec::with_capacity((size * (size * 4 + 1)) as usize);
    for y in 0..size {
        rows.push(0); // filter: none
        for x in 0..size {
            // In the 256 box, at the pixel's centre.
            let (px, py) = ((f64::from(x) + 0.5) / scale, (f64::from(y) + 0.5) / scale);
            let (dx, dy) = (px - 128.0, py - 128.0);
            let r = (dx * dx + dy * dy).sqrt();
            let angle = dx.atan2(-dy);
            // Scallops like the SVG's: 24 bumps between radius 116 and ~125.
            let edge = 120.5 + 4.5 * (24.0 * angle).cos();
            let mut colour = [0.0; 3];
            let mut alpha = 0.0;
            let mut paint = |c: [f64; 3], a: f64| {
                for i in 0..3 {
                    colour[i] = c[i] * a + colour[i] * (1.0 - a);
                }
                alpha = a + alpha * (1.0 - a);
            };
            let t = (py / 256.0).clamp(0.0, 1.0);
            let gradient = [0, 1, 2].map(|i| light[i] * (1.0 - t) + blue[i] * t);
            paint(gradient, cover((r - edge) * scale));
            paint(white, cover((r - 100.0) * scale));
            paint(blue, 0.35 * cover(((r - 92.0).abs() - 0.75) * scale));
            let check =
                segment((px, py), (92.0, 130.0), (116.0, 154.0)).min(segment((px, py), (116.0, 154.0), (166.0, 104.0)));
            paint(blue, cover((check - 8.0) * scale));
            // Straight (not premultiplied) colour, as PNG wants it.
            let straight = |c: f64| if alpha > 0.0 { (c / alpha * 255.0).round().clamp(0.0, 255.0) as u8 } else { 0 };
            rows.extend_from_slice(&[
                straight(colour[0]),
                straight(colour[1]),
                straight(colour[2]),
                (alpha * 255.0).round() as u8,
            ]);
        }
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = std::io::Write::write_all(&mut encoder, &rows);
    let compressed = encoder.finish().unwrap_or_default();
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&size.to_be_bytes());
    header.extend_from_slice(&size.to_be_bytes());
    // 8 bits per sample, RGBA, deflate, no filter method variant, no interlace.
    header.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = Vec::from(b"\x89PNG\r\n\x1a\n".as_slice());
    png.extend_from_slice(&baking::png_chunk(b"IHDR", &header));
    png.extend_from_slice(&baking::png_chunk(b"IDAT", &compressed));
    png.extend_from_slice(&baking::png_chunk(b"IEND", &[]));
    png
}

#[cfg(test)]
mod tests;
