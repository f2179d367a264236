//! Turning the two legs of one tick into the recorded samples (sans-IO, allocation-free).

use super::spec::Layout;
use crate::media::mixer::soft_clip;

/// Writes one tick of `layout` into `out` (interleaved L/R for stereo) and returns the number of
/// samples written. `caller` and `agent` have the same length; `out` holds at least `channels × len`.
pub(super) fn compose(layout: Layout, caller: &[i16], agent: &[i16], out: &mut [i16]) -> usize {
    match layout {
        Layout::Mono => {
            for ((o, &c), &a) in out.iter_mut().zip(caller).zip(agent) {
                *o = soft_clip(i32::from(c) + i32::from(a));
            }
            caller.len().min(agent.len()).min(out.len())
        }
        Layout::Stereo => {
            let mut n = 0;
            for ((pair, &c), &a) in out.chunks_exact_mut(2).zip(caller).zip(agent) {
                pair[0] = c;
                pair[1] = a;
                n += 2;
            }
            n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_interleaves_caller_left() {
        let mut out = [0i16; 6];
        assert_eq!(
            compose(Layout::Stereo, &[1, 2, 3], &[-1, -2, -3], &mut out),
            6
        );
        assert_eq!(out, [1, -1, 2, -2, 3, -3]);
    }

    #[test]
    fn mono_sums_without_wrapping() {
        let mut out = [0i16; 2];
        assert_eq!(
            compose(Layout::Mono, &[100, i16::MAX], &[20, i16::MAX], &mut out),
            2
        );
        assert_eq!(out[0], 120);
        assert!(out[1] > 30_000);
    }
}
