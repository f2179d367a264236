#!/usr/bin/env bash
# Generates prompts/moh/default/chords.ogg: ~20 s of soft synthesized chords
# (C – Am – F – G, each 5 s, four sine voices, gentle fades and reverb) made
# from nothing but sox's own synth effect. No samples or recordings are
# involved, so the result carries no third-party rights: it is part of this
# project and licensed with it. Re-running overwrites the file (Vorbis output
# is not byte-identical between runs; only regenerate when changing it).
#
# Needs: sox with Vorbis support (Debian: sox libsox-fmt-all).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/default/chords.ogg"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$here/default"

# bass + three chord tones per chord, each voice synthesized alone and
# mixed (-m) to mono, then faded in and out so chords cross smoothly.
chords=("C3 C4 E4 G4" "A2 A3 C4 E4" "F2 F3 A3 C4" "G2 G3 B3 D4")
i=0
for chord in "${chords[@]}"; do
    v=0
    for note in $chord; do
        sox -n -r 16000 -c 1 "$tmp/v$v.wav" synth 5 sine "$note" vol 0.2
        v=$((v + 1))
    done
    sox -m "$tmp"/v0.wav "$tmp"/v1.wav "$tmp"/v2.wav "$tmp"/v3.wav "$tmp/c$i.wav" \
        fade q 0.8 5 1.2 tremolo 0.3 20
    i=$((i + 1))
done
sox "$tmp"/c0.wav "$tmp"/c1.wav "$tmp"/c2.wav "$tmp"/c3.wav "$tmp/all.wav"
sox "$tmp/all.wav" -C 3 "$out" reverb 40 50 80 gain -n -6
echo "wrote $out ($(soxi -D "$out") s, $(stat -c %s "$out") bytes)"
