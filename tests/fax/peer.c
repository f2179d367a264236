/* faxpeer: an independent fax endpoint for switchboard's interop tests.
 *
 * One fax session (send or receive a TIFF/F file), then exit with a result
 * line on stdout. The fax engine is Debian's libspandsp 0.0.6 (dynamic,
 * package libspandsp-dev); the packet framing is our own:
 *   --transport t38:   spandsp's t38_terminal, IFPs carried in UDPTL built and
 *                      parsed here (ITU-T T.38 clause 9 / Annex A, ASN.1 PER
 *                      aligned), redundancy error recovery, FEC parsed/skipped.
 *   --transport audio: spandsp's fax_state (V.21/V.27ter/V.29/V.17 modems) over
 *                      G.711 RTP (sends PCMU, receives PCMU or PCMA).
 * See tests/fax/README.md for the command line and the output format.
 *
 * Build: gcc -O2 -Wall -Wextra -o faxpeer peer.c -lspandsp -ltiff -lm
 *
 * Owns: the reference fax endpoint of the fax interop tests.
 * Must not touch: anything in src/ (this is only a test oracle; it must not share
 * code with switchboard's fax engine). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <tiffio.h>
#include <spandsp.h>

#define TICK_MS         20
#define TICK_SAMPLES    160
#define MAX_IFP         1024    /* t38_core never builds more than 1000 bytes */
#define MAX_PKT         4096
#define HIST            64      /* IFPs remembered for redundancy (power of 2) */
#define MAX_SECONDARY   32      /* secondary IFPs kept from one received packet */
#define LINGER_MS       300     /* keep driving the engine after phase E */

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_TIMEOUT = 2, EXIT_SETUP = 3 };

/* ------------------------------------------------------------------------ */
/* Options */

static struct {
    int send;                   /* 1 send, 0 receive */
    const char *file;
    int t38;                    /* 1 t38, 0 audio */
    int local_port;
    const char *remote;
    int calling;
    int ecm;
    const char *ident;
    int redundancy;
    double loss;                /* percent of our datagrams to drop */
    uint64_t seed;
    int max_datagram;
    int timeout_s;
    int wait_first;
    int version;
    int debug;
} o = {
    .send = -1,
    .t38 = -1,
    .local_port = -1,
    .ident = "faxpeer",
    .redundancy = 3,
    .seed = 1,
    .max_datagram = 400,
    .timeout_s = 120,
};

/* ------------------------------------------------------------------------ */
/* Globals */

static int g_sock = -1;
static struct sockaddr_in g_remote;
static int g_remote_known;      /* 0 while --remote is 0.0.0.0:0 and nothing came in */
static int g_latch;             /* --remote was 0.0.0.0:0: reply to the first source */
static int g_rx_seen;           /* a valid datagram arrived */
static int64_t g_t0;            /* monotonic ms at start */

static t38_terminal_state_t *g_t38;
static fax_state_t *g_fax;
static t30_state_t *g_t30;

static int g_phase_e;           /* phase E reached */
static int g_exit_code = EXIT_FAILED;
static int64_t g_phase_e_at;

/* Counters. "tx" counts datagrams put on the wire; datagrams we chose to drop
   (--loss) are counted in dropped_by_loss only. */
static struct {
    unsigned long rx, recovered, lost, tx, dropped_by_loss, dup, malformed, suppressed, other;
} st;

/* ------------------------------------------------------------------------ */
/* Helpers */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double elapsed(void)
{
    return (double) (mono_ms() - g_t0) / 1000.0;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "[%8.3f] ", elapsed());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

#define dbg(...) do { if (o.debug >= 2) logf_(__VA_ARGS__); } while (0)

/* xorshift64*: deterministic loss pattern per --seed. */
static uint64_t g_rng;

static uint64_t rng_next(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1DULL;
}

static int lose_this_one(void)
{
    if (o.loss <= 0.0)
        return 0;
    /* 1/10000 of a percent granularity */
    return (double) (rng_next() % 1000000ULL) < o.loss * 10000.0;
}

/* Print a string as a double-quoted value: '"' and '\' escaped, non-printables
   as \xNN. */
