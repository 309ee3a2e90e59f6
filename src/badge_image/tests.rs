use super::*;
use crate::baking::extract;
use serde_json::json;
use std::io::Read as _;

const JWS: &str = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl";

fn credential(achievement: Value) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "credentialSubject": {"type": ["AchievementSubject"], "achievement": achievement}
    })
}

fn micro() -> Value {
    credential(json!({
        "name": "Data Literacy for Professionals",
        "ECTS": 5,
        "alignment": [
            {"type": ["Alignment"], "targetType": "ext:EQF", "targetCode": "6", "targetName": "EQF level 6", "targetUrl": "https://europass.europa.eu/"},
            {"type": ["Alignment"], "targetType": "ext:NLQF", "targetCode": "6", "targetName": "NLQF 6", "targetUrl": "https://nlqf.nl/"}
        ]
    }))
}

/// The pixels of a PNG zegel drew (8-bit RGBA, unfiltered rows).
fn pixels(png: &[u8]) -> (u32, Vec<u8>) {
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(png[24..29], [8, 6, 0, 0, 0], "8-bit RGBA, no interlace");
    let idat = png.windows(4).position(|w| w == b"IDAT").unwrap();
    let length = u32::from_be_bytes(png[idat - 4..idat].try_into().unwrap()) as usize;
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&png[idat + 4..idat + 4 + length]).read_to_end(&mut raw).unwrap();
    assert_eq!(raw.len(), (width * (width * 4 + 1)) as usize);
    (width, raw)
}

#[test]
fn the_drawn_png_is_a_seal_with_a_check_mark_on_a_transparent_ground() {
    let png = default_png();
    assert!(png.len() < 24 * 1024, "{} bytes", png.len());
    let (width, raw) = pixels(png);
    assert_eq!(width, 256);
    let at = |x: usize, y: usize| {
        let i = y * (256 * 4 + 1) + 1 + x * 4;
        [raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]
    };
    assert_eq!(at(0, 0)[3], 0, "corners are transparent");
    let top = at(128, 12);
    assert!(top[3] == 255 && top[2] > 200 && top[0] < 40, "the seal's top is blue: {top:?}");
    assert_eq!(at(128, 60), [255, 255, 255, 255], "the disc is white");
    assert_eq!(at(116, 154), [0x0b, 0x57, 0xd0, 255], "the check mark is zegel blue");
}

#[test]
fn the_face_shows_the_name_study_load_and_level() {
    assert_eq!(
        Face::of(&micro()),
        Face { name: "Data Literacy for Professionals".into(), details: Some("5 EC · EQF 6".into()) }
    );
    assert_eq!(Face::of(&json!({})), Face { name: "Open Badge".into(), details: None });
    assert_eq!(
        Face::of(&credential(json!({"name": "  ", "creditsAvailable": 2.5}))),
        Face { name: "Open Badge".into(), details: Some("2.5 EC".into()) }
    );
}

#[test]
fn long_names_wrap_and_end_in_an_ellipsis() {
    assert_eq!(
        wrap("Data Literacy for Professionals", 14, 3),
        (vec!["Data Literacy".into(), "for".into(), "Professionals".into()], true)
    );
    // A word broken in two does not fit (a smaller type size might).
    let (lines, fits) = wrap("Data Literacy for Professionals", 12, 4);
    assert!(!fits);
    assert_eq!(lines, ["Data", "Literacy for", "Professional", "s"]);
    let (lines, fits) = wrap(&"word ".repeat(40), 10, 2);
    assert!(!fits);
    assert_eq!(lines, ["word word", "word word…"]);
    let svg = drawn_svg(&Face { name: "x".repeat(500), details: None });
    assert_eq!(svg.matches("<tspan").count(), 4, "{svg}");
    assert!(svg.contains('…'));
}

#[test]
fn a_hostile_name_stays_text() {
    let hostile = r#"</text><script>alert(1)</script><text x="0" onload="alert(2)">]]><![CDATA[&x;"#;
    let face = Face { name: hostile.into(), details: Some("<b>5</b> EC".into()) };
    let svg = drawn_svg(&face);
    for bad in ["<script", "</text><script", "onload=\"", "<![CDATA[", "&x;", "<b>"] {
        assert!(!svg.contains(bad), "{bad} in {svg}");
    }
    // Still a document zegel (and any XML reader) can bake into and read.
    let baked = baking::bake_svg(&svg, Embedded::Jwt(JWS)).unwrap();
    assert_eq!(extract(baked.as_bytes()).unwrap().credential, JWS);
}

