use super::*;
use proptest::prelude::*;

const JSON: &str = r#"{"@context":["https://www.w3.org/ns/credentials/v2"],"name":"Data & <Analyse> ]]> \"x\"","n":1}"#;
const JWS: &str = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl";

/// A 1 × 1 transparent PNG.
fn tiny_png() -> Vec<u8> {
    let mut header = Vec::new();
    header.extend_from_slice(&1u32.to_be_bytes());
    header.extend_from_slice(&1u32.to_be_bytes());
    header.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &[0, 0, 0, 0, 0]).unwrap();
    let mut png = png::SIGNATURE.to_vec();
    png.extend(png_chunk(b"IHDR", &header));
    png.extend(png_chunk(b"IDAT", &encoder.finish().unwrap()));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// `image` with `chunk` inserted before IEND (the last 12 bytes).
fn with_chunk(image: &[u8], chunk: &[u8]) -> Vec<u8> {
    let at = image.len() - 12;
    [&image[..at], chunk, &image[at..]].concat()
}

fn itxt(keyword: &str, flag: u8, method: u8, text: &[u8]) -> Vec<u8> {
    let data = [keyword.as_bytes(), &[0, flag, method], b"en\0", b"Badge\0", text].concat();
    png_chunk(b"iTXt", &data)
}

fn chunk_types(image: &[u8]) -> Vec<String> {
    png::chunks(image).unwrap().iter().map(|c| String::from_utf8_lossy(&c.kind).into_owned()).collect()
}

// ---------------------------------------------------------------------------
// PNG
// ---------------------------------------------------------------------------

#[test]
fn a_credential_baked_into_a_png_comes_out_the_same() {
    for credential in [Embedded::Json(JSON), Embedded::Jwt(JWS)] {
        let baked = bake_png(&tiny_png(), credential).unwrap();
        assert_eq!(chunk_types(&baked), ["IHDR", "IDAT", "iTXt", "IEND"]);
        let extracted = extract(&baked).unwrap();
        assert_eq!(extracted.image, ImageKind::Png);
        assert_eq!(extracted.embedded(), credential);
    }
}

#[test]
fn the_png_chunk_has_the_layout_the_spec_gives() {
    let baked = bake_png(&tiny_png(), Embedded::Jwt(JWS)).unwrap();
    let chunks = png::chunks(&baked).unwrap();
    let itxt = chunks.iter().find(|c| &c.kind == b"iTXt").unwrap();
    // keyword, NUL, compression flag 0, method 0, empty language tag and
    // translated keyword, then the text.
    assert_eq!(itxt.data, [b"openbadgecredential\0\0\0\0\0".as_slice(), JWS.as_bytes()].concat());
}

#[test]
fn baking_again_replaces_the_credential_and_keeps_the_rest() {
    let with_text = with_chunk(&tiny_png(), &png_chunk(b"tEXt", b"Title\0A badge"));
    let first = bake_png(&with_text, Embedded::Json(JSON)).unwrap();
    let second = bake_png(&first, Embedded::Jwt(JWS)).unwrap();
    assert_eq!(chunk_types(&second), ["IHDR", "IDAT", "tEXt", "iTXt", "IEND"]);
    assert_eq!(extract(&second).unwrap().credential, JWS);
    // Other images' credential chunks anywhere are replaced too.
    let elsewhere = [&tiny_png()[..33], &itxt(PNG_KEYWORD, 0, 0, b"{}"), &tiny_png()[33..]].concat();
    assert_eq!(chunk_types(&elsewhere), ["IHDR", "iTXt", "IDAT", "IEND"]);
    let rebaked = bake_png(&elsewhere, Embedded::Json(JSON)).unwrap();
    assert_eq!(chunk_types(&rebaked), ["IHDR", "IDAT", "iTXt", "IEND"]);
    assert_eq!(extract(&rebaked).unwrap().credential, JSON);
}

#[test]
fn a_compressed_credential_chunk_is_read_too() {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, JSON.as_bytes()).unwrap();
    let image = with_chunk(&tiny_png(), &itxt(PNG_KEYWORD, 1, 0, &encoder.finish().unwrap()));
    assert_eq!(extract(&image).unwrap().credential, JSON);
    // An unknown compression method, or data that does not inflate: corrupt.
    let unknown = with_chunk(&tiny_png(), &itxt(PNG_KEYWORD, 1, 7, b"x"));
    assert!(matches!(extract(&unknown), Err(ExtractError::Png(PngError::Corrupt(_)))));
    let garbage = with_chunk(&tiny_png(), &itxt(PNG_KEYWORD, 1, 0, b"not zlib"));
    assert!(matches!(extract(&garbage), Err(ExtractError::Png(PngError::Corrupt(_)))));
}

