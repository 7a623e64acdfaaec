//! Exact rational numbers for frame rates and times.
//!
//! 23.976 fps is not 23.976: it is 24000/1001, and a clip of 10 minutes at that
//! rate drifts by 0.6 frames if it is rounded. Frame rates and timestamps are
//! kept as reduced fractions end to end.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A reduced fraction `num / den` with `den > 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rational {
    num: i64,
    den: i64,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Rational {
    /// Zero.
    pub const ZERO: Rational = Rational { num: 0, den: 1 };
    /// One.
    pub const ONE: Rational = Rational { num: 1, den: 1 };

    /// `num / den`, reduced. Fails when `den` is zero.
    pub fn new(num: i64, den: i64) -> Result<Self> {
        if den == 0 {
            return Err(Error::invalid_argument(format!("{num}/0 is not a number: the denominator is zero")));
        }
        Self::from_i128(num as i128, den as i128)
    }

    /// A whole number.
    pub const fn integer(n: i64) -> Self {
        Rational { num: n, den: 1 }
    }

    fn from_i128(num: i128, den: i128) -> Result<Self> {
        let g = gcd(num, den).max(1);
        let (mut num, mut den) = (num / g, den / g);
        if den < 0 {
            num = -num;
            den = -den;
        }
        match (i64::try_from(num), i64::try_from(den)) {
            (Ok(num), Ok(den)) => Ok(Rational { num, den }),
            _ => Err(Error::invalid_argument(format!("{num}/{den} is too large to represent exactly"))),
        }
    }

    /// The numerator (carries the sign).
    pub const fn num(self) -> i64 {
        self.num
    }

    /// The denominator (always positive).
    pub const fn den(self) -> i64 {
        self.den
    }

    /// The nearest `f64`.
    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// `1 / self`; fails for zero.
    pub fn recip(self) -> Result<Self> {
        Self::new(self.den, self.num)
    }

    /// Exact product; fails only on overflow of 64-bit terms after reduction.
    pub fn checked_mul(self, other: Rational) -> Result<Self> {
        Self::from_i128(self.num as i128 * other.num as i128, self.den as i128 * other.den as i128)
    }

    /// Exact sum; fails only on overflow of 64-bit terms after reduction.
    pub fn checked_add(self, other: Rational) -> Result<Self> {
        Self::from_i128(
            self.num as i128 * other.den as i128 + other.num as i128 * self.den as i128,
            self.den as i128 * other.den as i128,
        )
    }

    /// Largest integer not above `self`.
    pub fn floor(self) -> i64 {
        self.num.div_euclid(self.den)
    }

    /// Whether this is strictly above zero.
    pub fn is_positive(self) -> bool {
        self.num > 0
    }

    /// A frame rate from its usual spellings: `24`, `24000/1001`, `29.97`,
    /// `23.976`. Decimal NTSC rates (23.976, 29.97, 47.952, 59.94, 119.88) mean
    /// their exact x1000/1001 fractions, as every editing application treats them.
    pub fn parse_frame_rate(text: &str) -> Result<Self> {
        let rate: Rational = text.parse()?;
        if !rate.is_positive() {
            return Err(Error::invalid_argument(format!("frame rate {text:?} must be above zero")));
        }
        if rate.num > 1_000_000 || rate.to_f64() > 10_000.0 {
            return Err(Error::invalid_argument(format!("frame rate {text:?} is absurdly high (above 10000 fps)")));
        }
        Ok(rate)
    }
}

/// Decimal spellings that editors use for NTSC rates, mapped to the exact fractions.
const NTSC_DECIMALS: [(&str, i64); 6] =
    [("23.976", 24000), ("23.98", 24000), ("29.97", 30000), ("47.952", 48000), ("59.94", 60000), ("119.88", 120000)];

impl FromStr for Rational {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let t = text.trim();
        let bad = || Error::invalid_argument(format!("{text:?} is not a number; write it as 24, 29.97 or 30000/1001"));
        if let Some((n, d)) = t.split_once('/') {
            let n: i64 = n.trim().parse().map_err(|_| bad())?;
            let d: i64 = d.trim().parse().map_err(|_| bad())?;
            return Rational::new(n, d);
        }
        if let Some(&(_, num)) = NTSC_DECIMALS.iter().find(|(s, _)| *s == t) {
            return Rational::new(num, 1001);
        }
        if let Some((int, frac)) = t.split_once('.') {
            if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let negative = int.starts_with('-');
            let int: i64 = if int.is_empty() || int == "-" { 0 } else { int.parse().map_err(|_| bad())? };
            let scale = 10i64.pow(frac.len() as u32);
            let frac: i64 = frac.parse().map_err(|_| bad())?;
            let magnitude = int.abs().checked_mul(scale).and_then(|v| v.checked_add(frac)).ok_or_else(bad)?;
            return Rational::new(if negative { -magnitude } else { magnitude }, scale);
        }
        t.parse::<i64>().map(Rational::integer).map_err(|_| bad())
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 { write!(f, "{}", self.num) } else { write!(f, "{}/{}", self.num, self.den) }
    }
}

impl PartialOrd for Rational {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rational {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.num as i128 * other.den as i128).cmp(&(other.num as i128 * self.den as i128))
    }
}

impl Serialize for Rational {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rational {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduces_and_normalises_sign() {
        let r = Rational::new(48000, -2002).unwrap();
        assert_eq!((r.num(), r.den()), (-24000, 1001));
    }

    #[test]
    fn parses_frame_rate_spellings() {
        let cases = [
            ("24", (24, 1)),
            ("24000/1001", (24000, 1001)),
            ("29.97", (30000, 1001)),
            ("23.976", (24000, 1001)),
            ("25.0", (25, 1)),
            ("12.5", (25, 2)),
            (" 60 ", (60, 1)),
        ];
        for (text, (n, d)) in cases {
            let r = Rational::parse_frame_rate(text).unwrap();
            assert_eq!((r.num(), r.den()), (n, d), "{text}");
        }
    }

    #[test]
    fn rejects_bad_frame_rates() {
        for text in ["0", "-24", "1/0", "abc", "24/", "1e3", "20000", "."] {
            assert!(Rational::parse_frame_rate(text).is_err(), "{text} should be rejected");
        }
    }

    #[test]
    fn arithmetic_is_exact() {
        let frame = Rational::new(1001, 24000).unwrap();
        let mut t = Rational::ZERO;
        for _ in 0..24000 {
            t = t.checked_add(frame).unwrap();
        }
        assert_eq!(t, Rational::integer(1001));
        assert_eq!(Rational::new(7, 2).unwrap().floor(), 3);
        assert_eq!(Rational::new(-7, 2).unwrap().floor(), -4);
        assert!(Rational::new(1, 3).unwrap() < Rational::new(1, 2).unwrap());
    }

    #[test]
    fn round_trips_through_json() {
        let r = Rational::new(30000, 1001).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, "\"30000/1001\"");
        assert_eq!(serde_json::from_str::<Rational>(&json).unwrap(), r);
    }
}
