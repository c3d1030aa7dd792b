//! Deterministic randomness: one seeded ChaCha stream per purpose, derived from the run's seed.

use rand::{RngExt, SeedableRng};
use uuid::Uuid;

/// The generator's RNG. ChaCha8 is fast and its output is fixed across platforms and versions.
pub type Rng = rand_chacha::ChaCha8Rng;

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stream for (`seed`, `path`): the same inputs always give the same stream, and different
/// paths give independent ones, so shards can be generated in any order on any thread.
pub fn derive(seed: u64, path: &[u64]) -> Rng {
    let mut h = splitmix(seed);
    for p in path {
        h = splitmix(h ^ splitmix(*p));
    }
    let mut key = [0u8; 32];
    for (i, chunk) in key.chunks_mut(8).enumerate() {
        h = splitmix(h.wrapping_add(i as u64));
        chunk.copy_from_slice(&h.to_le_bytes());
    }
    Rng::from_seed(key)
}

/// A version-4 UUID drawn from `rng` (never from the OS, so runs repeat).
pub fn uuid(rng: &mut Rng) -> Uuid {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// `n` lower-case hex digits.
pub fn hex(rng: &mut Rng, n: usize) -> String {
    const H: &[u8] = b"0123456789abcdef";
    (0..n).map(|_| char::from(H[rng.random_range(0..16)])).collect()
}

/// An index drawn with the given weights (which need not sum to one); `None` if all are zero.
pub fn weighted(rng: &mut Rng, weights: &[f64]) -> Option<usize> {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return None;
    }
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return Some(i);
        }
        x -= w;
    }
    weights.iter().rposition(|w| *w > 0.0)
}

/// `floor(x)` plus one with probability `frac(x)`: an integer count with expectation `x`.
pub fn round_random(rng: &mut Rng, x: f64) -> u64 {
    if !(x.is_finite() && x > 0.0) {
        return 0;
    }
    let f = x.floor();
    f as u64 + u64::from(rng.random_bool((x - f).clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_streams_repeat_and_differ() {
        let a: u64 = derive(1, &[2, 3]).random();
        let b: u64 = derive(1, &[2, 3]).random();
        let c: u64 = derive(1, &[3, 2]).random();
        let d: u64 = derive(2, &[2, 3]).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        let u = uuid(&mut derive(1, &[]));
        assert_eq!(u.get_version_num(), 4);
    }

    #[test]
    fn weighted_choice_respects_zeros() {
        let mut r = derive(5, &[]);
        for _ in 0..1000 {
            assert_eq!(weighted(&mut r, &[0.0, 2.0, 0.0]), Some(1));
        }
        assert_eq!(weighted(&mut r, &[0.0, 0.0]), None);
        let n: u64 = (0..1000).map(|_| round_random(&mut r, 0.5)).sum();
        assert!((400..600).contains(&n), "{n}");
    }
}