static void print_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7F)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void print_stats_line(void)
{
    if (o.t38)
        fprintf(stderr, "udptl rx=%lu recovered=%lu lost=%lu tx=%lu dropped_by_loss=%lu dup=%lu malformed=%lu suppressed=%lu\n",
                st.rx, st.recovered, st.lost, st.tx, st.dropped_by_loss, st.dup, st.malformed, st.suppressed);
    else
        fprintf(stderr, "rtp rx=%lu lost=%lu tx=%lu dropped_by_loss=%lu dup=%lu malformed=%lu suppressed=%lu other=%lu\n",
                st.rx, st.lost, st.tx, st.dropped_by_loss, st.dup, st.malformed, st.suppressed, st.other);
    fflush(stderr);
}

static void print_result(int code, const char *reason)
{
    t30_stats_t ts;
    const char *remote_ident = NULL;

    memset(&ts, 0, sizeof(ts));
    if (g_t30) {
        t30_get_transfer_statistics(g_t30, &ts);
        remote_ident = t30_get_rx_ident(g_t30);
    }
    printf("result code=%d reason=", code);
    print_quoted(stdout, reason);
    printf(" pages=%d remote_ident=", o.send ? ts.pages_tx : ts.pages_rx);
    print_quoted(stdout, remote_ident ? remote_ident : "");
    printf(" bit_rate=%d ecm=%d transport=%s\n",
           ts.bit_rate, ts.error_correcting_mode ? 1 : 0, o.t38 ? "t38" : "audio");
    fflush(stdout);
}

/* Send one datagram to the remote, applying --wait-first, latching and --loss. */
static void send_datagram(const uint8_t *buf, int len)
{
    if (!g_remote_known || (o.wait_first && !g_rx_seen)) {
        st.suppressed++;
        return;
    }
    if (lose_this_one()) {
        st.dropped_by_loss++;
        return;
    }
    if (sendto(g_sock, buf, (size_t) len, 0, (struct sockaddr *) &g_remote, sizeof(g_remote)) < 0) {
        dbg("sendto: %s", strerror(errno));
        return;
    }
    st.tx++;
}

/* ------------------------------------------------------------------------ */
/* spandsp logging and T.30 handlers */

static void span_msg(int level, const char *text)
{
    (void) level;
    fprintf(stderr, "[%8.3f] %s", elapsed(), text);
}

static void setup_logging(logging_state_t *l, const char *tag)
{
    if (!l || !o.debug)
        return;
    span_log_set_level(l, SPAN_LOG_SHOW_SEVERITY | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_SHOW_TAG | SPAN_LOG_FLOW);
    span_log_set_tag(l, tag);
    span_log_set_message_handler(l, span_msg);
}

static int phase_b_handler(t30_state_t *s, void *user_data, int result)
{
    (void) user_data;
    const char *id = t30_get_rx_ident(s);
    logf_("phase B: 0x%02x (%s) remote_ident=\"%s\"", result, t30_frametype(result), id ? id : "");
    return T30_ERR_OK;
}

static int phase_d_handler(t30_state_t *s, void *user_data, int result)
{
    t30_stats_t ts;

    (void) user_data;
    t30_get_transfer_statistics(s, &ts);
    if (o.send)
        logf_("page sent n=%d result=0x%02x (%s) bit_rate=%d ecm=%d width=%d length=%d x_res=%d y_res=%d encoding=%d ecm_retries=%d",
              ts.pages_tx, result, t30_frametype(result), ts.bit_rate, ts.error_correcting_mode ? 1 : 0,
              ts.width, ts.length, ts.x_resolution, ts.y_resolution, ts.encoding, ts.error_correcting_mode_retries);
    else
        logf_("page received n=%d result=0x%02x (%s) bit_rate=%d ecm=%d width=%d length=%d x_res=%d y_res=%d encoding=%d bad_rows=%d longest_bad_run=%d",
              ts.pages_rx, result, t30_frametype(result), ts.bit_rate, ts.error_correcting_mode ? 1 : 0,
              ts.width, ts.length, ts.x_resolution, ts.y_resolution, ts.encoding, ts.bad_rows, ts.longest_bad_row_run);
    return T30_ERR_OK;
}

static void phase_e_handler(t30_state_t *s, void *user_data, int completion_code)
{
    (void) s;
    (void) user_data;
    if (g_phase_e)
        return;
    g_phase_e = 1;
    g_phase_e_at = mono_ms();
    g_exit_code = (completion_code == T30_ERR_OK) ? EXIT_OK : EXIT_FAILED;
    logf_("phase E: %d (%s)", completion_code, t30_completion_code_to_str(completion_code));
    print_result(completion_code, t30_completion_code_to_str(completion_code));
}

