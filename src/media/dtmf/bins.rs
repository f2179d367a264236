//! The spectral front end of the in-band detector: a bank of single-bin DFTs (the direct form
//! of the Goertzel filter, keeping the complex result) over one analysis block, split into two
//! halves so the phase advance between the halves measures each tone's frequency.
//!
//! Owns: the 12 analysis frequencies, their coefficient tables, per-block accumulation.
//! Must not touch: detection decisions (thresholds, twist, timing) — that is `detector`.
//!
//! Why two halves: a 102-sample block resolves 78 Hz, which separates adjacent DTMF tones
//! (≥ 73 Hz apart, attenuated ≥ 20 dB) but cannot by magnitude alone tell a tone 1.5 % off
//! (accept, ITU-T Q.24 §3) from one 3.5 % off (reject): at 697 Hz that is 10 Hz against 24 Hz,
//! under 1.5 dB of difference. The phase of a tone at f + Δ advances by 2π(f + Δ)·51/8000
//! from the first half to the second; removing the nominal 2πf·51/8000 leaves 2πΔ·51/8000,
//! unambiguous for |Δ| < 78 Hz, which covers 3.5 % of 1633 Hz (57 Hz).

/// Analysis rate: DTMF is defined in the 300–3400 Hz telephone band; 8 kHz is the G.711 rate.
pub const RATE: u32 = 8000;
/// Samples per analysis block (12.75 ms). See `detector` for why 102.
pub const BLOCK: usize = 102;
/// Samples per half block.
pub const HALF: usize = BLOCK / 2;

/// ITU-T Q.23 §2 low-group (row) frequencies, Hz.
pub const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// ITU-T Q.23 §2 high-group (column) frequencies, Hz.
pub const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// Bins: 4 rows, 4 columns, then the 4 columns' second harmonics (2418–3266 Hz, clear of every
/// DTMF tone; the rows' harmonics land within 60 Hz of column tones and would be swamped).
pub const NBINS: usize = 12;

/// Index of row `r`'s bin, column `c`'s bin and column `c`'s second-harmonic bin.
pub const fn row_bin(r: usize) -> usize {
    r
}
pub const fn col_bin(c: usize) -> usize {
    4 + c
}
pub const fn harmonic_bin(c: usize) -> usize {
    8 + c
}

fn bin_freq(b: usize) -> f32 {
    match b {
        0..=3 => ROWS[b],
        4..=7 => COLS[b - 4],
        _ => 2.0 * COLS[(b - 8) % 4],
    }
}

/// Result of one block for one frequency.
#[derive(Clone, Copy, Debug, Default)]
pub struct BinResult {
    /// Mean power of the component at this frequency, in the same units as `BlockResult::power`
    /// (a full-scale-amplitude `a` sine gives a²/2).
    pub power: f32,
    /// The same for each half block alone (coarser: 157 Hz resolution).
    pub half_power: [f32; 2],
    /// Estimated deviation of the component from the bin's nominal frequency, Hz.
    pub deviation_hz: f32,
}

/// Result of one complete block.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockResult {
    pub bins: [BinResult; NBINS],
    /// Mean power of the whole block (all frequencies).
    pub power: f32,
    /// Mean power of each half block.
    pub half_power: [f32; 2],
}

/// Fixed-size accumulator; `push` one sample at a time, `finish` after `BLOCK` samples.
pub struct ToneBank {
    cos: [[f32; HALF]; NBINS],
    sin: [[f32; HALF]; NBINS],
    /// e^{jω·HALF} per bin: the nominal phase advance from the first half to the second.
    rot: [(f32, f32); NBINS],
    re: [[f32; NBINS]; 2],
    im: [[f32; NBINS]; 2],
    energy: [f32; 2],
    n: usize,
}

impl Default for ToneBank {
    fn default() -> Self {
        Self::new()
    }
}

