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
    let paper = AgreementPaper::of(&view, store.directory(), IdDisclosure::Full).unwrap();
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
    let masked = AgreementPaper::of(&view, store.directory(), IdDisclosure::Masked).unwrap();
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
    )
    .unwrap_err();
    assert!(e.to_string().contains("it is not resolved"), "{e}");
}
