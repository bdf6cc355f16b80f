//! The dispute taxonomy (纠纷类型). Configurable: a centre may add its own categories; a case stores
//! only the category's stable code, so renaming a category never rewrites history.

use serde::{Deserialize, Serialize};

/// The stable code of a dispute category, e.g. `neighbour`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CategoryCode(pub String);

impl CategoryCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for CategoryCode {
    fn from(s: &str) -> Self {
        CategoryCode(s.to_owned())
    }
}

impl std::fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One category of dispute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub code: CategoryCode,
    /// The Chinese name shown in the interface, e.g. 邻里纠纷.
    pub zh: String,
    pub en: String,
}

/// The list of categories a centre uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taxonomy {
    pub categories: Vec<Category>,
}

/// The categories named in the reports (DOMAIN.md), in the order a form lists them.
const DEFAULT: &[(&str, &str, &str)] = &[
    ("marriage_family", "婚姻家庭纠纷", "Marriage and family"),
    ("neighbour", "邻里纠纷", "Neighbours"),
    ("labour", "劳动争议/劳资纠纷", "Labour and unpaid wages"),
    (
        "land_resources",
        "土地资源权属纠纷",
        "Land and resource ownership",
    ),
    (
        "land_acquisition",
        "征地拆迁纠纷",
        "Land acquisition and demolition",
    ),
    (
        "agriculture_fishery",
        "涉农涉渔纠纷",
        "Agriculture and fishery",
    ),
    ("property_management", "物业纠纷", "Property management"),
    ("education", "教育纠纷", "Education"),
    ("consumer", "消费者权益纠纷", "Consumer rights"),
    ("road_traffic", "道路交通纠纷", "Road traffic"),
    ("medical", "医疗卫生纠纷", "Medical"),
    (
        "economic_debt",
        "经济往来纠纷",
        "Economic dealings and debts",
    ),
    (
        "support_maintenance",
        "赡养抚养纠纷",
        "Support and maintenance",
    ),
    (
        "equipment_trade",
        "二手设备交易纠纷",
        "Second-hand equipment trade",
    ),
    ("enterprise", "涉企纠纷", "Enterprise disputes"),
    (
        "collective_benefit",
        "集体利益分配纠纷",
        "Collective benefit distribution",
    ),
    ("other", "其他纠纷", "Other"),
];

impl Default for Taxonomy {
    fn default() -> Self {
        Taxonomy {
            categories: DEFAULT
                .iter()
                .map(|(code, zh, en)| Category {
                    code: CategoryCode((*code).to_owned()),
                    zh: (*zh).to_owned(),
                    en: (*en).to_owned(),
                })
                .collect(),
        }
    }
}

impl Taxonomy {
    pub fn get(&self, code: &CategoryCode) -> Option<&Category> {
        self.categories.iter().find(|c| &c.code == code)
    }

    /// The Chinese name of a category, or its code when the taxonomy no longer lists it.
    pub fn zh<'a>(&'a self, code: &'a CategoryCode) -> &'a str {
        self.get(code).map_or(code.as_str(), |c| c.zh.as_str())
    }

    pub fn contains(&self, code: &CategoryCode) -> bool {
        self.get(code).is_some()
    }
}
