//! TLSH, the Trend Micro Locality Sensitive Hash (Oliver, Cheng, Chen, 2013): the standard
//! variant (128 buckets, 1-byte checksum), as the reference library (4.x, py-tlsh) prints it:
//! `T1` and 70 hex digits.
//!
//! A window slides over the input five bytes at a time; each position hashes six triplets of
//! its bytes (the newest byte with two of the four before it) with Pearson's 8-bit hash, each
//! under its own salt, into 256 counters, of which the first 128 are the buckets. At the end
//! the quartiles of the 128 bucket counts give each bucket two bits (above the third quartile:
//! 3, above the second: 2, above the first: 1, else 0), 32 bytes in all. A 3-byte header
//! precedes them: a checksum (a Pearson hash chained over every pair of adjacent bytes), the
//! input length on a logarithmic scale (one byte) and the ratios q1/q3 and q2/q3 (4 bits
//! each, as percentages modulo 16). The header's bytes are printed with their nibbles swapped
//! and the body's bytes in reverse order.
//!
//! One pass, a fixed state (6 x 256 counters and the last four bytes): O(1) memory, O(n)
//! time.

use std::fmt;

/// The smallest input hashed.
pub const MIN_LEN: u64 = 50;

/// Buckets in the hash (of the 256 counters filled).
const BUCKETS: usize = 128;
/// Bytes of the body: two bits per bucket.
const CODE: usize = BUCKETS / 4;

/// Pearson's table, as TLSH fixes it (a permutation of 0..=255).
const PEARSON: [u8; 256] = [
    1, 87, 49, 12, 176, 178, 102, 166, 121, 193, 6, 84, 249, 230, 44, 163, 14, 197, 213, 181, 161,
    85, 218, 80, 64, 239, 24, 226, 236, 142, 38, 200, 110, 177, 104, 103, 141, 253, 255, 50, 77,
    101, 81, 18, 45, 96, 31, 222, 25, 107, 190, 70, 86, 237, 240, 34, 72, 242, 20, 214, 244, 227,
    149, 235, 97, 234, 57, 22, 60, 250, 82, 175, 208, 5, 127, 199, 111, 62, 135, 248, 174, 169,
    211, 58, 66, 154, 106, 195, 245, 171, 17, 187, 182, 179, 0, 243, 132, 56, 148, 75, 128, 133,
    158, 100, 130, 126, 91, 13, 153, 246, 216, 219, 119, 68, 223, 78, 83, 88, 201, 99, 122, 11, 92,
    32, 136, 114, 52, 10, 138, 30, 48, 183, 156, 35, 61, 26, 143, 74, 251, 94, 129, 162, 63, 152,
    170, 7, 115, 167, 241, 206, 3, 150, 55, 59, 151, 220, 90, 53, 23, 131, 125, 173, 15, 238, 79,
    95, 89, 16, 105, 137, 225, 224, 217, 160, 37, 123, 118, 73, 2, 157, 46, 116, 9, 145, 134, 228,
    207, 212, 202, 215, 69, 229, 27, 188, 67, 124, 168, 252, 42, 4, 29, 108, 21, 247, 19, 205, 39,
    203, 233, 40, 186, 147, 198, 192, 155, 33, 164, 191, 98, 204, 165, 180, 117, 76, 140, 36, 210,
    172, 41, 54, 159, 8, 185, 232, 113, 196, 231, 47, 146, 120, 51, 65, 28, 144, 254, 221, 93, 189,
    194, 139, 112, 43, 71, 109, 184, 209,
];