#[test]
fn a_compressed_bomb_is_refused_not_inflated() {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &vec![b' '; MAX_CREDENTIAL_BYTES + 10]).unwrap();
    let image = with_chunk(&tiny_png(), &itxt(PNG_KEYWORD, 1, 0, &encoder.finish().unwrap()));
    assert_eq!(extract(&image), Err(ExtractError::TooLarge(ImageKind::Png)));
}

#[test]
fn several_credentials_in_one_png_are_refused() {
    let once = with_chunk(&tiny_png(), &itxt(PNG_KEYWORD, 0, 0, JSON.as_bytes()));
    let twice = with_chunk(&once, &itxt(PNG_KEYWORD, 0, 0, JWS.as_bytes()));
    assert_eq!(extract(&twice), Err(ExtractError::SeveralCredentials(ImageKind::Png)));
}

#[test]
fn a_png_without_a_credential_says_so() {
    assert_eq!(extract(&tiny_png()), Err(ExtractError::NoCredential(ImageKind::Png)));
    // A tEXt chunk with the keyword is not the iTXt the spec names.
    let text = with_chunk(&tiny_png(), &png_chunk(b"tEXt", b"openbadgecredential\0{}"));
    assert_eq!(extract(&text), Err(ExtractError::NoCredential(ImageKind::Png)));
    let ob2 = with_chunk(&tiny_png(), &itxt("openbadges", 0, 0, b"https://example.org/assertion"));
    assert_eq!(extract(&ob2), Err(ExtractError::OpenBadges2(ImageKind::Png)));
    let neither = with_chunk(&tiny_png(), &itxt(PNG_KEYWORD, 0, 0, b"hello"));
    assert_eq!(extract(&neither), Err(ExtractError::NotACredential(ImageKind::Png)));
    let message = ExtractError::NoCredential(ImageKind::Png).to_string();
    assert!(message.contains("openbadgecredential"), "{message}");
}

#[test]
fn truncated_and_corrupt_pngs_are_refused_without_panicking() {
    let baked = bake_png(&tiny_png(), Embedded::Json(JSON)).unwrap();
    for cut in 8..baked.len() {
        let result = extract(&baked[..cut]);
        assert_eq!(result, Err(ExtractError::Png(PngError::Truncated)), "cut at {cut}");
        assert!(bake_png(&baked[..cut], Embedded::Json(JSON)).is_err());
    }
    // A flipped bit in the credential text: its CRC no longer matches.
    let mut flipped = baked.clone();
    let at = baked.windows(5).position(|w| w == b"Data ").unwrap();
    flipped[at] ^= 1;
    assert_eq!(extract(&flipped), Err(ExtractError::Png(PngError::BadCrc("iTXt".into()))));
    assert_eq!(bake_png(&flipped, Embedded::Json(JSON)), Err(BakeError::Png(PngError::BadCrc("iTXt".into()))));
    // A length far beyond the data.
    let mut long = tiny_png();
    long[8..12].copy_from_slice(&0x7fff_fff0u32.to_be_bytes());
    assert_eq!(extract(&long), Err(ExtractError::Png(PngError::Truncated)));
    long[8..12].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    assert!(matches!(extract(&long), Err(ExtractError::Png(PngError::Corrupt(_)))));
    // IHDR must come first.
    let idat_first = [&png::SIGNATURE[..], &png_chunk(b"IDAT", b"x"), &png_chunk(b"IEND", &[])].concat();
    assert!(matches!(bake_png(&idat_first, Embedded::Jwt(JWS)), Err(BakeError::Png(PngError::Corrupt(_)))));
}

#[test]
fn bytes_after_iend_are_not_part_of_the_image() {
    let trailing = [tiny_png(), b"trailing garbage".to_vec()].concat();
    let baked = bake_png(&trailing, Embedded::Jwt(JWS)).unwrap();
    assert!(baked.ends_with(&png_chunk(b"IEND", &[])));
    assert_eq!(extract(&baked).unwrap().credential, JWS);
}

