//! Recognising the same person across reports (识别同一当事人): a party's resident identity
//! number, phone number and name, each read into one canonical form, so that "同一当事人既往纠纷
//! N 件" and "可能重复上报" can be found with an equality query, and so that the report form says
//! exactly what is wrong with a number as it is typed.
//!
//! - [`ResidentId`]: a resident identity number (居民身份证号码, GB 11643-1999), checked and in
//!   its 18-character form; a 15-digit number of before 1999 is upgraded.
//! - [`Phone`]: a mainland mobile or landline number as digits only, whatever the spaces, dashes,
//!   brackets, full-width digits, country code or extension it was written with.
//! - [`NameKey`]: a name by its sound (拼音), read by the surname rules and folded over the sounds
//!   that southern Mandarin and dialect speakers do not tell apart, so that 张三 written down as
//!   臧三 is still found.
//! - [`PartyMatch`]: how two parties of two reports match, strongest first.
//!
//! Pure: no I/O, no clock and no SQLite, so that the interface shares it on wasm.

use chrono::{Datelike, NaiveDate};
use pinyin::ToPinyinMulti;
use std::str::FromStr;

// ----- resident identity numbers -------------------------------------------------------------

/// The weights of the first 17 digits in the check character (GB 11643-1999).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder of the weighted sum modulo 11.
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// The earliest year of birth a resident identity number can carry.
const ID_EARLIEST_YEAR: i32 = 1900;

/// A resident identity number (居民身份证号码, GB 11643-1999), checked: a region code whose first
/// digit is a province's, a real birth date from 1900 on, and the right check character (校验码).
/// Held in its canonical 18-character form, with an upper-case `X`; a 15-digit number issued
/// before 1999 (一代证) is upgraded to it.
///
/// It has no `Display`: an ID number is shown on purpose, whole ([`ResidentId::as_str`]) or
/// masked ([`ResidentId::masked`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResidentId {
    canonical: String,
    birth: NaiveDate,
}

/// Why some text is not a resident identity number, in the order the checks are made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdProblem {
    /// Neither 18 characters nor 15 digits (spaces not counted).
    #[error("an ID number has 18 characters (15 digits if issued before 1999), not {found}")]
    WrongLength { found: usize },
    /// A character other than a digit, or than the check character's `X` (1-based position).
    #[error("character {position} of the ID number is {found:?}, not a digit")]
    NotDigit { position: usize, found: char },
    /// The region code (地址码) does not start with a province's first digit (1–8).
    #[error("the region code {region} is in no province (it starts with 1 to 8)")]
    BadRegion { region: String },
    /// The birth date (出生日期码, `YYYYMMDD`) is not a calendar date from 1900-01-01 on.
    #[error("the birth date {digits} is not a calendar date from 1900 on")]
    BadDate { digits: String },
    /// The check character (校验码) is not the one the first 17 digits give.
    #[error("the check character is {found}, but for these digits it must be {expected}")]
    BadCheck { expected: char, found: char },
}

impl IdProblem {
    /// What to tell a Chinese-speaking user.
    pub fn zh(&self) -> String {
        match self {
            IdProblem::WrongLength { found } => {
                format!("身份证号码应为18位（1999年以前的旧证为15位），此处为{found}位")
            }
            IdProblem::NotDigit { position, found } => format!("第{position}位“{found}”不是数字"),
            IdProblem::BadRegion { region } => format!("地址码{region}不属于任何省份"),
            IdProblem::BadDate { digits } => format!("出生日期{digits}不是1900年以后的有效日期"),
            IdProblem::BadCheck { expected, found } => {
                format!("校验码应为{expected}，不是{found}")
            }
        }
    }
}

impl ResidentId {
    /// Reads a resident identity number as people type it: surrounding and inner spaces,
    /// full-width digits and a lower-case or full-width `x` are accepted; a 15-digit number is
    /// checked (its date is `YYMMDD` of the 1900s) and upgraded to 18 characters ("19" inserted
    /// after the region code, the check character appended).
    pub fn parse(text: &str) -> Result<ResidentId, IdProblem> {
        let chars: Vec<char> = text
            .chars()
            .map(half_width)
            .filter(|c| !c.is_whitespace())
            .collect();
        let (body, typed_check) = match chars.len() {
            18 => {
                let body = digits(&chars[..17])?;
                let check = match chars[17] {
                    'x' => 'X',
                    c if c.is_ascii_digit() || c == 'X' => c,
                    found => {
                        return Err(IdProblem::NotDigit {
                            position: 18,
                            found,
                        })
                    }
                };
                (body, Some(check))
            }
            15 => {
                let old = digits(&chars)?;
                (format!("{}19{}", &old[..6], &old[6..]), None)
            }
            found => return Err(IdProblem::WrongLength { found }),
        };
        if !body.starts_with(['1', '2', '3', '4', '5', '6', '7', '8']) {
            return Err(IdProblem::BadRegion {
                region: body[..6].to_owned(),
            });
        }
        let birth = date_of(&body[6..14]).ok_or_else(|| IdProblem::BadDate {
            digits: body[6..14].to_owned(),
        })?;
        let expected = check_char(&body);
        if let Some(found) = typed_check.filter(|c| *c != expected) {
            return Err(IdProblem::BadCheck { expected, found });
        }
        Ok(ResidentId {
            canonical: format!("{body}{expected}"),
            birth,
        })
    }

    /// The canonical 18-character form (`11010519491231002X`).
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// The birth date the number carries (出生日期码).
    pub fn birth_date(&self) -> NaiveDate {
        self.birth
    }

    /// Whether the number is a woman's: its 17th digit (顺序码的末位) is even.
    pub fn is_female(&self) -> bool {
        self.canonical.as_bytes()[16].is_multiple_of(2)
    }

    /// The number with its birth date hidden, for lists and printouts: the region code and the
    /// last four characters stay (`110105********002X`).
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.canonical[..6], &self.canonical[14..])
    }
}

impl FromStr for ResidentId {
    type Err = IdProblem;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResidentId::parse(s)
    }
}