static void setup_t30(t30_state_t *t30)
{
    t30_set_tx_ident(t30, o.ident);
    t30_set_ecm_capability(t30, o.ecm);
    t30_set_supported_modems(t30, T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17);
    t30_set_supported_compressions(t30, T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION
                                        | (o.ecm ? T30_SUPPORT_T6_COMPRESSION : 0));
    if (o.send)
        t30_set_tx_file(t30, o.file, -1, -1);
    else
        t30_set_rx_file(t30, o.file, -1);
    t30_set_phase_b_handler(t30, phase_b_handler, NULL);
    t30_set_phase_d_handler(t30, phase_d_handler, NULL);
    t30_set_phase_e_handler(t30, phase_e_handler, NULL);
    setup_logging(t30_get_logging_state(t30), "T.30");
}

/* ------------------------------------------------------------------------ */
/* UDPTL (T.38 clause 9, ASN.1 PER aligned, basic)
 *
 * UDPTLPacket ::= SEQUENCE {
 *     seq-number          INTEGER (0..65535),              -- 2 octets
 *     primary-ifp-packet  TYPE-IDENTIFIER.&Type(IFPPacket), -- open type
 *     error-recovery      CHOICE {
 *         secondary-ifp-packets  SEQUENCE OF UDPTLPacket.primary-ifp-packet,
 *         fec-info               SEQUENCE { fec-npackets INTEGER,
 *                                           fec-data SEQUENCE OF OCTET STRING } } }
 * The CHOICE index is one bit, padded to an octet; lengths are PER length
 * determinants (1 octet < 128, 2 octets 10xxxxxx < 16384; fragments unsupported). */

static struct {
    uint8_t buf[MAX_IFP];
    int len;
} g_tx_hist[HIST];
static uint16_t g_tx_seq;
static unsigned long g_tx_count;        /* UDPTL packets built so far */

static int put_length(uint8_t *buf, int cap, int *ptr, int value)
{
    if (value < 0x80) {
        if (*ptr + 1 > cap)
            return -1;
        buf[(*ptr)++] = (uint8_t) value;
    } else if (value < 0x4000) {
        if (*ptr + 2 > cap)
            return -1;
        buf[(*ptr)++] = (uint8_t) (0x80 | (value >> 8));
        buf[(*ptr)++] = (uint8_t) (value & 0xFF);
    } else {
        return -1;
    }
    return 0;
}

static int put_open_type(uint8_t *buf, int cap, int *ptr, const uint8_t *data, int len)
{
    if (put_length(buf, cap, ptr, len) < 0 || *ptr + len > cap)
        return -1;
    memcpy(buf + *ptr, data, (size_t) len);
    *ptr += len;
    return 0;
}

static int get_length(const uint8_t *buf, int len, int *ptr, int *value)
{
    if (*ptr >= len)
        return -1;
    uint8_t b = buf[*ptr];
    if ((b & 0x80) == 0) {
        *value = b;
        *ptr += 1;
        return 0;
    }
    if ((b & 0x40) == 0) {
        if (*ptr + 2 > len)
            return -1;
        *value = ((b & 0x3F) << 8) | buf[*ptr + 1];
        *ptr += 2;
        return 0;
    }
    return -1;                  /* fragmented form: never needed for UDPTL */
}

static int get_open_type(const uint8_t *buf, int len, int *ptr, const uint8_t **data, int *dlen)
{
    int n;

    if (get_length(buf, len, ptr, &n) < 0 || n > len - *ptr)
        return -1;
    *data = buf + *ptr;
    *dlen = n;
    *ptr += n;
    return 0;
}

/* Build one UDPTL packet around `ifp` (with as many of the previous IFPs as
   --redundancy and --max-datagram allow) and send it. */
