//! Realistic demo data: a county with its townships, villages and grids, the people who work in
//! them, dispute cases played through the closed loop, and households with their door-to-door
//! visits. Used by the demo, the benchmarks and tests.
//!
//! Everything is deterministic from a seed: the same seed and the same `now` give the same
//! directory, the same case titles, narratives, parties, times and timelines (timeline entry ids
//! are still fresh UUIDs, as [`CaseDoc::act`] makes them). Case and household ids are UUID v7
//! built from the report time and the generator's random stream, and every device's automerge
//! actor id is derived from its device id ([`device_actor_id`]), so documents look like what real
//! phones and centre desktops write.
//!
//! The place is 台山市 (Guangdong), with two of its townships, 海宴镇 and 都斛镇, named in the
//! reports in `seeds/`; the village names are realistic for the area. The case mix follows the
//! reports: neighbour, marriage and family, land and labour disputes are the most common, and
//! 都斛镇 (an agricultural town) sees more land and farming disputes. Most cases are simple or
//! general, resolved in a session or two with a written agreement, followed up and concluded;
//! a few are stabilised, a few fail and go up to the county's joint-mediation centre, which
//! assigns them back down or handles them itself; recent cases are often still open, and a few
//! older ones are stuck and overdue.
//!
//! Times are UTC milliseconds; steps happen in working hours of China Standard Time.

use crate::document::{
    CaseDoc, CaseEdit, ContactsDocument, HouseholdDoc, HouseholdDocument, PartyContact, Visit,
    VisitOutcome,
};
use crate::error::{Error, Result};
use crate::ids::{AttachmentId, CaseId, DeviceId, HouseholdId, PartyId, PersonId, UnitId, VisitId};
use crate::model::{
    Action, Actor, Agreement, Assignee, Attachment, Difficulty, EscalationReason, FollowUpMethod,
    NewCase, NewParty, Party, PartyRole, RiskFlag, Satisfaction, SessionMode, Source,
    HOUSEHOLD_SCHEMA,
};
use crate::org::{Directory, Person, Role, Tier, Unit};
use crate::taxonomy::{CategoryCode, Taxonomy};
use automerge::ActorId;
use autosurgeon::Text;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// A fixed "now" for tests and benchmarks: 2025-06-30 18:00 China Standard Time.
pub const DEMO_NOW_MS: i64 = 1_751_277_600_000;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// China Standard Time, UTC+8.
const CST: i64 = 8 * HOUR;
/// How far back reports go.
const WINDOW_DAYS: i64 = 120;

/// 台山市's administrative division code, the first six digits of its residents' ID numbers.
const ID_AREA: &str = "440781";

// --- The place -----------------------------------------------------------------------------

struct TownshipDef {
    id: &'static str,
    name: &'static str,
    court: &'static str,
    /// Share of the county's cases, in percent.
    share: u32,
    /// (id suffix, name, latitude, longitude)
    villages: [(&'static str, &'static str, f64, f64); 5],
}

const COUNTY_ID: &str = "taishan";
const COUNTY_NAME: &str = "台山市";

const TOWNSHIPS: [TownshipDef; 2] = [
    TownshipDef {
        id: "haiyan",
        name: "海宴镇",
        court: "台山市人民法院海宴人民法庭",
        share: 60,
        villages: [
            ("wufeng", "五丰村", 21.742, 112.552),
            ("shalan", "沙栏村", 21.731, 112.518),
            ("huafeng", "华丰村", 21.768, 112.571),
            ("fengjiang", "丰江村", 21.755, 112.533),
            ("nachen", "那陈村", 21.719, 112.587),
        ],
    },
    TownshipDef {
        id: "duhu",
        name: "都斛镇",
        court: "台山市人民法院都斛人民法庭",
        share: 40,
        villages: [
            ("shencun", "莘村村", 21.993, 112.641),
            ("dagang", "大纲村", 21.972, 112.618),
            ("nancun", "南村村", 21.958, 112.652),
            ("donglian", "东联村", 22.011, 112.627),
            ("liufu", "六福村", 21.981, 112.669),
        ],
    },
];

const GRIDS_PER_VILLAGE: usize = 3;
const GRID_ORDINALS: [&str; 3] = ["第一网格", "第二网格", "第三网格"];

/// Natural villages and lanes (自然村、里) that addresses are made of.
const HAMLETS: &[&str] = &[
    "仁和里",
    "东安里",
    "新村",
    "龙田村",
    "石头坑",
    "西华里",
    "上塘",
    "下塘",
    "长安里",
    "福庆里",
    "南兴里",
    "永安里",
    "大湾",
    "沙坦",
    "北山里",
    "庆丰里",
];

/// Township mediators' specialties (点单式调解 roster), one list per mediator.
const TOWNSHIP_SPECIALTIES: [&[&str]; 4] = [
    &["marriage_family", "support_maintenance", "neighbour"],
    &[
        "land_resources",
        "land_acquisition",
        "collective_benefit",
        "neighbour",
    ],
    &[
        "labour",
        "economic_debt",
        "enterprise",
        "equipment_trade",
        "consumer",
    ],
    &[
        "agriculture_fishery",
        "road_traffic",
        "medical",
        "education",
        "property_management",
        "other",
    ],
];

const COUNTY_SPECIALTIES: [&[&str]; 2] = [
    &[
        "land_acquisition",
        "collective_benefit",
        "enterprise",
        "land_resources",
    ],
    &[
        "labour",
        "medical",
        "road_traffic",
        "economic_debt",
        "marriage_family",
    ],
];

// --- Names -----------------------------------------------------------------------------------

/// Surnames common in 台山, with weights.
const SURNAMES: &[(&str, u32)] = &[
    ("黄", 14),
    ("李", 8),
    ("陈", 8),
    ("伍", 6),
    ("刘", 5),
    ("谭", 5),
    ("朱", 3),
    ("梅", 4),
    ("余", 4),
    ("甄", 3),
    ("雷", 3),
    ("邝", 3),
    ("马", 3),
    ("关", 3),
    ("林", 3),
    ("张", 3),
    ("赵", 2),
    ("吴", 2),
    ("蔡", 2),
    ("许", 2),
    ("翁", 1),
    ("钟", 1),
    ("江", 1),
    ("阮", 1),
    ("司徒", 1),
];

const MALE_GIVEN: &[&str] = &[
    "伟强", "志明", "国栋", "建华", "锦泉", "润生", "永康", "振华", "耀祖", "健雄", "家豪", "俊杰",
    "汝钊", "灿荣", "炳坤", "德荣", "启明", "少华", "文亮", "浩然", "荣发", "金水", "观胜", "达明",
    "国强", "冠雄", "锡林", "卓恒", "强", "斌", "军", "勇",
];

const FEMALE_GIVEN: &[&str] = &[
    "丽华", "秀英", "美玲", "少芳", "桂芳", "卓英", "嘉欣", "翠兰", "惠珍", "月娥", "玉梅", "婉婷",
    "凤仪", "雪梅", "巧玲", "淑贞", "银好", "彩霞", "咏诗", "碧霞", "燕", "敏", "娟",
];

const PHONE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "158", "159", "177", "180", "182", "183", "185", "186", "187", "188",
    "189", "199",
];

// --- Dispute texts ---------------------------------------------------------------------------

/// One kind of dispute of a category: a title, a narrative, the agreement that usually settles
/// it, and where the mediator goes to see it. Placeholders: `{a}` applicant, `{b}` respondent,
/// `{v}` village, `{h}` hamlet, `{t}` township, `{m}` an amount in yuan, `{n}` a small number in
/// Chinese, `{d}` days, `{y}` years.
struct Scenario {
    kind: &'static str,
    narrative: &'static str,
    agreement: &'static str,
    site: &'static str,
}

/// How the parties of a category are drawn.
#[derive(Clone, Copy, PartialEq)]
enum Parties {
    Any,
    /// Spouses or an engaged couple's families: the parties are of opposite sexes.
    Couple,
    /// An elderly parent (applicant) against a grown child.
    ElderAndChild,
}

struct CategoryText {
    code: &'static str,
    /// Relative frequency (per mille, roughly).
    weight: u32,
    /// Amounts in yuan, rounded to 100.
    amount: (u32, u32),
    parties: Parties,
    /// Risk flags a major case of this category tends to carry.
    risks: &'static [RiskFlag],
    /// Chance (percent) that an assessment finds the case major.
    major_pct: u32,
    scenarios: &'static [Scenario],
}