#[test]
fn what_is_no_image_is_told_apart() {
    for bytes in [&b""[..], b"{\"a\": 1}", b"eyJ.eyJ.sig", b"GIF89a", b"\x89PNX"] {
        assert_eq!(extract(bytes), Err(ExtractError::NotAnImage), "{bytes:?}");
    }
    assert_eq!(bake_png(b"GIF89a", Embedded::Jwt(JWS)), Err(BakeError::Png(PngError::NotPng)));
    assert_eq!(extract(b"\xff\xfe<\x00s\x00"), Err(ExtractError::NotAnImage));
    assert_eq!(extract("\u{feff}  <svg/>".as_bytes()), Err(ExtractError::NoCredential(ImageKind::Svg)));
    assert_eq!(extract(b"<svg>\xff</svg>"), Err(ExtractError::Svg(SvgError::NotUtf8)));
}

#[test]
fn only_json_objects_and_compact_jws_are_baked() {
    let png = tiny_png();
    assert_eq!(bake_png(&png, Embedded::Json("[1]")), Err(BakeError::NotJson));
    assert_eq!(bake_png(&png, Embedded::Json("{\"a\": ")), Err(BakeError::NotJson));
    assert_eq!(bake_png(&png, Embedded::Jwt("a.b")), Err(BakeError::NotJws));
    assert_eq!(bake_png(&png, Embedded::Jwt("a.b.c\0")), Err(BakeError::NotJws));
    assert_eq!(bake_svg("<svg/>", Embedded::Jwt("a\".b.c")), Err(BakeError::NotJws));
    // U+FFFF may stand raw in JSON, but not in XML.
    assert_eq!(bake_svg("<svg/>", Embedded::Json("{\"a\": \"\u{ffff}\"}")), Err(BakeError::NotXmlText));
}

// ---------------------------------------------------------------------------
// SVG
// ---------------------------------------------------------------------------

const SVG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment with <openbadges:credential> in it -->
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" data-note="a > b" viewBox="0 0 10 10">
  <circle cx="5" cy="5" r="4"/>
</svg>
"#;