static void udptl_send(const uint8_t *ifp, int len)
{
    uint8_t pkt[MAX_PKT];
    int ptr;
    int k;
    int avail;
    uint16_t seq = g_tx_seq;

    if (len < 0 || len > MAX_IFP)
        return;
    avail = (g_tx_count < HIST) ? (int) g_tx_count : HIST;
    k = o.redundancy < avail ? o.redundancy : avail;
    for (;;) {
        ptr = 0;
        pkt[ptr++] = (uint8_t) (seq >> 8);
        pkt[ptr++] = (uint8_t) (seq & 0xFF);
        if (put_open_type(pkt, MAX_PKT, &ptr, ifp, len) < 0)
            return;
        pkt[ptr++] = 0x00;      /* error-recovery: secondary-ifp-packets */
        if (put_length(pkt, MAX_PKT, &ptr, k) < 0)
            return;
        int ok = 1;
        for (int i = 0; i < k && ok; i++) {
            /* Most recent first: entry i is seq - 1 - i. */
            int j = (uint16_t) (seq - 1 - i) & (HIST - 1);
            if (put_open_type(pkt, MAX_PKT, &ptr, g_tx_hist[j].buf, g_tx_hist[j].len) < 0)
                ok = 0;
        }
        if (ok && (ptr <= o.max_datagram || k == 0))
            break;
        k--;
    }
    memcpy(g_tx_hist[seq & (HIST - 1)].buf, ifp, (size_t) len);
    g_tx_hist[seq & (HIST - 1)].len = len;
    g_tx_seq++;
    g_tx_count++;
    dbg("udptl tx seq=%u ifp=%d secondaries=%d bytes=%d", seq, len, k, ptr);
    send_datagram(pkt, ptr);
}

static int t38_tx_packet_handler(t38_core_state_t *s, void *user_data, const uint8_t *buf, int len, int count)
{
    (void) s;
    (void) user_data;
    if (count < 1)
        count = 1;
    if (!g_remote_known || (o.wait_first && !g_rx_seen)) {
        /* Not on the wire at all: no sequence number, no redundancy history. */
        st.suppressed += (unsigned long) count;
        return 0;
    }
    for (int i = 0; i < count; i++)
        udptl_send(buf, len);
    return 0;
}

static int g_rx_started;
static uint16_t g_rx_next;

static void feed_ifp(const uint8_t *ifp, int len, uint16_t seq)
{
    t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(g_t38), ifp, len, seq);
}

static void udptl_receive(const uint8_t *buf, int len)
{
    const uint8_t *primary;
    int plen;
    const uint8_t *sec[MAX_SECONDARY];
    int sec_len[MAX_SECONDARY];
    int nsec = 0;
    int ptr = 0;

    if (len < 4) {
        st.malformed++;
        return;
    }
    uint16_t seq = (uint16_t) ((buf[0] << 8) | buf[1]);
    ptr = 2;
    if (get_open_type(buf, len, &ptr, &primary, &plen) < 0 || ptr >= len) {
        st.malformed++;
        return;
    }
    if ((buf[ptr++] & 0x80) == 0) {
        /* secondary-ifp-packets, most recent first */
        int count;
        if (get_length(buf, len, &ptr, &count) < 0) {
            st.malformed++;
            return;
        }
        for (int i = 0; i < count; i++) {
            const uint8_t *d;
            int dl;
            if (get_open_type(buf, len, &ptr, &d, &dl) < 0) {
                st.malformed++;
                return;
            }
            if (nsec < MAX_SECONDARY) {
                sec[nsec] = d;
                sec_len[nsec] = dl;
                nsec++;
            }
        }
    } else {
        /* fec-info: fec-npackets (unconstrained INTEGER), fec-data; skipped */
        int n;
        int count;
        if (get_length(buf, len, &ptr, &n) < 0 || n > len - ptr) {
            st.malformed++;
            return;
        }
        ptr += n;
        if (get_length(buf, len, &ptr, &count) < 0) {
            st.malformed++;
            return;
        }
        for (int i = 0; i < count; i++) {
            const uint8_t *d;
            int dl;
            if (get_open_type(buf, len, &ptr, &d, &dl) < 0) {
                st.malformed++;
                return;
            }
        }
    }
    if (ptr != len)
        dbg("udptl rx seq=%u: %d trailing octets ignored", seq, len - ptr);
    st.rx++;
    dbg("udptl rx seq=%u ifp=%d secondaries=%d", seq, plen, nsec);

    if (!g_rx_started) {
        /* First packet: whatever its secondaries carry came before it. */
        g_rx_started = 1;
        for (int i = nsec; i > 0; i--) {
            st.recovered++;
            feed_ifp(sec[i - 1], sec_len[i - 1], (uint16_t) (seq - i));
        }
        feed_ifp(primary, plen, seq);
        g_rx_next = (uint16_t) (seq + 1);
        return;
    }
    int16_t diff = (int16_t) (seq - g_rx_next);
    if (diff < 0 && diff >= -256) {
        st.dup++;               /* a repeat, or too late: already handled */
        return;
    }
    if (diff < 0 || diff > 1024) {
        /* A jump in the sequence (stream restart): resynchronise. */
        logf_("udptl: sequence jump %u -> %u, resynchronising", g_rx_next, seq);
    } else {
        for (int m = 0; m < diff; m++) {
            uint16_t want = (uint16_t) (g_rx_next + m);
            int back = (uint16_t) (seq - want);         /* 1 .. diff */
            if (back <= nsec) {
                st.recovered++;
                dbg("udptl recovered seq=%u from seq=%u", want, seq);
                feed_ifp(sec[back - 1], sec_len[back - 1], want);
            } else {
                st.lost++;
                dbg("udptl lost seq=%u", want);
            }
        }
    }
    feed_ifp(primary, plen, seq);
    g_rx_next = (uint16_t) (seq + 1);
}

