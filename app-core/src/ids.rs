//! Identifiers. Every id is a newtype so that a person's id can never be passed where a unit's is
//! expected. Ids generated on a device are UUIDs (v7 for cases and households, so that they sort
//! by creation time; v4 for timeline entries and visits); units and people carry the ids their
//! administration gives them (for example `taishan/haiyan/wufeng`).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id read from storage, a document or the wire.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl autosurgeon::Reconcile for $name {
            type Key<'a> = std::borrow::Cow<'a, str>;
            fn reconcile<R: autosurgeon::Reconciler>(&self, reconciler: R) -> Result<(), R::Error> {
                autosurgeon::Reconcile::reconcile(&self.0, reconciler)
            }
            fn key(&self) -> autosurgeon::reconcile::LoadKey<Self::Key<'_>> {
                autosurgeon::Reconcile::key(&self.0)
            }
            fn hydrate_key<'a, D: autosurgeon::ReadDoc>(
                doc: &D,
                obj: &automerge::ObjId,
                prop: autosurgeon::Prop<'_>,
            ) -> Result<autosurgeon::reconcile::LoadKey<Self::Key<'a>>, autosurgeon::ReconcileError> {
                <String as autosurgeon::Reconcile>::hydrate_key(doc, obj, prop)
            }
        }

        impl autosurgeon::Hydrate for $name {
            fn hydrate_string(s: &'_ str) -> Result<Self, autosurgeon::HydrateError> {
                Ok(Self(s.to_owned()))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

string_id!(
    /// A dispute case (矛盾纠纷案件).
    CaseId
);
string_id!(
    /// A household (户) in a grid.
    HouseholdId
);
string_id!(
    /// One door-to-door visit (入户走访).
    VisitId
);
string_id!(
    /// A unit of the tier tree: county, township, village, grid (单位).
    UnitId
);
string_id!(
    /// A person: grid worker, mediator, centre staff (人员).
    PersonId
);
string_id!(
    /// An enrolled device (phone or centre desktop).
    DeviceId
);
string_id!(
    /// One entry of a case's timeline.
    EntryId
);
string_id!(
    /// A party (当事人) of a case, unique within the case.
    PartyId
);
string_id!(
    /// An attachment (photo, agreement scan) of a case.
    AttachmentId
);
string_id!(
    /// A matter (事项): several cases staff linked as one (one group complaint reported from four
    /// villages, the same dispute reported twice). Each linked case records it in its timeline.
    MatterId
);

impl CaseId {
    /// A fresh, time-ordered case id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

impl MatterId {
    /// A fresh, time-ordered matter id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

impl HouseholdId {
    /// A fresh, time-ordered household id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

impl VisitId {
    /// A fresh visit id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

impl EntryId {
    /// A fresh timeline entry id: 48 random bits in hex. Entry ids need only be unique within
    /// one case (a few dozen entries), and every entry carries two (its own and its base), so
    /// they are kept short.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string()[..12].to_owned())
    }
}

impl PartyId {
    /// A fresh party id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string()[..12].to_owned())
    }
}

impl AttachmentId {
    /// A fresh attachment id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}
