//! A small seedable generator, so that random strategies are reproducible in tests.

/// SplitMix64 (Steele, Lea and Flood, 2014): one `u64` of state, full period, good enough to
/// spread load; not for secrets.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2⁻³² for any `n` used
    /// here); 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        let high = (u128::from(self.next_u64()) * u128::from(n)) >> 64;
        u64::try_from(high).unwrap_or(0)
    }
}