/* ------------------------------------------------------------------------ */
/* RTP (G.711) */

static g711_state_t *g_ulaw_dec;
static g711_state_t *g_alaw_dec;
static g711_state_t *g_ulaw_enc;
static uint16_t g_rtp_seq;
static uint32_t g_rtp_ts;
static uint32_t g_rtp_ssrc;
static int g_rtp_marker = 1;
static int g_rtp_rx_started;
static uint16_t g_rtp_rx_next;
static uint32_t g_rtp_rx_ssrc;
static int g_rtp_last_samples = TICK_SAMPLES;
static int64_t g_rtp_last_rx_ms;

static void rtp_send_tick(void)
{
    int16_t amp[TICK_SAMPLES];
    uint8_t pkt[12 + TICK_SAMPLES];
    int n;

    n = fax_tx(g_fax, amp, TICK_SAMPLES);
    if (n < TICK_SAMPLES)
        memset(amp + n, 0, sizeof(int16_t) * (size_t) (TICK_SAMPLES - n));
    if (!g_remote_known || (o.wait_first && !g_rx_seen)) {
        st.suppressed++;
        return;                 /* timers still ran inside fax_tx */
    }
    pkt[0] = 0x80;
    pkt[1] = (uint8_t) ((g_rtp_marker ? 0x80 : 0x00) | 0);
    pkt[2] = (uint8_t) (g_rtp_seq >> 8);
    pkt[3] = (uint8_t) g_rtp_seq;
    pkt[4] = (uint8_t) (g_rtp_ts >> 24);
    pkt[5] = (uint8_t) (g_rtp_ts >> 16);
    pkt[6] = (uint8_t) (g_rtp_ts >> 8);
    pkt[7] = (uint8_t) g_rtp_ts;
    pkt[8] = (uint8_t) (g_rtp_ssrc >> 24);
    pkt[9] = (uint8_t) (g_rtp_ssrc >> 16);
    pkt[10] = (uint8_t) (g_rtp_ssrc >> 8);
    pkt[11] = (uint8_t) g_rtp_ssrc;
    g711_encode(g_ulaw_enc, pkt + 12, amp, TICK_SAMPLES);
    g_rtp_marker = 0;
    g_rtp_seq++;
    g_rtp_ts += TICK_SAMPLES;
    send_datagram(pkt, (int) sizeof(pkt));
}

