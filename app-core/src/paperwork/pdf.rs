//! Printable documents as PDF (krilla, typst's PDF writer): text laid out in lines on A4 pages
//! with a Chinese font embedded as a subset (only the glyphs used: a two-page agreement is tens
//! of KB, not the font's 20 MB).
//!
//! The layout is simple and exact: lines are measured with the font's own advance widths
//! (skrifa), broken between any two Chinese characters but never inside a run of Latin letters
//! or digits (an ID or a phone number stays whole), and closing punctuation never starts a line
//! (避头点: it hangs in the margin instead). Pages are laid out first, as lists of what to draw,
//! then written.

use crate::error::{Error, Result};
use krilla::geom::{PathBuilder, Point, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::text::{Font, TextDirection};
use krilla::Document;
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where Debian's fonts-noto-cjk puts its serif faces (a collection: Japanese, Korean, Simplified
/// and Traditional Chinese).
pub const DEBIAN_FONT_DIR: &str = "/usr/share/fonts/opentype/noto";
const REGULAR: &str = "NotoSerifCJK-Regular.ttc";
const BOLD: &str = "NotoSerifCJK-Bold.ttc";

/// A4 in points, and its margins.
const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN_X: f32 = 72.0;
const MARGIN_TOP: f32 = 80.0;
const MARGIN_BOTTOM: f32 = 72.0;

/// One face of a font file: its bytes, its index in a collection.
#[derive(Clone)]
struct Face {
    data: Arc<Vec<u8>>,
    index: u32,
    font: Font,
}

impl std::fmt::Debug for Face {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Face({} bytes, #{})", self.data.len(), self.index)
    }
}

impl Face {
    /// The Simplified Chinese face of a collection (or the file's only face).
    fn load(path: &Path) -> Result<Face> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::Document(format!(
                "the Chinese font {} cannot be read ({e}); install fonts-noto-cjk",
                path.display()
            ))
        })?;
        let data = Arc::new(bytes);
        let mut chosen = None;
        for index in 0..32 {
            let Ok(face) = FontRef::from_index(&data, index) else {
                break;
            };
            let family = face
                .localized_strings(skrifa::string::StringId::FAMILY_NAME)
                .english_or_first()
                .map(|s| s.to_string())
                .unwrap_or_default();
            if chosen.is_none() || family.ends_with(" SC") {
                chosen = Some(index);
            }
            if family.ends_with(" SC") {
                break;
            }
        }
        let index = chosen
            .ok_or_else(|| Error::Document(format!("{} holds no font face", path.display())))?;
        let font = Font::new(data.clone().into(), index)
            .ok_or_else(|| Error::Document(format!("{} cannot be used", path.display())))?;
        Ok(Face { data, index, font })
    }

    /// How wide `text` is at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        let Ok(face) = FontRef::from_index(&self.data, self.index) else {
            return 0.0;
        };
        let charmap = face.charmap();
        let metrics = face.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .map(|c| {
                charmap
                    .map(c)
                    .and_then(|g| metrics.advance_width(g))
                    .unwrap_or(size)
            })
            .sum()
    }
}

/// The fonts documents are printed in: a regular and a bold face.
#[derive(Clone, Debug)]
pub struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    /// The Noto Serif CJK faces from `dir` (Debian's [`DEBIAN_FONT_DIR`] by default, or
    /// `FENGQIAO_FONT_DIR`).
    pub fn load(dir: Option<&Path>) -> Result<Fonts> {
        let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| {
            std::env::var_os("FENGQIAO_FONT_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEBIAN_FONT_DIR))
        });
        Ok(Fonts {
            regular: Face::load(&dir.join(REGULAR))?,
            bold: Face::load(&dir.join(BOLD))?,
        })
    }

    /// The fonts of the default place ([`Fonts::load`] with no directory), loaded once for the
    /// process: every PDF it prints embeds them.
    pub fn shared() -> Result<&'static Fonts> {
        static FONTS: std::sync::OnceLock<std::result::Result<Fonts, String>> =
            std::sync::OnceLock::new();
        FONTS
            .get_or_init(|| Fonts::load(None).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::Document(e.clone()))
    }

    fn face(&self, bold: bool) -> &Face {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }
}