const CATEGORIES: &[CategoryText] = &[
    CategoryText {
        code: "neighbour",
        weight: 220,
        amount: (500, 5_000),
        parties: Parties::Any,
        risks: &[RiskFlag::Extreme],
        major_pct: 2,
        scenarios: &[
            Scenario {
                kind: "邻里排水纠纷",
                narrative: "{h}村民{a}反映，邻居{b}家去年加建的二层楼房排水管直接对着其家门口，每逢下雨污水漫入院内，多次沟通未果。近日双方因此发生口角，险些动手，围观村民较多。为防止矛盾激化，申请村镇介入调解。",
                agreement: "{b}于{d}日内将排水管改道接入村道排水渠，费用由{b}承担；{a}不再追究此前损失，双方互谅互让。",
                site: "排水管现场",
            },
            Scenario {
                kind: "邻里通行纠纷",
                narrative: "{a}与{b}系{h}前后屋邻居。{b}在两家之间的公共巷道堆放柴草和建筑材料，占用通道约{n}米，{a}家的三轮车无法通行。{a}多次要求清理，{b}称巷道属其祖屋地，双方争执不下，互不相让。",
                agreement: "{b}于{d}日内清理巷道堆放物，巷道保持畅通，今后双方共同维护，不得再占用。",
                site: "巷道现场",
            },
            Scenario {
                kind: "饲养家禽扰邻纠纷",
                narrative: "{b}在自家院内饲养鸡鸭{n}十余只，气味和噪音影响隔壁{a}一家的生活，{a}家中有年迈老人和幼儿，意见很大。双方为此多次争吵，{a}扬言要拨打12345投诉，村干部出面劝说无果。",
                agreement: "{b}将鸡鸭移至屋后空地圈养并定期清理粪便，{a}给予理解，双方和睦相处。",
                site: "当事人院落",
            },
            Scenario {
                kind: "建房采光纠纷",
                narrative: "{b}在{h}拆旧建新，新房比原来加高两层，与{a}家旧屋间距不足两米，{a}认为新房严重影响其家采光通风，多次阻止施工。{b}称已办理建房审批手续，双方在工地发生争吵。",
                agreement: "{b}将三楼外墙退让五十公分并取消挑出的阳台，一次性补偿{a}{m}元，{a}不再阻止施工。",
                site: "建房现场",
            },
        ],
    },
    CategoryText {
        code: "marriage_family",
        weight: 160,
        amount: (20_000, 180_000),
        parties: Parties::Couple,
        risks: &[RiskFlag::Extreme, RiskFlag::KeyPerson],
        major_pct: 3,
        scenarios: &[
            Scenario {
                kind: "夫妻感情纠纷",
                narrative: "{a}与{b}结婚{y}年，育有两个孩子。近年来{b}在外务工很少回家，回家后常因琐事与{a}争吵，并酗酒摔砸家中物品。{a}回娘家居住已半月，提出离婚，双方家族也因此产生矛盾。",
                agreement: "双方同意和好，{b}承诺戒酒、不再摔砸物品，每月按时交付家庭生活费，双方共同抚养子女。",
                site: "当事人家中",
            },
            Scenario {
                kind: "离婚财产分割纠纷",
                narrative: "{a}与{b}已协议离婚，但对婚后在{h}共同建造的房屋及存款如何分割分歧较大，{b}拒绝搬离房屋，{a}多次到村委会哭诉，情绪激动，称不解决就到镇政府反映。",
                agreement: "房屋归{b}所有，{b}分{n}期向{a}支付房屋补偿款共计{m}元，子女抚养费按月支付。",
                site: "村委会调解室",
            },
            Scenario {
                kind: "彩礼返还纠纷",
                narrative: "{a}家与{b}家经人介绍定亲，男方按当地习俗给付彩礼{m}元。半年后女方提出解除婚约，男方要求全额返还彩礼，女方家认为已用于购置嫁妆，只同意返还部分，双方亲属多次争吵。",
                agreement: "女方于{d}日内退还彩礼款的百分之七十，其余部分双方互不追究，婚约就此解除。",
                site: "村委会调解室",
            },
        ],
    },
    CategoryText {
        code: "land_resources",
        weight: 150,
        amount: (1_000, 20_000),
        parties: Parties::Any,
        risks: &[RiskFlag::RepeatPetition, RiskFlag::GroupIncident],
        major_pct: 8,
        scenarios: &[
            Scenario {
                kind: "宅基地边界纠纷",
                narrative: "{a}在{h}拆旧建新，{b}认为{a}新打的地基越过两家原有墙基约{n}十公分，占用了自家宅基地，带人阻止施工。双方各持一份上世纪八十年代的宅基地证，四至描述不清，争执多日未果。",
                agreement: "经镇自然资源所现场测量，以测量界线为准，{a}后退施工，{b}不再阻挠建房，双方签字确认界址。",
                site: "建房现场",
            },
            Scenario {
                kind: "承包地界纠纷",
                narrative: "{a}与{b}的承包地相邻，{b}翻耕时将两家之间的田埂向{a}一侧移动约一米，{a}发现后要求恢复原状，{b}坚称按二轮承包时的界线耕种。双方在田头发生推搡，网格员及时制止。",
                agreement: "依据二轮承包合同及村民小组长指认，恢复原田埂位置，{b}赔偿{a}青苗损失{m}元。",
                site: "田头",
            },
            Scenario {
                kind: "山林权属纠纷",
                narrative: "{a}与{b}两家对{h}后山约{n}亩林地的权属存在争议，{b}近日砍伐林中桉树出售，{a}认为林地属其祖上所有，要求{b}停止砍伐并赔偿损失，双方多次到山上争吵。",
                agreement: "双方同意以山脊为界各自管理，已砍伐桉树的收益{m}元由双方平分，今后互不越界。",
                site: "后山林地",
            },
        ],
    },
    CategoryText {
        code: "labour",
        weight: 110,
        amount: (3_000, 60_000),
        parties: Parties::Any,
        risks: &[RiskFlag::GroupIncident],
        major_pct: 6,
        scenarios: &[
            Scenario {
                kind: "拖欠工资纠纷",
                narrative: "{a}等{n}名村民在{b}承包的{v}鱼塘改造工程做工，完工已两个多月，{b}以发包方未结算工程款为由，拖欠{a}等人工资共计{m}元。工人多次上门讨要无果，扬言要到镇政府上访。",
                agreement: "{b}于{d}日内一次性支付拖欠工资{m}元，由村委会监督履行，工人不再上访。",
                site: "工地",
            },
            Scenario {
                kind: "工伤赔偿纠纷",
                narrative: "{a}在{b}经营的砖厂做工时被机器压伤左手，住院治疗花去医药费{m}元。{b}只同意支付部分医药费，对误工费、护理费不予承认，{a}家属多次到砖厂讨说法，双方矛盾激化。",
                agreement: "{b}一次性赔偿{a}医疗费、误工费、护理费等共计{m}元，双方就此事再无其他纠葛。",
                site: "砖厂",
            },
        ],
    },
    CategoryText {
        code: "agriculture_fishery",
        weight: 70,
        amount: (2_000, 50_000),
        parties: Parties::Any,
        risks: &[RiskFlag::GroupIncident],
        major_pct: 6,
        scenarios: &[
            Scenario {
                kind: "蚝排清拆纠纷",
                narrative: "{a}在{v}近海放养蚝排{n}十余排，因海域清理整治需要清拆。{a}认为蚝排即将收成，要求给予补偿或延期清拆，与负责清拆工作的{b}发生争执，周边养殖户也在观望。",
                agreement: "同意{a}延期{d}日，收获后自行清拆蚝排，逾期由执法部门依法清拆，{a}签字承诺。",
                site: "海边蚝排",
            },
            Scenario {
                kind: "青蟹被盗纠纷",
                narrative: "{a}在{h}围塘养殖青蟹，近日发现塘中青蟹多次被盗，损失约{m}元。{a}怀疑是邻塘的{b}所为，双方在塘基上争吵，{a}声称要堵断{b}的进水口，矛盾一触即发。",
                agreement: "公安机关已立案侦查，双方约定共用进水渠、共同出资安装监控，{a}不再堵截水路。",
                site: "养殖围塘",
            },
            Scenario {
                kind: "水稻保险理赔纠纷",
                narrative: "{a}等{n}户村民反映，早稻受台风影响减产，保险公司定损后每亩赔付不足百元，与村民预期相差较大，部分村民聚集到村委会要求说法，与保险公司业务员{b}发生争执。",
                agreement: "保险公司重新逐户核定损失，按核定面积补足理赔款共计{m}元，于{d}日内发放到户。",
                site: "受灾稻田",
            },
            Scenario {
                kind: "灌溉用水纠纷",
                narrative: "正值春耕用水时节，{a}与{b}的水田共用一条灌溉渠，{b}在上游筑坝截水，导致{a}家{n}亩秧田缺水。双方在渠边发生争吵，{a}扒开堤坝，{b}随后又筑起。",
                agreement: "双方约定按田亩面积轮流放水，每户每次放水一天，由村民小组长监督执行。",
                site: "灌溉渠",
            },
        ],
    },
    CategoryText {
        code: "economic_debt",
        weight: 60,
        amount: (5_000, 150_000),
        parties: Parties::Any,
        risks: &[RiskFlag::KeyPerson],
        major_pct: 3,
        scenarios: &[
            Scenario {
                kind: "民间借贷纠纷",
                narrative: "{a}于{y}年前借给同村{b}现金{m}元用于养殖，有借条为证，约定一年内归还。到期后{b}以养殖亏损为由一再拖延，{a}上门讨要时双方发生争吵，{a}准备到法院起诉。",
                agreement: "{b}分{n}期归还借款{m}元，每期于当月底前支付，逾期{a}可申请人民法院强制执行。",
                site: "村委会调解室",
            },
            Scenario {
                kind: "货款纠纷",
                narrative: "{a}长期向{b}在{t}圩镇的海鲜档口供应青蟹和生蚝，累计货款{m}元未结清。{b}称部分货物质量不合格拒绝付款，{a}多次催讨无果，双方在档口前争吵。",
                agreement: "经双方对账确认，{b}于{d}日内支付货款{m}元，双方继续合作。",
                site: "海鲜档口",
            },
        ],
    },
    CategoryText {
        code: "support_maintenance",
        weight: 50,
        amount: (300, 800),
        parties: Parties::ElderAndChild,
        risks: &[RiskFlag::Extreme],
        major_pct: 2,
        scenarios: &[Scenario {
            kind: "赡养纠纷",
            narrative: "{a}年过七旬，老伴去世后独居在{h}旧屋，育有三个儿子。长子{b}认为自己早年建房时父母没有出钱，不愿承担赡养费，其他兄弟也互相推诿，老人生活困难，到村委会哭诉。",
            agreement: "三兄弟每人每月支付赡养费{m}元，轮流照顾老人起居，老人看病费用三人均摊。",
            site: "老人家中",
        }],
    },
    CategoryText {
        code: "road_traffic",
        weight: 40,
        amount: (2_000, 40_000),
        parties: Parties::Any,
        risks: &[],
        major_pct: 2,
        scenarios: &[Scenario {
            kind: "交通事故赔偿纠纷",
            narrative: "{a}骑电动车在村道与{b}驾驶的三轮摩托车发生碰撞，{a}左腿骨折住院，花去医疗费{m}元。交警认定{b}负主要责任，但{b}称无力一次赔偿，{a}家属多次上门，双方关系紧张。",
            agreement: "{b}赔偿{a}医疗费、误工费等共计{m}元，分{n}期付清，首期于签订协议当日支付。",
            site: "村委会调解室",
        }],
    },
    CategoryText {
        code: "land_acquisition",
        weight: 30,
        amount: (10_000, 200_000),
        parties: Parties::Any,
        risks: &[RiskFlag::GroupIncident, RiskFlag::RepeatPetition],
        major_pct: 25,
        scenarios: &[
            Scenario {
                kind: "征地补偿纠纷",
                narrative: "{v}因沿海公路拓宽工程需征用{h}部分土地，{a}家{n}亩承包地在征收范围内。{a}认为青苗和地上附着物补偿标准过低，拒绝签字并阻止施工队进场，与施工方负责人{b}发生争执。",
                agreement: "经镇征地办重新核实，对{a}家地上附着物补偿{m}元，{a}同意配合施工。",
                site: "施工现场",
            },
            Scenario {
                kind: "拆迁补偿分配纠纷",
                narrative: "{a}家旧屋位于村道改造范围内，需要拆除。{a}与兄长{b}对拆迁补偿款{m}元的分配意见不一，{b}认为房屋由其出资翻修应多分，兄弟二人互不相让，拆迁工作因此停滞。",
                agreement: "兄弟二人同意补偿款按六四比例分配，{b}得六成，{a}得四成，于{d}日内配合拆除旧屋。",
                site: "旧屋现场",
            },
        ],
    },
    CategoryText {
        code: "collective_benefit",
        weight: 30,
        amount: (5_000, 120_000),
        parties: Parties::Any,
        risks: &[RiskFlag::RepeatPetition, RiskFlag::GroupIncident],
        major_pct: 20,
        scenarios: &[
            Scenario {
                kind: "外嫁女分配纠纷",
                narrative: "{a}系{v}外嫁女，户口仍在村里，村民小组分配征地补偿款时未将其列入名单。{a}多次找村民小组长{b}理论无果，认为侵犯其合法权益，扬言到市里上访。",
                agreement: "经村民代表会议讨论，{a}享有同等分配权，村民小组于{d}日内补发其应得款项{m}元。",
                site: "村委会",
            },
            Scenario {
                kind: "集体鱼塘租金分配纠纷",
                narrative: "{h}村民小组出租集体鱼塘，租金收入{m}元，小组长{b}迟迟未公开分配方案，{a}等村民怀疑账目不清，联名要求公开账目并按人头分配，部分村民情绪激动。",
                agreement: "村民小组公开近三年收支账目，经村民会议表决，租金按人头分配，由村监委会监督。",
                site: "村民小组会议室",
            },
        ],
    },
    CategoryText {
        code: "consumer",
        weight: 20,
        amount: (1_000, 20_000),
        parties: Parties::Any,
        risks: &[],
        major_pct: 1,
        scenarios: &[Scenario {
            kind: "农资质量纠纷",
            narrative: "{a}在{b}经营的农资店购买复合肥{n}十包，施用后水稻出现烧苗，{a}认为肥料质量有问题，要求退款并赔偿损失{m}元，{b}认为是施用方法不当，双方争执不下。",
            agreement: "经市场监管所参与调解，{b}退还货款并补偿{a}损失{m}元，{a}撤回投诉。",
            site: "农资店",
        }],
    },
    CategoryText {
        code: "property_management",
        weight: 10,
        amount: (1_000, 8_000),
        parties: Parties::Any,
        risks: &[],
        major_pct: 1,
        scenarios: &[Scenario {
            kind: "物业服务费纠纷",
            narrative: "{a}系{t}圩镇碧海花园小区业主，因小区电梯长期故障、绿化无人打理，拒交物业费{n}年共计{m}元。物业公司负责人{b}多次催缴未果，停用了{a}家的门禁卡，双方矛盾升级。",
            agreement: "物业公司于{d}日内维修电梯并恢复门禁，{a}补缴物业费，滞纳金予以减免。",
            site: "小区物业办公室",
        }],
    },
    CategoryText {
        code: "medical",
        weight: 10,
        amount: (3_000, 50_000),
        parties: Parties::Any,
        risks: &[RiskFlag::Extreme],
        major_pct: 8,
        scenarios: &[Scenario {
            kind: "医疗纠纷",
            narrative: "{a}的母亲在{v}卫生站输液后出现过敏反应，转院治疗花费{m}元。{a}认为卫生站用药不当，要求赔偿，卫生站负责人{b}认为已尽告知义务，双方在卫生站门口争执，影响正常诊疗。",
            agreement: "卫生站一次性补偿{a}医疗费{m}元，{a}不再到卫生站聚集吵闹。",
            site: "村卫生站",
        }],
    },
    CategoryText {
        code: "education",
        weight: 10,
        amount: (1_000, 15_000),
        parties: Parties::Any,
        risks: &[],
        major_pct: 2,
        scenarios: &[Scenario {
            kind: "学生意外伤害纠纷",
            narrative: "{a}之子在{v}小学就读，课间与同学嬉闹时摔伤，花去医药费{m}元。{a}认为学校管理不到位，要求学校承担全部费用，校方负责人{b}认为属意外，只同意从校方责任险中支付部分。",
            agreement: "由校方责任险赔付{m}元，学校另行慰问，{a}撤回投诉。",
            site: "学校",
        }],
    },
    CategoryText {
        code: "equipment_trade",
        weight: 10,
        amount: (5_000, 60_000),
        parties: Parties::Any,
        risks: &[],
        major_pct: 1,
        scenarios: &[Scenario {
            kind: "二手农机买卖纠纷",
            narrative: "{a}从{b}处购买二手拖拉机一台，价款{m}元，交付不到一个月发动机即出现故障。{a}要求退货退款，{b}称二手设备售出不退，双方协商不成，{a}扣留了尚未付清的尾款。",
            agreement: "{b}负责免费维修发动机并保修三个月，{a}于维修后{d}日内付清尾款。",
            site: "农机存放点",
        }],
    },
    CategoryText {
        code: "enterprise",
        weight: 10,
        amount: (10_000, 100_000),
        parties: Parties::Any,
        risks: &[RiskFlag::GroupIncident],
        major_pct: 20,
        scenarios: &[Scenario {
            kind: "企业排污扰民纠纷",
            narrative: "{v}附近一家水产加工厂排放的污水气味较大，{a}等周边村民多次反映未果。近日{n}十余名村民聚集到厂门口，要求工厂停产整改，厂方负责人{b}与村民发生争执。",
            agreement: "工厂于{d}日内完成污水处理设施整改，经环保部门验收后方可恢复生产，并向周边村民公开整改进度。",
            site: "加工厂",
        }],
    },
    CategoryText {
        code: "other",
        weight: 10,
        amount: (1_000, 10_000),
        parties: Parties::Any,
        risks: &[],
        major_pct: 1,
        scenarios: &[Scenario {
            kind: "修坟损毁果树纠纷",
            narrative: "{b}在{h}后山修建祖坟时，挖掘机碾压了{a}家种植的龙眼树{n}十余棵，{a}要求赔偿，{b}认为山地属集体所有，拒绝赔偿，双方在山上发生争吵。",
            agreement: "{b}一次性赔偿{a}果树损失{m}元，并修复损坏的上山便道。",
            site: "后山",
        }],
    },
];

