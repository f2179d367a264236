/* Minimal WAV (RIFF, PCM s16 mono) reader/writer shared by the spandsp harness.
 * Owns: file I/O for the C files in tests/dtmf. Must not touch: signal processing. */
#ifndef DTMF_HARNESS_WAV_H
#define DTMF_HARNESS_WAV_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_u32(FILE *f, uint32_t v) { uint8_t b[4] = {v, v >> 8, v >> 16, v >> 24}; fwrite(b, 1, 4, f); }
static void put_u16(FILE *f, uint16_t v) { uint8_t b[2] = {v, v >> 8}; fwrite(b, 1, 2, f); }

/* Writes `n` samples as a 44-byte-header WAV file at `rate`. */
static __attribute__((unused)) int wav_write(const char *path, const int16_t *pcm, size_t n, uint32_t rate)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fwrite("RIFF", 1, 4, f); put_u32(f, 36 + 2 * n); fwrite("WAVE", 1, 4, f);
    fwrite("fmt ", 1, 4, f); put_u32(f, 16); put_u16(f, 1); put_u16(f, 1);
    put_u32(f, rate); put_u32(f, rate * 2); put_u16(f, 2); put_u16(f, 16);
    fwrite("data", 1, 4, f); put_u32(f, 2 * n);
    for (size_t i = 0; i < n; i++) put_u16(f, (uint16_t) pcm[i]);
    return fclose(f);
}

/* Reads a PCM s16 mono WAV (walking the chunk list, so sox/espeak files with
 * extra chunks work). Returns a malloc'd buffer, or NULL. */
static __attribute__((unused)) int16_t *wav_read(const char *path, size_t *n, uint32_t *rate)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t h[12], ch[8];
    if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)) { fclose(f); return NULL; }
    uint16_t channels = 0, bits = 0;
    while (fread(ch, 1, 8, f) == 8) {
        uint32_t len = ch[4] | ch[5] << 8 | ch[6] << 16 | (uint32_t) ch[7] << 24;
        if (!memcmp(ch, "fmt ", 4)) {
            uint8_t fmt[16];
            if (len < 16 || fread(fmt, 1, 16, f) != 16) break;
            channels = fmt[2] | fmt[3] << 8;
            *rate = fmt[4] | fmt[5] << 8 | fmt[6] << 16 | (uint32_t) fmt[7] << 24;
            bits = fmt[14] | fmt[15] << 8;
            fseek(f, len - 16 + (len & 1), SEEK_CUR);
        } else if (!memcmp(ch, "data", 4)) {
            if (channels != 1 || bits != 16) break;
            /* sox/espeak may leave the length at 0xFFFFFFFF when streaming. */
            int16_t *pcm = malloc(len ? len : 1);
            if (!pcm) break;
            *n = fread(pcm, 2, len / 2, f);
            fclose(f);
            return pcm;
        } else {
            fseek(f, len + (len & 1), SEEK_CUR);
        }
    }
    fclose(f);
    return NULL;
}
#endif