/// An image to draw (a party's signature), decoded to RGBA pixels.
#[derive(Clone, PartialEq, Eq)]
pub struct Picture {
    rgba: Arc<Vec<u8>>,
    width: u32,
    height: u32,
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Picture({}×{})", self.width, self.height)
    }
}

/// The largest picture decoded, in pixels a side and bytes decoded (a drawn signature is a few
/// hundred pixels a side).
const PICTURE_MAX_SIDE: u32 = 4096;
const PICTURE_MAX_BYTES: usize = 32 << 20;

impl Picture {
    /// Decodes a PNG. Refused: bytes that are not a PNG, damaged, or larger than
    /// [`PICTURE_MAX_SIDE`] a side.
    pub fn from_png(bytes: &[u8]) -> Result<Picture> {
        let bad = |e: String| Error::Document(format!("the image is not a readable PNG: {e}"));
        let mut decoder = png::Decoder::new_with_limits(
            std::io::Cursor::new(bytes),
            png::Limits {
                bytes: PICTURE_MAX_BYTES,
            },
        );
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().map_err(|e| bad(e.to_string()))?;
        let (width, height) = (reader.info().width, reader.info().height);
        if width == 0 || height == 0 || width > PICTURE_MAX_SIDE || height > PICTURE_MAX_SIDE {
            return Err(bad(format!("{width}×{height} pixels")));
        }
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader
            .next_frame(&mut buf)
            .map_err(|e| bad(e.to_string()))?;
        let pixels = (width * height) as usize;
        let rgba: Vec<u8> = match frame.color_type {
            png::ColorType::Rgba => buf[..pixels * 4].to_vec(),
            png::ColorType::Rgb => buf[..pixels * 3]
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            png::ColorType::GrayscaleAlpha => buf[..pixels * 2]
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect(),
            png::ColorType::Grayscale => {
                buf[..pixels].iter().flat_map(|&g| [g, g, g, 255]).collect()
            }
            png::ColorType::Indexed => {
                return Err(bad("an indexed image was not expanded".to_owned()))
            }
        };
        Ok(Picture {
            rgba: Arc::new(rgba),
            width,
            height,
        }
        .trimmed())
    }

    /// The picture without its empty margins (a signature pad's drawing is mostly blank space
    /// around the strokes), keeping a few pixels around what is drawn. A blank or opaque
    /// picture is kept whole.
    fn trimmed(self) -> Picture {
        const KEEP: u32 = 6;
        let (w, h) = (self.width, self.height);
        let inked = |x: u32, y: u32| self.rgba[((y * w + x) * 4 + 3) as usize] > 0;
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        for y in 0..h {
            for x in 0..w {
                if inked(x, y) {
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                    x1 = x1.max(x);
                    y1 = y1.max(y);
                }
            }
        }
        if x0 > x1 {
            return self;
        }
        let (x0, y0) = (x0.saturating_sub(KEEP), y0.saturating_sub(KEEP));
        let (x1, y1) = ((x1 + KEEP).min(w - 1), (y1 + KEEP).min(h - 1));
        if (x0, y0, x1, y1) == (0, 0, w - 1, h - 1) {
            return self;
        }
        let (cw, ch) = (x1 - x0 + 1, y1 - y0 + 1);
        let mut rgba = Vec::with_capacity((cw * ch * 4) as usize);
        for y in y0..=y1 {
            let start = ((y * w + x0) * 4) as usize;
            rgba.extend_from_slice(&self.rgba[start..start + (cw * 4) as usize]);
        }
        Picture {
            rgba: Arc::new(rgba),
            width: cw,
            height: ch,
        }
    }
}

/// What stands on a signature line.
#[derive(Clone, Copy, Debug)]
pub enum Mark<'a> {
    /// Nothing: the line is signed by hand on paper.
    Blank,
    /// A name, printed.
    Name(&'a str),
    /// A signature drawn on a touchscreen.
    Drawn(&'a Picture),
    /// A word in place of the signature (a signature not yet here).
    Note(&'a str),
}

/// The height a drawn signature takes above its line, in points.
const SIGNATURE_H: f32 = 42.0;

/// Something to draw on a page.
#[derive(Clone, Debug)]
enum Draw {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    Line {
        x1: f32,
        x2: f32,
        y: f32,
    },
    Picture {
        x: f32,
        /// The top of the picture.
        y: f32,
        w: f32,
        h: f32,
        picture: Picture,
    },
}

/// Characters that never begin a line (they hang at the end of the previous one).
const NO_LINE_START: &str = "，。、；：？！）》」』”’〉】…,.;:?!)%";

/// A document being laid out: pages of things to draw, and where the next line goes.
#[derive(Debug)]
pub struct Layout<'f> {
    fonts: &'f Fonts,
    pages: Vec<Vec<Draw>>,
    y: f32,
    title: String,
}

/// Text style: size in points, bold or not.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub size: f32,
    pub bold: bool,
}