static void rtp_receive(const uint8_t *buf, int len)
{
    int16_t amp[2048];
    int hdr;
    int pad = 0;

    if (len < 12 || (buf[0] >> 6) != 2) {
        st.malformed++;
        return;
    }
    hdr = 12 + 4 * (buf[0] & 0x0F);
    if (buf[0] & 0x10) {
        if (hdr + 4 > len) {
            st.malformed++;
            return;
        }
        hdr += 4 + 4 * ((buf[hdr + 2] << 8) | buf[hdr + 3]);
    }
    if (buf[0] & 0x20)
        pad = buf[len - 1];
    if (hdr > len || pad > len - hdr) {
        st.malformed++;
        return;
    }
    int pt = buf[1] & 0x7F;
    int payload = len - hdr - pad;
    if ((pt != 0 && pt != 8) || payload <= 0) {
        st.other++;             /* CN, telephone-event, RTCP on the RTP port, ... */
        return;
    }
    if (payload > (int) (sizeof(amp) / sizeof(amp[0]))) {
        st.malformed++;
        return;
    }
    uint16_t seq = (uint16_t) ((buf[2] << 8) | buf[3]);
    uint32_t ssrc = ((uint32_t) buf[8] << 24) | ((uint32_t) buf[9] << 16) | ((uint32_t) buf[10] << 8) | buf[11];
    st.rx++;
    g_rtp_last_rx_ms = mono_ms();
    if (g_rtp_rx_started && ssrc == g_rtp_rx_ssrc) {
        int16_t diff = (int16_t) (seq - g_rtp_rx_next);
        if (diff < 0) {
            st.dup++;
            return;
        }
        if (diff > 0) {
            st.lost += (unsigned long) diff;
            if (diff <= 50) {
                dbg("rtp: %d packet(s) missing before seq=%u: fillin", diff, seq);
                fax_rx_fillin(g_fax, diff * g_rtp_last_samples);
            }
        }
    }
    g_rtp_rx_started = 1;
    g_rtp_rx_ssrc = ssrc;
    g_rtp_rx_next = (uint16_t) (seq + 1);
    g_rtp_last_samples = payload;
    g711_decode(pt == 0 ? g_ulaw_dec : g_alaw_dec, amp, buf + hdr, payload);
    fax_rx(g_fax, amp, payload);
}

/* ------------------------------------------------------------------------ */
/* Main loop */

static void handle_datagram(const uint8_t *buf, int len, const struct sockaddr_in *from)
{
    /* Only a well-formed datagram (UDPTL, or RTP of any payload type) counts for
       latching and --wait-first: stray garbage must not capture the session. */
    unsigned long before = st.rx + st.other;
    if (o.t38)
        udptl_receive(buf, len);
    else
        rtp_receive(buf, len);
    if (st.rx + st.other == before)
        return;
    if (!g_remote_known && g_latch) {
        g_remote = *from;
        g_remote_known = 1;
        logf_("latched to %s:%u", inet_ntoa(from->sin_addr), ntohs(from->sin_port));
    }
    if (!g_rx_seen) {
        g_rx_seen = 1;
        logf_("first datagram from %s:%u", inet_ntoa(from->sin_addr), ntohs(from->sin_port));
    }
}

static void tick(int64_t now)
{
    if (o.t38) {
        t38_terminal_send_timeout(g_t38, TICK_SAMPLES);
    } else {
        rtp_send_tick();
        /* No audio is arriving (peer silent, not started yet or gone): keep the
           T.30 timers running as a PSTN line's silence would. */
        if (!g_rtp_rx_started || now - g_rtp_last_rx_ms > 3 * TICK_MS)
            t30_timer_update(g_t30, TICK_SAMPLES);
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: faxpeer --mode send|receive --file PATH --transport t38|audio\n"
            "               --local-port P --remote HOST:PORT\n"
            "               [--calling] [--ecm] [--ident STR] [--redundancy N (3)]\n"
            "               [--loss PERCENT (0)] [--seed N (1)] [--max-datagram N (400)]\n"
            "               [--timeout SECONDS (120)] [--wait-first] [--version N (0)]\n"
            "--remote 0.0.0.0:0 latches to the source of the first datagram.\n"
            "FAXPEER_DEBUG=1: spandsp FLOW logging on stderr; =2 adds per-packet lines.\n"
            "Exit: 0 T.30 success, 1 T.30 failure, 2 timeout, 3 usage/setup error.\n");
}

static void setup_error(const char *fmt, const char *arg)
{
    char reason[512];
    snprintf(reason, sizeof(reason), fmt, arg ? arg : "");
    fprintf(stderr, "faxpeer: %s\n", reason);
    printf("result code=-2 reason=");
    print_quoted(stdout, reason);
    printf(" pages=0 remote_ident=\"\" bit_rate=0 ecm=0 transport=%s\n", o.t38 == 0 ? "audio" : "t38");
    fflush(stdout);
    exit(EXIT_SETUP);
}

static long parse_int(const char *s, const char *what, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        setup_error("bad value for %s", what);
    return v;
}