/// The characters as an ASCII digit string, or the first that is not a digit.
fn digits(chars: &[char]) -> Result<String, IdProblem> {
    match chars.iter().position(|c| !c.is_ascii_digit()) {
        Some(i) => Err(IdProblem::NotDigit {
            position: i + 1,
            found: chars[i],
        }),
        None => Ok(chars.iter().collect()),
    }
}

/// A `YYYYMMDD` date from 1900 on.
fn date_of(yyyymmdd: &str) -> Option<NaiveDate> {
    let year = yyyymmdd[..4].parse().ok()?;
    let month = yyyymmdd[4..6].parse().ok()?;
    let day = yyyymmdd[6..].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day).filter(|date| date.year() >= ID_EARLIEST_YEAR)
}

/// The check character of 17 ASCII digits.
fn check_char(first17: &str) -> char {
    let sum: u32 = first17
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    ID_CHECK[(sum % 11) as usize]
}

// ----- phones --------------------------------------------------------------------------------

/// The longest extension (分机号) kept, in digits.
const EXTENSION_MAX: usize = 6;

/// A mainland phone number (电话号码), as digits only: a mobile (手机, 11 digits `1[3-9]…`) or a
/// landline (座机): `0`, the area code (区号: two more digits for 010 and 02x, three for the
/// others) and a 7–8 digit number. The extension (分机号), if any, is kept aside: it is not part
/// of the number that identifies a household.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Phone {
    digits: String,
    extension: Option<String>,
    mobile: bool,
}

/// Why some text is not a mainland phone number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneProblem {
    /// No digits at all.
    #[error("no phone number was given")]
    Empty,
    /// A letter or sign that has no place in a phone number.
    #[error("{found:?} has no place in a phone number")]
    UnexpectedChar { found: char },
    /// A country code other than China's (86).
    #[error("not a mainland China number: the country code is not 86")]
    NotMainland,
    /// Starts with 1 but is not 11 digits starting 13 to 19.
    #[error("a mobile number has 11 digits and starts with 13 to 19")]
    BadMobile,
    /// Starts with 0 but is not an area code and a 7–8 digit number.
    #[error("a landline is 0, the area code and a number of 7 or 8 digits")]
    BadLandline,
    /// An extension that is not 1–6 digits, or an extension to a mobile.
    #[error("an extension is 1 to 6 digits after a landline's number")]
    BadExtension,
    /// Starts with neither 1 (a mobile) nor 0 (a landline's area code).
    #[error("a landline starts with 0 and its area code, a mobile with 1")]
    NoAreaCode,
}

impl PhoneProblem {
    /// What to tell a Chinese-speaking user.
    pub fn zh(&self) -> String {
        match self {
            PhoneProblem::Empty => "未填写电话号码".to_owned(),
            PhoneProblem::UnexpectedChar { found } => format!("电话号码中不能有“{found}”"),
            PhoneProblem::NotMainland => "不是中国大陆的电话号码（国家代码不是86）".to_owned(),
            PhoneProblem::BadMobile => "手机号码应为以13至19开头的11位数字".to_owned(),
            PhoneProblem::BadLandline => "座机号码应为0、区号和7至8位号码".to_owned(),
            PhoneProblem::BadExtension => "分机号应为座机号码后的1至6位数字".to_owned(),
            PhoneProblem::NoAreaCode => "座机号码请加区号（以0开头），手机号码以1开头".to_owned(),
        }
    }
}

impl Phone {
    /// Reads a phone number as people write it. Spaces, dashes and brackets (half- or
    /// full-width) go, full-width digits become digits; a country code (`+86`, `0086`, or `86`
    /// before a mobile) goes, and `+86`/`0086` before a landline written without its 0 gets the
    /// 0 back. An extension follows `转`, or a dash once the landline's number is complete
    /// (`0851-8552-1234-8001`); it is kept by [`Phone::extension`], not in [`Phone::as_str`].
    pub fn parse(text: &str) -> Result<Phone, PhoneProblem> {
        let text: String = text.trim().chars().map(half_width).collect();
        let (number, extension) = match text.split_once('转') {
            Some((number, extension)) => (number, Some(extension_digits(extension)?)),
            None => (text.as_str(), None),
        };
        let mut digits = String::new();
        // Where a dash falls, counted in digits before it.
        let mut dashes = Vec::new();
        let mut plus = false;
        for c in number.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '-' | '\u{2010}' | '\u{2013}' | '\u{2014}' => dashes.push(digits.len()),
                '(' | ')' => {}
                '+' if digits.is_empty() && !plus => plus = true,
                c if c.is_whitespace() => {}
                found => return Err(PhoneProblem::UnexpectedChar { found }),
            }
        }
        // The country code: "+86" and "0086" before any number, "86" only before a mobile.
        let (national, skipped) = if plus {
            match digits.strip_prefix("86") {
                Some(rest) => (rest, 2),
                None if digits.is_empty() => return Err(PhoneProblem::Empty),
                None => return Err(PhoneProblem::NotMainland),
            }
        } else if let Some(rest) = digits.strip_prefix("0086") {
            (rest, 4)
        } else if digits.starts_with("00") {
            return Err(PhoneProblem::NotMainland);
        } else if let Some(rest) = digits.strip_prefix("86").filter(|rest| is_mobile(rest)) {
            (rest, 2)
        } else {
            (digits.as_str(), 0)
        };
        // Written internationally, a landline drops its 0 (+86 851 …, +86 10 … for Beijing,
        // which no mobile prefix is).
        let mobile_prefix = national.starts_with('1')
            && national[1..].starts_with(['3', '4', '5', '6', '7', '8', '9']);
        let restored =
            skipped > 0 && !national.is_empty() && !national.starts_with('0') && !mobile_prefix;
        let national = if restored {
            format!("0{national}")
        } else {
            national.to_owned()
        };
        let dashes: Vec<usize> = dashes
            .into_iter()
            .filter(|&at| at > skipped)
            .map(|at| at - skipped + usize::from(restored))
            .collect();
        match national.as_bytes().first() {
            None => Err(PhoneProblem::Empty),
            Some(b'1') if !is_mobile(&national) => Err(PhoneProblem::BadMobile),
            Some(b'1') if extension.is_some() => Err(PhoneProblem::BadExtension),
            Some(b'1') => Ok(Phone {
                digits: national,
                extension: None,
                mobile: true,
            }),
            Some(b'0') => landline(&national, &dashes, extension),
            Some(_) => Err(PhoneProblem::NoAreaCode),
        }
    }

    /// The number as digits only, without an extension (`13800138000`, `085185521234`): the
    /// form to store, index and compare.
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    /// The extension (分机号), if one was written.
    pub fn extension(&self) -> Option<&str> {
        self.extension.as_deref()
    }

    /// Whether this is a mobile (手机) rather than a landline (座机).
    pub fn is_mobile(&self) -> bool {
        self.mobile
    }
}