pub const BODY: Style = Style {
    size: 12.0,
    bold: false,
};
pub const LABEL: Style = Style {
    size: 12.0,
    bold: true,
};
pub const TITLE: Style = Style {
    size: 22.0,
    bold: true,
};
pub const SMALL: Style = Style {
    size: 10.0,
    bold: false,
};

impl<'f> Layout<'f> {
    pub fn new(fonts: &'f Fonts, title: &str) -> Layout<'f> {
        Layout {
            fonts,
            pages: vec![Vec::new()],
            y: MARGIN_TOP,
            title: title.to_owned(),
        }
    }

    fn line_height(style: Style) -> f32 {
        style.size * 1.8
    }

    /// Room for `height` more points on this page, or a new page.
    fn room(&mut self, height: f32) {
        if self.y + height > PAGE_H - MARGIN_BOTTOM {
            self.pages.push(Vec::new());
            self.y = MARGIN_TOP;
        }
    }

    fn put(&mut self, draw: Draw) {
        self.pages.last_mut().expect("a page").push(draw);
    }

    pub fn gap(&mut self, points: f32) {
        self.y += points;
    }

    /// A line of text centred on the page.
    pub fn centred(&mut self, text: &str, style: Style) {
        let h = Self::line_height(style);
        self.room(h);
        self.y += style.size;
        let w = self.fonts.face(style.bold).width(text, style.size);
        self.put(Draw::Text {
            x: (PAGE_W - w) / 2.0,
            y: self.y,
            size: style.size,
            bold: style.bold,
            text: text.to_owned(),
        });
        self.y += h - style.size;
    }

    /// A line of text against the right margin.
    pub fn right(&mut self, text: &str, style: Style) {
        let h = Self::line_height(style);
        self.room(h);
        self.y += style.size;
        let w = self.fonts.face(style.bold).width(text, style.size);
        self.put(Draw::Text {
            x: PAGE_W - MARGIN_X - w,
            y: self.y,
            size: style.size,
            bold: style.bold,
            text: text.to_owned(),
        });
        self.y += h - style.size;
    }

    /// A paragraph: an optional bold lead (`label`) then `text`, wrapped to the margins, its
    /// first line indented by `indent` characters. Line breaks in `text` start new lines.
    pub fn paragraph(&mut self, label: &str, text: &str, style: Style, indent: f32) {
        let width = PAGE_W - 2.0 * MARGIN_X;
        let mut first = true;
        for part in text.split('\n') {
            let lead = if first { label } else { "" };
            let indent_pt = if first || indent > 0.0 {
                indent * style.size
            } else {
                0.0
            };
            self.wrapped(lead, part, style, indent_pt, width);
            first = false;
        }
    }

    fn wrapped(&mut self, lead: &str, text: &str, style: Style, indent: f32, width: f32) {
        let regular = self.fonts.face(false);
        let lead_w = if lead.is_empty() {
            0.0
        } else {
            self.fonts.face(true).width(lead, style.size)
        };
        let mut lines: Vec<(f32, String)> = Vec::new();
        let mut x0 = indent + lead_w;
        let mut line = String::new();
        let mut line_w = 0.0;
        for token in tokens(text) {
            let w = regular.width(&token, style.size);
            let hangs = token.chars().all(|c| NO_LINE_START.contains(c));
            if x0 + line_w + w > width && !line.is_empty() && !hangs {
                lines.push((x0, std::mem::take(&mut line)));
                x0 = 0.0;
                line_w = 0.0;
                if token == " " {
                    continue;
                }
            }
            line.push_str(&token);
            line_w += w;
        }
        lines.push((x0, line));
        let h = Self::line_height(style);
        for (i, (x, text)) in lines.into_iter().enumerate() {
            self.room(h);
            self.y += style.size;
            if i == 0 && !lead.is_empty() {
                self.put(Draw::Text {
                    x: MARGIN_X + indent,
                    y: self.y,
                    size: style.size,
                    bold: true,
                    text: lead.to_owned(),
                });
            }
            if !text.is_empty() {
                self.put(Draw::Text {
                    x: MARGIN_X + x,
                    y: self.y,
                    size: style.size,
                    bold: style.bold,
                    text,
                });
            }
            self.y += h - style.size;
        }
    }

    /// Signature places on one line: each a label and a line to sign on, with what stands on
    /// it; the columns share the text width. A drawn signature stands on its line, scaled to
    /// [`SIGNATURE_H`] points high (and to its column).
    pub fn signature(&mut self, items: &[(&str, Mark<'_>)], style: Style) {
        let drawn = items.iter().any(|(_, m)| matches!(m, Mark::Drawn(_)));
        let h = Self::line_height(style) * 1.6;
        let above = if drawn { SIGNATURE_H - h * 0.3 } else { 0.0 };
        self.room(h + above);
        self.y += h * 0.6 + above;
        let column = (PAGE_W - 2.0 * MARGIN_X) / items.len().max(1) as f32;
        for (i, (label, mark)) in items.iter().enumerate() {
            let x = MARGIN_X + column * i as f32;
            let w = self.fonts.face(false).width(label, style.size);
            self.put(Draw::Text {
                x,
                y: self.y,
                size: style.size,
                bold: false,
                text: (*label).to_owned(),
            });
            let x1 = x + w + 4.0;
            let x2 = x + column - 12.0;
            self.put(Draw::Line {
                x1,
                x2,
                y: self.y + 3.0,
            });
            let text = |text: &str, size: f32| Draw::Text {
                x: x1 + 4.0,
                y: self.y,
                size,
                bold: false,
                text: text.to_owned(),
            };
            match mark {
                Mark::Blank => {}
                Mark::Name(name) => self.put(text(name, style.size)),
                Mark::Note(note) => self.put(text(note, SMALL.size)),
                Mark::Drawn(picture) => {
                    let room = (x2 - x1 - 4.0).max(1.0);
                    let scale =
                        (SIGNATURE_H / picture.height as f32).min(room / picture.width as f32);
                    let (pw, ph) = (picture.width as f32 * scale, picture.height as f32 * scale);
                    self.put(Draw::Picture {
                        x: x1 + 2.0,
                        y: self.y + 2.0 - ph,
                        w: pw,
                        h: ph,
                        picture: (*picture).clone(),
                    });
                }
            }
        }
        self.y += h * 0.4;
    }

    /// A table: a bold header row and a rule under it, then one line per row; columns share the
    /// text width in proportion to `widths`; a cell too long for its column is cut with "…"; a
    /// table that runs over a page repeats its header.
    pub fn table(&mut self, head: &[&str], rows: &[Vec<String>], widths: &[f32], style: Style) {
        let total: f32 = widths.iter().sum::<f32>().max(1.0);
        let usable = PAGE_W - 2.0 * MARGIN_X;
        let mut xs = Vec::with_capacity(widths.len());
        let mut x = MARGIN_X;
        for w in widths {
            xs.push((x, w / total * usable - 6.0));
            x += w / total * usable;
        }
        let h = style.size * 1.6;
        let header = |l: &mut Layout<'_>| {
            l.y += style.size;
            for (i, text) in head.iter().enumerate() {
                if let Some(&(x, width)) = xs.get(i) {
                    let t = l.fit(text, width, style.size, true);
                    l.put(Draw::Text {
                        x,
                        y: l.y,
                        size: style.size,
                        bold: true,
                        text: t,
                    });
                }
            }
            l.put(Draw::Line {
                x1: MARGIN_X,
                x2: PAGE_W - MARGIN_X,
                y: l.y + style.size * 0.4,
            });
            l.y += h - style.size;
        };
        self.room(h * 2.0);
        header(self);
        for row in rows {
            if self.y + h > PAGE_H - MARGIN_BOTTOM {
                self.pages.push(Vec::new());
                self.y = MARGIN_TOP;
                header(self);
            }
            self.y += style.size;
            for (i, text) in row.iter().enumerate() {
                if let Some(&(x, width)) = xs.get(i) {
                    let t = self.fit(text, width, style.size, style.bold);
                    self.put(Draw::Text {
                        x,
                        y: self.y,
                        size: style.size,
                        bold: style.bold,
                        text: t,
                    });
                }
            }
            self.y += h - style.size;
        }
        self.put(Draw::Line {
            x1: MARGIN_X,
            x2: PAGE_W - MARGIN_X,
            y: self.y - style.size * 0.2,
        });
        self.y += style.size * 0.6;
    }

    /// `text` cut with "…" to fit `width` points.
    fn fit(&self, text: &str, width: f32, size: f32, bold: bool) -> String {
        let face = self.fonts.face(bold);
        if face.width(text, size) <= width {
            return text.to_owned();
        }
        let mut out = String::new();
        for c in text.chars() {
            let mut next = out.clone();
            next.push(c);
            next.push('…');
            if face.width(&next, size) > width {
                break;
            }
            out.push(c);
        }
        out.push('…');
        out
    }

    /// Writes the pages: a footer with the page number on each.
    pub fn finish(self) -> Result<Vec<u8>> {
        let mut doc = Document::new();
        doc.set_metadata(
            Metadata::new()
                .title(self.title.clone())
                .creator("枫桥·矛盾纠纷调处".to_owned())
                .language("zh-CN".to_owned()),
        );
        let n = self.pages.len();
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| Error::Document("A4 is a page size".into()))?;
        for (i, page) in self.pages.iter().enumerate() {
            let mut p = doc.start_page_with(settings.clone());
            let mut surface = p.surface();
            for draw in page {
                match draw {
                    Draw::Text {
                        x,
                        y,
                        size,
                        bold,
                        text,
                    } => surface.draw_text(
                        Point::from_xy(*x, *y),
                        self.fonts.face(*bold).font.clone(),
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    ),
                    Draw::Line { x1, x2, y } => {
                        let mut pb = PathBuilder::new();
                        pb.move_to(*x1, *y);
                        pb.line_to(*x2, *y);
                        if let Some(path) = pb.finish() {
                            surface.set_fill(None);
                            surface.set_stroke(Some(Stroke {
                                width: 0.6,
                                ..Stroke::default()
                            }));
                            surface.draw_path(&path);
                            surface.set_stroke(None);
                            surface.set_fill(Some(krilla::paint::Fill::default()));
                        }
                    }
                    Draw::Picture {
                        x,
                        y,
                        w,
                        h,
                        picture,
                    } => {
                        let image = Image::from_rgba8(
                            picture.rgba.as_ref().clone(),
                            picture.width,
                            picture.height,
                        );
                        if let Some(size) = krilla::geom::Size::from_wh(*w, *h) {
                            surface.push_transform(&Transform::from_translate(*x, *y));
                            surface.draw_image(image, size);
                            surface.pop();
                        }
                    }
                }
            }
            if n > 1 {
                let footer = format!("第 {} 页，共 {} 页", i + 1, n);
                let w = self.fonts.face(false).width(&footer, SMALL.size);
                surface.draw_text(
                    Point::from_xy((PAGE_W - w) / 2.0, PAGE_H - 40.0),
                    self.fonts.face(false).font.clone(),
                    SMALL.size,
                    &footer,
                    false,
                    TextDirection::Auto,
                );
            }
            surface.finish();
            p.finish();
        }
        doc.finish()
            .map_err(|e| Error::Document(format!("the PDF could not be written: {e:?}")))
    }
}

/// Splits text into what a line may break between: each CJK character (or other character) on
/// its own, runs of Latin letters, digits and their joiners kept whole, spaces apart.
fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "-_/@.*#:+".contains(c) && !run.is_empty() {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
        out.push(c.to_string());
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_stay_whole_and_chinese_breaks_anywhere() {
        assert_eq!(
            tokens("身份证号440781199003071234，电话13800138000"),
            vec![
                "身",
                "份",
                "证",
                "号",
                "440781199003071234",
                "，",
                "电",
                "话",
                "13800138000"
            ]
        );
        assert_eq!(tokens("A-12 号"), vec!["A-12", " ", "号"]);
    }
}