static void parse_remote(const char *spec)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || (size_t) (colon - spec) >= sizeof(host))
        setup_error("bad --remote %s (want HOST:PORT)", spec);
    memcpy(host, spec, (size_t) (colon - spec));
    host[colon - spec] = '\0';
    long port = parse_int(colon + 1, "--remote port", 0, 65535);

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        setup_error("cannot resolve %s", host);
    memcpy(&g_remote, res->ai_addr, sizeof(g_remote));
    freeaddrinfo(res);
    g_remote.sin_port = htons((uint16_t) port);
    if (g_remote.sin_addr.s_addr == htonl(INADDR_ANY) && port == 0) {
        g_latch = 1;
        g_remote_known = 0;
    } else {
        g_remote_known = 1;
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"file", required_argument, NULL, 'f'},
        {"transport", required_argument, NULL, 't'},
        {"local-port", required_argument, NULL, 'l'},
        {"remote", required_argument, NULL, 'r'},
        {"calling", no_argument, NULL, 'c'},
        {"ecm", no_argument, NULL, 'e'},
        {"ident", required_argument, NULL, 'i'},
        {"redundancy", required_argument, NULL, 'R'},
        {"loss", required_argument, NULL, 'L'},
        {"seed", required_argument, NULL, 'S'},
        {"max-datagram", required_argument, NULL, 'M'},
        {"timeout", required_argument, NULL, 'T'},
        {"wait-first", no_argument, NULL, 'w'},
        {"version", required_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}
    };
    int c;

    g_t0 = mono_ms();
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (strcmp(optarg, "send") == 0)
                o.send = 1;
            else if (strcmp(optarg, "receive") == 0)
                o.send = 0;
            else
                setup_error("bad --mode %s", optarg);
            break;
        case 'f':
            o.file = optarg;
            break;
        case 't':
            if (strcmp(optarg, "t38") == 0)
                o.t38 = 1;
            else if (strcmp(optarg, "audio") == 0)
                o.t38 = 0;
            else
                setup_error("bad --transport %s", optarg);
            break;
        case 'l':
            o.local_port = (int) parse_int(optarg, "--local-port", 0, 65535);
            break;
        case 'r':
            o.remote = optarg;
            break;
        case 'c':
            o.calling = 1;
            break;
        case 'e':
            o.ecm = 1;
            break;
        case 'i':
            o.ident = optarg;
            break;
        case 'R':
            o.redundancy = (int) parse_int(optarg, "--redundancy", 0, HIST - 1);
            break;
        case 'L': {
            char *end;
            o.loss = strtod(optarg, &end);
            if (end == optarg || *end || o.loss < 0.0 || o.loss > 100.0)
                setup_error("bad --loss %s", optarg);
            break;
        }
        case 'S':
            o.seed = (uint64_t) parse_int(optarg, "--seed", 0, 0x7FFFFFFFL);
            break;
        case 'M':
            o.max_datagram = (int) parse_int(optarg, "--max-datagram", 64, MAX_PKT);
            break;
        case 'T':
            o.timeout_s = (int) parse_int(optarg, "--timeout", 1, 86400);
            break;
        case 'w':
            o.wait_first = 1;
            break;
        case 'V':
            o.version = (int) parse_int(optarg, "--version", 0, 3);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            setup_error("bad command line", NULL);
        }
    }
    if (optind != argc)
        setup_error("unexpected argument %s", argv[optind]);
    if (o.send < 0 || !o.file || o.t38 < 0 || o.local_port < 0 || !o.remote) {
        usage(stderr);
        setup_error("--mode, --file, --transport, --local-port and --remote are required", NULL);
    }
    const char *dbg_env = getenv("FAXPEER_DEBUG");
    if (dbg_env && *dbg_env && strcmp(dbg_env, "0") != 0)
        o.debug = atoi(dbg_env) >= 2 ? 2 : 1;
    g_rng = o.seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    if (g_rng == 0)
        g_rng = 1;
    if (o.send && access(o.file, R_OK) != 0)
        setup_error("cannot read %s", o.file);

    parse_remote(o.remote);

    g_sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (g_sock < 0)
        setup_error("socket: %s", strerror(errno));
    struct sockaddr_in local;
    memset(&local, 0, sizeof(local));
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_ANY);
    local.sin_port = htons((uint16_t) o.local_port);
    if (bind(g_sock, (struct sockaddr *) &local, sizeof(local)) < 0)
        setup_error("bind: %s", strerror(errno));
    fcntl(g_sock, F_SETFL, fcntl(g_sock, F_GETFL) | O_NONBLOCK);

    if (o.t38) {
        g_t38 = t38_terminal_init(NULL, o.calling, t38_tx_packet_handler, NULL);
        if (!g_t38)
            setup_error("t38_terminal_init failed", NULL);
        g_t30 = t38_terminal_get_t30_state(g_t38);
        t38_core_state_t *core = t38_terminal_get_t38_core_state(g_t38);
        t38_set_t38_version(core, o.version);
        t38_set_max_datagram_size(core, o.max_datagram);
        t38_terminal_set_config(g_t38, 0);
        t38_terminal_set_tep_mode(g_t38, 0);
        t38_terminal_set_fill_bit_removal(g_t38, 0);
        setup_logging(t38_terminal_get_logging_state(g_t38), "T.38-term");
        setup_logging(t38_core_get_logging_state(core), "T.38");
    } else {
        g_fax = fax_init(NULL, o.calling);
        if (!g_fax)
            setup_error("fax_init failed", NULL);
        g_t30 = fax_get_t30_state(g_fax);
        fax_set_transmit_on_idle(g_fax, 1);
        fax_set_tep_mode(g_fax, 0);
        setup_logging(fax_get_logging_state(g_fax), "FAX");
        g_ulaw_dec = g711_init(NULL, G711_ULAW);
        g_alaw_dec = g711_init(NULL, G711_ALAW);
        g_ulaw_enc = g711_init(NULL, G711_ULAW);
        g_rtp_ssrc = (uint32_t) (rng_next() >> 32) ^ (uint32_t) getpid();
        g_rtp_seq = (uint16_t) (g_rtp_ssrc >> 7);
        g_rtp_ts = g_rtp_ssrc * 2654435761u;
    }
    setup_t30(g_t30);

    logf_("faxpeer: %s %s via %s, local port %d, remote %s%s%s%s", o.send ? "send" : "receive", o.file,
          o.t38 ? "t38" : "audio", o.local_port, o.remote, o.calling ? ", calling" : ", answering",
          o.ecm ? ", ECM" : "", o.wait_first ? ", wait-first" : "");

    int64_t deadline = g_t0 + (int64_t) o.timeout_s * 1000;
    int64_t next = mono_ms() + TICK_MS;
    for (;;) {
        int64_t now = mono_ms();
        int wait = (int) (next - now);
        if (wait < 0)
            wait = 0;
        struct pollfd pfd = { .fd = g_sock, .events = POLLIN };
        int pr = poll(&pfd, 1, wait);
        if (pr < 0 && errno != EINTR) {
            logf_("poll: %s", strerror(errno));
            break;
        }
        if (pr > 0 && (pfd.revents & POLLIN)) {
            for (int i = 0; i < 64; i++) {
                uint8_t buf[65536];
                struct sockaddr_in from;
                socklen_t fromlen = sizeof(from);
                ssize_t n = recvfrom(g_sock, buf, sizeof(buf), 0, (struct sockaddr *) &from, &fromlen);
                if (n < 0)
                    break;      /* EAGAIN, or ICMP-reported errors: nothing to read */
                if (g_remote_known && !g_latch
                    && (from.sin_addr.s_addr != g_remote.sin_addr.s_addr || from.sin_port != g_remote.sin_port))
                    dbg("datagram from unexpected %s:%u accepted", inet_ntoa(from.sin_addr), ntohs(from.sin_port));
                handle_datagram(buf, (int) n, &from);
            }
        }
        now = mono_ms();
        if (now >= next) {
            /* Catch up after a stall, but never burst more than 10 ticks. */
            if (now - next > 10 * TICK_MS)
                next = now - 10 * TICK_MS;
            while (now >= next) {
                tick(now);
                next += TICK_MS;
            }
        }
        if (g_phase_e && now - g_phase_e_at >= LINGER_MS)
            break;
        if (!g_phase_e && now >= deadline) {
            logf_("timeout after %d s", o.timeout_s);
            print_result(-1, "timeout");
            g_exit_code = EXIT_TIMEOUT;
            break;
        }
    }
    print_stats_line();
    return g_exit_code;
}
