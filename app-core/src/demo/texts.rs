//! The demo's words: the place (台山市, its townships, villages and hamlets), people's names,
//! the dispute categories with their scenarios, and what grid workers note on visits.

use crate::model::RiskFlag;

// --- The place -----------------------------------------------------------------------------

pub(super) struct TownshipDef {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) court: &'static str,
    /// Share of the county's cases, in percent.
    pub(super) share: u32,
    /// (id suffix, name, latitude, longitude)
    pub(super) villages: [(&'static str, &'static str, f64, f64); 5],
}

pub(super) const COUNTY_ID: &str = "taishan";
/// The city's 12345 hotline platform (系统对接), a principal of the county.
pub const HOTLINE_ID: &str = "taishan-12345";
pub(super) const COUNTY_NAME: &str = "台山市";

pub(super) const TOWNSHIPS: [TownshipDef; 2] = [
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

pub(super) const GRIDS_PER_VILLAGE: usize = 3;
pub(super) const GRID_ORDINALS: [&str; 3] = ["第一网格", "第二网格", "第三网格"];

/// Natural villages and lanes (自然村、里) that addresses are made of.
pub(super) const HAMLETS: &[&str] = &[
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
pub(super) const TOWNSHIP_SPECIALTIES: [&[&str]; 4] = [
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

pub(super) const COUNTY_SPECIALTIES: [&[&str]; 2] = [
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
pub(super) const SURNAMES: &[(&str, u32)] = &[
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

pub(super) const MALE_GIVEN: &[&str] = &[
    "伟强", "志明", "国栋", "建华", "锦泉", "润生", "永康", "振华", "耀祖", "健雄", "家豪", "俊杰",
    "汝钊", "灿荣", "炳坤", "德荣", "启明", "少华", "文亮", "浩然", "荣发", "金水", "观胜", "达明",
    "国强", "冠雄", "锡林", "卓恒", "强", "斌", "军", "勇",
];

pub(super) const FEMALE_GIVEN: &[&str] = &[
    "丽华", "秀英", "美玲", "少芳", "桂芳", "卓英", "嘉欣", "翠兰", "惠珍", "月娥", "玉梅", "婉婷",
    "凤仪", "雪梅", "巧玲", "淑贞", "银好", "彩霞", "咏诗", "碧霞", "燕", "敏", "娟",
];

pub(super) const PHONE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "158", "159", "177", "180", "182", "183", "185", "186", "187", "188",
    "189", "199",
];

// --- Dispute texts ---------------------------------------------------------------------------

/// One kind of dispute of a category: a title, a narrative, the agreement that usually settles
/// it, and where the mediator goes to see it. Placeholders: `{a}` applicant, `{b}` respondent,
/// `{v}` village, `{h}` hamlet, `{t}` township, `{m}` an amount in yuan, `{n}` a small number in
/// Chinese, `{d}` days, `{y}` years.
pub(super) struct Scenario {
    pub(super) kind: &'static str,
    pub(super) narrative: &'static str,
    pub(super) agreement: &'static str,
    pub(super) site: &'static str,
}

/// How the parties of a category are drawn.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Parties {
    Any,
    /// Spouses or an engaged couple's families: the parties are of opposite sexes.
    Couple,
    /// An elderly parent (applicant) against a grown child.
    ElderAndChild,
}

pub(super) struct CategoryText {
    pub(super) code: &'static str,
    /// Relative frequency (per mille, roughly).
    pub(super) weight: u32,
    /// Amounts in yuan, rounded to 100.
    pub(super) amount: (u32, u32),
    pub(super) parties: Parties,
    /// Risk flags a major case of this category tends to carry.
    pub(super) risks: &'static [RiskFlag],
    /// Chance (percent) that an assessment finds the case major.
    pub(super) major_pct: u32,
    pub(super) scenarios: &'static [Scenario],
}

pub(super) const CATEGORIES: &[CategoryText] = &[
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
pub(super) const VISIT_NOTES: &[&str] = &[
    "独居老人，身体状况一般，已提醒子女常回家看望。",
    "户主反映与邻居因排水沟有过口角，已劝导，持续关注。",
    "家中老人行动不便，已告知可申请居家养老服务。",
    "夫妻近期因孩子读书问题有争吵，已做疏导，下次走访回访。",
    "儿子在广州务工，春节后未返乡，家中只有老人和孙子。",
    "户主反映承包地被邻户多种了一垄，暂未激化，已告知可申请调解。",
    "家中有重病患者，经济困难，已转告村委会申请临时救助。",
    "反映村道路灯损坏，已上报村委会维修。",
];

pub(super) const HOUSEHOLD_FACTS: &[&str] = &[
    "务农，种植水稻和番薯",
    "从事海水养殖，有蚝排和围塘",
    "在圩镇经营小卖部",
    "外出务工，农忙时返乡",
    "退休在家，享受养老保险",
];

pub(super) const HOUSEHOLD_EXTRAS: &[&str] = &[
    "夫妻和睦，邻里关系良好。",
    "子女在外务工，平时与老伴同住。",
    "家中有读初中的孙子，由祖父母照看。",
    "户主为独居老人，享受低保。",
    "家中有华侨亲属，逢年过节回乡探亲。",
];

// --- Helpers ---------------------------------------------------------------------------------

pub(super) fn chinese_number(n: u32) -> &'static str {
    [
        "零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
    ][n.min(10) as usize]
}

/// Values the scenario templates are filled with.
pub(super) struct Vars {
    pub(super) a: String,
    pub(super) b: String,
    pub(super) village: String,
    pub(super) hamlet: String,
    pub(super) township: String,
    pub(super) amount: u32,
    pub(super) n: u32,
    pub(super) days: u32,
    pub(super) years: u32,
}

impl Vars {
    pub(super) fn fill(&self, template: &str) -> String {
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
