//! Which shard of the listing indexes a payment belongs to. A store that lists "all payments" (or
//! all of one status) from one index partition is bounded by that partition (on DynamoDB 1,000
//! write units a second, whatever the table's capacity); spreading payments over N partitions and
//! merging them on read removes the bound. The shard is a pure function of the payment id, so every
//! writer (create, each status change) puts a payment in the same shard without reading it first.

use sha2::{Digest, Sha256};

/// The most shards a listing reads in one page (each is one query per page).
pub const MAX_LIST_SHARDS: u16 = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the number of listing shards must be from 1 to {MAX_LIST_SHARDS}, not {0}")]
pub struct InvalidShardCount(pub String);

/// How many shards the listing indexes have. Only ever raise it on a live table: a payment
/// stays in the shard it was written to, and a listing reads shards `0..N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListShards(u16);

impl ListShards {
    /// Enough for 1,000 payments/s on DynamoDB (docs/capacity.md).
    pub const DEFAULT: ListShards = ListShards(16);

    pub fn new(n: u16) -> Result<Self, InvalidShardCount> {
        if (1..=MAX_LIST_SHARDS).contains(&n) {
            Ok(ListShards(n))
        } else {
            Err(InvalidShardCount(n.to_string()))
        }
    }

    /// Parses a count such as an environment variable holds.
    pub fn parse(s: &str) -> Result<Self, InvalidShardCount> {
        s.trim()
            .parse::<u16>()
            .map_err(|_| InvalidShardCount(s.to_owned()))
            .and_then(ListShards::new)
    }

    pub fn get(self) -> u16 {
        self.0
    }

    /// The payment's shard: SHA-256 of the id, so it is spread evenly whatever the id's form and
    /// stays the same across releases and platforms (unlike `std`'s hasher).
    pub fn of(self, payment_id: &str) -> u16 {
        let digest = Sha256::digest(payment_id.as_bytes());
        let mut head = [0u8; 8];
        head.copy_from_slice(&digest[..8]);
        // The remainder is below self.0, which is a u16.
        (u64::from_be_bytes(head) % u64::from(self.0)) as u16
    }

    /// Every shard, `0..N`.
    pub fn all(self) -> impl Iterator<Item = u16> {
        0..self.0
    }
}

impl Default for ListShards {
    fn default() -> Self {
        ListShards::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outside_1_to_64_are_refused() {
        assert!(ListShards::new(0).is_err());
        assert!(ListShards::new(65).is_err());
        assert_eq!(ListShards::parse(" 8 ").map(ListShards::get), Ok(8));
        assert!(ListShards::parse("eight").is_err());
        assert!(ListShards::parse("-1").is_err());
    }

    #[test]
    fn the_shard_is_stable_and_spread() {
        let n = ListShards::new(16).unwrap();
        // Fixed values: a change here would move every stored payment to another shard.
        assert_eq!(n.of("p-1"), 3);
        assert_eq!(ListShards::new(64).unwrap().of("pay_00000042"), 14);
        assert_eq!(ListShards::new(1).unwrap().of("anything"), 0);
        let mut counts = [0u32; 16];
        for i in 0..16_000 {
            let s = n.of(&format!("pay_{i:08}"));
            assert!(s < 16);
            counts[usize::from(s)] += 1;
        }
        // 1,000 expected in each; a fair hash stays well within ±20 %.
        assert!(
            counts.iter().all(|c| (800..=1200).contains(c)),
            "{counts:?}"
        );
    }
}