impl ToneBank {
    pub fn new() -> ToneBank {
        let mut bank = ToneBank {
            cos: [[0.0; HALF]; NBINS],
            sin: [[0.0; HALF]; NBINS],
            rot: [(1.0, 0.0); NBINS],
            re: [[0.0; NBINS]; 2],
            im: [[0.0; NBINS]; 2],
            energy: [0.0; 2],
            n: 0,
        };
        for b in 0..NBINS {
            let w = 2.0 * std::f64::consts::PI * f64::from(bin_freq(b)) / f64::from(RATE);
            for k in 0..HALF {
                bank.cos[b][k] = (w * k as f64).cos() as f32;
                bank.sin[b][k] = (w * k as f64).sin() as f32;
            }
            let a = w * HALF as f64;
            bank.rot[b] = (a.cos() as f32, a.sin() as f32);
        }
        bank
    }

    /// Samples accumulated in the current block.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Adds one sample; returns true when the block is complete (call `finish`).
    #[inline]
    pub fn push(&mut self, x: i16) -> bool {
        let x = f32::from(x);
        let h = usize::from(self.n >= HALF);
        let k = self.n - h * HALF;
        for b in 0..NBINS {
            self.re[h][b] += x * self.cos[b][k];
            self.im[h][b] -= x * self.sin[b][k];
        }
        self.energy[h] += x * x;
        self.n += 1;
        self.n == BLOCK
    }

    /// Computes the block's result and resets for the next block.
    pub fn finish(&mut self) -> BlockResult {
        let mut out = BlockResult {
            power: (self.energy[0] + self.energy[1]) / BLOCK as f32,
            half_power: [self.energy[0] / HALF as f32, self.energy[1] / HALF as f32],
            ..BlockResult::default()
        };
        let half_scale = 2.0 / (HALF as f32 * HALF as f32);
        // |X|² of a sine of amplitude a over N samples is (aN/2)²; ×2/N² gives a²/2.
        let scale = 2.0 / (BLOCK as f32 * BLOCK as f32);
        for b in 0..NBINS {
            let (x0r, x0i) = (self.re[0][b], self.im[0][b]);
            let (x1r, x1i) = (self.re[1][b], self.im[1][b]);
            let (cr, ci) = self.rot[b];
            // Second half moved to the first half's time origin: X1 · e^{-jω·HALF}.
            let (sr, si) = (x1r * cr + x1i * ci, x1i * cr - x1r * ci);
            let (xr, xi) = (x0r + sr, x0i + si);
            // X1 · conj(X0) · e^{-jω·HALF} = e^{j2πΔ·HALF/RATE} scaled; its angle gives Δ.
            let (pr, pi) = (sr * x0r + si * x0i, si * x0r - sr * x0i);
            let dev = pi.atan2(pr) * RATE as f32 / (2.0 * std::f32::consts::PI * HALF as f32);
            out.bins[b] = BinResult {
                power: (xr * xr + xi * xi) * scale,
                half_power: [
                    (x0r * x0r + x0i * x0i) * half_scale,
                    (x1r * x1r + x1i * x1i) * half_scale,
                ],
                deviation_hz: dev,
            };
        }
        self.re = [[0.0; NBINS]; 2];
        self.im = [[0.0; NBINS]; 2];
        self.energy = [0.0; 2];
        self.n = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_of(freq: f32, amp: f32) -> BlockResult {
        let mut bank = ToneBank::new();
        for i in 0..BLOCK {
            let t = i as f32 / RATE as f32;
            let x = (amp * (2.0 * std::f32::consts::PI * freq * t + 0.3).sin()) as i16;
            if bank.push(x) {
                break;
            }
        }
        bank.finish()
    }

    #[test]
    fn power_and_deviation_of_a_pure_tone() {
        let r = block_of(770.0, 10_000.0);
        let expect = 10_000.0f32 * 10_000.0 / 2.0;
        assert!(
            (r.bins[row_bin(1)].power / expect - 1.0).abs() < 0.05,
            "{:?}",
            r.bins[1]
        );
        assert!(r.bins[row_bin(1)].deviation_hz.abs() < 1.0);
        assert!(r.bins[row_bin(0)].power < expect / 100.0);
        // 3.5 % high on 1633 Hz: 57 Hz, still measured without aliasing.
        let r = block_of(1633.0 * 1.035, 10_000.0);
        let d = r.bins[col_bin(3)].deviation_hz;
        assert!((d - 57.2).abs() < 4.0, "{d}");
        let r = block_of(697.0 * 0.985, 10_000.0);
        let d = r.bins[row_bin(0)].deviation_hz;
        assert!((d + 10.5).abs() < 2.0, "{d}");
    }
}