#[test]
fn every_kind_of_badge_carries_the_credential() {
    let document = serde_json::to_string(&micro()).unwrap();
    for kind in [ImageKind::Png, ImageKind::Svg] {
        for embedded in [Embedded::Json(&document), Embedded::Jwt(JWS)] {
            let image = baked(kind, &micro(), embedded).unwrap();
            let extracted = extract(&image).unwrap();
            assert_eq!((extracted.image, extracted.embedded()), (kind, embedded));
        }
    }
    let svg = String::from_utf8(baked(ImageKind::Svg, &micro(), Embedded::Jwt(JWS)).unwrap()).unwrap();
    assert!(svg.contains(">Data Literacy for Professionals</title>"), "{svg}");
    assert!(svg.contains(">5 EC · EQF 6</text>"), "{svg}");
}

#[test]
fn the_achievements_own_image_is_used_when_the_credential_carries_it_as_data() {
    let drawn = draw_png(8);
    let png_uri = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&drawn));
    let svg_uri = "data:image/svg+xml;charset=utf-8,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%3E%3Crect%20width%3D%221%22%2F%3E%3C%2Fsvg%3E";
    let with_image = |id: &str| credential(json!({"name": "Own", "image": {"id": id, "type": "Image"}}));

    let png = baked(ImageKind::Png, &with_image(&png_uri), Embedded::Jwt(JWS)).unwrap();
    assert_eq!(pixels(&png).0, 8, "the achievement's PNG");
    let svg = String::from_utf8(baked(ImageKind::Svg, &with_image(&png_uri), Embedded::Jwt(JWS)).unwrap()).unwrap();
    assert!(svg.contains(r#"width="8" height="8""#) && svg.contains("data:image/png;base64,"), "{svg}");

    let svg = String::from_utf8(baked(ImageKind::Svg, &with_image(svg_uri), Embedded::Jwt(JWS)).unwrap()).unwrap();
    assert!(svg.contains(r#"<rect width="1"/>"#), "the achievement's SVG: {svg}");
    // A PNG cannot be drawn from an SVG without a rasteriser: zegel's seal.
    let png = baked(ImageKind::Png, &with_image(svg_uri), Embedded::Jwt(JWS)).unwrap();
    assert_eq!(pixels(&png).0, 256);

    // Linked images are never fetched; broken data falls back to the drawn badge.
    for id in [
        "https://example.edu/badge.png",
        "data:image/png;base64,AAAA",
        "data:image/svg+xml,<html/>",
        "data:text/plain,x",
    ] {
        let png = baked(ImageKind::Png, &with_image(id), Embedded::Jwt(JWS)).unwrap();
        assert_eq!(pixels(&png).0, 256, "{id}");
        let svg = String::from_utf8(baked(ImageKind::Svg, &with_image(id), Embedded::Jwt(JWS)).unwrap()).unwrap();
        assert!(svg.contains("<title>Own</title>"), "{id}: {svg}");
    }
}

#[test]
fn data_uris_are_read_as_rfc_2397_says() {
    assert_eq!(data_uri("data:,A%20b"), Some((String::new(), b"A b".to_vec())));
    assert_eq!(data_uri("DATA:Image/PNG;base64,aGk="), Some(("image/png".into(), b"hi".to_vec())));
    assert_eq!(data_uri("data:image/png;base64,aGk"), Some(("image/png".into(), b"hi".to_vec())));
    assert_eq!(data_uri("data:image/png;base64,a G\nk="), Some(("image/png".into(), b"hi".to_vec())));
    assert_eq!(data_uri("data:image/png;base64,%%%"), None);
    assert_eq!(data_uri("https://example.edu/x.png"), None);
    assert_eq!(data_uri("data:no-comma"), None);
}

#[test]
fn the_file_name_is_the_achievement_in_plain_ascii() {
    let id = "99d25c58-522b-4c54-ae38-68ec0d7c811c";
    assert_eq!(file_name(&micro(), id, ImageKind::Png), "data-literacy-for-professionals-99d25c58.png");
    let hostile = credential(json!({"name": "\"; filename*=UTF-8''evil.exe\r\nX: é"}));
    assert_eq!(file_name(&hostile, id, ImageKind::Svg), "filename-utf-8-evil-exe-x-99d25c58.svg");
    assert_eq!(file_name(&credential(json!({"name": "日本語"})), "", ImageKind::Svg), "badge-.svg");
    assert!(file_name(&credential(json!({"name": "a ".repeat(100)})), id, ImageKind::Png).len() <= 48 + 14);
}