impl FromStr for Phone {
    type Err = PhoneProblem;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::parse(s)
    }
}

/// 11 digits starting 13 to 19.
fn is_mobile(digits: &str) -> bool {
    let b = digits.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

/// A landline from its digits (starting with 0) and where dashes fell among them.
fn landline(
    digits: &str,
    dashes: &[usize],
    extension: Option<String>,
) -> Result<Phone, PhoneProblem> {
    // 010 and 02x are the big cities' codes; every other code has four digits.
    let area = match digits.as_bytes().get(1) {
        Some(b'1' | b'2') => 3,
        Some(b'3'..=b'9') => 4,
        _ => return Err(PhoneProblem::BadLandline),
    };
    let number_fits = |end: usize| (area + 7..=area + 8).contains(&end);
    let (end, extension) = if number_fits(digits.len()) {
        (digits.len(), extension)
    } else {
        // Too long for a number: an extension after a dash that completes it.
        let after_dash = dashes
            .iter()
            .rev()
            .copied()
            .find(|&at| number_fits(at) && (1..=EXTENSION_MAX).contains(&(digits.len() - at)));
        match (after_dash, extension) {
            (Some(at), None) => (at, Some(digits[at..].to_owned())),
            _ => return Err(PhoneProblem::BadLandline),
        }
    };
    if digits[area..end].starts_with(['0', '1']) {
        return Err(PhoneProblem::BadLandline);
    }
    Ok(Phone {
        digits: digits[..end].to_owned(),
        extension,
        mobile: false,
    })
}

/// The digits of an extension written after `转`.
fn extension_digits(text: &str) -> Result<String, PhoneProblem> {
    let digits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if (1..=EXTENSION_MAX).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(PhoneProblem::BadExtension)
    }
}

// ----- names by sound ------------------------------------------------------------------------

/// The most keys [`NameKey::all_keys`] gives for one name.
pub const NAME_KEYS_MAX: usize = 16;

/// Two-character surnames (复姓) and their readings: recognised before the single ones, so that
/// 欧阳修 is 欧阳 修 and 万俟卨 is read mò qí.
const COMPOUND_SURNAMES: &[(&str, [&str; 2])] = &[
    ("欧阳", ["ou", "yang"]),
    ("司马", ["si", "ma"]),
    ("诸葛", ["zhu", "ge"]),
    ("上官", ["shang", "guan"]),
    ("东方", ["dong", "fang"]),
    ("皇甫", ["huang", "fu"]),
    ("尉迟", ["yu", "chi"]),
    ("万俟", ["mo", "qi"]),
    ("长孙", ["zhang", "sun"]),
    ("慕容", ["mu", "rong"]),
    ("夏侯", ["xia", "hou"]),
    ("令狐", ["ling", "hu"]),
    ("公孙", ["gong", "sun"]),
    ("司徒", ["si", "tu"]),
    ("司空", ["si", "kong"]),
    ("端木", ["duan", "mu"]),
    ("澹台", ["tan", "tai"]),
    ("宇文", ["yu", "wen"]),
    ("轩辕", ["xuan", "yuan"]),
    ("呼延", ["hu", "yan"]),
    ("单于", ["chan", "yu"]),
];

/// Single surnames whose reading as a surname is not simply the character's: the surname's
/// readings, the usual one first. A character with two surname readings (乐 yuè and lè) has
/// both; its other readings (单 dān, 曾 céng, 任 lìn…) are never a surname's.
const SURNAME_READINGS: &[(char, &[&str])] = &[
    ('单', &["shan"]),
    ('曾', &["zeng"]),
    ('区', &["ou"]),
    ('解', &["xie"]),
    ('仇', &["qiu"]),
    ('朴', &["piao"]),
    ('查', &["zha"]),
    ('盖', &["ge", "gai"]),
    // 尉 alone is Wèi (尉缭); Yù is 尉迟's.
    ('尉', &["wei", "yu"]),
    ('乐', &["yue", "le"]),
    ('覃', &["qin", "tan"]),
    ('召', &["shao"]),
    ('缪', &["miao"]),
    ('繁', &["po"]),
    ('翟', &["zhai", "di"]),
    ('任', &["ren"]),
    ('薛', &["xue"]),
    ('员', &["yun"]),
    ('藏', &["zang"]),
    ('种', &["chong"]),
    ('秘', &["bi"]),
    ('隗', &["wei", "kui"]),
    ('沈', &["shen"]),
    ('贾', &["jia"]),
    ('柏', &["bai"]),
    ('宁', &["ning"]),
    ('纪', &["ji"]),
    ('车', &["che"]),
    ('石', &["shi"]),
    ('于', &["yu"]),
    ('俞', &["yu"]),
    ('葛', &["ge"]),
    ('句', &["gou"]),
    ('能', &["nai"]),
    ('折', &["she"]),
    ('蕃', &["pi"]),
    ('阚', &["kan"]),
    ('冼', &["xian"]),
    ('洗', &["xian"]),
    ('谌', &["chen", "shen"]),
    ('郇', &["huan", "xun"]),
    ('过', &["guo"]),
    ('重', &["chong"]),
    // Common surnames whose characters have readings no surname has (王 yù, 方 wǎng, 许 hǔ,
    // 汪 hóng…): without these, 王明 would sound like 于明 and 方明 like 王明.
    ('王', &["wang"]),
    ('吴', &["wu"]),
    ('朱', &["zhu"]),
    ('许', &["xu"]),
    ('冯', &["feng"]),
    ('邓', &["deng"]),
    ('彭', &["peng"]),
    ('董', &["dong"]),
    ('潘', &["pan"]),
    ('蔡', &["cai"]),
    ('余', &["yu"]),
    ('杜', &["du"]),
    ('叶', &["ye"]),
    ('丁', &["ding"]),
    ('姚', &["yao"]),
    ('陆', &["lu"]),
    ('汪', &["wang"]),
    ('夏', &["xia"]),
    ('方', &["fang"]),
    ('白', &["bai"]),
    ('尹', &["yin"]),
    ('陶', &["tao"]),
    ('郝', &["hao"]),
    ('莫', &["mo"]),
    ('汤', &["tang"]),
    ('甄', &["zhen"]),
    ('施', &["shi"]),
    ('温', &["wen"]),
    ('芦', &["lu"]),
    ('殷', &["yin"]),
    ('齐', &["qi"]),
    ('柴', &["chai"]),
    ('祝', &["zhu"]),
    ('包', &["bao"]),
    ('万', &["wan"]),
];

