//! ssdeep: context-triggered piecewise hashing (Kornblum, 2006, after Tridgell's spamsum),
//! as the `ssdeep` tool (2.14) prints it: `blocksize:first:second`.
//!
//! A rolling hash over the last 7 bytes picks the *trigger points* of a block size `b`: the
//! positions where the rolling hash is `b - 1` modulo `b`. Between two trigger points a
//! piecewise (FNV-style) hash accumulates the bytes; at each trigger point its low 6 bits are
//! appended to the signature as one base64 character, and it starts over. The block sizes are
//! 3, 6, 12, ... (doubling, 31 of them); the first half of the result is the signature of the
//! smallest block size `b` with `b * 64 >= length`, lowered while its signature has fewer
//! than 32 characters, the second half that of `2b`, cut at 32 characters.
//!
//! All block sizes are followed in one pass, but only those that can still be chosen: a
//! block size starts being followed at the first trigger point of the one below it (it
//! inherits that one's hash, so it is as if it had been followed from the start), and is
//! dropped once the length rules it out and the next one already has 32 characters. At most
//! 31 fixed-size states: memory is O(1), time O(n) with a small constant.

use std::fmt;

/// Bytes in the rolling hash's window.
const WINDOW: usize = 7;
/// The smallest block size.
const MIN_BLOCK_SIZE: u64 = 3;
/// Block sizes followed: 3 << 0 ..= 3 << 30.
const LEVELS: usize = 31;
/// Most characters in the first half.
const SIG_LEN: usize = 64;
/// The second half's characters come from the first `HALF - 1` of its block size's
/// signature, plus the hash of everything after them.
const HALF: usize = SIG_LEN / 2;

/// The piecewise hash is FNV-1-like: `h = (h * 0x01000193) ^ byte`, starting from
/// `0x28021967`. Only its low 6 bits are ever used (one base64 character) and they depend only
/// on the low 6 bits of the state, the multiplier and the byte, so those are all it keeps.
const PIECE_INIT: u8 = (0x2802_1967_u32 & 0x3f) as u8;
const PIECE_MUL: u8 = (0x0100_0193_u32 & 0x3f) as u8;

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The largest input ssdeep hashes: beyond `3 << 30` times 64 bytes no block size fits.
pub const MAX_LEN: u64 = (MIN_BLOCK_SIZE << (LEVELS - 1)) * SIG_LEN as u64;

/// Why there is no ssdeep hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input is longer than [`MAX_LEN`] (ssdeep's own limit).
    TooLong(u64),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooLong(len) => write!(
                f,
                "ssdeep: {len} bytes is more than the largest block size covers ({MAX_LEN} bytes)"
            ),
        }
    }
}

impl std::error::Error for Error {}

#[inline(always)]
fn b64(h: u16) -> u8 {
    BASE64[usize::from(h & 0x3f)]
}

const fn block_size(level: usize) -> u64 {
    MIN_BLOCK_SIZE << level
}

/// The rolling hash: the sum of three parts over the window (the plain sum of its bytes, a
/// sum weighted by position, and a shift-xor that forgets bytes after 7 steps of 5 bits).
#[derive(Clone, Copy, Debug)]
struct Roll {
    window: [u8; WINDOW],
    pos: usize,
    sum: u32,
    weighted: u32,
    shifted: u32,
}

impl Roll {
    const fn new() -> Self {
        Self {
            window: [0; WINDOW],
            pos: 0,
            sum: 0,
            weighted: 0,
            shifted: 0,
        }
    }

    #[inline(always)]
    fn push(&mut self, byte: u8) -> u32 {
        let c = u32::from(byte);
        self.weighted = self
            .weighted
            .wrapping_sub(self.sum)
            .wrapping_add(WINDOW as u32 * c);
        self.sum = self
            .sum
            .wrapping_add(c)
            .wrapping_sub(u32::from(self.window[self.pos]));
        self.window[self.pos] = byte;
        self.pos = if self.pos == WINDOW - 1 {
            0
        } else {
            self.pos + 1
        };
        self.shifted = (self.shifted << 5) ^ c;
        self.value()
    }

    fn value(&self) -> u32 {
        self.sum
            .wrapping_add(self.weighted)
            .wrapping_add(self.shifted)
    }
}

/// One block size's signature in progress (its piecewise hashes are lanes of [`Lanes`]).
#[derive(Clone, Copy, Debug)]
struct Level {
    /// `len` characters emitted (at most `SIG_LEN - 1`; the last slot is `tail`).
    sig: [u8; SIG_LEN],
    len: u8,
    /// Once the signature is full, the character of the latest trigger point: the remaining
    /// bytes are folded into one last character.
    tail: Option<u8>,
    /// The character of the half hash at the latest trigger point since it stopped resetting.
    half_tail: Option<u8>,
}