/// Facts a grid worker notes on a visit that are not disputes.
const VISIT_NOTES: &[&str] = &[
    "独居老人，身体状况一般，已提醒子女常回家看望。",
    "户主反映与邻居因排水沟有过口角，已劝导，持续关注。",
    "家中老人行动不便，已告知可申请居家养老服务。",
    "夫妻近期因孩子读书问题有争吵，已做疏导，下次走访回访。",
    "儿子在广州务工，春节后未返乡，家中只有老人和孙子。",
    "户主反映承包地被邻户多种了一垄，暂未激化，已告知可申请调解。",
    "家中有重病患者，经济困难，已转告村委会申请临时救助。",
    "反映村道路灯损坏，已上报村委会维修。",
];

const HOUSEHOLD_FACTS: &[&str] = &[
    "务农，种植水稻和番薯",
    "从事海水养殖，有蚝排和围塘",
    "在圩镇经营小卖部",
    "外出务工，农忙时返乡",
    "退休在家，享受养老保险",
];

const HOUSEHOLD_EXTRAS: &[&str] = &[
    "夫妻和睦，邻里关系良好。",
    "子女在外务工，平时与老伴同住。",
    "家中有读初中的孙子，由祖父母照看。",
    "户主为独居老人，享受低保。",
    "家中有华侨亲属，逢年过节回乡探亲。",
];

// --- Helpers ---------------------------------------------------------------------------------

fn chinese_number(n: u32) -> &'static str {
    [
        "零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
    ][n.min(10) as usize]
}

/// The demo device a person works on (one each).
pub fn demo_device(person: &PersonId) -> DeviceId {
    DeviceId::new(format!("demo-device-{person}"))
}

/// A 16-byte automerge actor id derived from a device id (two FNV-1a hashes), so that every
/// document a device writes carries the same, reproducible actor.
pub fn device_actor_id(device: &DeviceId) -> ActorId {
    fn fnv(seed: u64, bytes: &[u8]) -> u64 {
        let mut h = seed;
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }
    let bytes = device.as_str().as_bytes();
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&fnv(0xcbf2_9ce4_8422_2325, bytes).to_be_bytes());
    id[8..].copy_from_slice(&fnv(0x6c62_272e_07bb_0142, bytes).to_be_bytes());
    ActorId::from(&id[..])
}

/// The check character of an 18-character resident ID number (GB 11643, ISO 7064 MOD 11-2).
fn id_check_char(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// The start (UTC ms) of the local (CST) day containing `t`.
fn local_day_start(t: i64) -> i64 {
    (t + CST).div_euclid(DAY) * DAY - CST
}

/// Values the scenario templates are filled with.
struct Vars {
    a: String,
    b: String,
    village: String,
    hamlet: String,
    township: String,
    amount: u32,
    n: u32,
    days: u32,
    years: u32,
}

impl Vars {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{a}", &self.a)
            .replace("{b}", &self.b)
            .replace("{v}", &self.village)
            .replace("{h}", &self.hamlet)
            .replace("{t}", &self.township)
            .replace("{m}", &self.amount.to_string())
            .replace("{n}", chinese_number(self.n))
            .replace("{d}", &self.days.to_string())
            .replace("{y}", &self.years.to_string())
    }
}

/// A party as drawn, before it becomes a [`Party`] and a [`PartyContact`].
struct DrawnParty {
    name: String,
    female: bool,
    birth_year: i32,
}

/// The state of one case being played through its life.
struct Play {
    doc: CaseDoc,
    now: i64,
    /// The time of the last step.
    t: i64,
    /// Steps taken so far; the case stops (is stuck) before step `stall_at`.
    steps: u32,
    stall_at: Option<u32>,
    text: &'static CategoryText,
    vars: Vars,
    agreement_text: String,
    site: &'static str,
    township: UnitId,
    court: &'static str,
    reporter: PersonId,
    reporter_role: Role,
    grid_worker: PersonId,
    difficulty: Difficulty,
    /// The mediator who acts for the current assignee.
    handler: Option<PersonId>,
    /// Whether the case came back down from the county (交办) and owes a report back.
    owes_feedback: bool,
    reopened: bool,
}

/// How a round of mediation ended.
enum Outcome {
    Resolved,
    Stabilised,
    Failed,
    /// The case stopped (now was reached, or it is stuck).
    Open,
}