/// A name by its sound (姓名读音): for each character, its readings (多音字 give several) without
/// tones, folded over the sounds that southern Mandarin and dialect speakers do not tell apart,
/// so that a name heard and written down by someone else is still found:
///
/// | folded together | example |
/// |---|---|
/// | z/zh, c/ch, s/sh | 张 = 臧, 陈 = 岑 |
/// | n/l, r/l | 刘 = 牛, 饶 = 劳 |
/// | f/hu (hu- is read f-) | 胡 = 符, 黄 = 房, 惠 = 费 |
/// | an/ang, en/eng, in/ing, ian/iang, uan/uang | 陈金 = 陈京 |
///
/// h and w are not folded (黄 ≠ 王). The surname is read by the surname rules, not by the
/// character's common reading: 单 is shàn, 曾 zēng, 区 ōu, and two-character surnames (欧阳,
/// 万俟…) are recognised first. Spaces and the middle dot of minority names (阿依古丽·买买提) are
/// dropped. A Latin name (`John Smith`) is one unit of lower-case letters (`johnsmith`), never
/// folded. Traditional characters are out of scope: the readings know them (張 is zhang), but
/// the surname rules are for simplified ones only (單 keeps all its readings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameKey {
    /// Per character (one unit for a Latin name): its folded readings, the usual one first, none
    /// twice.
    units: Vec<Vec<String>>,
    latin: bool,
}

impl NameKey {
    /// The key of a name, or `None` for text that is no name: empty, or neither all Chinese
    /// characters nor all Latin letters (digits, signs, a mix of scripts).
    pub fn of(name: &str) -> Option<NameKey> {
        let chars: Vec<char> = name
            .chars()
            .map(half_width)
            .filter(|c| !is_name_separator(*c))
            .collect();
        if chars.is_empty() {
            None
        } else if let Some(units) = han_units(&chars) {
            Some(NameKey {
                units,
                latin: false,
            })
        } else if chars.iter().all(|c| c.is_ascii_alphabetic() || *c == '\'') {
            let letters = chars
                .iter()
                .filter(|c| c.is_ascii_alphabetic())
                .map(char::to_ascii_lowercase)
                .collect();
            Some(NameKey {
                units: vec![vec![letters]],
                latin: true,
            })
        } else {
            None
        }
    }

    /// Whether some reading of each character of one name is a reading of the same character
    /// of the other (the names have as many characters): some pair of [`NameKey::all_keys`],
    /// uncapped, is equal.
    pub fn sounds_like(&self, other: &NameKey) -> bool {
        self.latin == other.latin
            && self.units.len() == other.units.len()
            && self
                .units
                .iter()
                .zip(&other.units)
                .all(|(a, b)| a.iter().any(|r| b.contains(r)))
    }

    /// One stable key per name, to index it by: the surname's usual reading and the first
    /// reading of every other character, folded, separated by spaces (单雄信 → `san xiong xin`).
    pub fn index_key(&self) -> String {
        self.units
            .iter()
            .filter_map(|readings| readings.first().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Every combination of readings as a key like [`NameKey::index_key`], that one first, at
    /// most [`NAME_KEYS_MAX`] (the first readings of the later characters are kept first): a
    /// store indexes a name under all of them and finds names that sound alike with an equality
    /// query. A name with more combinations than that is found through the ones kept.
    pub fn all_keys(&self) -> Vec<String> {
        let mut keys = vec![String::new()];
        for (i, readings) in self.units.iter().enumerate() {
            keys = keys
                .iter()
                .flat_map(|key| {
                    readings.iter().map(move |r| match i {
                        0 => r.clone(),
                        _ => format!("{key} {r}"),
                    })
                })
                .take(NAME_KEYS_MAX)
                .collect();
        }
        keys
    }
}

/// Whether two names sound alike ([`NameKey::sounds_like`]); text that is no name sounds like
/// nothing.
pub fn sounds_alike(a: &str, b: &str) -> bool {
    match (NameKey::of(a), NameKey::of(b)) {
        (Some(a), Some(b)) => a.sounds_like(&b),
        _ => false,
    }
}

/// Spaces and the dots between the parts of a minority or foreign name (·, •, ・, ‧, `.`, `-`).
fn is_name_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '·' | '•' | '・' | '‧' | '∙' | '.' | '-')
}