impl Level {
    const EMPTY: Self = Self {
        sig: [0; SIG_LEN],
        len: 0,
        tail: None,
        half_tail: None,
    };
}

/// Lanes of the piecewise hashes, one per level and one more (the level above the last,
/// which ssdeep consults in one corner case). `piece[i]` hashes the bytes since level `i`'s
/// last trigger point; `half[i]` the same, but it stops resetting once the signature has
/// [`HALF`] characters, so it hashes what follows the first `HALF - 1` of them (for the
/// second half of the result).
///
/// The lanes are updated together, in registers: 16-bit lanes (only their low 6 bits matter,
/// and a multiplication of 16-bit lanes is one vector instruction), all of them or a window
/// of [`NARROW`] levels that holds every level followed, which is the usual case. A level is
/// started (at the first trigger point of the one below) with a copy of the lanes below. The
/// values wrap; only the low 6 bits are read.
#[derive(Clone, Copy, Debug)]
struct LaneSet<const W: usize> {
    piece: [u16; W],
    half: [u16; W],
}

const LANES: usize = LEVELS + 1;

/// Levels in the narrow window: two vectors of 8 lanes.
const NARROW: usize = 8;

type Lanes = LaneSet<LANES>;

impl<const W: usize> LaneSet<W> {
    #[inline(always)]
    fn mix(&mut self, byte: u8) {
        let c = u16::from(byte);
        for lane in &mut self.piece {
            *lane = lane.wrapping_mul(u16::from(PIECE_MUL)) ^ c;
        }
        for lane in &mut self.half {
            *lane = lane.wrapping_mul(u16::from(PIECE_MUL)) ^ c;
        }
    }
}

/// A streaming ssdeep hasher: [`update`](Self::update) with the bytes in any number of
/// pieces, then [`finish`](Self::finish).
#[derive(Clone, Debug)]
pub struct Ssdeep {
    roll: Roll,
    lanes: Lanes,
    levels: [Level; LEVELS],
    /// Levels `start..end` are followed.
    start: usize,
    end: usize,
    /// Whether the last level has had its first trigger point (ssdeep then follows the level
    /// above it too, for one corner case of the second half).
    beyond: bool,
    len: u64,
}

impl Default for Ssdeep {
    fn default() -> Self {
        Self::new()
    }
}

impl Ssdeep {
    /// An empty hasher.
    pub const fn new() -> Self {
        let init = PIECE_INIT as u16;
        Self {
            roll: Roll::new(),
            lanes: Lanes {
                piece: [init; LANES],
                half: [init; LANES],
            },
            levels: [Level::EMPTY; LEVELS],
            start: 0,
            end: 1,
            beyond: false,
            len: 0,
        }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        // The length known so far includes the whole of `data`, which lets levels be dropped
        // earlier; which are dropped never changes the result.
        self.len = self.len.saturating_add(data.len() as u64);
        let mut rest = data;
        while !rest.is_empty() {
            let Some(at) = self.run(rest) else { break };
            self.triggers();
            rest = rest.get(at + 1..).unwrap_or_default();
        }
    }

    /// [`run`] over the lanes that matter: those of the levels followed (and of the level
    /// above the last, once `beyond`). Usually a few: then a window of [`NARROW`] lanes, else
    /// all of them.
    fn run(&mut self, data: &[u8]) -> Option<usize> {
        let live_end = if self.beyond { LANES } else { self.end };
        let base = self.start.min(LANES - NARROW);
        if live_end <= base + NARROW {
            let window = base..base + NARROW;
            if let (Ok(piece), Ok(half)) = (
                <[u16; NARROW]>::try_from(&self.lanes.piece[window.clone()]),
                <[u16; NARROW]>::try_from(&self.lanes.half[window.clone()]),
            ) {
                let mut narrow = LaneSet { piece, half };
                let found = run(&mut self.roll, &mut narrow, data, self.start);
                self.lanes.piece[window.clone()].copy_from_slice(&narrow.piece);
                self.lanes.half[window].copy_from_slice(&narrow.half);
                return found;
            }
        }
        run(&mut self.roll, &mut self.lanes, data, self.start)
    }

    /// The trigger points at the byte just fed: levels `start..` up to the trailing zeros of
    /// `rolling + 1` (see [`run`]).
    #[cold]
    #[inline(never)]
    fn triggers(&mut self) {
        let top = (u64::from(self.roll.value()) + 1).trailing_zeros() as usize;
        let mut i = self.start;
        // `self.end` may grow (a level starts) and `self.start` too (one is dropped).
        while i < self.end && i <= top {
            self.trigger(i);
            i += 1;
        }
    }