#[test]
fn a_credential_baked_into_an_svg_comes_out_the_same() {
    for credential in [Embedded::Json(JSON), Embedded::Jwt(JWS)] {
        let baked = bake_svg(SVG, credential).unwrap();
        assert!(baked.contains(r#"xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0""#), "{baked}");
        let extracted = extract(baked.as_bytes()).unwrap();
        assert_eq!(extracted.image, ImageKind::Svg);
        assert_eq!(extracted.embedded(), credential);
        // The rest of the document is unchanged.
        assert!(baked.starts_with(&SVG[..SVG.find("<svg").unwrap()]));
        assert!(baked.ends_with("<circle cx=\"5\" cy=\"5\" r=\"4\"/>\n</svg>\n"), "{baked}");
    }
}

#[test]
fn json_goes_into_cdata_split_at_its_end_marker_and_a_jws_into_verify() {
    let baked = bake_svg("<svg>\n</svg>", Embedded::Json(JSON)).unwrap();
    assert_eq!(
        baked,
        format!(
            "<svg xmlns:openbadges=\"{OB3_NAMESPACE}\">\n<openbadges:credential><![CDATA[{}]]></openbadges:credential>\n</svg>",
            JSON.replace("]]>", "]]]]><![CDATA[>")
        )
    );
    let baked = bake_svg("<svg/>", Embedded::Jwt(JWS)).unwrap();
    assert_eq!(
        baked,
        format!("<svg xmlns:openbadges=\"{OB3_NAMESPACE}\">\n<openbadges:credential verify=\"{JWS}\"/>\n</svg>")
    );
}

#[test]
fn baking_again_replaces_the_svg_credential() {
    let first = bake_svg(SVG, Embedded::Json(JSON)).unwrap();
    let second = bake_svg(&first, Embedded::Jwt(JWS)).unwrap();
    assert_eq!(second.matches("credential").count(), 2, "one element (start and xmlns): {second}");
    assert_eq!(second.matches("xmlns:openbadges").count(), 1, "{second}");
    assert_eq!(extract(second.as_bytes()).unwrap().credential, JWS);
}

#[test]
fn the_namespace_prefix_is_the_one_the_document_declares() {
    let own = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="{OB3_NAMESPACE}"><g><ob:credential>{{"a": 1}}</ob:credential></g></svg>"#
    );
    assert_eq!(extract(own.as_bytes()).unwrap().credential, r#"{"a": 1}"#);
    // Baking reuses the prefix, and replaces the nested element.
    let baked = bake_svg(&own, Embedded::Jwt(JWS)).unwrap();
    assert_eq!(
        baked,
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="{OB3_NAMESPACE}">
<ob:credential verify="{JWS}"/><g></g></svg>"#
        )
    );
    // Declared on the element itself, or as its default namespace.
    let on_element = format!(r#"<svg><x:credential xmlns:x="{OB3_NAMESPACE}" verify="{JWS}"/></svg>"#);
    assert_eq!(extract(on_element.as_bytes()).unwrap().credential, JWS);
    let default = format!(r#"<svg><credential xmlns="{OB3_NAMESPACE}"><![CDATA[{{}}]]></credential></svg>"#);
    assert_eq!(extract(default.as_bytes()).unwrap().credential, "{}");
    // `openbadges` bound elsewhere is not OB 3.0; undeclared, it is taken as meant.
    let other =
        r#"<svg xmlns:openbadges="https://example.org/ns"><openbadges:credential>{}</openbadges:credential></svg>"#;
    assert_eq!(extract(other.as_bytes()), Err(ExtractError::NoCredential(ImageKind::Svg)));
    let undeclared = r#"<svg><openbadges:credential>{}</openbadges:credential></svg>"#;
    assert_eq!(extract(undeclared.as_bytes()).unwrap().credential, "{}");
    // Baking into the former declares a free prefix.
    let baked = bake_svg(other, Embedded::Jwt(JWS)).unwrap();
    assert!(baked.contains(&format!(r#"xmlns:openbadges3="{OB3_NAMESPACE}""#)), "{baked}");
    assert_eq!(extract(baked.as_bytes()).unwrap().credential, JWS);
}

#[test]
fn references_in_the_credential_text_are_expanded() {
    let svg = format!(
        r#"<svg xmlns:openbadges="{OB3_NAMESPACE}"><openbadges:credential>
  {{"a": "&lt;b&gt; &amp; &#233;&#x20AC;&quot;&apos;"}}
</openbadges:credential></svg>"#
    );
    assert_eq!(extract(svg.as_bytes()).unwrap().credential, r#"{"a": "<b> & é€"'"}"#);
    let attribute =
        format!(r#"<svg xmlns:openbadges="{OB3_NAMESPACE}"><openbadges:credential verify="a&#46;b.c"/></svg>"#);
    assert_eq!(extract(attribute.as_bytes()).unwrap().credential, "a.b.c");
}

#[test]
fn hostile_svgs_are_refused_or_read_literally() {
    let ns = OB3_NAMESPACE;
    let cases: Vec<(String, ExtractError)> = vec![
        // An entity from the DTD is never expanded (no billion laughs, no external files).
        (
            format!(r#"<!DOCTYPE svg [<!ENTITY x "{{}}"> <!-- ] > --> ]><svg xmlns:o="{ns}"><o:credential>&x;</o:credential></svg>"#),
            ExtractError::Svg(SvgError::Malformed { at: 0, what: "" }),
        ),
        (format!(r#"<svg xmlns:o="{ns}"><o:credential>{{}}<b/></o:credential></svg>"#), malformed()),
        (format!(r#"<svg xmlns:o="{ns}"><o:credential>{{}}</svg>"#), malformed()),
        (format!(r#"<svg xmlns:o="{ns}"><o:credential>{{}}"#), malformed()),
        (format!(r#"<svg xmlns:o="{ns}"><o:credential x="1" x="2">{{}}</o:credential></svg>"#), malformed()),
        (format!(r#"<svg xmlns:o="{ns}"><o:credential verify=unquoted/></svg>"#), malformed()),
        (format!(r#"<svg xmlns:o="{ns}"><o:credential verify="<x>"/></svg>"#), malformed()),
        (format!(r#"<svg xmlns:o="{ns}"><o:credential>&#0;</o:credential></svg>"#), malformed()),
        (format!(r#"<svg xmlns:o="{ns}"></svg><svg/>"#), malformed()),
        (format!(r#"<svg xmlns:o="{ns}"></svg>{{}}"#), malformed()),
        (format!(r#"<svg xmlns:o="{ns}"><![CDATA[ unclosed </svg>"#), malformed()),
        (
            format!(r#"<svg xmlns:o="{ns}"><o:credential>{{}}</o:credential><o:credential verify="{JWS}"/></svg>"#),
            ExtractError::SeveralCredentials(ImageKind::Svg),
        ),
        (format!(r#"<svg xmlns:o="{ns}"><o:credential>  </o:credential></svg>"#), ExtractError::NotACredential(ImageKind::Svg)),
        (format!(r#"<svg xmlns:o="{ns}"><o:credential/></svg>"#), ExtractError::NotACredential(ImageKind::Svg)),
        (r#"<html><svg/></html>"#.to_owned(), ExtractError::Svg(SvgError::NotSvg)),
        (
            r#"<svg xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="https://example.org/a"/></svg>"#
                .to_owned(),
            ExtractError::OpenBadges2(ImageKind::Svg),
        ),
        (format!("{}<svg>{}", "<g>".repeat(300), "</g>".repeat(300)), ExtractError::Svg(SvgError::NotSvg)),
        (format!("<svg>{}{}</svg>", "<g>".repeat(300), "</g>".repeat(300)), ExtractError::Svg(SvgError::TooDeep)),
    ];
    for (svg, expected) in cases {
        let got = extract(svg.as_bytes());
        match (&got, &expected) {
            (Err(ExtractError::Svg(SvgError::Malformed { .. })), ExtractError::Svg(SvgError::Malformed { .. })) => {}
            _ => assert_eq!(got, Err(expected), "{svg}"),
        }
        // What cannot be read cannot be baked into either.
        if matches!(got, Err(ExtractError::Svg(_))) {
            assert!(bake_svg(&svg, Embedded::Jwt(JWS)).is_err(), "{svg}");
        }
    }
    // Markup in comments, CDATA outside the element and attribute values is not an element.
    let decoys = format!(
        r#"<svg xmlns:o="{ns}" data-x="<o:credential>"><!-- <o:credential>{{}}</o:credential> --><text><![CDATA[<o:credential>{{}}</o:credential>]]></text></svg>"#
    );
    assert!(extract(decoys.as_bytes()).is_err());
    let decoys = decoys.replace(r#" data-x="<o:credential>""#, "");
    assert_eq!(extract(decoys.as_bytes()), Err(ExtractError::NoCredential(ImageKind::Svg)));
}

fn malformed() -> ExtractError {
    ExtractError::Svg(SvgError::Malformed { at: 0, what: "" })
}

#[test]
fn xml_escaping_covers_markup_and_drops_what_xml_cannot_carry() {
    assert_eq!(escape_xml("a<b>&\"c'\u{1}\u{fffe}é"), "a&lt;b&gt;&amp;&quot;c&apos;é");
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// JSON objects with arbitrary strings (escaped as serde_json writes them).
fn json_object() -> impl Strategy<Value = String> {
    proptest::collection::btree_map("[a-z]{1,8}", any::<String>(), 0..4)
        .prop_map(|members| serde_json::to_string(&members).unwrap())
        .prop_filter("XML characters only", |text| text.chars().all(svg::is_xml_char))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_json_credential_round_trips_through_both_images(json in json_object()) {
        let png = bake_png(&tiny_png(), Embedded::Json(&json)).unwrap();
        prop_assert_eq!(extract(&png).unwrap().credential, json.trim());
        let svg = bake_svg(SVG, Embedded::Json(&json)).unwrap();
        prop_assert_eq!(extract(svg.as_bytes()).unwrap().credential, json.trim());
    }

    #[test]
    fn arbitrary_bytes_never_panic_extract(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = extract(&bytes);
        let mut png = png::SIGNATURE.to_vec();
        png.extend_from_slice(&bytes);
        let _ = extract(&png);
        let mut svg = b"<svg>".to_vec();
        svg.extend_from_slice(&bytes);
        let _ = extract(&svg);
    }

    #[test]
    fn a_mutated_baked_image_is_refused_or_read_without_panicking(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        svg in any::<bool>(),
    ) {
        let mut bytes = if svg {
            bake_svg(SVG, Embedded::Json(JSON)).unwrap().into_bytes()
        } else {
            bake_png(&tiny_png(), Embedded::Json(JSON)).unwrap()
        };
        for (at, byte) in edits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        if let (Ok(extracted), false) = (extract(&bytes), svg) {
            // A PNG's CRCs catch any change to the credential text.
            prop_assert_eq!(extracted.credential, JSON);
        }
    }
}