/// The folded readings of each character of a name, the surname by the surname rules; `None`
/// if a character has no reading (not Chinese).
fn han_units(chars: &[char]) -> Option<Vec<Vec<String>>> {
    let fixed = |readings: &[&str]| -> Vec<String> {
        let mut folded: Vec<String> = Vec::new();
        for r in readings {
            let r = fold(r);
            if !folded.contains(&r) {
                folded.push(r);
            }
        }
        folded
    };
    let mut units = Vec::with_capacity(chars.len());
    let mut given = chars;
    if let [first, second, rest @ ..] = chars {
        let pair: String = [*first, *second].iter().collect();
        if let Some((_, readings)) = COMPOUND_SURNAMES.iter().find(|(s, _)| *s == pair) {
            units.extend(readings.iter().map(|r| fixed(&[*r])));
            given = rest;
        } else if let Some((_, readings)) = SURNAME_READINGS.iter().find(|(c, _)| c == first) {
            units.push(fixed(readings));
            given = &chars[1..];
        }
    }
    for c in given {
        let readings: Vec<&str> = c
            .to_pinyin_multi()?
            .into_iter()
            .map(|p| p.plain())
            .collect();
        units.push(fixed(&readings));
    }
    Some(units)
}

/// A toneless reading folded over the sounds told apart in standard Mandarin only (see
/// [`NameKey`]).
fn fold(reading: &str) -> String {
    let plain: String = reading
        .chars()
        .map(|c| match c {
            'ü' => 'v',
            'ê' => 'e',
            c => c,
        })
        .collect();
    let mut folded = if let Some(rest) = plain.strip_prefix("zh") {
        format!("z{rest}")
    } else if let Some(rest) = plain.strip_prefix("ch") {
        format!("c{rest}")
    } else if let Some(rest) = plain.strip_prefix("sh") {
        format!("s{rest}")
    } else if let Some(rest) = plain.strip_prefix("hu") {
        // hu- is read f-: 胡 fu, 花 fa, 灰 fei, 婚 fen, 黄 fang.
        let final_ = match rest {
            "" => "u",
            "i" => "ei",
            "n" => "en",
            rest => rest,
        };
        format!("f{final_}")
    } else if let Some(rest) = plain
        .strip_prefix(['n', 'r'])
        .filter(|rest| rest.starts_with(['a', 'e', 'i', 'o', 'u', 'v']))
    {
        format!("l{rest}")
    } else {
        plain
    };
    if folded.ends_with("ang") || folded.ends_with("eng") || folded.ends_with("ing") {
        folded.pop();
    }
    folded
}

/// A full-width form (ＡＢＣ, １２３, （）, the ideographic space) as its ASCII character.
fn half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        c => c,
    }
}

// ----- parties -------------------------------------------------------------------------------

/// What is known of a party (当事人) of a report, to recognise them in another.
#[derive(Clone, Copy, Debug)]
pub struct PartyIdentity<'a> {
    /// The name as written.
    pub name: &'a str,
    /// The village (村) the party lives in: its unit id ([`crate::ids::UnitId::as_str`]).
    pub village: &'a str,
    /// The resident identity number, if it was given.
    pub resident_id: Option<&'a ResidentId>,
    /// The phone number, if it was given.
    pub phone: Option<&'a Phone>,
}

/// How two parties of two reports match, weakest first, so that a stronger match compares
/// greater (`SameId > SamePhone > SameNameAndVillage > None`):
///
/// 1. [`PartyMatch::SameId`]: the same resident identity number: the same person, whatever the
///    names and phones say. Two *different* numbers are two people: no weaker match is looked
///    for.
/// 2. [`PartyMatch::SamePhone`]: the same phone number (extensions aside). A household often
///    shares one phone, so this is someone of the same household at least.
/// 3. [`PartyMatch::SameNameAndVillage`]: names that sound alike, in the same village.
/// 4. [`PartyMatch::None`]: nothing in common that says they are the same person.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PartyMatch {
    /// Nothing says they are the same person.
    None,
    /// Names that sound alike (同音), in the same village.
    SameNameAndVillage,
    /// The same phone number.
    SamePhone,
    /// The same resident identity number (身份证号码).
    SameId,
}

impl PartyMatch {
    /// How the match reads on the case screen.
    pub fn zh(self) -> &'static str {
        match self {
            PartyMatch::SameId => "身份证号相同",
            PartyMatch::SamePhone => "电话相同",
            PartyMatch::SameNameAndVillage => "同村同音姓名",
            PartyMatch::None => "不相同",
        }
    }

    /// The strongest way two parties match (see [`PartyMatch`] for the order).
    pub fn between(a: &PartyIdentity<'_>, b: &PartyIdentity<'_>) -> PartyMatch {
        if let (Some(x), Some(y)) = (a.resident_id, b.resident_id) {
            return if x == y {
                PartyMatch::SameId
            } else {
                PartyMatch::None
            };
        }
        if let (Some(x), Some(y)) = (a.phone, b.phone) {
            if x.as_str() == y.as_str() {
                return PartyMatch::SamePhone;
            }
        }
        if !a.village.is_empty() && a.village == b.village && sounds_alike(a.name, b.name) {
            return PartyMatch::SameNameAndVillage;
        }
        PartyMatch::None
    }
}

/// The prefix of an identity key made of a resident identity number ([`PartyIdentity::keys`]).
pub const ID_KEY_PREFIX: &str = "id:";
/// The prefix of an identity key made of a phone number.
pub const PHONE_KEY_PREFIX: &str = "phone:";
/// The prefix of an identity key made of a name's sound and its village.
pub const NAME_KEY_PREFIX: &str = "name:";

