//! The printed agreement and application, read back with poppler's `pdftotext`.

use super::agreement::{judicial_application, mediation_agreement, AgreementPaper};
use super::pdf::Fonts;
use super::test_store::demo_store;
use super::IdDisclosure;
use crate::demo::DEMO_NOW_MS;
use crate::store::CaseFilter;
use std::process::Command;

fn text_of(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, installed by .ci/setup)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fonts_in(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdffonts")
        .arg(&path)
        .output()
        .expect("pdffonts");
    String::from_utf8(out.stdout).unwrap()
}

/// No attachment's bytes are here.
fn no_images(_: &str) -> Option<Vec<u8>> {
    None
}

/// Text with its line breaks and spaces removed, as pdftotext may break a paragraph anywhere.
fn flat(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn a_resolved_cases_agreement_prints_its_parties_terms_and_committee() {
    // Kept whole: its directory holds the file.
    let demo = demo_store(5, 60);
    let store = &demo.store;
    let all = store
        .list(
            &CaseFilter {
                limit: 1000,
                ..CaseFilter::default()
            },
            DEMO_NOW_MS,
        )
        .unwrap();
    let with = all
        .iter()
        .find(|s| s.agreement)
        .expect("a case with an agreement");
    let view = store.case(&with.id).unwrap();
    let paper =
        AgreementPaper::of(&view, store.directory(), IdDisclosure::Full, &no_images).unwrap();
    assert!(!paper.terms.is_empty(), "{paper:?}");
    let fonts = Fonts::load(None).unwrap();
    let pdf = mediation_agreement(&paper, &fonts).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(
        pdf.len() < 300_000,
        "the font is embedded as a subset: {} bytes",
        pdf.len()
    );
    let embedded = fonts_in(&pdf);
    assert!(embedded.contains("NotoSerifCJK"), "{embedded}");
    assert!(
        embedded.lines().skip(2).all(|l| l.contains(" yes yes ")),
        "every font embedded as a subset: {embedded}"
    );
    let text = flat(&text_of(&pdf));
    assert!(text.contains("人民调解协议书"), "{text}");
    for p in &paper.parties {
        assert!(text.contains(&p.name), "party {} in {text}", p.name);
        if let Some(id) = &p.id_number {
            assert!(
                text.contains(id.as_str()),
                "the whole ID {id} stays on one line"
            );
        }
    }
    for t in &paper.terms {
        assert!(text.contains(&flat(t)), "term {t} in {text}");
    }
    assert!(text.contains(&flat(&paper.committee)), "{text}");
    assert!(text.contains("当事人自愿达成如下协议"));
    assert!(text.contains(&paper.date.format("%Y年%-m月%-d日").to_string()));

    // The application to the court names the parties, the agreement and its number.
    let app = judicial_application(&paper, &fonts).unwrap();
    let text = flat(&text_of(&app));
    assert!(text.contains("司法确认申请书"));
    assert!(text.contains(&paper.number), "{text}");
    for p in &paper.parties {
        assert!(text.contains(&p.name));
    }

    // Masked for one who may not see the numbers.
    let masked =
        AgreementPaper::of(&view, store.directory(), IdDisclosure::Masked, &no_images).unwrap();
    let text = flat(&text_of(&mediation_agreement(&masked, &fonts).unwrap()));
    for p in masked.parties.iter().filter(|p| p.id_number.is_some()) {
        let id = p.id_number.as_deref().unwrap();
        assert!(id.contains("********") && text.contains(id), "{id}");
    }

    // A case with no agreement has nothing to print.
    let without = all
        .iter()
        .find(|s| !s.agreement && s.resolved_at.is_none())
        .expect("an open case");
    let e = AgreementPaper::of(
        &store.case(&without.id).unwrap(),
        store.directory(),
        IdDisclosure::Full,
        &no_images,
    )
    .unwrap_err();
    assert!(e.to_string().contains("it is not resolved"), "{e}");
}

/// A signature as a phone's canvas gives it: a transparent PNG, blank but for a stroke from
/// `margin` pixels in at the top left to `margin` pixels in at the bottom right.
fn drawn_png(width: u32, height: u32, margin: u32) -> Vec<u8> {
    let mut rgba = vec![0u8; (width * height * 4) as usize];
    let (w, h) = (width - 2 * margin - 1, height - 2 * margin - 1);
    for i in 0..=w {
        let (x, y) = (margin + i, margin + i * h / w);
        let p = ((y * width + x) * 4) as usize;
        rgba[p..p + 4].copy_from_slice(&[20, 20, 60, 255]);
    }
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, width, height);
    e.set_color(png::ColorType::Rgba);
    e.set_depth(png::BitDepth::Eight);
    e.write_header().unwrap().write_image_data(&rgba).unwrap();
    out
}