/// Stops the lifecycle when a step would happen after `now` (or the case is stuck).
macro_rules! step {
    ($e:expr) => {
        match $e {
            Some(t) => t,
            None => return Ok(()),
        }
    };
}

// --- The generator ---------------------------------------------------------------------------

/// Generates a realistic directory, cases and households from a seed.
#[derive(Debug)]
pub struct Generator {
    rng: SmallRng,
    directory: Directory,
    taxonomy: Taxonomy,
    county: UnitId,
    townships: Vec<UnitId>,
    /// Names already given, so that no two people in the directory share one.
    staff_names: HashSet<String>,
}

/// A generated case: its document and its contacts document (keyed by party id).
#[derive(Debug)]
pub struct GeneratedCase {
    pub doc: CaseDoc,
    pub contacts: ContactsDocument,
}

impl Generator {
    /// A generator with a fresh directory: 台山市 → 海宴镇, 都斛镇 → five villages each → three
    /// grids each, with a grid worker per grid, four mediators, three centre staff and a leader per
    /// township, and two staff, a leader and two mediators at the county.
    pub fn new(seed: u64) -> Generator {
        let mut g = Generator {
            rng: SmallRng::seed_from_u64(seed),
            directory: Directory::default(),
            taxonomy: Taxonomy::default(),
            county: UnitId::from(COUNTY_ID),
            townships: TOWNSHIPS.iter().map(|t| UnitId::from(t.id)).collect(),
            staff_names: HashSet::new(),
        };
        let (units, people) = g.build_directory();
        g.directory =
            Directory::new(units, people).expect("the demo directory is a well-formed tree");
        g
    }

    fn build_directory(&mut self) -> (Vec<Unit>, Vec<Person>) {
        let unit = |id: &str, name: &str, tier, parent: Option<&str>, centre| Unit {
            id: id.into(),
            name: name.to_owned(),
            tier,
            parent: parent.map(UnitId::from),
            centre,
            policy: None,
            escalate_skip_to: Vec::new(),
        };
        let mut units = vec![unit(COUNTY_ID, COUNTY_NAME, Tier::County, None, true)];
        let mut people = Vec::new();
        for (i, specialties) in COUNTY_SPECIALTIES.iter().enumerate() {
            people.push(self.person(
                &format!("{COUNTY_ID}-med{}", i + 1),
                COUNTY_ID,
                Role::Mediator,
                specialties,
            ));
        }
        for i in 1..=2 {
            people.push(self.person(
                &format!("{COUNTY_ID}-staff{i}"),
                COUNTY_ID,
                Role::CentreStaff,
                &[],
            ));
        }
        people.push(self.person(
            &format!("{COUNTY_ID}-leader"),
            COUNTY_ID,
            Role::CentreLeader,
            &[],
        ));
        for t in &TOWNSHIPS {
            units.push(unit(t.id, t.name, Tier::Township, Some(COUNTY_ID), true));
            for (i, specialties) in TOWNSHIP_SPECIALTIES.iter().enumerate() {
                people.push(self.person(
                    &format!("{}-med{}", t.id, i + 1),
                    t.id,
                    Role::Mediator,
                    specialties,
                ));
            }
            for i in 1..=3 {
                people.push(self.person(
                    &format!("{}-staff{i}", t.id),
                    t.id,
                    Role::CentreStaff,
                    &[],
                ));
            }
            people.push(self.person(&format!("{}-leader", t.id), t.id, Role::CentreLeader, &[]));
            for (v, name, _, _) in &t.villages {
                let village = format!("{}-{v}", t.id);
                // The villages' committees mediate, but reports go to the township's centre:
                // the demo's villages run no centre of their own (no staff to assess).
                units.push(unit(&village, name, Tier::Village, Some(t.id), false));
                for (g, ordinal) in GRID_ORDINALS.iter().enumerate().take(GRIDS_PER_VILLAGE) {
                    let grid = format!("{village}-g{}", g + 1);
                    units.push(unit(
                        &grid,
                        &format!("{name}{ordinal}"),
                        Tier::Grid,
                        Some(&village),
                        false,
                    ));
                    people.push(self.person(&format!("{grid}-gw"), &grid, Role::GridWorker, &[]));
                }
            }
        }
        (units, people)
    }

    fn person(&mut self, id: &str, unit: &str, role: Role, specialties: &[&str]) -> Person {
        let name = loop {
            let female = self.rng.gen_bool(0.45);
            let name = self.name(female);
            if self.staff_names.insert(name.clone()) {
                break name;
            }
        };
        Person {
            id: id.into(),
            name,
            unit: unit.into(),
            roles: BTreeSet::from([role]),
            specialties: specialties.iter().map(|s| CategoryCode::from(*s)).collect(),
            phone: Some(self.phone()),
        }
    }

    // --- Accessors ---

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The dispute taxonomy the generated cases use (the default one).
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// The main township, 海宴镇.
    pub fn township(&self) -> UnitId {
        self.townships[0].clone()
    }

    /// Both townships: 海宴镇 and 都斛镇.
    pub fn townships(&self) -> Vec<UnitId> {
        self.townships.clone()
    }

    /// The county, 台山市, whose joint-mediation centre receives escalations.
    pub fn county(&self) -> UnitId {
        self.county.clone()
    }

    /// The villages of a township.
    pub fn villages(&self, township: &UnitId) -> Vec<UnitId> {
        self.directory
            .children(township)
            .into_iter()
            .map(|u| u.id.clone())
            .collect()
    }

    /// Every grid, or the grids within `unit` when given.
    pub fn grids(&self, within: Option<&UnitId>) -> Vec<UnitId> {
        self.directory
            .units()
            .filter(|u| u.tier == Tier::Grid)
            .filter(|u| within.is_none_or(|w| self.directory.is_within(&u.id, w)))
            .map(|u| u.id.clone())
            .collect()
    }

    fn with_role(&self, unit: &UnitId, role: Role) -> Vec<&Person> {
        self.directory
            .people()
            .filter(|p| &p.unit == unit && p.roles.contains(&role))
            .collect()
    }

    /// The centre staff (综治中心工作人员) of a unit.
    pub fn staff_of(&self, unit: &UnitId) -> Vec<&Person> {
        self.with_role(unit, Role::CentreStaff)
    }

    /// The centre leader (综治中心主任) of a unit.
    pub fn leader_of(&self, unit: &UnitId) -> Option<&Person> {
        self.with_role(unit, Role::CentreLeader).into_iter().next()
    }

    /// The mediators working in exactly this unit.
    pub fn mediators_of(&self, unit: &UnitId) -> Vec<&Person> {
        self.with_role(unit, Role::Mediator)
    }

    /// The grid worker of a grid.
    pub fn grid_worker_of(&self, grid: &UnitId) -> Option<&Person> {
        self.with_role(grid, Role::GridWorker).into_iter().next()
    }

    /// The actor a person of the directory acts as, in `role`, from their demo device
    /// `demo-device-<person>`.
    ///
    /// # Panics
    /// If the person is not in the directory (demo code: ids come from the directory).
    pub fn actor_for(&self, person: &PersonId, role: Role) -> Actor {
        let p = self
            .directory
            .person(person)
            .unwrap_or_else(|| panic!("demo person {person} is not in the demo directory"));
        Actor {
            person: p.id.clone(),
            name: p.name.clone(),
            role,
            unit: p.unit.clone(),
        }
    }

    // --- Random pieces ---

    fn pick<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.gen_range(0..total.max(1));
        for (item, w) in items {
            if x < *w {
                return *item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }

    fn pct(&mut self, percent: u32) -> bool {
        self.rng.gen_range(0..100) < percent
    }

    fn one<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items.choose(&mut self.rng).copied().unwrap_or_default()
    }

    fn name(&mut self, female: bool) -> String {
        let surname = self.pick(SURNAMES);
        let given = self.one(if female { FEMALE_GIVEN } else { MALE_GIVEN });
        format!("{surname}{given}")
    }

    fn phone(&mut self) -> String {
        let prefix = self.one(PHONE_PREFIXES);
        format!("{prefix}{:08}", self.rng.gen_range(0..100_000_000u32))
    }