impl PartyIdentity<'_> {
    /// The keys to index the party under, so that an equality lookup finds every party it may
    /// match ([`PartyMatch::between`] is not `None`), names with more than [`NAME_KEYS_MAX`]
    /// combinations of readings aside:
    ///
    /// - `id:<18 characters>` ([`ResidentId::as_str`]), if the ID number is known;
    /// - `phone:<digits>` ([`Phone::as_str`]), if the phone is known;
    /// - `name:<village>:<key>` for every key of [`NameKey::all_keys`], if the party has a
    ///   village and the name is a name.
    ///
    /// Keys are only candidates: two parties sharing a name key may still be two people (two
    /// different ID numbers); [`PartyMatch::between`] decides.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(id) = self.resident_id {
            keys.push(format!("{ID_KEY_PREFIX}{}", id.as_str()));
        }
        if let Some(phone) = self.phone {
            keys.push(format!("{PHONE_KEY_PREFIX}{}", phone.as_str()));
        }
        if !self.village.is_empty() {
            if let Some(name) = NameKey::of(self.name) {
                keys.extend(
                    name.all_keys()
                        .into_iter()
                        .map(|k| format!("{NAME_KEY_PREFIX}{}:{k}", self.village)),
                );
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ResidentId {
        ResidentId::parse(s).unwrap()
    }

    fn phone(s: &str) -> Phone {
        Phone::parse(s).unwrap()
    }

    /// Every check digit `ResidentId::parse` computes is the standard's: the weighted sum of all
    /// 18 characters (X counting 10) is 1 modulo 11.
    fn check_is_standard(canonical: &str) -> bool {
        let weights = ID_WEIGHTS.iter().chain(&[1]);
        let sum: u32 = canonical
            .chars()
            .zip(weights)
            .map(|(c, w)| c.to_digit(10).unwrap_or(10) * w)
            .sum();
        sum % 11 == 1
    }

    #[test]
    fn resident_ids_are_checked_and_made_canonical() {
        use IdProblem as P;
        let bad_date = |d: &str| Err(P::BadDate { digits: d.into() });
        let table: &[(&str, Result<&str, IdProblem>)] = &[
            ("11010519491231002X", Ok("11010519491231002X")),
            ("11010519491231002x", Ok("11010519491231002X")),
            (" 110105 19491231 002X\u{3000}", Ok("11010519491231002X")),
            (
                "１１０１０５１９４９１２３１００２Ｘ",
                Ok("11010519491231002X"),
            ),
            (
                "１１０１０５１９４９１２３１００２ｘ",
                Ok("11010519491231002X"),
            ),
            ("440781196503151237", Ok("440781196503151237")),
            // 15-digit numbers of before 1999: "19" inserted, the check character appended.
            ("110105491231002", Ok("11010519491231002X")),
            ("440781650315123", Ok("440781196503151237")),
            // 29 February: 2000 and 2024 are leap years; 1900 and 2023 are not.
            ("110105200002290021", Ok("110105200002290021")),
            ("110105202402290046", Ok("110105202402290046")),
            ("110105202302290022", bad_date("20230229")),
            ("110105190002290025", bad_date("19000229")),
            ("110105189912310023", bad_date("18991231")),
            ("110105194913010029", bad_date("19491301")),
            ("110105194912000021", bad_date("19491200")),
            (
                "110105194912310021",
                Err(P::BadCheck {
                    expected: 'X',
                    found: '1',
                }),
            ),
            (
                "440781196503151230",
                Err(P::BadCheck {
                    expected: '7',
                    found: '0',
                }),
            ),
            (
                "910105194912310029",
                Err(P::BadRegion {
                    region: "910105".into(),
                }),
            ),
            (
                "010105194912310026",
                Err(P::BadRegion {
                    region: "010105".into(),
                }),
            ),
            ("1101051949123100", Err(P::WrongLength { found: 16 })),
            ("", Err(P::WrongLength { found: 0 })),
            (
                "1101051949A231002X",
                Err(P::NotDigit {
                    position: 11,
                    found: 'A',
                }),
            ),
            (
                "11010519491231002Y",
                Err(P::NotDigit {
                    position: 18,
                    found: 'Y',
                }),
            ),
            (
                "91010519491231002Y",
                Err(P::NotDigit {
                    position: 18,
                    found: 'Y',
                }),
            ),
            (
                "11010549123100x",
                Err(P::NotDigit {
                    position: 15,
                    found: 'x',
                }),
            ),
        ];
        for (text, want) in table {
            let got = ResidentId::parse(text);
            assert_eq!(
                got.as_ref().map(ResidentId::as_str),
                want.as_ref().copied(),
                "{text}"
            );
            if let Ok(id) = got {
                assert!(check_is_standard(id.as_str()), "{text}");
                assert_eq!(text.parse::<ResidentId>().as_ref(), Ok(&id));
            }
        }
    }

    #[test]
    fn a_resident_id_tells_birth_date_sex_and_masks_itself() {
        let table = [
            (
                "11010519491231002X",
                (1949, 12, 31),
                true,
                "110105********002X",
            ),
            (
                "110105491231002",
                (1949, 12, 31),
                true,
                "110105********002X",
            ),
            (
                "440781196503151237",
                (1965, 3, 15),
                false,
                "440781********1237",
            ),
            (
                "110105200002290021",
                (2000, 2, 29),
                true,
                "110105********0021",
            ),
        ];
        for (text, (y, m, d), female, masked) in table {
            let id = id(text);
            assert_eq!(
                Some(id.birth_date()),
                NaiveDate::from_ymd_opt(y, m, d),
                "{text}"
            );
            assert_eq!(id.is_female(), female, "{text}");
            assert_eq!(id.masked(), masked, "{text}");
        }
    }

    #[test]
    fn phones_are_read_to_their_digits() {
        use PhoneProblem as P;
        // (written, Ok((digits, extension, mobile)) or the problem)
        type Want = Result<(&'static str, Option<&'static str>, bool), PhoneProblem>;
        let table: &[(&str, Want)] = &[
            ("13800138000", Ok(("13800138000", None, true))),
            ("+86 138-0013-8000", Ok(("13800138000", None, true))),
            ("0086 13800138000", Ok(("13800138000", None, true))),
            ("8613800138000", Ok(("13800138000", None, true))),
            ("１３８ ００１３ ８０００", Ok(("13800138000", None, true))),
            ("(0851) 85521234", Ok(("085185521234", None, false))),
            ("（0851）8552 1234", Ok(("085185521234", None, false))),
            ("0851-8552-1234", Ok(("085185521234", None, false))),
            (
                "0851-8552-1234转8001",
                Ok(("085185521234", Some("8001"), false)),
            ),
            (
                "0851-8552-1234-8001",
                Ok(("085185521234", Some("8001"), false)),
            ),
            ("010-6234 5678", Ok(("01062345678", None, false))),
            ("010-12345678", Err(P::BadLandline)),
            ("0750-5512345", Ok(("07505512345", None, false))),
            ("+86 851 8552 1234", Ok(("085185521234", None, false))),
            ("+86 10 6234 5678", Ok(("01062345678", None, false))),
            ("", Err(P::Empty)),
            ("  - ", Err(P::Empty)),
            ("+86", Err(P::Empty)),
            ("+86 1380013800", Err(P::BadMobile)),
            ("138001380001", Err(P::BadMobile)),
            ("12800138000", Err(P::BadMobile)),
            ("1380013800", Err(P::BadMobile)),
            ("23800138000", Err(P::NoAreaCode)),
            ("phone", Err(P::UnexpectedChar { found: 'p' })),
            ("1380013800a", Err(P::UnexpectedChar { found: 'a' })),
            ("138+00138000", Err(P::UnexpectedChar { found: '+' })),
            ("0750", Err(P::BadLandline)),
            ("0851-0552-1234", Err(P::BadLandline)),
            ("085185521234567", Err(P::BadLandline)),
            ("0851-8552-1234转分机", Err(P::BadExtension)),
            ("0851-8552-1234转1234567", Err(P::BadExtension)),
            ("13800138000转12", Err(P::BadExtension)),
            ("+1 212 555 0100", Err(P::NotMainland)),
            ("001 212 555 0100", Err(P::NotMainland)),
        ];
        for (text, want) in table {
            let got = Phone::parse(text);
            let got = got
                .as_ref()
                .map(|p| (p.as_str(), p.extension(), p.is_mobile()))
                .map_err(Clone::clone);
            assert_eq!(&got, want, "{text}");
        }
        assert_eq!(
            "+86 138-0013-8000".parse::<Phone>(),
            Ok(phone("13800138000"))
        );
    }

    #[test]
    fn names_are_keyed_by_the_surname_rules_and_folded_sounds() {
        let table = [
            ("单雄信", Some("san xiong xin")),
            ("曾国藩", Some("zen guo fan")),
            ("区志强", Some("ou zi qian")),
            ("解晓东", Some("xie xiao dong")),
            ("仇建国", Some("qiu jian guo")),
            ("朴槿惠", Some("piao jin fei")),
            ("查良镛", Some("za lian yong")),
            ("任志强", Some("len zi qian")),
            ("欧阳修", Some("ou yan xiu")),
            ("尉迟恭", Some("yu ci gong")),
            ("万俟卨", Some("mo qi xie")),
            ("长孙无忌", Some("zan sun wu ji")),
            ("阿依古丽·买买提", Some("a yi gu li mai mai ti")),
            (" 张 三\u{3000}", Some("zan san")),
            ("吕女士", Some("lv lv si")),
            ("John Smith", Some("johnsmith")),
            ("Ｊｏｈｎ ｏ'Ｎｅｉｌｌ", Some("johnoneill")),
            ("", None),
            (" · ", None),
            ("123", None),
            ("张3", None),
            ("张John", None),
            ("？", None),
        ];
        for (name, want) in table {
            let key = NameKey::of(name);
            assert_eq!(
                key.as_ref().map(NameKey::index_key).as_deref(),
                want,
                "{name}"
            );
            if let Some(key) = key {
                let all = key.all_keys();
                assert_eq!(all.first(), Some(&key.index_key()), "{name}");
                assert!(all.len() <= NAME_KEYS_MAX, "{name}");
            }
        }
    }

    #[test]
    fn names_sound_alike_over_readings_and_dialect_sounds() {
        let table = [
            // The surname rules: 单 is shàn, never dān.
            ("单雄信", "善雄信", true),
            ("单雄信", "丹雄信", false),
            ("曾国藩", "层国藩", false),
            ("区志强", "欧志强", true),
            ("区志强", "曲志强", false),
            ("解晓东", "谢晓东", true),
            ("解晓东", "姐晓东", false),
            ("仇建国", "邱建国", true),
            ("仇建国", "周建国", false),
            ("查良镛", "茶良镛", false),
            ("任志强", "林志强", false),
            ("沈红", "陈红", false),
            ("欧阳修", "欧杨修", true),
            ("尉迟恭", "玉迟恭", true),
            // Given names have all their readings: 强 qiáng and jiàng.
            ("区志强", "欧志将", true),
            // The folded sounds.
            ("张三", "章三", true),
            ("张三", "臧三", true),
            ("刘小红", "牛小红", true),
            ("饶秀英", "劳秀英", true),
            ("胡军", "符军", true),
            ("黄明", "房明", true),
            ("王芳", "王方", true),
            ("陈金", "陈京", true),
            ("陈金", "岑金", true),
            ("曾国藩", "郑国藩", true),
            ("黄明", "王明", false),
            // Readings no surname has do not count: 王 yù, 方 wǎng, 许 hǔ, 冯 píng.
            ("王明", "于明", false),
            ("方明", "王明", false),
            ("许明", "胡明", false),
            ("冯明", "平明", false),
            ("汪明", "王明", true),
            ("李四", "李四四", false),
            ("李四", "李思", true),
            ("李四", "李石", true),
            ("李四", "李西", false),
            // Spaces and the middle dot do not count.
            ("阿依古丽·买买提", "阿依古丽 买买提", true),
            ("阿依古丽·买买提", "阿依古丽买买提", true),
            ("John Smith", "john smith", true),
            ("John Smith", "约翰", false),
            ("", "", false),
        ];
        for (a, b, alike) in table {
            assert_eq!(sounds_alike(a, b), alike, "{a} ~ {b}");
            assert_eq!(sounds_alike(b, a), alike, "{b} ~ {a}");
            // An index lookup finds exactly the names that sound alike (all these are under
            // the cap).
            if let (Some(ka), Some(kb)) = (NameKey::of(a), NameKey::of(b)) {
                let (all_a, all_b) = (ka.all_keys(), kb.all_keys());
                let combinations = |k: &NameKey| k.units.iter().map(Vec::len).product::<usize>();
                assert!(combinations(&ka) <= NAME_KEYS_MAX && combinations(&kb) <= NAME_KEYS_MAX);
                assert_eq!(all_a.iter().any(|k| all_b.contains(k)), alike, "{a} ~ {b}");
            }
        }
    }

    #[test]
    fn all_keys_are_distinct_and_capped() {
        // 提 has five readings, four after folding (ti di ci si): 64 combinations.
        let key = NameKey::of("提提提").unwrap();
        let all = key.all_keys();
        assert_eq!(all.len(), NAME_KEYS_MAX);
        assert_eq!(all[0], "ti ti ti");
        assert_eq!(all[1], "ti ti di");
        let mut distinct = all.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), all.len());
        // The keys of a name with few readings are all there.
        assert_eq!(
            NameKey::of("单雄信").unwrap().all_keys(),
            ["san xiong xin", "san xiong sen"]
        );
    }

    #[test]
    fn parties_match_strongest_first() {
        let zhang = id("11010519491231002X");
        let li = id("440781196503151237");
        let mobile = phone("138 0013 8000");
        let desk = phone("0851-8552-1234转8001");
        let desk_other_extension = phone("0851 85521234-8002");
        let party = |name, village, resident_id, phone| PartyIdentity {
            name,
            village,
            resident_id,
            phone,
        };
        let (v, w) = ("taishan/haiyan/wufeng", "taishan/haiyan/nanfeng");
        let table = [
            // The same ID number wins over everything else that differs.
            (
                party("张三", v, Some(&zhang), Some(&mobile)),
                party("张叁", w, Some(&zhang), None),
                PartyMatch::SameId,
            ),
            // Two ID numbers are two people, whatever else they share.
            (
                party("张三", v, Some(&zhang), Some(&mobile)),
                party("张三", v, Some(&li), Some(&mobile)),
                PartyMatch::None,
            ),
            // One ID number unknown: the phone decides.
            (
                party("张三", v, Some(&zhang), Some(&mobile)),
                party("李梅", w, None, Some(&mobile)),
                PartyMatch::SamePhone,
            ),
            (
                party("张三", v, None, Some(&desk)),
                party("章三", w, None, Some(&desk_other_extension)),
                PartyMatch::SamePhone,
            ),
            // A new phone does not hide a name that sounds alike in the same village.
            (
                party("张三", v, None, Some(&mobile)),
                party("臧三", v, Some(&li), Some(&desk)),
                PartyMatch::SameNameAndVillage,
            ),
            (
                party("张三", v, None, None),
                party("臧三", w, None, None),
                PartyMatch::None,
            ),
            (
                party("张三", "", None, None),
                party("张三", "", None, None),
                PartyMatch::None,
            ),
            (
                party("张三", v, None, None),
                party("李四", v, None, None),
                PartyMatch::None,
            ),
        ];
        for (i, (a, b, want)) in table.iter().enumerate() {
            assert_eq!(PartyMatch::between(a, b), *want, "row {i}");
            assert_eq!(PartyMatch::between(b, a), *want, "row {i}, swapped");
        }
        assert!(PartyMatch::SameId > PartyMatch::SamePhone);
        assert!(PartyMatch::SamePhone > PartyMatch::SameNameAndVillage);
        assert!(PartyMatch::SameNameAndVillage > PartyMatch::None);
    }

    #[test]
    fn a_party_is_keyed_by_id_phone_and_every_sound_of_its_name_in_its_village() {
        let zhang = id("110105491231002");
        let mobile = phone("+86 138-0013-8000");
        let party = PartyIdentity {
            name: "单雄信",
            village: "hy-wf",
            resident_id: Some(&zhang),
            phone: Some(&mobile),
        };
        assert_eq!(
            party.keys(),
            [
                "id:11010519491231002X",
                "phone:13800138000",
                "name:hy-wf:san xiong xin",
                "name:hy-wf:san xiong sen",
            ]
        );
        // Without a village, a name is no key (it matches nothing by itself).
        let nowhere = PartyIdentity {
            village: "",
            resident_id: None,
            ..party
        };
        assert_eq!(nowhere.keys(), ["phone:13800138000"]);
        // Every pair of parties that match shares a key.
        let (a, b) = (
            PartyIdentity {
                name: "善雄信",
                phone: None,
                resident_id: None,
                ..party
            },
            party,
        );
        assert_eq!(PartyMatch::between(&a, &b), PartyMatch::SameNameAndVillage);
        assert!(a.keys().iter().any(|k| b.keys().contains(k)));
    }

    #[test]
    fn every_problem_speaks_both_languages() {
        let id_problems = [
            IdProblem::WrongLength { found: 16 },
            IdProblem::NotDigit {
                position: 3,
                found: 'a',
            },
            IdProblem::BadRegion {
                region: "910105".into(),
            },
            IdProblem::BadDate {
                digits: "20230229".into(),
            },
            IdProblem::BadCheck {
                expected: 'X',
                found: '1',
            },
        ];
        let phone_problems = [
            PhoneProblem::Empty,
            PhoneProblem::UnexpectedChar { found: 'p' },
            PhoneProblem::NotMainland,
            PhoneProblem::BadMobile,
            PhoneProblem::BadLandline,
            PhoneProblem::BadExtension,
            PhoneProblem::NoAreaCode,
        ];
        let texts = id_problems
            .iter()
            .map(|p| (p.zh(), p.to_string()))
            .chain(phone_problems.iter().map(|p| (p.zh(), p.to_string())));
        for (zh, en) in texts {
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{zh}"
            );
            assert!(
                !en.is_empty() && !en.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{en}"
            );
        }
        assert!(IdProblem::BadCheck {
            expected: 'X',
            found: '1'
        }
        .zh()
        .contains('X'));
    }
}
