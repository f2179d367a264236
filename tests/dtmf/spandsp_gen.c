/* Reference DTMF generator for tests/dtmf_reference.rs: writes an 8 kHz s16
 * mono WAV holding a digit sequence.
 * Owns: test signal generation. Must not touch: anything in src/.
 *
 * Build: gcc tests/dtmf/spandsp_gen.c -o spandsp_gen -lspandsp -ltiff -lm
 * Usage: spandsp_gen OUT.wav DIGITS [key=value ...]
 *   level=-10   level of the low-group tone, dBm0 (spandsp's dtmf_tx_set_level)
 *   twist=0     high-group level minus low-group level, dB
 *   on=50       tone on time, ms        off=55   pause, ms
 *   lead=100    silence before the first digit and after the last, ms
 *   dev=0       frequency deviation of both tones, percent (e.g. 1.5, -3.5)
 *   devlow=, devhigh=  deviation of one group only, percent
 *   snr=        add spandsp AWGN this many dB below the low-group tone
 *   seed=1      AWGN seed
 *   synth=1     synthesise with sin() even without deviation (exact per-tone levels: dtmf_tx
 *               spreads `twist` over both tones, so twist cases use this)
 *
 * With no deviation the tones come from spandsp's own dtmf_tx. dtmf_tx has no
 * frequency offset, so with any dev* set every tone is synthesised here with
 * sin() at the same dBm0 scale (spandsp's dds_scaling_dbm0f gives the peak
 * amplitude of a sine at a dBm0 level), starting at phase 0. */
#include <math.h>
#include <spandsp.h>
#include "wav.h"

static const char KEYS[] = "123A456B789C*0#D";
static const double ROW[4] = {697, 770, 852, 941};
static const double COL[4] = {1209, 1336, 1477, 1633};

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: spandsp_gen OUT.wav DIGITS [key=value ...]\n"); return 2; }
    const char *out = argv[1], *digits = argv[2];
    double level = -10, twist = 0, on = 50, off = 55, lead = 100, devlow = 0, devhigh = 0, snr = NAN;
    int seed = 1, synth = 0;
    for (int i = 3; i < argc; i++) {
        char key[32]; double v;
        if (sscanf(argv[i], "%31[^=]=%lf", key, &v) != 2) { fprintf(stderr, "bad arg %s\n", argv[i]); return 2; }
        if (!strcmp(key, "level")) level = v;
        else if (!strcmp(key, "twist")) twist = v;
        else if (!strcmp(key, "on")) on = v;
        else if (!strcmp(key, "off")) off = v;
        else if (!strcmp(key, "lead")) lead = v;
        else if (!strcmp(key, "dev")) { devlow = devhigh = v; synth = 1; }
        else if (!strcmp(key, "devlow")) { devlow = v; synth = 1; }
        else if (!strcmp(key, "devhigh")) { devhigh = v; synth = 1; }
        else if (!strcmp(key, "snr")) snr = v;
        else if (!strcmp(key, "seed")) seed = (int) v;
        else if (!strcmp(key, "synth")) synth = v != 0;
        else { fprintf(stderr, "unknown key %s\n", key); return 2; }
    }
    size_t nd = strlen(digits);
    size_t lead_n = (size_t) (lead * 8), on_n = (size_t) (on * 8), off_n = (size_t) (off * 8);
    size_t total = 2 * lead_n + nd * (on_n + off_n) + 8000;
    int16_t *pcm = calloc(total, sizeof(int16_t));
    if (!pcm) return 1;
    size_t pos = lead_n;
    if (!synth) {
        dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
        dtmf_tx_set_level(tx, (int) level, (int) twist);
        dtmf_tx_set_timing(tx, (int) on, (int) off);
        dtmf_tx_put(tx, digits, -1);
        int got;
        while (pos < total && (got = dtmf_tx(tx, pcm + pos, (int) (total - pos > 160 ? 160 : total - pos))) > 0)
            pos += (size_t) got;
        dtmf_tx_free(tx);
    } else {
        double alow = dds_scaling_dbm0f((float) level), ahigh = dds_scaling_dbm0f((float) (level + twist));
        for (size_t d = 0; d < nd; d++) {
            const char *k = strchr(KEYS, digits[d]);
            if (!k || !digits[d]) { fprintf(stderr, "bad digit %c\n", digits[d]); return 2; }
            int idx = (int) (k - KEYS);
            double fl = ROW[idx / 4] * (1 + devlow / 100), fh = COL[idx % 4] * (1 + devhigh / 100);
            for (size_t i = 0; i < on_n; i++) {
                double t = i / 8000.0;
                double v = alow * sin(2 * M_PI * fl * t) + ahigh * sin(2 * M_PI * fh * t);
                pcm[pos + i] = (int16_t) fmax(-32768, fmin(32767, lrint(v)));
            }
            pos += on_n + off_n;
        }
    }
    size_t n = pos + lead_n;
    if (n > total) n = total;
    if (!isnan(snr)) {
        awgn_state_t *noise = awgn_init_dbm0(NULL, seed, (float) (level - snr));
        for (size_t i = 0; i < n; i++) {
            int v = pcm[i] + awgn(noise);
            pcm[i] = (int16_t) (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
        awgn_free(noise);
    }
    int rc = wav_write(out, pcm, n, 8000);
    free(pcm);
    return rc ? 1 : 0;
}