    fn id_number(&mut self, female: bool, birth_year: i32) -> String {
        let month = self.rng.gen_range(1..=12);
        let day = self.rng.gen_range(1..=28);
        // The 17th digit is odd for men and even for women.
        let seq = self.rng.gen_range(0..50u32) * 2 + u32::from(!female);
        let first17 = format!("{ID_AREA}{birth_year:04}{month:02}{day:02}{seq:03}");
        let check = id_check_char(&first17);
        format!("{first17}{check}")
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        self.rng.fill(&mut b[..]);
        b
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| format!("{:02x}", self.rng.gen::<u8>()))
            .collect()
    }

    /// A UUID v7 for the given time, with random bits from the generator.
    fn uuid_v7(&mut self, at_ms: i64) -> String {
        let millis = u64::try_from(at_ms).unwrap_or_default();
        uuid::Builder::from_unix_timestamp_millis(millis, &self.bytes::<10>())
            .into_uuid()
            .to_string()
    }

    /// Moves `t` into working hours (08:00–20:00 CST), never backwards.
    fn daytime(&mut self, t: i64) -> i64 {
        let day = local_day_start(t);
        let hour = (t - day) / HOUR;
        let jitter = self.rng.gen_range(0..90) * MINUTE;
        if hour < 8 {
            day + 8 * HOUR + jitter
        } else if hour >= 20 {
            day + DAY + 8 * HOUR + jitter
        } else {
            t
        }
    }

    fn draw_party(&mut self, female: bool, born: std::ops::RangeInclusive<i32>) -> DrawnParty {
        DrawnParty {
            name: self.name(female),
            female,
            birth_year: self.rng.gen_range(born),
        }
    }

    fn category(&mut self, township: &UnitId) -> &'static CategoryText {
        // 都斛 is an agricultural town: land and farming disputes are well over half its cases.
        let farming = township.as_str() == "duhu";
        let weights: Vec<(usize, u32)> = CATEGORIES
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let w = match c.code {
                    "land_resources" | "agriculture_fishery" if farming => c.weight * 2,
                    _ => c.weight,
                };
                (i, w)
            })
            .collect();
        &CATEGORIES[self.pick(&weights)]
    }

    // --- Cases ---

    /// Generates `n` cases (see [`Generator::case`]).
    pub fn cases(&mut self, n: usize, now_ms: i64) -> Result<Vec<GeneratedCase>> {
        (0..n).map(|_| self.case(now_ms)).collect()
    }

    /// A case reported at a random time in the 120 days before `now_ms`, played through a
    /// realistic part of its life up to `now_ms`: reported, assessed, assigned, mediated,
    /// resolved (or stabilised, or failed and escalated to the county), followed up and
    /// concluded. Recent cases are often still open; a few older ones are stuck (overdue).
    pub fn case(&mut self, now_ms: i64) -> Result<GeneratedCase> {
        // Where.
        let township = self.pick(&[(0usize, TOWNSHIPS[0].share), (1, TOWNSHIPS[1].share)]);
        let tdef = &TOWNSHIPS[township];
        let township = self.townships[township].clone();
        let vi = self.rng.gen_range(0..tdef.villages.len());
        let (vid, vname, lat, lon) = tdef.villages[vi];
        let grid = UnitId::new(format!(
            "{}-{vid}-g{}",
            tdef.id,
            self.rng.gen_range(1..=GRIDS_PER_VILLAGE)
        ));
        let grid_worker = self
            .grid_worker_of(&grid)
            .map(|p| p.id.clone())
            .ok_or_else(|| Error::UnknownUnit(grid.clone()))?;
        let hamlet = self.one(HAMLETS);

        // When.
        let back = self.rng.gen_range(0..WINDOW_DAYS * DAY);
        let mut reported = self.daytime(now_ms - back);
        if reported > now_ms {
            reported = now_ms - self.rng.gen_range(10..240) * MINUTE;
        }

        // What.
        let text = self.category(&township);
        let scenario = &text.scenarios[self.rng.gen_range(0..text.scenarios.len())];
        let a_female = match text.parties {
            Parties::Couple => self.pct(70),
            _ => self.pct(35),
        };
        let (a, b) = match text.parties {
            Parties::Any => (self.draw_party(a_female, 1955..=2000), {
                let f = self.pct(30);
                self.draw_party(f, 1955..=2000)
            }),
            Parties::Couple => (
                self.draw_party(a_female, 1975..=2000),
                self.draw_party(!a_female, 1972..=1998),
            ),
            Parties::ElderAndChild => (
                self.draw_party(a_female, 1938..=1954),
                self.draw_party(false, 1960..=1980),
            ),
        };
        let (lo, hi) = text.amount;
        let vars = Vars {
            a: a.name.clone(),
            b: b.name.clone(),
            village: vname.to_owned(),
            hamlet: hamlet.to_owned(),
            township: tdef.name.to_owned(),
            amount: self.rng.gen_range(lo / 100..=hi / 100) * 100,
            n: self.rng.gen_range(2..=9),
            days: self.rng.gen_range(3..=15),
            years: self.rng.gen_range(2..=15),
        };
        let source = self.pick(&[
            (Source::GridVisit, 62),
            (Source::WalkIn, 18),
            (Source::Hotline12345, 10),
            (Source::Police, 5),
            (Source::HigherAssignment, 3),
            (Source::Other, 2),
        ]);
        let (reporter, reporter_role) = match source {
            Source::GridVisit => (grid_worker.clone(), Role::GridWorker),
            Source::HigherAssignment => (self.staff(&self.county.clone()), Role::CentreStaff),
            _ => (self.staff(&township), Role::CentreStaff),
        };
        let reporter_name = self.actor_for(&reporter, reporter_role).name;
        let intro = match source {
            Source::GridVisit => format!("网格员{reporter_name}入户走访时了解到："),
            Source::WalkIn => format!("{}到{}综治中心来访反映：", a.name, tdef.name),
            Source::Hotline12345 => "12345政务服务热线转办：".to_owned(),
            Source::Police => format!("{}派出所移交：", tdef.name.trim_end_matches('镇')),
            Source::HigherAssignment => "台山市矛盾纠纷联调中心交办：".to_owned(),
            Source::Other => format!("{vname}村委会反映："),
        };
        let narrative = format!("{intro}{}", vars.fill(scenario.narrative));
        let title = if self.pct(50) {
            format!("{}与{}{}", a.name, b.name, scenario.kind)
        } else {
            format!("{vname}{hamlet}{}", scenario.kind)
        };
        let address = format!(
            "{COUNTY_NAME}{}{vname}委会{hamlet}{}号",
            tdef.name,
            self.rng.gen_range(1..=88)
        );
        let gps = self.pct(70).then(|| {
            (
                lat + self.rng.gen_range(-0.008..0.008),
                lon + self.rng.gen_range(-0.008..0.008),
            )
        });

        // Who.
        let mut parties = Vec::new();
        let mut new_parties = Vec::new();
        let mut contacts = BTreeMap::new();
        for (p, role) in [(&a, PartyRole::Applicant), (&b, PartyRole::Respondent)] {
            let id = PartyId::new(self.hex(6));
            let phone = self.phone();
            let id_number = self.id_number(p.female, p.birth_year);
            parties.push(Party {
                id: id.clone(),
                name: p.name.clone(),
                role,
            });
            new_parties.push(NewParty {
                name: p.name.clone(),
                role,
                phone: Some(phone.clone()),
                id_number: Some(id_number.clone()),
            });
            contacts.insert(
                id.to_string(),
                PartyContact {
                    phone: Some(phone),
                    id_number: Some(id_number),
                },
            );
        }

        let case_id = CaseId::new(self.uuid_v7(reported));
        let new = NewCase {
            title,
            category: text.code.to_owned(),
            narrative,
            place_unit: grid.clone(),
            address,
            gps,
            parties: new_parties,
            source,
        };
        let reporter_actor = self.actor_for(&reporter, reporter_role);
        let doc = CaseDoc::create(
            case_id.clone(),
            &new,
            parties,
            self.directory.path(&grid),
            township.clone(),
            &reporter_actor,
            &device_actor_id(&demo_device(&reporter_actor.person)),
            reported,
        )?;
        let stall_at = self.pct(6).then(|| self.rng.gen_range(1..=6));
        let mut play = Play {
            doc,
            now: now_ms,
            t: reported,
            steps: 0,
            stall_at,
            text,
            agreement_text: vars.fill(scenario.agreement),
            vars,
            site: scenario.site,
            township,
            court: tdef.court,
            reporter,
            reporter_role,
            grid_worker,
            difficulty: Difficulty::Simple,
            handler: None,
            owes_feedback: false,
            reopened: false,
        };
        self.play(&mut play)?;
        Ok(GeneratedCase {
            doc: play.doc,
            contacts: ContactsDocument {
                case: case_id,
                parties: contacts,
            },
        })
    }

    /// A random centre staff member of a unit.
    fn staff(&mut self, unit: &UnitId) -> PersonId {
        let staff: Vec<PersonId> = self.staff_of(unit).iter().map(|p| p.id.clone()).collect();
        staff
            .choose(&mut self.rng)
            .cloned()
            .unwrap_or_else(|| panic!("demo unit {unit} has centre staff"))
    }

    /// The leader of a unit, or a staff member when there is none.
    fn leader(&mut self, unit: &UnitId) -> (PersonId, Role) {
        match self.leader_of(unit) {
            Some(p) => (p.id.clone(), Role::CentreLeader),
            None => (self.staff(unit), Role::CentreStaff),
        }
    }

    /// Advances the case's clock by `min_h..max_h` hours (into working hours); `None` when that
    /// is after now or the case is stuck here.
    fn next(&mut self, c: &mut Play, min_h: f64, max_h: f64) -> Option<i64> {
        c.steps += 1;
        if c.stall_at == Some(c.steps) {
            return None;
        }
        let delay = (self.rng.gen_range(min_h..max_h) * HOUR as f64) as i64;
        let t = self.daytime(c.t + delay.max(MINUTE));
        if t > c.now {
            return None;
        }
        c.t = t;
        Some(t)
    }

    /// Records a step as `person` in `role`, from their device.
    fn act(&mut self, c: &mut Play, person: &PersonId, role: Role, action: Action) -> Result<()> {
        let actor = self.actor_for(person, role);
        c.doc
            .automerge()
            .set_actor(device_actor_id(&demo_device(&actor.person)));
        c.doc.act(&actor, action, c.t)?;
        Ok(())
    }

    fn edit(&mut self, c: &mut Play, person: &PersonId, role: Role, edit: &CaseEdit) -> Result<()> {
        let actor = self.actor_for(person, role);
        c.doc
            .automerge()
            .set_actor(device_actor_id(&demo_device(&actor.person)));
        c.doc.edit(&actor, edit, c.t)?;
        Ok(())
    }

    fn attachment(&mut self, c: &Play, by: &PersonId, name: &str, mime: &str) -> Attachment {
        Attachment {
            id: AttachmentId::new(self.hex(8)),
            name: name.to_owned(),
            mime: mime.to_owned(),
            size: self.rng.gen_range(150_000..2_500_000),
            sha256: self.hex(32),
            added_by: by.clone(),
            added_at: c.t,
        }
    }

    fn play(&mut self, c: &mut Play) -> Result<()> {
        // The reporter adds photos of the scene.
        if c.reporter_role == Role::GridWorker && self.pct(50) {
            step!(self.next(c, 0.1, 2.0));
            let reporter = c.reporter.clone();
            let photo = self.attachment(c, &reporter, "现场照片.jpg", "image/jpeg");
            let edit = CaseEdit {
                add_attachments: vec![photo],
                ..CaseEdit::default()
            };
            self.edit(c, &reporter, Role::GridWorker, &edit)?;
        }

        // On-the-spot mediation (就地调解) by the grid worker for small matters.
        let small = matches!(
            c.text.code,
            "neighbour" | "marriage_family" | "agriculture_fishery" | "other"
        );
        if c.reporter_role == Role::GridWorker && small && self.pct(12) {
            return self.on_the_spot(c);
        }
        // The grid worker tries first (先行劝导), calms things down, but leaves it to the centre.
        if c.reporter_role == Role::GridWorker && self.pct(45) {
            step!(self.next(c, 0.2, 4.0));
            let gw = c.grid_worker.clone();
            self.act(
                c,
                &gw,
                Role::GridWorker,
                Action::RecordSession {
                    mode: SessionMode::OnSite,
                    note: "网格员先行劝导，情绪暂稳，未达成一致，报镇综治中心。".to_owned(),
                },
            )?;
        }

        // 研判
        step!(self.next(c, 1.0, 20.0));
        let township = c.township.clone();
        self.assess(c, &township)?;

        // Staff add what they learned at intake.
        if self.pct(35) {
            step!(self.next(c, 0.5, 6.0));
            let staff = self.staff(&township);
            let narrative = format!(
                "{}\n（补充）经核实，双方均为{}村民，此前已由村干部调解一次未果。",
                c.doc.read()?.narrative.as_str(),
                c.vars.village
            );
            let edit = CaseEdit {
                narrative: Some(narrative),
                ..CaseEdit::default()
            };
            self.edit(c, &staff, Role::CentreStaff, &edit)?;
        }

        // A major case that spans departments goes straight up.
        if c.difficulty.needs_leader() && self.pct(30) {
            step!(self.next(c, 1.0, 24.0));
            let (leader, role) = self.leader(&township);
            let county = self.county();
            self.act(
                c,
                &leader,
                role,
                Action::Escalate {
                    to: county,
                    reason: EscalationReason::CrossDepartment,
                    note: "涉及多个部门职能，镇级难以统筹，报请台山市矛盾纠纷联调中心协调处理。"
                        .to_owned(),
                },
            )?;
            return self.at_county(c);
        }

        // 分流
        step!(self.next(c, 0.5, 8.0));
        self.assign(c, &township)?;
        match self.mediate(c, true)? {
            Outcome::Open => Ok(()),
            Outcome::Resolved => self.conclude(c, &township),
            Outcome::Stabilised => self.stabilised(c, &township),
            Outcome::Failed => {
                step!(self.next(c, 2.0, 30.0));
                let (leader, role) = if c.difficulty.needs_leader() {
                    self.leader(&township)
                } else {
                    (self.staff(&township), Role::CentreStaff)
                };
                let county = self.county();
                let reason = self.pick(&[
                    (EscalationReason::Unresolved, 6),
                    (EscalationReason::MajorDifficulty, 2),
                    (EscalationReason::CrossDepartment, 2),
                ]);
                self.act(
                    c,
                    &leader,
                    role,
                    Action::Escalate {
                        to: county,
                        reason,
                        note: format!(
                            "{}，本级调解不成，报请台山市矛盾纠纷联调中心协调处理。",
                            reason.zh()
                        ),
                    },
                )?;
                self.at_county(c)
            }
        }
    }

    fn on_the_spot(&mut self, c: &mut Play) -> Result<()> {
        let gw = c.grid_worker.clone();
        step!(self.next(c, 0.2, 3.0));
        self.act(
            c,
            &gw,
            Role::GridWorker,
            Action::RecordSession {
                mode: SessionMode::OnSite,
                note: format!("在{}现场劝导，{}与{}各退一步。", c.site, c.vars.a, c.vars.b),
            },
        )?;
        step!(self.next(c, 0.1, 1.0));
        self.act(
            c,
            &gw,
            Role::GridWorker,
            Action::Resolve {
                agreement: None,
                note: "就地调解成功。".to_owned(),
            },
        )?;
        let township = c.township.clone();
        self.conclude(c, &township)
    }

    fn assess(&mut self, c: &mut Play, unit: &UnitId) -> Result<()> {
        let major = self.pct(c.text.major_pct);
        let escalated = unit == &self.county;
        c.difficulty = if major || (escalated && self.pct(50)) {
            if self.pct(8) {
                Difficulty::ExtraMajor
            } else {
                Difficulty::Major
            }
        } else if escalated || self.pct(45) {
            Difficulty::General
        } else {
            Difficulty::Simple
        };
        let mut risks = Vec::new();
        if c.difficulty.needs_leader() {
            if let Some(r) = c.text.risks.choose(&mut self.rng) {
                risks.push(*r);
            }
            if self.pct(20) {
                risks.push(RiskFlag::KeyPerson);
            }
        } else if self.pct(3) {
            risks.push(RiskFlag::KeyPerson);
        }
        risks.sort();
        risks.dedup();
        let note = match c.difficulty {
            Difficulty::Simple => "事实清楚，简单纠纷，3日内办结。".to_owned(),
            Difficulty::General => format!(
                "涉及{}认定，一般纠纷，7日内化解。",
                if c.text.amount.1 >= 10_000 {
                    "赔偿金额"
                } else {
                    "权属和责任"
                }
            ),
            Difficulty::Major | Difficulty::ExtraMajor => format!(
                "{}，{}纠纷，领导包案。",
                risks.first().map_or("存在矛盾激化风险", |r| r.zh()),
                c.difficulty.zh()
            ),
        };
        let (who, role) = if c.difficulty.needs_leader() {
            self.leader(unit)
        } else {
            (self.staff(unit), Role::CentreStaff)
        };
        self.act(
            c,
            &who,
            role,
            Action::Assess {
                difficulty: c.difficulty,
                risks,
                note,
            },
        )
    }

    /// Picks a mediator of `unit` for the case's category: specialists first.
    fn mediator(&mut self, c: &Play, unit: &UnitId, not: Option<&PersonId>) -> Person {
        let code = CategoryCode::from(c.text.code);
        let all: Vec<Person> = self
            .mediators_of(unit)
            .into_iter()
            .filter(|p| Some(&p.id) != not)
            .cloned()
            .collect();
        let specialists: Vec<&Person> = all
            .iter()
            .filter(|p| p.specialties.contains(&code))
            .collect();
        let pool: Vec<&Person> = if specialists.is_empty() {
            all.iter().collect()
        } else {
            specialists
        };
        let i = self.rng.gen_range(0..pool.len());
        pool[i].clone()
    }

    fn assign(&mut self, c: &mut Play, unit: &UnitId) -> Result<()> {
        let staff = self.staff(unit);
        let first = self.mediator(c, unit, None);
        let zh = self
            .taxonomy
            .zh(&CategoryCode::from(c.text.code))
            .to_owned();
        let chosen = !c.difficulty.needs_leader() && self.pct(15);
        let (to, note) = if c.difficulty.needs_leader() {
            let second = self.mediator(c, unit, Some(&first.id));
            (
                Assignee::JointTeam {
                    members: vec![first.id.clone(), second.id.clone()],
                    names: vec![first.name.clone(), second.name.clone()],
                },
                format!("{}、{}组成联合调处小组。", first.name, second.name),
            )
        } else if chosen {
            (
                Assignee::Mediator {
                    person: first.id.clone(),
                    name: first.name.clone(),
                },
                format!("点单式调解：双方选定{}。", first.name),
            )
        } else {
            (
                Assignee::Mediator {
                    person: first.id.clone(),
                    name: first.name.clone(),
                },
                format!("按{zh}分流至调解员{}。", first.name),
            )
        };
        c.handler = Some(first.id.clone());
        self.act(
            c,
            &staff,
            Role::CentreStaff,
            Action::Assign {
                to,
                chosen_by_parties: chosen,
                note,
            },
        )
    }

    /// Sessions, then an outcome. `may_fail`: whether this round may end in failure.
    fn mediate(&mut self, c: &mut Play, may_fail: bool) -> Result<Outcome> {
        let Some(handler) = c.handler.clone() else {
            return Ok(Outcome::Open);
        };
        let sessions = match c.difficulty {
            Difficulty::Simple => self.pick(&[(1, 20), (2, 55), (3, 25)]),
            Difficulty::General => self.pick(&[(1, 10), (2, 50), (3, 30), (4, 10)]),
            _ => self.pick(&[(2, 30), (3, 50), (4, 20)]),
        };
        for i in 0..sessions {
            let Some(_) = (if i == 0 {
                self.next(c, 2.0, 40.0)
            } else {
                self.next(c, 16.0, 60.0)
            }) else {
                return Ok(Outcome::Open);
            };
            let mode = if i == 0 {
                self.pick(&[(SessionMode::OnSite, 75), (SessionMode::MediationRoom, 25)])
            } else {
                self.pick(&[
                    (SessionMode::MediationRoom, 60),
                    (SessionMode::OnSite, 30),
                    (SessionMode::Online, 10),
                ])
            };
            let note = match (i, mode) {
                (_, SessionMode::Online) => format!("{}在外务工，视频线上调解。", c.vars.b),
                (0, _) => format!("到{}查看，分别听取{}、{}陈述。", c.site, c.vars.a, c.vars.b),
                (i, _) if i + 1 == sessions => {
                    format!("邀{}村干部、亲属参与，基本达成一致。", c.vars.village)
                }
                _ => self
                    .one(&[
                        "面对面调解，释法说理。",
                        "背对背做工作，缩小分歧。",
                        "再次调解，双方各让一步。",
                    ])
                    .to_owned(),
            };
            self.act(
                c,
                &handler,
                Role::Mediator,
                Action::RecordSession { mode, note },
            )?;
        }
        let (resolve, stabilise) = match c.difficulty {
            Difficulty::Simple => (93, 4),
            Difficulty::General => (85, 8),
            _ => (62, 20),
        };
        // The mediator uploads the session record (调解笔录), for the record (网上留痕).
        if self.pct(35) {
            let Some(_) = self.next(c, 0.5, 4.0) else {
                return Ok(Outcome::Open);
            };
            let record = self.attachment(c, &handler, "调解笔录.jpg", "image/jpeg");
            let edit = CaseEdit {
                add_attachments: vec![record],
                ..CaseEdit::default()
            };
            self.edit(c, &handler, Role::Mediator, &edit)?;
        }
        let roll = self.rng.gen_range(0..100);
        let Some(_) = self.next(c, 0.2, 3.0) else {
            return Ok(Outcome::Open);
        };
        if roll < resolve || (!may_fail && roll < resolve + (100 - resolve - stabilise) / 2) {
            let with_agreement = self.pct(75);
            let agreement = with_agreement.then(|| Agreement {
                summary: c.agreement_text.clone(),
                attachment: None,
            });
            let note = if with_agreement {
                "达成调解协议，当场签字。"
            } else {
                "达成口头协议，握手言和。"
            };
            let agreement = match agreement {
                // A scanned agreement is attached before the case is marked resolved.
                Some(mut agreement) if self.pct(50) => {
                    let scan = self.attachment(c, &handler, "调解协议书.pdf", "application/pdf");
                    agreement.attachment = Some(scan.id.clone());
                    let edit = CaseEdit {
                        add_attachments: vec![scan],
                        ..CaseEdit::default()
                    };
                    self.edit(c, &handler, Role::Mediator, &edit)?;
                    let t = c.t + self.rng.gen_range(5..30) * MINUTE;
                    if t > c.now {
                        return Ok(Outcome::Open);
                    }
                    c.t = t;
                    Some(agreement)
                }
                other => other,
            };
            self.act(
                c,
                &handler,
                Role::Mediator,
                Action::Resolve {
                    agreement,
                    note: note.to_owned(),
                },
            )?;
            Ok(Outcome::Resolved)
        } else if roll < resolve + stabilise || !may_fail {
            self.act(
                c,
                &handler,
                Role::Mediator,
                Action::Stabilise {
                    note:
                        "双方分歧较大，暂未达成一致，已落实网格员每周走访、重点关注，防止矛盾激化。"
                            .to_owned(),
                },
            )?;
            Ok(Outcome::Stabilised)
        } else {
            self.act(
                c,
                &handler,
                Role::Mediator,
                Action::Fail {
                    note: format!(
                        "经{sessions}次调解，双方仍各执一词，{}拒不接受调解方案，本级调解不成。",
                        c.vars.b
                    ),
                },
            )?;
            Ok(Outcome::Failed)
        }
    }

    /// After resolution: judicial confirmation sometimes, report back if owed, follow-up,
    /// close (by the leader for a major case), and sometimes a later 回头看.
    fn conclude(&mut self, c: &mut Play, unit: &UnitId) -> Result<()> {
        let has_agreement = c.doc.state()?.is_some_and(|s| s.agreement.is_some());
        let judicial_pct = match c.text.code {
            "economic_debt" | "labour" | "road_traffic" | "marriage_family" => 35,
            _ => 8,
        };
        if has_agreement && self.pct(judicial_pct) {
            if let Some(handler) = c.handler.clone() {
                step!(self.next(c, 2.0, 48.0));
                self.act(
                    c,
                    &handler,
                    Role::Mediator,
                    Action::RequestJudicialConfirmation {
                        court: c.court.to_owned(),
                    },
                )?;
                step!(self.next(c, 72.0, 240.0));
                let granted = self.pct(95);
                let staff = self.staff(unit);
                self.act(
                    c,
                    &staff,
                    Role::CentreStaff,
                    Action::RecordJudicialConfirmation {
                        granted,
                        note: if granted {
                            "裁定确认调解协议有效。".to_owned()
                        } else {
                            "协议部分条款不明确，不予确认，建议补正后重新申请。".to_owned()
                        },
                    },
                )?;
            }
        }
        if c.owes_feedback {
            step!(self.next(c, 2.0, 24.0));
            let staff = self.staff(unit);
            self.act(
                c,
                &staff,
                Role::CentreStaff,
                Action::ReportBack {
                    note: "经联合调处，双方已达成协议并开始履行，现将办理情况反馈市联调中心。"
                        .to_owned(),
                },
            )?;
            c.owes_feedback = false;
        }

        // 回访
        step!(self.next(c, 48.0, 240.0));
        let satisfaction = self.pick(&[
            (Satisfaction::Satisfied, 88),
            (Satisfaction::Basically, 9),
            (Satisfaction::Dissatisfied, 3),
        ]);
        let relapsed = !c.reopened && self.pct(2);
        let by_visit = c.reporter_role == Role::GridWorker && self.pct(40);
        let (who, role, method) = if by_visit {
            (c.reporter.clone(), Role::GridWorker, FollowUpMethod::Visit)
        } else {
            (self.staff(unit), Role::CentreStaff, FollowUpMethod::Phone)
        };
        let how = if by_visit {
            "入户回访"
        } else {
            "电话回访"
        };
        let note = if relapsed {
            format!("{how}{}：对方未履行协议，纠纷反复。", c.vars.a)
        } else {
            match satisfaction {
                Satisfaction::Satisfied => format!("{how}{}：协议已履行，满意。", c.vars.a),
                Satisfaction::Basically => format!("{how}{}：基本履行，基本满意。", c.vars.a),
                Satisfaction::Dissatisfied => {
                    format!("{how}{}：认为赔偿偏低，不满意，已解释。", c.vars.a)
                }
            }
        };
        self.act(
            c,
            &who,
            role,
            Action::FollowUp {
                method,
                satisfaction,
                relapsed,
                note,
            },
        )?;

        if relapsed {
            step!(self.next(c, 1.0, 24.0));
            let staff = self.staff(unit);
            self.act(
                c,
                &staff,
                Role::CentreStaff,
                Action::Reopen {
                    reason: format!("回访发现纠纷反复：{}未按协议履行。", c.vars.b),
                },
            )?;
            c.reopened = true;
            step!(self.next(c, 0.5, 8.0));
            self.assign(c, unit)?;
            return match self.mediate(c, false)? {
                Outcome::Resolved => self.conclude(c, unit),
                Outcome::Stabilised => self.stabilised(c, unit),
                Outcome::Failed | Outcome::Open => Ok(()),
            };
        }

        // 办结
        step!(self.next(c, 0.5, 48.0));
        self.close(c, unit, "案结事了，归档。")?;

        // 回头看
        if self.pct(75) {
            step!(self.next(c, 24.0 * 25.0, 24.0 * 45.0));
            let (who, role, method) = if c.reporter_role == Role::GridWorker {
                (c.reporter.clone(), Role::GridWorker, FollowUpMethod::Visit)
            } else {
                (self.staff(unit), Role::CentreStaff, FollowUpMethod::Phone)
            };
            self.act(
                c,
                &who,
                role,
                Action::FollowUp {
                    method,
                    satisfaction: Satisfaction::Satisfied,
                    relapsed: false,
                    note: "回头看：未再发生争执。".to_owned(),
                },
            )?;
        }
        Ok(())
    }

    fn close(&mut self, c: &mut Play, unit: &UnitId, note: &str) -> Result<()> {
        let (who, role) = if c.difficulty.needs_leader() {
            self.leader(unit)
        } else {
            (self.staff(unit), Role::CentreStaff)
        };
        let note = if role == Role::CentreLeader {
            format!("包案领导审核同意。{note}")
        } else {
            note.to_owned()
        };
        self.act(c, &who, role, Action::Close { note })
    }

    /// After stabilisation: half stay under control (open in the ledger as 稳控); the rest are
    /// followed up and concluded weeks later.
    fn stabilised(&mut self, c: &mut Play, unit: &UnitId) -> Result<()> {
        if self.pct(50) {
            return Ok(());
        }
        step!(self.next(c, 24.0 * 7.0, 24.0 * 20.0));
        let staff = self.staff(unit);
        self.act(
            c,
            &staff,
            Role::CentreStaff,
            Action::FollowUp {
                method: FollowUpMethod::Visit,
                satisfaction: Satisfaction::Basically,
                relapsed: false,
                note: "入户回访，双方情绪平稳，未再发生冲突。".to_owned(),
            },
        )?;
        step!(self.next(c, 24.0, 24.0 * 10.0));
        self.close(c, unit, "经持续稳控，纠纷未再激化，予以办结。")
    }

    /// The county's joint-mediation centre has the case: it assesses it, then either assigns it
    /// back down to the township (交办) or handles it with its own mediators.
    fn at_county(&mut self, c: &mut Play) -> Result<()> {
        let county = self.county();
        let township = c.township.clone();
        step!(self.next(c, 2.0, 30.0));
        self.assess(c, &county)?;
        if self.pct(60) {
            // 交办 back to the township, with a deadline; sometimes straight to a mediator.
            step!(self.next(c, 1.0, 24.0));
            let (who, role) = if c.difficulty.needs_leader() {
                self.leader(&county)
            } else {
                (self.staff(&county), Role::CentreStaff)
            };
            let to_person = self.pct(50);
            let person = if to_person {
                let m = self.mediator(c, &township, c.handler.as_ref());
                c.handler = Some(m.id.clone());
                Some(Assignee::Mediator {
                    person: m.id,
                    name: m.name,
                })
            } else {
                None
            };
            let township_name = self
                .directory
                .unit(&township)
                .map_or("镇", |u| u.name.as_str())
                .to_owned();
            self.act(
                c,
                &who,
                role,
                Action::AssignDown {
                    to: township.clone(),
                    person,
                    instructions: format!(
                        "请{township_name}综治中心会同司法所、人民法庭联合调处，落实领导包案，7日内反馈办理情况。"
                    ),
                    due_at: c.t + 7 * DAY,
                },
            )?;
            c.owes_feedback = true;
            if !to_person {
                step!(self.next(c, 1.0, 24.0));
                self.assign(c, &township)?;
            }
            match self.mediate(c, false)? {
                Outcome::Resolved => self.conclude(c, &township),
                Outcome::Stabilised => self.stabilised_owing(c, &township),
                Outcome::Failed | Outcome::Open => Ok(()),
            }
        } else {
            step!(self.next(c, 1.0, 24.0));
            self.assign(c, &county)?;
            match self.mediate(c, false)? {
                Outcome::Resolved => self.conclude(c, &county),
                Outcome::Stabilised => self.stabilised(c, &county),
                Outcome::Failed | Outcome::Open => Ok(()),
            }
        }
    }

    /// A case assigned down and stabilised still reports back to the county.
    fn stabilised_owing(&mut self, c: &mut Play, unit: &UnitId) -> Result<()> {
        step!(self.next(c, 2.0, 24.0));
        let staff = self.staff(unit);
        self.act(
            c,
            &staff,
            Role::CentreStaff,
            Action::ReportBack {
                note: "双方暂未达成一致，已落实稳控措施，现将办理情况反馈市联调中心。".to_owned(),
            },
        )?;
        c.owes_feedback = false;
        self.stabilised(c, unit)
    }

    // --- Households ---

    /// A household of `grid` with a few months of door-to-door visits by the grid's worker up to
    /// `now_ms`: most report all safe (无事报平安), some note a fact or a concern.
    pub fn household(&mut self, grid: &UnitId, now_ms: i64) -> Result<HouseholdDoc> {
        let worker = self
            .grid_worker_of(grid)
            .map(|p| p.id.clone())
            .ok_or_else(|| Error::UnknownUnit(grid.clone()))?;
        let actor = self.actor_for(&worker, Role::GridWorker);
        let actor_id = device_actor_id(&demo_device(&actor.person));
        let path = self.directory.path(grid);
        let name_of = |id: Option<&UnitId>| {
            id.and_then(|u| self.directory.unit(u))
                .map_or(String::new(), |u| u.name.clone())
        };
        let township = name_of(path.get(1));
        let village = name_of(path.get(2));
        let hamlet = self.one(HAMLETS);
        let address = format!(
            "{COUNTY_NAME}{township}{village}委会{hamlet}{}号",
            self.rng.gen_range(1..=88)
        );
        let female = self.pct(20);
        let head = self.name(female);
        let members = self.rng.gen_range(1..=7u64);
        let fact = self.one(HOUSEHOLD_FACTS);
        let extra = self.one(HOUSEHOLD_EXTRAS);
        let notes = format!("户主{head}，{fact}，家中{members}口人。{extra}");

        let back = self.rng.gen_range(100 * DAY..WINDOW_DAYS * DAY);
        let created = self.daytime(now_ms - back);
        let household = HouseholdDocument {
            schema: HOUSEHOLD_SCHEMA,
            id: HouseholdId::new(self.uuid_v7(created)),
            grid: grid.clone(),
            address: Text::with_value(&address),
            head,
            members,
            notes: Text::with_value(&notes),
            visits: Vec::new(),
        };
        let mut doc = HouseholdDoc::create(&household, &actor_id, created)?;
        let mut t = created;
        loop {
            let gap = self.rng.gen_range(10 * DAY..35 * DAY);
            t = self.daytime(t + gap);
            if t > now_ms {
                break;
            }
            let noted = self.pct(18);
            let note = if noted {
                self.one(VISIT_NOTES).to_owned()
            } else {
                self.one(&[
                    "无事报平安。",
                    "入户走访，家庭和睦，无矛盾纠纷。",
                    "电话联系户主，家中一切正常。",
                ])
                .to_owned()
            };
            let visit = Visit {
                id: VisitId::new(
                    uuid::Builder::from_random_bytes(self.bytes())
                        .into_uuid()
                        .to_string(),
                ),
                at: t,
                actor: actor.clone(),
                outcome: if noted {
                    VisitOutcome::Noted
                } else {
                    VisitOutcome::AllSafe
                },
                note: note.clone(),
            };
            doc.record_visit(&visit, t)?;
            if noted && self.pct(40) {
                let current = doc.read()?.notes.as_str().to_owned();
                doc.update_notes(&format!("{current}\n{note}"), t)?;
            }
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadline::DueState;
    use crate::workflow::{Status, Verdict};
    use std::collections::BTreeMap;

    fn summary(g: &mut Generator, n: usize) -> Vec<(String, Status, Vec<&'static str>, Vec<i64>)> {
        (0..n)
            .map(|_| {
                let case = g.case(DEMO_NOW_MS).expect("a demo case");
                let doc = case.doc.read().expect("readable");
                let timeline = case.doc.timeline().expect("a timeline");
                (
                    doc.title.as_str().to_owned(),
                    case.doc.state().expect("folds").expect("reported").status,
                    timeline.iter().map(|e| e.action.code()).collect(),
                    timeline.iter().map(|e| e.at).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn directory_is_the_county_tree() {
        let g = Generator::new(1);
        let d = g.directory();
        assert_eq!(d.unit(&g.county()).unwrap().name, "台山市");
        assert_eq!(d.unit(&g.township()).unwrap().name, "海宴镇");
        assert_eq!(g.villages(&g.township()).len(), 5);
        assert_eq!(g.grids(None).len(), 30);
        assert_eq!(g.grids(Some(&g.township())).len(), 15);
        let grid = UnitId::from("haiyan-wufeng-g1");
        assert_eq!(d.unit(&grid).unwrap().name, "五丰村第一网格");
        assert_eq!(
            d.path(&grid),
            ["taishan", "haiyan", "haiyan-wufeng", "haiyan-wufeng-g1"].map(UnitId::from)
        );
        assert!(g.grid_worker_of(&grid).is_some());
        assert_eq!(g.staff_of(&g.township()).len(), 3);
        assert_eq!(g.mediators_of(&g.township()).len(), 4);
        assert_eq!(g.staff_of(&g.county()).len(), 2);
        assert_eq!(g.mediators_of(&g.county()).len(), 2);
        assert!(g.leader_of(&g.county()).is_some());
        assert_eq!(d.people().count(), 30 + 2 * 8 + 5);
        for p in d.people() {
            for s in &p.specialties {
                assert!(g.taxonomy().contains(s), "{s}");
            }
        }
        // Mediators are found by specialty.
        let found = d.mediators_for(&g.township(), Some(&"labour".into()));
        assert!(found[0].specialties.contains(&"labour".into()));
    }

    #[test]
    fn generation_is_deterministic_for_a_seed() {
        let a = summary(&mut Generator::new(7), 30);
        let b = summary(&mut Generator::new(7), 30);
        assert_eq!(a, b);
        let c = summary(&mut Generator::new(8), 30);
        assert_ne!(a, c);
        let names = |g: &Generator| -> Vec<String> {
            g.directory().people().map(|p| p.name.clone()).collect()
        };
        assert_eq!(names(&Generator::new(7)), names(&Generator::new(7)));
    }

    /// The fast reader (automerge's one-pass hydrate, then serde) and autosurgeon's key-by-key
    /// reader give the same case, now and at every earlier point of its history.
    #[test]
    fn read_matches_autosurgeon() {
        let mut g = Generator::new(11);
        for _ in 0..60 {
            let mut case = g.case(DEMO_NOW_MS).unwrap();
            assert_eq!(case.doc.read().unwrap(), case.doc.read_slowly().unwrap());
            let hashes: Vec<_> = case
                .doc
                .automerge()
                .get_changes(&[])
                .iter()
                .map(|c| c.hash())
                .collect();
            for h in hashes.iter().skip(1) {
                let mut past = case.doc.automerge().fork_at(&[*h]).unwrap();
                let slow: crate::model::CaseDocument = autosurgeon::hydrate(&past).unwrap();
                let fast = case.doc.read_at(&[*h]).unwrap();
                assert_eq!(fast, slow);
                let _ = past.get_heads();
            }
        }
    }

    #[test]
    fn every_case_folds_cleanly_and_looks_real() {
        let mut g = Generator::new(42);
        for _ in 0..150 {
            let case = g.case(DEMO_NOW_MS).unwrap();
            let timeline = case.doc.timeline().unwrap();
            assert!(matches!(
                timeline[0].action,
                crate::model::Action::Report { .. }
            ));
            let folded = case.doc.fold().unwrap();
            assert!(folded.verdicts.iter().all(|v| *v == Verdict::Applied));
            let state = folded.state.expect("reported");
            assert!(state.conflicts.is_empty(), "{:?}", state.conflicts);
            assert!(timeline.windows(2).all(|w| w[0].at < w[1].at));
            assert!(timeline.iter().all(|e| e.at <= DEMO_NOW_MS));
            assert!(state.reported_at >= DEMO_NOW_MS - WINDOW_DAYS * DAY - DAY);

            let doc = case.doc.read().unwrap();
            let chars = doc.narrative.as_str().chars().count();
            assert!(
                (80..=260).contains(&chars),
                "{chars}: {}",
                doc.narrative.as_str()
            );
            assert!(g.taxonomy().contains(&CategoryCode(doc.category.clone())));
            assert_eq!(doc.parties.len(), 2);
            for p in &doc.parties {
                let contact = &case.contacts.parties[p.id.as_str()];
                let phone = contact.phone.as_deref().unwrap();
                assert!(phone.len() == 11 && phone.starts_with('1'), "{phone}");
                let id = contact.id_number.as_deref().unwrap();
                assert_eq!(id.len(), 18);
                assert!(id.starts_with(ID_AREA));
                assert_eq!(id.chars().last(), Some(id_check_char(&id[..17])));
            }
            assert!(doc.place.address.as_str().starts_with("台山市"));
            assert_eq!(doc.place.unit_path.len(), 4);
        }
    }

    #[test]
    fn status_mix_timelines_and_sizes() {
        let mut g = Generator::new(2025);
        let policy = g.directory().policy(&g.township());
        let n = 200;
        let mut status: BTreeMap<Status, usize> = BTreeMap::new();
        let mut categories: BTreeMap<String, usize> = BTreeMap::new();
        let mut overdue = 0;
        let mut concluded = Vec::new();
        let mut bytes = Vec::new();
        for _ in 0..n {
            let mut case = g.case(DEMO_NOW_MS).unwrap();
            let state = case.doc.state().unwrap().unwrap();
            *status.entry(state.status).or_default() += 1;
            *categories
                .entry(case.doc.read().unwrap().category)
                .or_default() += 1;
            let due = state.due_override.unwrap_or_else(|| {
                policy.due_at(state.clock_start, policy.days_for(state.difficulty))
            });
            if policy.state(due, state.status.is_handled(), DEMO_NOW_MS) == DueState::Overdue {
                overdue += 1;
            }
            if state.status == Status::Closed {
                concluded.push(case.doc.timeline().unwrap().len());
            }
            bytes.push(case.doc.save().len());
        }
        let avg_timeline = concluded.iter().sum::<usize>() as f64 / concluded.len() as f64;
        let avg_bytes = bytes.iter().sum::<usize>() as f64 / n as f64;
        println!("status: {status:?}");
        println!("categories: {categories:?}");
        println!(
            "overdue: {overdue}, concluded: {}, avg timeline of concluded: {avg_timeline:.1}",
            concluded.len()
        );
        println!(
            "saved bytes: avg {avg_bytes:.0}, max {}",
            bytes.iter().max().unwrap()
        );
        let open = n - status.get(&Status::Closed).copied().unwrap_or(0);
        assert!(open > 10 && concluded.len() > n / 2, "{status:?}");
        assert!(overdue > 0);
        assert!(
            (10.0..=14.0).contains(&avg_timeline),
            "avg timeline {avg_timeline}"
        );
        assert!(avg_bytes < 3_000.0, "avg saved bytes {avg_bytes}");
        assert!(categories["neighbour"] > categories["education"]);
    }

    #[test]
    fn households_have_mostly_safe_visits() {
        let mut g = Generator::new(3);
        let grid = UnitId::from("duhu-dagang-g2");
        let mut safe = 0;
        let mut total = 0;
        for _ in 0..30 {
            let h = g.household(&grid, DEMO_NOW_MS).unwrap().read().unwrap();
            assert_eq!(h.grid, grid);
            assert!(h.address.as_str().contains("都斛镇大纲村"));
            assert!(h.visits.windows(2).all(|w| w[0].at < w[1].at));
            for v in &h.visits {
                assert!(v.at <= DEMO_NOW_MS);
                assert_eq!(v.actor.person.as_str(), "duhu-dagang-g2-gw");
                total += 1;
                safe += usize::from(v.outcome == VisitOutcome::AllSafe);
            }
        }
        assert!(total >= 60, "{total}");
        assert!(safe * 10 > total * 7 && safe < total, "{safe}/{total}");
        assert!(g.household(&"nowhere".into(), DEMO_NOW_MS).is_err());
    }
}
