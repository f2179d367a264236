//! Saturation-safe output: the mix is summed in i32 and brought back to i16 with a soft clipper.
//!
//! Hard clipping (`clamp`) of a sum of loud talkers produces square-topped waves, audible as harsh
//! distortion; wrapping (`as i16`) produces full-scale noise. Instead, below the knee samples pass
//! bit-exact (so ordinary conversations are mixed losslessly and mix-minus subtracts exactly), and above
//! it the excess is compressed along y = K + H·d/(d + H) (d = |x| - K, H = headroom), which is continuous
//! with slope 1 at the knee and approaches full scale asymptotically, so no input can overflow.
//! Stateless: no attack/release to tune, no state per party.

/// Samples up to this magnitude (about -2.5 dBFS) pass unchanged.
const KNEE: i64 = 24_576;
/// Room between the knee and full scale that the compressed excess is squeezed into.
const HEADROOM: i64 = i16::MAX as i64 - KNEE;

/// Brings one summed sample back to i16 without wrapping and without a hard edge.
#[inline]
pub fn soft_clip(x: i32) -> i16 {
    let x = i64::from(x);
    let mag = x.abs();
    if mag <= KNEE {
        // In range by the check above.
        return x as i16;
    }
    let over = mag - KNEE;
    // over > 0 and HEADROOM > 0, so the quotient is < HEADROOM and y < i16::MAX.
    let y = KNEE + HEADROOM * over / (over + HEADROOM);
    if x < 0 {
        -y as i16
    } else {
        y as i16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_below_knee_and_bounded_above() {
        for x in [-24_576, -1000, 0, 1, 24_576] {
            assert_eq!(i32::from(soft_clip(x)), x);
        }
        let mut prev = soft_clip(24_576);
        for x in (24_577..2_000_000).step_by(997) {
            let y = soft_clip(x);
            assert!(y >= prev, "monotonic");
            assert!(y < i16::MAX);
            assert_eq!(soft_clip(-x), -y, "symmetric");
            prev = y;
        }
        assert!(soft_clip(i32::MAX) > 32_000 && soft_clip(i32::MIN) < -32_000);
    }
}