/// The length byte: the index of the first entry at least the input length. TLSH's published
/// formula is `floor(log(len) / log(1.5))` up to 656 bytes, `floor(log(len) / log(1.3) -
/// 8.72777)` up to 3199 and `floor(log(len) / log(1.1) - 62.5472)` beyond, but the reference
/// library encodes lengths by this table (which floating-point evaluations of the formula miss
/// by a few bytes at 61 or more of the 170 boundaries), so it is the table that defines the
/// format.
const LENGTH_BUCKETS: [u32; 170] = [
    1, 2, 3, 5, 7, 11, 17, 25, 38, 57, 86, 129, 194, 291, 437, 656, 854, 1110, 1443, 1876, 2439,
    3171, 3475, 3823, 4205, 4626, 5088, 5597, 6157, 6772, 7450, 8195, 9014, 9916, 10907, 11998,
    13198, 14518, 15970, 17567, 19323, 21256, 23382, 25720, 28292, 31121, 34233, 37656, 41422,
    45564, 50121, 55133, 60646, 66711, 73382, 80721, 88793, 97672, 107439, 118183, 130002, 143002,
    157302, 173032, 190335, 209369, 230306, 253337, 278670, 306538, 337191, 370911, 408002, 448802,
    493682, 543050, 597356, 657091, 722800, 795081, 874589, 962048, 1058252, 1164078, 1280486,
    1408534, 1549388, 1704327, 1874759, 2062236, 2268459, 2495305, 2744836, 3019320, 3321252,
    3653374, 4018711, 4420582, 4862641, 5348905, 5883796, 6472176, 7119394, 7831333, 8614467,
    9475909, 10423501, 11465851, 12612437, 13873681, 15261050, 16787154, 18465870, 20312458,
    22343706, 24578077, 27035886, 29739474, 32713425, 35984770, 39583245, 43541573, 47895730,
    52685306, 57953837, 63749221, 70124148, 77136564, 84850228, 93335252, 102668779, 112935659,
    124229227, 136652151, 150317384, 165349128, 181884040, 200072456, 220079703, 242087671,
    266296456, 292926096, 322218735, 354440623, 389884688, 428873168, 471760495, 518936559,
    570830240, 627913311, 690704607, 759775136, 835752671, 919327967, 1011260767, 1112386880,
    1223623232, 1345985727, 1480584256, 1628642751, 1791507135, 1970657856, 2167723648, 2384496256,
    2622945920, 2885240448, 3173764736, 3491141248, 3840255616, 4224281216,
];

/// The largest input whose length the header can encode.
pub const MAX_LEN: u64 = LENGTH_BUCKETS[LENGTH_BUCKETS.len() - 1] as u64;

/// Salts of the six triplets, and of the checksum (0).
const CHECKSUM_SALT: u8 = 0;
const SALTS: [u8; 6] = [2, 3, 5, 7, 11, 13];

/// `SALTED[k][a]` is the first two steps of Pearson's hash of `(salt k, a, ..)`:
/// `PEARSON[PEARSON[salt] ^ a]`. Index 0 is the checksum's salt, 1..=6 the triplets'.
const SALTED: [[u8; 256]; 7] = {
    let mut tables = [[0u8; 256]; 7];
    let mut k = 0;
    while k < 7 {
        let salt = if k == 0 { CHECKSUM_SALT } else { SALTS[k - 1] };
        let first = PEARSON[salt as usize];
        let mut a = 0;
        while a < 256 {
            tables[k][a] = PEARSON[(first ^ a as u8) as usize];
            a += 1;
        }
        k += 1;
    }
    tables
};

/// Why there is no TLSH (the reference prints `TNULL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Null {
    /// Fewer than [`MIN_LEN`] bytes.
    TooShort(u64),
    /// More than [`MAX_LEN`] bytes.
    TooLong(u64),
    /// Too little variety: no more than half the buckets were hit (which includes a third
    /// quartile of 0).
    TooUniform {
        /// Buckets with a non-zero count.
        buckets_hit: usize,
    },
}

impl fmt::Display for Null {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Null::TooShort(len) => {
                write!(f, "TNULL: {len} bytes, TLSH needs at least {MIN_LEN}")
            }
            Null::TooLong(len) => write!(
                f,
                "TNULL: {len} bytes, more than TLSH's length encoding covers ({MAX_LEN})"
            ),
            Null::TooUniform { buckets_hit } => write!(
                f,
                "TNULL: too little variety, {buckets_hit} of {BUCKETS} buckets hit, TLSH needs more than {}",
                BUCKETS / 2
            ),
        }
    }
}

impl std::error::Error for Null {}

#[inline(always)]
fn pearson(salted: &[u8; 256], a: u8, b: u8, c: u8) -> u8 {
    PEARSON[usize::from(PEARSON[usize::from(salted[usize::from(a)] ^ b)] ^ c)]
}

/// A streaming TLSH hasher: [`update`](Self::update) with the bytes in any number of pieces,
/// then [`finish`](Self::finish).
#[derive(Clone, Debug)]
pub struct Tlsh {
    /// Counters by Pearson hash, one table per salt (so that two salts hitting the same
    /// counter do not wait for each other); the buckets are their sums. Wrapping, as the
    /// reference's 32-bit counters.
    counts: [[u32; 256]; 6],
    /// The four bytes before the next one, newest first.
    prev: [u8; 4],
    checksum: u8,
    len: u64,
}

impl Default for Tlsh {
    fn default() -> Self {
        Self::new()
    }
}