fn images_in(pdf: &[u8]) -> Vec<(u32, u32)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdfimages")
        .arg("-list")
        .arg(&path)
        .output()
        .expect("pdfimages (poppler-utils)");
    // page num type width height …: the images themselves, not their transparency masks.
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(2)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"image")).then(|| (f[3].parse().unwrap(), f[4].parse().unwrap()))
        })
        .collect()
}

#[test]
fn an_agreement_signed_on_the_spot_prints_each_partys_drawn_signature() {
    use crate::org::Role;
    use crate::store::SignatureImage;
    use crate::workflow::Status;
    let mut demo = demo_store(11, 80);
    let store = &mut demo.store;
    // A case a grid worker reported and nobody has taken up: settled where it happened.
    let all = store
        .list(
            &CaseFilter {
                limit: 1000,
                ..CaseFilter::default()
            },
            DEMO_NOW_MS,
        )
        .unwrap();
    let (id, view) = all
        .iter()
        .filter(|s| s.status == Status::Reported)
        .map(|s| (s.id.clone(), store.case(&s.id).unwrap()))
        .find(|(_, v)| {
            v.document.parties.len() >= 2
                && demo
                    .g
                    .directory()
                    .person(&v.folded.state.as_ref().unwrap().reporter)
                    .is_some_and(|p| p.roles.contains(&Role::GridWorker))
        })
        .expect("a reported case of a grid worker with two parties");
    let reporter = view.folded.state.as_ref().unwrap().reporter.clone();
    let gw = demo.g.actor_for(&reporter, Role::GridWorker);
    let drawings = [drawn_png(600, 220, 50), drawn_png(600, 220, 80)];
    let signatures: Vec<SignatureImage> = view
        .document
        .parties
        .iter()
        .zip(&drawings)
        .map(|(p, bytes)| SignatureImage {
            party: p.id.clone(),
            mime: "image/png".to_owned(),
            bytes: bytes.clone(),
        })
        .collect();
    let action = crate::model::Action::Resolve {
        agreement: Some(crate::model::Agreement {
            summary: "王家于三日内拆除越界围墙\n李家承担拆除费用五百元".to_owned(),
            attachment: None,
            performance: "签订协议之日起三日内履行完毕，由网格员现场见证。".to_owned(),
            signatures: Vec::new(),
        }),
        note: "就地化解".to_owned(),
    };
    store
        .resolve_signed(&id, &gw, action, &signatures, DEMO_NOW_MS)
        .unwrap();
    let view = store.case(&id).unwrap();
    let here = |sha: &str| store.blob(sha).unwrap().map(|(_, b)| b);
    let paper = AgreementPaper::of(&view, store.directory(), IdDisclosure::Masked, &here).unwrap();
    let fonts = Fonts::load(None).unwrap();
    let pdf = mediation_agreement(&paper, &fonts).unwrap();
    // Both drawings are on the page, without their blank margins (6 pixels kept around the
    // strokes), so that a signature fills its line.
    let mut images = images_in(&pdf);
    images.sort();
    assert_eq!(images, vec![(452, 72), (512, 132)]);
    let text = flat(&text_of(&pdf));
    for t in [
        "王家于三日内拆除越界围墙",
        "李家承担拆除费用五百元",
        "签订协议之日起三日内履行完毕，由网格员现场见证",
        "当事人签名系在调解现场于移动设备上手写",
    ] {
        assert!(text.contains(t), "{t} missing from {text}");
    }
    for p in &view.document.parties[..2] {
        assert!(text.contains(&p.name), "{}", p.name);
    }

    // On a server the bytes of one signature have not arrived yet: its place says so, the
    // other is drawn.
    let first = &view
        .document
        .attachments
        .iter()
        .find(|a| a.sha256 == crate::store::sha256_hex(&drawings[0]))
        .unwrap()
        .sha256
        .clone();
    let partly = |sha: &str| (sha != first).then(|| here(sha)).flatten();
    let paper =
        AgreementPaper::of(&view, store.directory(), IdDisclosure::Masked, &partly).unwrap();
    let pdf = mediation_agreement(&paper, &fonts).unwrap();
    assert_eq!(images_in(&pdf), vec![(452, 72)]);
    assert!(flat(&text_of(&pdf)).contains("已在现场签名，图像尚未同步"));
    // A damaged image is a note too, not a failed document.
    let damaged = |sha: &str| {
        here(sha).map(|mut b| {
            b.truncate(60);
            b
        })
    };
    let paper =
        AgreementPaper::of(&view, store.directory(), IdDisclosure::Masked, &damaged).unwrap();
    let pdf = mediation_agreement(&paper, &fonts).unwrap();
    assert!(images_in(&pdf).is_empty());
    // The application for judicial confirmation is signed anew, by hand.
    assert!(images_in(&judicial_application(&paper, &fonts).unwrap()).is_empty());
}