    fn trigger(&mut self, i: usize) {
        if self.levels[i].len == 0 {
            // The first trigger point of the highest level followed: start the next one from
            // this one's hashes, which cover every byte so far.
            if self.end < LEVELS {
                self.end += 1;
            } else {
                self.beyond = true;
            }
            self.lanes.piece[i + 1] = self.lanes.piece[i];
            self.lanes.half[i + 1] = self.lanes.half[i];
        }
        let level = &mut self.levels[i];
        let character = b64(self.lanes.piece[i]);
        level.half_tail = Some(b64(self.lanes.half[i]));
        if usize::from(level.len) < SIG_LEN - 1 {
            level.sig[usize::from(level.len)] = character;
            level.len += 1;
            self.lanes.piece[i] = u16::from(PIECE_INIT);
            if usize::from(level.len) < HALF {
                self.lanes.half[i] = u16::from(PIECE_INIT);
                level.half_tail = None;
            }
        } else {
            // Full: the last character keeps absorbing the rest of the input.
            level.tail = Some(character);
            self.drop_lowest();
        }
    }

    /// Stops following the lowest level once it can no longer be chosen: the length so far
    /// already calls for a larger block size and the next level has enough characters.
    fn drop_lowest(&mut self) {
        if self.end - self.start < 2
            || block_size(self.start) * SIG_LEN as u64 >= self.len
            || usize::from(self.levels[self.start + 1].len) < HALF
        {
            return;
        }
        self.start += 1;
    }

    /// The hash of everything fed, `blocksize:first:second`.
    pub fn finish(&self) -> Result<String, Error> {
        let rolling = self.roll.value();
        let mut bi = self.start;
        while block_size(bi) * (SIG_LEN as u64) < self.len {
            bi += 1;
            if bi >= LEVELS {
                return Err(Error::TooLong(self.len));
            }
        }
        bi = bi.min(self.end - 1);
        while bi > self.start && usize::from(self.levels[bi].len) < HALF {
            bi -= 1;
        }

        let mut out = String::with_capacity(12 + SIG_LEN + HALF + 2);
        out.push_str(&block_size(bi).to_string());
        out.push(':');
        let first = &self.levels[bi];
        push_ascii(&mut out, &first.sig[..usize::from(first.len)]);
        // The bytes after the last trigger point make one more character, unless the input
        // ends on a rolling hash of 0 (its last 7 bytes all zero).
        if rolling != 0 {
            out.push(char::from(b64(self.lanes.piece[bi])));
        } else if let Some(tail) = first.tail {
            out.push(char::from(tail));
        }
        out.push(':');
        if bi + 1 < self.end {
            let second = &self.levels[bi + 1];
            let n = usize::from(second.len).min(HALF - 1);
            push_ascii(&mut out, &second.sig[..n]);
            if rolling != 0 {
                out.push(char::from(b64(self.lanes.half[bi + 1])));
            } else if let Some(tail) = second.half_tail {
                out.push(char::from(tail));
            }
        } else if rolling != 0 {
            // No level above the chosen one: it is the first (nothing triggered at all; its
            // hash covers the whole input) or the last, followed by the lane above it.
            let lane = if bi > 0 && self.beyond { bi + 1 } else { bi };
            out.push(char::from(b64(self.lanes.piece[lane])));
        }
        Ok(out)
    }
}

/// Feeds `data` to the rolling hash and the lanes until the first byte that is a trigger
/// point of a level `start` or above; returns its index (the byte included), or `None` once
/// `data` is used up. The state is held in locals meanwhile, so the lanes stay in registers.
///
/// A trigger point of block size `3 << i` is where `rolling + 1` is a multiple of `3 << i`:
/// a multiple of 3 with at least `i` trailing zero bits. So 2 bytes in 3 are no trigger point
/// at all, and the others are one for the levels up to the trailing zeros of `rolling + 1`.
#[inline(never)]
fn run<const W: usize>(
    roll: &mut Roll,
    lanes: &mut LaneSet<W>,
    data: &[u8],
    start: usize,
) -> Option<usize> {
    let mut r = *roll;
    let mut l = *lanes;
    let mut found = None;
    for (at, &byte) in data.iter().enumerate() {
        let rolling = r.push(byte);
        l.mix(byte);
        let next = u64::from(rolling) + 1;
        if next % 3 == 0 && next.trailing_zeros() as usize >= start {
            found = Some(at);
            break;
        }
    }
    *roll = r;
    *lanes = l;
    found
}

fn push_ascii(out: &mut String, base64: &[u8]) {
    out.extend(base64.iter().map(|&b| char::from(b)));
}

/// The ssdeep hash of `data`.
pub fn hash(data: &[u8]) -> Result<String, Error> {
    let mut hasher = Ssdeep::new();
    hasher.update(data);
    hasher.finish()
}
