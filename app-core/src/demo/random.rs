//! Seeded draws (weighted picks, names, phone and ID numbers, UUIDs, working-hours times) and
//! the ids derived from a device.

use super::texts::{FEMALE_GIVEN, MALE_GIVEN, PHONE_PREFIXES, SURNAMES};
use super::{Generator, CST, DAY, HOUR, ID_AREA, MINUTE};
use crate::ids::{DeviceId, PersonId};
use automerge::ActorId;
use rand::seq::SliceRandom;
use rand::Rng;

/// The demo device a person works on (one each).
pub fn demo_device(person: &PersonId) -> DeviceId {
    DeviceId::new(format!("demo-device-{person}"))
}

/// A 16-byte automerge actor id derived from a device id (two FNV-1a hashes), so that every
/// document a device writes carries the same, reproducible actor.
pub fn device_actor_id(device: &DeviceId) -> ActorId {
    pub(super) fn fnv(seed: u64, bytes: &[u8]) -> u64 {
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
pub(super) fn id_check_char(first17: &str) -> char {
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
pub(super) fn local_day_start(t: i64) -> i64 {
    (t + CST).div_euclid(DAY) * DAY - CST
}

/// A party as drawn, before it becomes a [`Party`] and a [`PartyContact`].
pub(super) struct DrawnParty {
    pub(super) name: String,
    pub(super) female: bool,
    pub(super) birth_year: i32,
}

impl Generator {
    // --- Random pieces ---

    pub(super) fn pick<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
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

    pub(super) fn pct(&mut self, percent: u32) -> bool {
        self.rng.gen_range(0..100) < percent
    }

    pub(super) fn one<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items.choose(&mut self.rng).copied().unwrap_or_default()
    }

    pub(super) fn name(&mut self, female: bool) -> String {
        let surname = self.pick(SURNAMES);
        let given = self.one(if female { FEMALE_GIVEN } else { MALE_GIVEN });
        format!("{surname}{given}")
    }

    pub(super) fn phone(&mut self) -> String {
        let prefix = self.one(PHONE_PREFIXES);
        format!("{prefix}{:08}", self.rng.gen_range(0..100_000_000u32))
    }

    pub(super) fn id_number(&mut self, female: bool, birth_year: i32) -> String {
        let month = self.rng.gen_range(1..=12);
        let day = self.rng.gen_range(1..=28);
        // The 17th digit is odd for men and even for women.
        let seq = self.rng.gen_range(0..50u32) * 2 + u32::from(!female);
        let first17 = format!("{ID_AREA}{birth_year:04}{month:02}{day:02}{seq:03}");
        let check = id_check_char(&first17);
        format!("{first17}{check}")
    }

    pub(super) fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        self.rng.fill(&mut b[..]);
        b
    }

    pub(super) fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| format!("{:02x}", self.rng.gen::<u8>()))
            .collect()
    }

    /// A UUID v7 for the given time, with random bits from the generator.
    pub(super) fn uuid_v7(&mut self, at_ms: i64) -> String {
        let millis = u64::try_from(at_ms).unwrap_or_default();
        uuid::Builder::from_unix_timestamp_millis(millis, &self.bytes::<10>())
            .into_uuid()
            .to_string()
    }

    /// Moves `t` into working hours (08:00–20:00 CST), never backwards.
    pub(super) fn daytime(&mut self, t: i64) -> i64 {
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

    pub(super) fn draw_party(
        &mut self,
        female: bool,
        born: std::ops::RangeInclusive<i32>,
    ) -> DrawnParty {
        DrawnParty {
            name: self.name(female),
            female,
            birth_year: self.rng.gen_range(born),
        }
    }
}