impl Tlsh {
    /// An empty hasher.
    pub const fn new() -> Self {
        Self {
            counts: [[0; 256]; 6],
            prev: [0; 4],
            checksum: 0,
            len: 0,
        }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        // The first four bytes only fill the window.
        let fill = usize::try_from(4u64.saturating_sub(self.len))
            .unwrap_or(4)
            .min(data.len());
        let (head, rest) = data.split_at(fill);
        for &byte in head {
            self.prev = [byte, self.prev[0], self.prev[1], self.prev[2]];
        }
        self.len = self.len.saturating_add(data.len() as u64);

        let [mut p1, mut p2, mut p3, mut p4] = self.prev;
        let mut checksum = self.checksum;
        let [c1, c2, c3, c4, c5, c6] = &mut self.counts;
        let [t0, t1, t2, t3, t4, t5, t6] = &SALTED;
        for &c in rest {
            checksum = pearson(t0, c, p1, checksum);
            for (counts, r) in [
                (&mut *c1, pearson(t1, c, p1, p2)),
                (&mut *c2, pearson(t2, c, p1, p3)),
                (&mut *c3, pearson(t3, c, p2, p3)),
                (&mut *c4, pearson(t4, c, p2, p4)),
                (&mut *c5, pearson(t5, c, p1, p4)),
                (&mut *c6, pearson(t6, c, p3, p4)),
            ] {
                let count = &mut counts[usize::from(r)];
                *count = count.wrapping_add(1);
            }
            (p4, p3, p2, p1) = (p3, p2, p1, c);
        }
        self.prev = [p1, p2, p3, p4];
        self.checksum = checksum;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many of the 128 buckets have a non-zero count so far (the hash needs more than 64).
    pub fn buckets_hit(&self) -> usize {
        self.buckets().iter().filter(|&&c| c > 0).count()
    }

    /// The bucket counts: the first 128 counters, summed over the salts.
    fn buckets(&self) -> [u32; BUCKETS] {
        let mut buckets = [0u32; BUCKETS];
        for counts in &self.counts {
            for (bucket, &count) in buckets.iter_mut().zip(counts) {
                *bucket = bucket.wrapping_add(count);
            }
        }
        buckets
    }

    /// The hash of everything fed (`T1` and 70 upper-case hex digits), or why there is none.
    pub fn finish(&self) -> Result<String, Null> {
        if self.len < MIN_LEN {
            return Err(Null::TooShort(self.len));
        }
        if self.len > MAX_LEN {
            return Err(Null::TooLong(self.len));
        }
        let buckets = self.buckets();
        let buckets_hit = buckets.iter().filter(|&&c| c > 0).count();
        if buckets_hit <= BUCKETS / 2 {
            return Err(Null::TooUniform { buckets_hit });
        }
        let mut sorted = buckets;
        sorted.sort_unstable();
        let quarter = BUCKETS / 4;
        let (q1, q2, q3) = (
            sorted[quarter - 1],
            sorted[2 * quarter - 1],
            sorted[3 * quarter - 1],
        );
        // More than half the buckets are non-zero, so q3 (the 96th smallest) is too.
        debug_assert!(q3 > 0);

        let mut code = [0u8; CODE];
        for (byte, four) in code.iter_mut().zip(buckets.chunks_exact(4)) {
            *byte = four.iter().enumerate().fold(0u8, |acc, (j, &count)| {
                let level = if count > q3 {
                    3
                } else if count > q2 {
                    2
                } else {
                    u8::from(count > q1)
                };
                acc | level << (2 * j)
            });
        }

        // `len <= MAX_LEN`, the last entry: the search always finds one, within a byte.
        let length = u8::try_from(LENGTH_BUCKETS.partition_point(|&top| u64::from(top) < self.len))
            .unwrap_or(u8::MAX);
        // As the reference computes them: a 32-bit product, a single-precision quotient.
        let ratio = |q: u32| ((q.wrapping_mul(100) as f32 / q3 as f32) as u32 % 16) as u8;
        let quartiles = ratio(q2) << 4 | ratio(q1);

        let mut out = String::with_capacity(2 + 2 * (3 + CODE));
        out.push_str("T1");
        for byte in [self.checksum, length, quartiles] {
            push_hex(&mut out, byte.rotate_left(4));
        }
        for &byte in code.iter().rev() {
            push_hex(&mut out, byte);
        }
        Ok(out)
    }
}

fn push_hex(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0xf)]));
}

/// The TLSH of `data`, or why there is none.
pub fn hash(data: &[u8]) -> Result<String, Null> {
    let mut hasher = Tlsh::new();
    hasher.update(data);
    hasher.finish()
}
