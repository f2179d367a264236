/* Reference DTMF receiver: runs spandsp's dtmf_rx over an 8 kHz s16 mono WAV
 * and prints one line per digit, "<start seconds> <digit>" (the same format as
 * `switchboard dtmf FILE`).
 * Owns: the reference side of tests/dtmf_reference.rs. Must not touch: anything
 * in src/ (this is only a test oracle).
 *
 * Build: gcc tests/dtmf/spandsp_rx.c -o spandsp_rx -lspandsp -ltiff -lm
 * Usage: spandsp_rx FILE.wav
 *
 * Timing: the realtime callback fires when dtmf_rx confirms a digit; `delay`
 * is not reliable across versions, so the start is reported as the position
 * of the block in which the callback fired. The comparison in Rust therefore
 * checks digits exactly and start times only to within a tolerance. */
#include <spandsp.h>
#include "wav.h"

static long g_pos;          /* sample index of the chunk being processed */
static int g_last;          /* last reported code, to print only starts */

static void on_tone(void *user, int code, int level, int delay)
{
    (void) user; (void) level; (void) delay;
    if (code != 0)
        printf("%.3f %c\n", g_pos / 8000.0, code);
    g_last = code;
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: spandsp_rx FILE.wav\n"); return 2; }
    size_t n = 0; uint32_t rate = 0;
    int16_t *pcm = wav_read(argv[1], &n, &rate);
    if (!pcm || rate != 8000) { fprintf(stderr, "%s: need 8 kHz s16 mono WAV\n", argv[1]); return 2; }
    dtmf_rx_state_t *rx = dtmf_rx_init(NULL, NULL, NULL);
    dtmf_rx_set_realtime_callback(rx, on_tone, NULL);
    /* Feed in 20 ms chunks like the appliance does (DESIGN §3). */
    for (size_t i = 0; i < n; i += 160) {
        g_pos = (long) i;
        int len = (int) (n - i < 160 ? n - i : 160);
        dtmf_rx(rx, pcm + i, len);
    }
    dtmf_rx_free(rx);
    free(pcm);
    return 0;
}
